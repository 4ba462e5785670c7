/** Scenario 6: a controller and 3 observers receive the same ordered stream. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, startDaemon } from './harness.js';
import { connect, type Recorder, waitFor } from './session.js';

describe('one controller, three observers', () => {
  let daemon: RunningDaemon;
  let ctl: Recorder;
  let observers: Recorder[];

  beforeAll(async () => {
    daemon = await startDaemon();
    ctl = await connect(daemon.url, 'controller', 'controller');
    observers = [];
    for (let i = 0; i < 3; i++) observers.push(await connect(daemon.url, 'observer', `observer-${i}`));
  });
  afterAll(async () => {
    for (const o of observers ?? []) await o.close();
    await ctl?.close();
    await daemon?.stop();
  });

  it('delivers identical logs and halts, in the same order, to everyone', async () => {
    await ctl.run('!syscall imm no script { printf("%llx\\n", @rax); }');
    await ctl.run('!cpuid script { printf("cpuid %x\\n", @eax); }');
    await waitFor('a few thousand messages', () => (ctl.logs.length > 2000 ? true : undefined));
    await ctl.run('pause');
    for (const client of [ctl, ...observers]) await waitFor('the halt', () => client.halts[0]);

    const upToHalt = (r: Recorder) => r.stream.slice(0, r.stream.indexOf('halt:pause') + 1);
    const reference = upToHalt(ctl);
    expect(reference.length).toBeGreaterThan(2000);
    for (const o of observers) expect(upToHalt(o)).toEqual(reference);
    const texts = (r: Recorder) => r.logs.slice(0, 2000).map((l) => `${l.seq}:${l.eventId}:${l.vcpu}:${l.text}`);
    for (const o of observers) expect(texts(o)).toEqual(texts(ctl));
  });

  it('refuses state changes from observers', async () => {
    const attempt = await observers[0].session.execute('g');
    expect(attempt.ok).toBe(false);
    expect(attempt.error?.code).toBe('E_FORBIDDEN');
    const raw = await observers[1].session.client
      .request('regs.set', { name: 'rax', value: 1n })
      .then(() => 'accepted')
      .catch((err: { code: string }) => err.code);
    expect(raw).toBe('E_FORBIDDEN');
    // Reads are fine.
    const regs = await observers[2].session.request('regs.get', { vcpu: 0 });
    expect(typeof regs.regs.rip).toBe('bigint');
  });
});
