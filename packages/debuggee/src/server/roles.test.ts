/** Sessions and roles over real sockets: identical streams, observer refusals, controller loss. */
import { OBSERVER_OPS, type RequestArgs, type RequestOp } from '@hvdbg/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type Running, startFakeDaemon } from './testing/harness.js';
import { type Notice, RequestFailed, TestClient } from './testing/testClient.js';

let daemon: Running | undefined;
const clients: TestClient[] = [];

async function start(...args: Parameters<typeof startFakeDaemon>): Promise<Running> {
  daemon = await startFakeDaemon(...args);
  return daemon;
}

async function connect(port: number, role: 'controller' | 'observer', name: string = role) {
  const c = await TestClient.connect(port, { role, name });
  clients.push(c.client);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await daemon?.stop();
  daemon = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fan-out', () => {
  it('gives a controller and 3 observers identical, ordered streams', async () => {
    const d = await start({ logsPerSlice: 40, batchSize: 16 });
    const { client: ctl } = await connect(d.port, 'controller');
    const observers = [];
    for (let i = 0; i < 3; i++) observers.push((await connect(d.port, 'observer', `obs${i}`)).client);
    const lastJoin = observers[2]!;
    const lastId = (await lastJoin.request('status', {})) as { clients: { id: number }[] };
    const lastJoinedId = Math.max(...lastId.clients.map((c) => c.id));

    await sleep(50);
    await ctl.request('exec.pause', {});
    d.target.console('halted once');
    await ctl.request('event.add', {
      kind: 'syscall',
      stage: 'pre',
      sc: false,
      imm: false,
      bufferSize: 0,
      actions: [{ type: 'break' }],
      text: '!syscall',
    });
    await ctl.request('exec.continue', {});
    await sleep(30);
    d.target.breakOnEvent(1, 1);
    await ctl.request('exec.step', { kind: 'into', count: 1 });
    d.target.console('END');
    const all = [ctl, ...observers];
    await Promise.all(all.map((c) => c.waitFor((n) => n.t === 'console' && n.text === 'END')));

    // Everyone's stream from the last join on must be the same list, in the same order.
    const tail = (c: TestClient): Notice[] => {
      const i = c.notices.findIndex((n) => n.t === 'clientJoined' && n.clientId === lastJoinedId);
      const end = c.notices.findIndex((n) => n.t === 'console' && n.text === 'END');
      return c.notices.slice(i, end + 1);
    };
    const reference = tail(ctl);
    const logs = reference.filter((n) => n.t === 'log');
    expect(logs.length).toBeGreaterThan(3);
    expect(reference.map((n) => n.t)).toEqual(
      expect.arrayContaining(['halted', 'resumed', 'eventsChanged', 'console']),
    );
    for (const o of observers) expect(tail(o)).toEqual(reference);

    // Sequence numbers ascend without gaps: nothing was dropped or reordered.
    const seqs = logs.flatMap((n) => (n.t === 'log' ? n.batch.map((r) => r.seq) : []));
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1n);
  });

  it('names the client that caused each state change', async () => {
    const d = await start({ logsPerSlice: 0 });
    const { client: ctl, welcome } = await connect(d.port, 'controller');
    const { client: obs } = await connect(d.port, 'observer');
    await ctl.request('exec.pause', {});
    const halted = await obs.waitFor((n) => n.t === 'halted');
    expect(halted).toMatchObject({ reason: 'pause', byClient: welcome.sessionId });
    await ctl.request('exec.continue', {});
    expect(await obs.waitFor((n) => n.t === 'resumed')).toMatchObject({ byClient: welcome.sessionId, step: false });
    await ctl.request('event.modify', { id: 'all', action: 'disable' });
    expect(await obs.waitFor((n) => n.t === 'eventsChanged')).toMatchObject({ byClient: welcome.sessionId });
  });
});

