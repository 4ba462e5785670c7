/** `stateChanged`: other clients' changes are shown, this client's are not; cached halt state follows. */
import type { StateChangedNotice } from '@hvdbg/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { formatStateChange } from './format.js';
import { DebugSession, type SessionOutput } from './session.js';
import { type FakeGuest, type FakeGuestOptions, KERNEL, SCHED, startFakeGuest } from './testing/fakeGuest.js';

let guest: FakeGuest | undefined;
let session: DebugSession | undefined;

afterEach(async () => {
  await session?.disconnect();
  await guest?.daemon.stop();
  session = undefined;
  guest = undefined;
});

/** The fake daemon welcomes every client as session 1. */
const SELF = 1;
const OTHER = 2;

async function attach(options: FakeGuestOptions = {}) {
  guest = await startFakeGuest(options);
  session = new DebugSession({ haltTimeoutMs: 2000 });
  const outputs: SessionOutput[] = [];
  session.on('output', (o) => outputs.push(o));
  await session.connect(guest.daemon.url);
  const infos = () => outputs.filter((o) => o.kind === 'info').flatMap((o) => o.lines);
  /** Resolves once an info line passing `pred` was shown. */
  const shown = (pred: (line: string) => boolean) =>
    new Promise<string>((resolve, reject) => {
      const seen = infos().find(pred);
      if (seen !== undefined) return resolve(seen);
      const timer = setTimeout(() => reject(new Error('not shown')), 2000);
      session!.on('output', (o) => {
        const line = o.kind === 'info' ? o.lines.find(pred) : undefined;
        if (line === undefined) return;
        clearTimeout(timer);
        resolve(line);
      });
    });
  return { guest, session, outputs, infos, shown };
}

const change = (c: Omit<StateChangedNotice, 't'>): StateChangedNotice => ({ t: 'stateChanged', ...c });

describe('formatStateChange', () => {
  it('names what, who, and the specifics', () => {
    expect(formatStateChange({ what: 'registers', byClient: 3, vcpu: 1, detail: 'rax' })).toBe(
      'registers changed by client 3 (vcpu 1, rax)',
    );
    expect(
      formatStateChange({ what: 'memory', byClient: 3, vcpu: 0, address: 0x1000n, length: 16, detail: 'virtual' }),
    ).toBe('memory changed by client 3 (vcpu 0, 0x1000 l 0x10, virtual)');
    expect(formatStateChange({ what: 'queue', byClient: 4 })).toBe('message queue changed by client 4');
  });
});

describe('stateChanged in the session', () => {
  it("shows other clients' changes and not its own", async () => {
    const { guest, infos, shown } = await attach({ role: 'observer' });
    guest.daemon.notify(change({ what: 'registers', byClient: SELF, vcpu: 0, detail: 'rbx' }));
    guest.daemon.notify(change({ what: 'registers', byClient: OTHER, vcpu: 0, detail: 'rcx' }));
    guest.daemon.notify(change({ what: 'breakpoints', byClient: SELF, address: SCHED, detail: 'added 1' }));
    guest.daemon.notify(change({ what: 'breakpoints', byClient: OTHER, address: SCHED, detail: 'added 2' }));
    await shown((l) => l.includes('added 2'));
    expect(infos()).toEqual([
      'registers changed by client 2 (vcpu 0, rcx)',
      `breakpoints changed by client 2 (${'0x'}${SCHED.toString(16)}, added 2)`,
    ]);
  });

  it("does not highlight another client's register write as the guest's change at the next halt", async () => {
    const { guest, session, shown } = await attach();
    guest.regs.rbx = 0x55n; // written by client 2 while halted
    guest.daemon.notify(change({ what: 'registers', byClient: OTHER, vcpu: 0, detail: 'rbx' }));
    await shown((l) => l.startsWith('registers changed by client 2'));
    expect((await session.execute('t')).ok).toBe(true);
    const regs = (await session.execute('r')).lines.join('\n');
    expect(regs).toContain('rax=0000000000000001*'); // the step's doing
    expect(regs).toContain('rbx=0000000000000055 '); // the other client's, not flagged
  });

  it('re-reads the instruction at the halt when another client overwrote it', async () => {
    const { guest, session, shown } = await attach();
    guest.memory.set([0x90, 0x90], Number(SCHED - KERNEL));
    guest.daemon.notify(change({ what: 'memory', byClient: OTHER, vcpu: 0, address: SCHED, length: 2 }));
    await shown((l) => l.startsWith('memory changed by client 2'));
    await expect.poll(() => session.halt?.bytes[0]).toBe(0x90);
    expect(guest.daemon.received('mem.read').at(-1)).toMatchObject({ address: SCHED, length: 16 });
  });

  it('follows a core switch made by another client', async () => {
    const { guest, session, shown } = await attach();
    const halt = { ...session.halt!, vcpu: 1, rip: KERNEL + 0x1000n };
    guest.daemon.handlers.status = () => ({
      state: 'halted',
      mode: 'remote',
      halt,
      vcpus: 2,
      instructions: 0n,
      clients: [],
      events: 0,
      drops: 0n,
      lossless: false,
      queueDepth: 0,
    });
    guest.daemon.notify(change({ what: 'core', byClient: OTHER, vcpu: 1 }));
    await shown((l) => l === 'main core changed by client 2 (vcpu 1)');
    await expect.poll(() => session.vcpu).toBe(1);
    expect(session.prompt()).toBe('hvdbg [halted vcpu 1 kernel!start]> ');
  });
});
