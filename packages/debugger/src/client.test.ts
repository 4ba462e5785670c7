import { encodeMessage, HvdbgError, type LogRecord } from '@hvdbg/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { DebuggerClient, toWebSocketUrl } from './client.js';
import { FakeDaemon, fakeWelcome } from './testing/fakeDaemon.js';

let daemon: FakeDaemon | undefined;
let client: DebuggerClient | undefined;

afterEach(async () => {
  await client?.close();
  await daemon?.stop();
  client = undefined;
  daemon = undefined;
});

async function connected(handlers = {}) {
  daemon = await FakeDaemon.start(handlers);
  client = new DebuggerClient();
  const welcome = await client.connect(daemon.url, { role: 'observer', token: 't0k', clientName: 'test' });
  return { daemon, client, welcome };
}

const next = <T>(c: DebuggerClient, name: Parameters<DebuggerClient['once']>[0]) =>
  new Promise<T>((resolve) => c.once(name, ((v: T) => resolve(v)) as never));

describe('DebuggerClient', () => {
  it('accepts host:port and ws URLs only', () => {
    expect(toWebSocketUrl('127.0.0.1:9000')).toBe('ws://127.0.0.1:9000');
    expect(toWebSocketUrl('ws://h:1/x')).toBe('ws://h:1/x');
    expect(() => toWebSocketUrl('nohost')).toThrow("'nohost' is not host:port or a ws:// URL");
  });

  it('says hello with role, token and name, and returns the welcome', async () => {
    const { daemon, welcome } = await connected();
    expect(welcome.guest.kernelBase).toBe(0xffffffff80000000n);
    expect(daemon.hellos).toEqual([
      { t: 'hello', protocolVersion: 1, role: 'observer', token: 't0k', clientName: 'test' },
    ]);
  });

  it('rejects with the refusal code', async () => {
    daemon = await FakeDaemon.start({}, fakeWelcome());
    daemon.welcome = { refuse: new HvdbgError('E_AUTH') };
    client = new DebuggerClient();
    await expect(client.connect(daemon.url)).rejects.toMatchObject({ code: 'E_AUTH' });
  });

  it('fails cleanly when nothing listens', async () => {
    daemon = await FakeDaemon.start();
    const url = daemon.url;
    await daemon.stop();
    daemon = undefined;
    client = new DebuggerClient();
    await expect(client.connect(url)).rejects.toMatchObject({ code: 'E_DISCONNECTED' });
  });

  it('matches responses to requests and keeps 64-bit values exact', async () => {
    const { client, daemon } = await connected({
      'mem.read': ({ length }: { length: number }) => ({ bytes: new Uint8Array(length).fill(0xcc) }),
      'regs.get': () => ({ vcpu: 0, regs: { rip: 0xffffffff80001234n } }),
    });
    const [mem, regs] = await Promise.all([
      client.request('mem.read', { address: 0xffffffff80000000n, length: 4, space: 'virtual' }),
      client.request('regs.get', {}),
    ]);
    expect(Array.from(mem.bytes)).toEqual([0xcc, 0xcc, 0xcc, 0xcc]);
    expect(regs.regs.rip).toBe(0xffffffff80001234n);
    expect(daemon.received('mem.read')[0]!.address).toBe(0xffffffff80000000n);
  });

  it("rejects with the daemon's error code and message", async () => {
    const { client } = await connected({
      'exec.continue': () => {
        throw new HvdbgError('E_NOT_HALTED', 'still running');
      },
    });
    const err = await client.request('exec.continue', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HvdbgError);
    expect(err).toMatchObject({ code: 'E_NOT_HALTED', message: 'still running' });
  });

  it('emits typed notifications', async () => {
    const { client, daemon } = await connected();
    const halted = next<{ rip: bigint; reason: string }>(client, 'halted');
    daemon.notify({
      t: 'halted',
      reason: 'pause',
      vcpu: 1,
      rip: 0x1000n,
      rflags: 2n,
      bytes: new Uint8Array([0x90]),
      lastSeq: 0n,
    });
    expect(await halted).toMatchObject({ reason: 'pause', vcpu: 1, rip: 0x1000n });
    const log = next<LogRecord[]>(client, 'log');
    daemon.notify({
      t: 'log',
      batch: [{ seq: 5n, eventId: 1, kind: 5, vcpu: 0, pid: 1, tid: 1, time: 9n, stage: 'pre', text: 'hi' }],
    });
    expect((await log)[0]).toMatchObject({ seq: 5n, text: 'hi' });
    const con = next<string>(client, 'console');
    daemon.notify({ t: 'console', text: 'boot\n' });
    expect(await con).toBe('boot\n');
    const joined = next<{ clientId: number }>(client, 'clientJoined');
    daemon.notify({ t: 'clientJoined', clientId: 7, role: 'observer', name: 'o' });
    expect(await joined).toEqual({ clientId: 7, role: 'observer', name: 'o' });
  });

  it('reports a malformed frame and stays usable', async () => {
    const { client, daemon } = await connected({ status: () => ({}) as never });
    const bad = next<HvdbgError>(client, 'protocolError');
    daemon.sendRaw(new Uint8Array([0xc1]));
    expect((await bad).code).toBe('E_BAD_MESSAGE');
    const unknown = next<HvdbgError>(client, 'protocolError');
    daemon.sendRaw(encodeMessage({ t: 'console', text: 'x' }).subarray(0, 3));
    expect((await unknown).code).toBe('E_BAD_MESSAGE');
    expect(client.connected).toBe(true);
  });

  it('fails pending requests when the connection drops', async () => {
    const { client, daemon } = await connected({ 'exec.pause': () => new Promise(() => undefined) });
    const pending = client.request('exec.pause', {});
    const closed = next<{ code: number }>(client, 'close');
    daemon.dropClients();
    await expect(pending).rejects.toMatchObject({ code: 'E_DISCONNECTED' });
    await closed;
    expect(client.connected).toBe(false);
    await expect(client.request('status', {})).rejects.toMatchObject({ code: 'E_DISCONNECTED' });
  });

  it('takes a daemon silent for two heartbeat periods for dead, but not one that pings', async () => {
    daemon = await FakeDaemon.start();
    client = new DebuggerClient();
    await client.connect(daemon.url, { heartbeatMs: 50 });
    const pinger = setInterval(() => daemon!.ping(), 20);
    await new Promise((r) => setTimeout(r, 250));
    expect(client.connected).toBe(true);
    clearInterval(pinger);
    const closed = await next<{ reason: string }>(client, 'close');
    expect(closed.reason).toBe('the daemon stopped answering');
    expect(client.connected).toBe(false);
  });

  it('times out a request that gets no answer', async () => {
    const { client } = await connected({ 'exec.pause': () => new Promise(() => undefined) });
    await expect(client.request('exec.pause', {}, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'E_TIMEOUT' });
  });
});