describe('roles', () => {
  it('refuses every state-changing op from an observer with E_FORBIDDEN, and serves reads', async () => {
    const d = await start({ halted: true });
    const { client: obs } = await connect(d.port, 'observer');
    const mutations: { [Op in RequestOp]?: RequestArgs[Op] } = {
      'exec.continue': {},
      'exec.pause': {},
      'exec.step': { kind: 'into', count: 1 },
      'exec.switchCore': { vcpu: 1 },
      'exec.detach': {},
      'regs.set': { name: 'rax', value: 1n },
      'mem.write': { address: 0n, bytes: new Uint8Array([1]), space: 'virtual' },
      'event.modify': { id: 'all', action: 'clear' },
      'event.setSc': { on: true },
      'bp.add': { address: 0x1000n },
      'bp.modify': { id: 'all', action: 'clear' },
      'script.eval': { buffer: new Uint8Array([1]) },
      'cpu.wrmsr': { msr: 0x10, value: 0n },
      'cpu.rdmsr': { msr: 0x10 },
    };
    for (const [op, args] of Object.entries(mutations)) {
      expect(OBSERVER_OPS.has(op as RequestOp)).toBe(false);
      const error = await obs.requestError(op as RequestOp, args as never);
      expect(error.code, op).toBe('E_FORBIDDEN');
    }
    expect(d.target.state()).toBe('halted');
    expect(d.target.memory[0]).toBe(0);
    expect(await obs.request('regs.get', { names: ['rax'] })).toEqual({ vcpu: 0, regs: { rax: 0n } });
    expect(await obs.request('mem.read', { address: 0n, length: 4, space: 'virtual' })).toEqual({
      bytes: new Uint8Array(4),
    });
  });

  it('refuses a second controller with a hint to join as observer', async () => {
    const d = await start();
    await connect(d.port, 'controller');
    const refusal = await TestClient.connect(d.port, { role: 'controller' }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RequestFailed);
    const { error } = refusal as RequestFailed;
    expect(error.code).toBe('E_CONTROLLER_TAKEN');
    expect(error.message).toMatch(/observer/);
  });

  it('keeps a halted guest halted when the controller vanishes; a new controller continues it', async () => {
    const d = await start({ logsPerSlice: 4 });
    const { client: ctl, welcome } = await connect(d.port, 'controller');
    const { client: obs, welcome: obsWelcome } = await connect(d.port, 'observer');
    expect(await obs.requestError('control.take', {})).toMatchObject({ code: 'E_CONTROLLER_TAKEN' });
    await ctl.request('exec.pause', {});
    ctl.ws.terminate();
    await obs.waitFor((n) => n.t === 'clientLeft' && n.clientId === welcome.sessionId);
    await sleep(200);
    expect(d.target.state()).toBe('halted');
    expect(((await obs.request('status', {})) as { controllerId?: number }).controllerId).toBeUndefined();

    expect(await obs.request('control.take', {})).toEqual({ role: 'controller' });
    expect(await obs.waitFor((n) => n.t === 'roleChanged')).toEqual({
      t: 'roleChanged',
      clientId: obsWelcome.sessionId,
      role: 'controller',
    });
    await obs.request('exec.continue', {});
    expect(d.target.state()).toBe('running');
    expect(await obs.waitFor((n) => n.t === 'resumed')).toMatchObject({ byClient: obsWelcome.sessionId });
  });

  it('resumes a halted guest after the grace period with resume=SECONDS', async () => {
    const d = await start({}, { onControllerLoss: { resumeAfterMs: 150 } });
    const { client: ctl } = await connect(d.port, 'controller');
    const { client: obs } = await connect(d.port, 'observer');
    await ctl.request('exec.pause', {});
    const t0 = Date.now();
    await ctl.close();
    const resumed = await obs.waitFor((n) => n.t === 'resumed');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(resumed).not.toHaveProperty('byClient');
    expect(d.target.state()).toBe('running');
  });

  it('cancels the pending resume when a client takes control in time', async () => {
    // Generous grace: the take must land inside it even on a loaded machine.
    const d = await start({}, { onControllerLoss: { resumeAfterMs: 1000 } });
    const { client: ctl } = await connect(d.port, 'controller');
    const { client: obs } = await connect(d.port, 'observer');
    await ctl.request('exec.pause', {});
    await ctl.close();
    await obs.waitFor((n) => n.t === 'clientLeft');
    await obs.request('control.take', {});
    await sleep(1200);
    expect(d.target.state()).toBe('halted');
    expect(obs.notices.some((n) => n.t === 'resumed')).toBe(false);
  });

  it('resumes at once on exec.detach and closes the connection', async () => {
    const d = await start({ halted: true });
    const { client: ctl } = await connect(d.port, 'controller');
    const { client: obs } = await connect(d.port, 'observer');
    await ctl.request('exec.detach', {});
    await ctl.closed;
    expect(d.target.state()).toBe('running');
    await obs.waitFor((n) => n.t === 'clientLeft');
    expect(obs.notices.map((n) => n.t)).toEqual(['clientJoined', 'resumed', 'roleChanged', 'clientLeft']);
  });

  it('announces joins, departures and the welcome state', async () => {
    const d = await start({ halted: true });
    const { client: ctl, welcome } = await connect(d.port, 'controller');
    expect(welcome).toMatchObject({ role: 'controller', state: 'halted', controllerId: welcome.sessionId });
    expect(welcome.halt).toMatchObject({ reason: 'startup' });
    const { welcome: w2 } = await connect(d.port, 'observer', 'watcher');
    expect(w2).toMatchObject({ role: 'observer', controllerId: welcome.sessionId });
    expect(await ctl.waitFor((n) => n.t === 'clientJoined' && n.clientId === w2.sessionId)).toMatchObject({
      role: 'observer',
      name: 'watcher',
    });
    const status = (await ctl.request('status', {})) as { clients: unknown[] };
    expect(status.clients).toEqual([
      { id: welcome.sessionId, role: 'controller', name: 'controller' },
      { id: w2.sessionId, role: 'observer', name: 'watcher' },
    ]);
  });
});
