/**
 * Hostile and broken peers: malformed frames, oversized frames, clients that stop reading or stop
 * answering pings, too many pending requests, failing handlers, and shutdown.
 */
import { encodeMessage, LIMITS } from '@hvdbg/protocol';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { HANDLERS } from './handlers/index.js';
import { type Running, startFakeDaemon } from './testing/harness.js';
import { TestClient } from './testing/testClient.js';

let daemon: Running | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await daemon?.stop();
  daemon = undefined;
});

async function connect(port: number, role: 'controller' | 'observer' = 'controller') {
  const { client } = await TestClient.connect(port, { role });
  clients.push(client);
  return client;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deep(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

/** Deterministic pseudo-random bytes (xorshift), so a failure reproduces. */
function* garbage(count: number): Generator<Uint8Array | string> {
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const shapes: (() => Uint8Array | string)[] = [
    () => Uint8Array.from({ length: 1 + (next() % 64) }, () => next() & 0xff),
    () => 'not binary',
    () => pack({ t: 'req', id: next() % 1000, op: 'no.such.op', args: {} }),
    () => pack({ t: 'req', id: 7, op: 'mem.read', args: { address: 'x', length: -1, space: 'virtual' } }),
    () =>
      pack({
        t: 'req',
        id: 8,
        op: 'mem.read',
        args: { address: 0n, length: LIMITS.maxMemoryBytes + 1, space: 'virtual' },
      }),
    () => pack([1, 2, 3]),
    () => pack({ t: 'hello', protocolVersion: 1, role: 'controller', clientName: 'again' }),
    () => new Uint8Array([0xdc, 0xff, 0xff]),
    () => new Uint8Array(0),
    () => pack({ t: 'req', id: 9, op: 'status', args: { nested: deep(40) } }),
  ];
  for (let i = 0; i < count; i++) yield shapes[i % shapes.length]!();
}

describe('malformed input', () => {
  it('answers 1,000 malformed frames with errors, stays healthy, and the guest keeps running', async () => {
    daemon = await startFakeDaemon({ logsPerSlice: 1, batchSize: 1 });
    const bad = await connect(daemon.port);
    const bystander = await connect(daemon.port, 'observer');
    const slicesBefore = daemon.target.slices;
    let sent = 0;
    for (const frame of garbage(1000)) {
      bad.sendRaw(frame);
      sent++;
    }
    // The connection still works after all of them, in order: this answer comes last.
    const status = (await bad.request('status', {})) as { state: string; clients: unknown[] };
    expect(sent).toBe(1000);
    expect(status.state).toBe('running');
    expect(status.clients).toHaveLength(2);
    expect(bad.closeCode).toBeUndefined();
    // Every malformed frame got exactly one error response.
    const errors = bad.orphanResponses.filter((r) => r.t === 'res' && !r.ok);
    expect(errors).toHaveLength(1000);
    const codes = new Set(errors.map((r) => (r.t === 'res' && !r.ok ? r.error.code : '')));
    expect([...codes].sort()).toEqual(
      ['E_BAD_MESSAGE', 'E_TOO_LARGE', 'E_UNKNOWN_REQUEST'].filter((c) => codes.has(c as never)),
    );
    expect(codes.has('E_INTERNAL')).toBe(false);
    // An id the validator could read is echoed back.
    expect(bad.orphanResponses.some((r) => r.t === 'res' && r.id === 7)).toBe(true);
    await sleep(20);
    expect(daemon.target.slices).toBeGreaterThan(slicesBefore);
    expect(bystander.closeCode).toBeUndefined();
    await bystander.request('status', {});
  });

  it('closes only the connection that sends a frame above maxPayload', async () => {
    daemon = await startFakeDaemon({ logsPerSlice: 1 });
    const big = await connect(daemon.port);
    const other = await connect(daemon.port, 'observer');
    big.sendRaw(new Uint8Array(LIMITS.maxFrameBytes + 1));
    await big.closed;
    expect(big.closeCode).toBe(1009);
    // The process and the other client are fine; new clients are served.
    await other.request('status', {});
    await other.waitFor((n) => n.t === 'clientLeft');
    await connect(daemon.port, 'controller');
  });
});

describe('flow control', () => {
  it('bounds the queue of a client that stops reading: drop notices, then disconnect', async () => {
    const maxQueueBytes = 256 * 1024;
    daemon = await startFakeDaemon(
      { logsPerSlice: 512, batchSize: 64 },
      { limits: { maxQueueBytes, slowGraceMs: 800, dropNoticeMs: 100, heartbeatMs: 60_000 } },
    );
    const { client: slow, welcome } = await TestClient.connect(daemon.port, { role: 'observer' });
    clients.push(slow);
    const healthy = await connect(daemon.port, 'observer');
    const slowId = welcome.sessionId;
    const channel = daemon.server.session(slowId)!.channel;
    slow.ws.pause();
    // A halt while the client is behind: the client must learn of the loss before the halt.
    while (channel.droppedTotal === 0n) await sleep(10);
    daemon.target.pause();
    await healthy.waitFor((n) => n.t === 'halted');
    daemon.target.resume();
    const left = await healthy.waitFor((n) => n.t === 'clientLeft' && n.clientId === slowId, 20_000);
    expect(left).toMatchObject({ reason: expect.stringMatching(/^client-slow/) });
    // Memory stayed bounded: never more than the bound plus one batch frame buffered.
    expect(channel.peakBuffered).toBeLessThanOrEqual(maxQueueBytes + 16 * 1024);
    expect(channel.droppedTotal).toBeGreaterThan(0n);
    // The reader wakes up: it finds what was queued, the drop notices, then the close.
    slow.ws.resume();
    await slow.closed;
    expect(slow.closeCode).toBe(1008);
    expect(slow.notices.some((n) => n.t === 'halted')).toBe(true);
    const drops = slow.notices.filter((n) => n.t === 'dropped');
    expect(drops.length).toBeGreaterThan(0);
    expect(drops[0]).toMatchObject({ reason: 'client-slow' });
    const dropped = drops.reduce((sum, n) => sum + (n.t === 'dropped' ? n.count : 0n), 0n);
    expect(dropped).toBe(channel.droppedTotal);
    // Records received and ranges reported missing tile the sequence exactly, in order.
    let expected: bigint | undefined;
    for (const n of slow.notices) {
      if (n.t === 'log') {
        for (const r of n.batch) {
          if (expected !== undefined) expect(r.seq).toBe(expected);
          expected = r.seq + 1n;
        }
      } else if (n.t === 'dropped') {
        expect(n.firstSeq).toBe(expected);
        expect(n.count).toBe(n.lastSeq - n.firstSeq + 1n);
        expected = n.lastSeq + 1n;
      } else if (n.t === 'halted') {
        expect(expected).toBe(n.lastSeq + 1n);
      }
    }
    // The healthy observer lost nothing, not even the batch during which the slow one was cut off.
    expect(healthy.notices.some((n) => n.t === 'dropped')).toBe(false);
    const healthySeqs = healthy.notices.flatMap((n) => (n.t === 'log' ? n.batch.map((r) => r.seq) : []));
    for (let i = 1; i < healthySeqs.length; i++) expect(healthySeqs[i]).toBe(healthySeqs[i - 1]! + 1n);
    expect(healthy.closeCode).toBeUndefined();
  });

  it('throttles the guest instead of dropping in lossless mode while the controller lags', async () => {
    const maxQueueBytes = 256 * 1024;
    daemon = await startFakeDaemon(
      { logsPerSlice: 64, batchSize: 64, lossless: true },
      { limits: { maxQueueBytes, heartbeatMs: 60_000, idleTickMs: 5 } },
    );
    const { client: ctl, welcome } = await TestClient.connect(daemon.port, { role: 'controller' });
    clients.push(ctl);
    const channel = daemon.server.session(welcome.sessionId)!.channel;
    ctl.ws.pause();
    // The guest runs until the controller's queue passes half its bound, then waits.
    let slices = -1;
    for (let i = 0; i < 100 && slices !== daemon.target.slices; i++) {
      slices = daemon.target.slices;
      await sleep(50);
    }
    expect(daemon.target.slices).toBe(slices);
    expect(channel.buffered).toBeGreaterThan(maxQueueBytes / 2);
    expect(channel.peakBuffered).toBeLessThanOrEqual(maxQueueBytes);
    expect(channel.droppedTotal).toBe(0n);
    // Once the controller reads again, the guest goes on, and nothing was lost.
    const goal = daemon.target.seq + 1000n;
    ctl.ws.resume();
    await ctl.waitFor((n) => n.t === 'log' && n.batch[0]!.seq > goal, 10_000);
    expect(daemon.target.slices).toBeGreaterThan(slices);
    const seqs = ctl.notices.flatMap((n) => (n.t === 'log' ? n.batch.map((r) => r.seq) : []));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1n);
    expect(ctl.notices.some((n) => n.t === 'dropped')).toBe(false);
  });

  it('drops a peer that stops answering pings', async () => {
    daemon = await startFakeDaemon({}, { limits: { heartbeatMs: 100 } });
    const ws = new WebSocket(`ws://127.0.0.1:${daemon.port}`, { autoPong: false });
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    ws.send(encodeMessage({ t: 'hello', protocolVersion: 1, role: 'observer', clientName: 'mute' }));
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    expect(code).toBe(1006);
    expect(daemon.server.clientCount).toBe(0);
  });

  it('refuses requests beyond the pending limit with E_TOO_MANY_PENDING', async () => {
    const release: (() => void)[] = [];
    daemon = await startFakeDaemon(
      {},
      {
        limits: { maxPending: 3 },
        handlers: {
          ...HANDLERS,
          status: (ctx) => new Promise((resolve) => release.push(() => resolve(ctx.status()))),
        },
      },
    );
    const c = await connect(daemon.port);
    const slow = [c.request('status', {}), c.request('status', {}), c.request('status', {})];
    const error = await c.requestError('status', {});
    expect(error).toMatchObject({ code: 'E_TOO_MANY_PENDING', data: { limit: 3 } });
    for (const r of release) r();
    await Promise.all(slow);
    release.length = 0;
    const again = c.request('status', {});
    await sleep(10);
    release[0]!();
    await again;
  });
});

describe('handler errors', () => {
  it('sends user errors with their code and bugs as E_INTERNAL without a stack', async () => {
    daemon = await startFakeDaemon(
      { halted: true },
      {
        handlers: {
          ...HANDLERS,
          'symbols.get': () => {
            throw new TypeError('cannot read properties of undefined (secret internals)');
          },
        },
      },
    );
    const c = await connect(daemon.port);
    expect(await c.requestError('regs.get', { names: ['nope'] })).toMatchObject({ code: 'E_BAD_REGISTER' });
    expect(await c.requestError('exec.switchCore', { vcpu: 9 })).toMatchObject({ code: 'E_BAD_VCPU' });
    expect(await c.requestError('mem.read', { address: 1n << 40n, length: 1, space: 'physical' })).toMatchObject({
      code: 'E_BAD_ADDRESS',
    });
    const bug = await c.requestError('symbols.get', {});
    expect(bug).toEqual({ code: 'E_INTERNAL', message: 'internal error in the daemon' });
    await c.request('status', {});
  });

  it('refuses pause and step in local mode', async () => {
    daemon = await startFakeDaemon({ mode: 'local' });
    const c = await connect(daemon.port);
    expect(await c.requestError('exec.pause', {})).toMatchObject({ code: 'E_LOCAL_MODE' });
    expect(daemon.target.state()).toBe('running');
  });
});

describe('run loop', () => {
  it('keeps ticking while halted and runs slices again after continue', async () => {
    daemon = await startFakeDaemon({ halted: true }, { limits: { idleTickMs: 5 } });
    const c = await connect(daemon.port);
    const ticks = daemon.target.ticks;
    await sleep(150);
    expect(daemon.target.slices).toBe(0);
    expect(daemon.target.ticks).toBeGreaterThan(ticks + 3);
    await c.request('exec.continue', {});
    await sleep(100);
    expect(daemon.target.slices).toBeGreaterThan(5);
  });

  it('survives a target that throws from a slice, backs off, and runs again', async () => {
    daemon = await startFakeDaemon({ logsPerSlice: 1 });
    const target = daemon.target;
    const c = await connect(daemon.port);
    const realSlice = target.runSlice.bind(target);
    let thrown = 0;
    target.runSlice = () => {
      thrown++;
      throw new Error('target bug');
    };
    await sleep(150);
    // Backed off instead of spinning on the failure.
    expect(thrown).toBeGreaterThan(0);
    expect(thrown).toBeLessThan(10);
    expect(((await c.request('status', {})) as { state: string }).state).toBe('running');
    target.runSlice = realSlice;
    const before = target.slices;
    await sleep(250);
    expect(target.slices).toBeGreaterThan(before);
  });
});

describe('shutdown', () => {
  it('tells every client, closes them and stops the guest', async () => {
    const d = await startFakeDaemon({ logsPerSlice: 2 });
    const a = await connect(d.port);
    const b = await connect(d.port, 'observer');
    await d.server.close('daemon stopping');
    await Promise.all([a.closed, b.closed]);
    for (const c of [a, b]) {
      expect(c.notices.at(-1)).toEqual({ t: 'sessionClosed', reason: 'daemon stopping' });
      expect(c.closeCode).toBe(1001);
    }
    expect(d.target.shutdownCalled).toBe(true);
    await expect(TestClient.open(d.port)).rejects.toThrow();
  });
});
