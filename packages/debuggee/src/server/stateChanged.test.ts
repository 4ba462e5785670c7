/**
 * Every successful state change is announced to every client (`stateChanged`, naming the client
 * that made it) at the same place of each stream; refused and failed requests announce nothing.
 * Real sockets, fake target.
 */
import type { StateChangedNotice } from '@hvdbg/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type Running, startFakeDaemon } from './testing/harness.js';
import { type Notice, TestClient } from './testing/testClient.js';

let daemon: Running | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await daemon?.stop();
  daemon = undefined;
});

/** A halted daemon with a controller and two observers, all three in the fan-out. */
async function threeClients() {
  daemon = await startFakeDaemon({ halted: true });
  const port = daemon.port;
  const open = async (role: 'controller' | 'observer', name: string) => {
    const c = await TestClient.connect(port, { role, name });
    clients.push(c.client);
    return c;
  };
  const ctl = await open('controller', 'ctl');
  const obs1 = await open('observer', 'obs1');
  const obs2 = await open('observer', 'obs2');
  // Once the controller has seen the last join, every later notice reaches all three.
  await ctl.client.waitFor((n) => n.t === 'clientJoined' && n.clientId === obs2.welcome.sessionId);
  return { d: daemon, ctl: ctl.client, ctlId: ctl.welcome.sessionId, observers: [obs1.client, obs2.client] };
}

let marks = 0;

/** Puts a console marker in every stream and waits until all clients have it. */
async function mark(d: Running, all: TestClient[]): Promise<string> {
  const text = `mark ${++marks}`;
  d.target.console(text);
  await Promise.all(all.map((c) => c.waitFor((n) => n.t === 'console' && n.text === text)));
  return text;
}

function between(c: TestClient, from: string, to: string): Notice[] {
  const i = c.notices.findIndex((n) => n.t === 'console' && n.text === from);
  const j = c.notices.findIndex((n) => n.t === 'console' && n.text === to);
  return c.notices.slice(i + 1, j);
}

const changes = (ns: Notice[]) => ns.filter((n): n is StateChangedNotice => n.t === 'stateChanged');

describe('stateChanged', () => {
  it('announces register, memory and breakpoint writes to the controller and each observer, in one place', async () => {
    const { d, ctl, ctlId, observers } = await threeClients();
    const all = [ctl, ...observers];
    const start = await mark(d, all);

    await ctl.request('regs.set', { vcpu: 1, name: 'rax', value: 0x1234n });
    // The controller hears of its own change before the response: its caches are never stale.
    expect(changes(ctl.notices).at(-1)).toMatchObject({ what: 'registers', byClient: ctlId });
    d.target.console('between writes');
    await ctl.request('mem.write', { address: 0x100n, bytes: new Uint8Array([1, 2, 3, 4]), space: 'virtual' });
    const bp = (await ctl.request('bp.add', { address: 0xffff_8000_0010_0040n })) as { id: number };
    const end = await mark(d, all);

    const reference = between(ctl, start, end);
    expect(changes(reference)).toEqual([
      { t: 'stateChanged', what: 'registers', byClient: ctlId, vcpu: 1, detail: 'rax' },
      { t: 'stateChanged', what: 'memory', byClient: ctlId, vcpu: 0, address: 0x100n, length: 4, detail: 'virtual' },
      {
        t: 'stateChanged',
        what: 'breakpoints',
        byClient: ctlId,
        address: 0xffff_8000_0010_0040n,
        detail: `added ${bp.id}`,
      },
    ]);
    // Same notices, same order, interleaved the same way with the console line in between.
    expect(reference.map((n) => n.t)).toEqual(['stateChanged', 'console', 'stateChanged', 'stateChanged']);
    for (const o of observers) expect(between(o, start, end)).toEqual(reference);
  });

  it('announces every other state-changing op once, with what changed', async () => {
    const { d, ctl, ctlId, observers } = await threeClients();
    const all = [ctl, ...observers];
    const start = await mark(d, all);

    const bp = (await ctl.request('bp.add', { address: 0x200n })) as { id: number };
    await ctl.request('bp.modify', { id: bp.id, action: 'disable' });
    await ctl.request('exec.switchCore', { vcpu: 1 });
    await ctl.request('cpu.wrmsr', { msr: 0xc000_0082, value: 0n });
    await ctl.request('event.setSc', { on: true });
    await ctl.request('queue.flush', {});
    const end = await mark(d, all);

    const seen = changes(between(ctl, start, end));
    expect(seen.map((n) => [n.what, n.byClient])).toEqual([
      ['breakpoints', ctlId],
      ['breakpoints', ctlId],
      ['core', ctlId],
      ['msr', ctlId],
      ['shortCircuit', ctlId],
      ['queue', ctlId],
    ]);
    expect(seen[1]).toMatchObject({ detail: `disable ${bp.id}` });
    expect(seen[2]).toMatchObject({ vcpu: 1 });
    expect(seen[3]).toMatchObject({ vcpu: 1, detail: 'msr 0xc0000082' }); // the main core is now 1
    expect(seen[4]).toMatchObject({ detail: 'on' });
    for (const o of observers) expect(changes(between(o, start, end))).toEqual(seen);
  });

  it('announces nothing for a refused observer write or a failed controller write', async () => {
    const { d, ctl, observers } = await threeClients();
    const all = [ctl, ...observers];
    const start = await mark(d, all);

    const obs = observers[0]!;
    expect((await obs.requestError('regs.set', { name: 'rax', value: 1n })).code).toBe('E_FORBIDDEN');
    expect(
      (await obs.requestError('mem.write', { address: 0n, bytes: new Uint8Array(1), space: 'physical' })).code,
    ).toBe('E_FORBIDDEN');
    expect((await obs.requestError('bp.add', { address: 0x200n })).code).toBe('E_FORBIDDEN');
    expect((await ctl.requestError('regs.set', { name: 'nosuch', value: 1n })).code).toBe('E_BAD_REGISTER');
    expect((await ctl.requestError('bp.modify', { id: 99, action: 'clear' })).code).toBe('E_BAD_BREAKPOINT');
    // `bc all` with nothing to clear changes nothing.
    expect(await ctl.request('bp.modify', { id: 'all', action: 'clear' })).toEqual({ affected: 0 });
    const end = await mark(d, all);

    for (const c of all) expect(changes(between(c, start, end))).toEqual([]);
    expect(d.target.readRegisters(0, ['rax']).rax).toBe(0n);
  });
});
