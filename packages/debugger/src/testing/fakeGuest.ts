/**
 * Request handlers that behave like a tiny halted guest (registers, 64 KiB of memory at the kernel
 * base, two symbols, events and breakpoints) on top of FakeDaemon, so session tests exercise real
 * round trips. Steps advance RIP by one instruction length and announce the halt.
 */
import { type EventInfo, type HaltInfo, HvdbgError } from '@hvdbg/protocol';
import { FakeDaemon, type FakeHandlers, fakeWelcome } from './fakeDaemon.js';

export const KERNEL = 0xffffffff80000000n;
export const SCHED = KERNEL + 0x1010n;

export interface FakeGuest {
  daemon: FakeDaemon;
  regs: Record<string, bigint>;
  memory: Uint8Array;
  events: EventInfo[];
  halt(reason?: HaltInfo['reason']): void;
}

export interface FakeGuestOptions {
  mode?: 'local' | 'remote';
  halted?: boolean;
  role?: 'controller' | 'observer';
}

export async function startFakeGuest(options: FakeGuestOptions = {}): Promise<FakeGuest> {
  const memory = new Uint8Array(0x10000);
  // kernel!start at +0x1000: call sched; nop…; kernel!sched at +0x1010: push rbp; mov rbp, rsp; syscall; ret
  memory.set([0xe8, 0x0b, 0, 0, 0, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90], 0x1000);
  memory.set([0x55, 0x48, 0x89, 0xe5, 0x0f, 0x05, 0xc3], 0x1010);
  // A two-frame rbp chain on the "stack" at +0x8000.
  const view = new DataView(memory.buffer);
  view.setBigUint64(0x8000, KERNEL + 0x8040n, true);
  view.setBigUint64(0x8008, KERNEL + 0x1005n, true);
  view.setBigUint64(0x8040, 0n, true);
  view.setBigUint64(0x8048, 0n, true);
  const regs: Record<string, bigint> = {
    rax: 0n,
    rbx: 0n,
    rcx: 0n,
    rip: SCHED,
    rsp: KERNEL + 0x7ff0n,
    rbp: KERNEL + 0x8000n,
    rflags: 0x202n,
  };
  const events: EventInfo[] = [];
  let state: 'running' | 'halted' = options.halted === false ? 'running' : 'halted';
  const haltInfo = (reason: HaltInfo['reason']): HaltInfo => {
    const off = Number(regs.rip! - KERNEL);
    return { reason, vcpu: 0, rip: regs.rip!, rflags: regs.rflags!, bytes: memory.slice(off, off + 16), lastSeq: 0n };
  };
  const inRange = (address: bigint, length: number) => {
    const off = address - KERNEL;
    if (off < 0n || off + BigInt(length) > BigInt(memory.length)) throw new HvdbgError('E_BAD_ADDRESS');
    return Number(off);
  };
  let daemon: FakeDaemon;
  const guest = {
    regs,
    memory,
    events,
    halt(reason: HaltInfo['reason'] = 'pause') {
      state = 'halted';
      daemon.notify({ t: 'halted', ...haltInfo(reason) });
    },
  } as FakeGuest;
  const handlers: FakeHandlers = {
    'symbols.get': () => ({
      modules: [{ name: 'kernel', base: KERNEL, size: 0x10000n }],
      symbols: [
        { name: 'start', module: 'kernel', address: KERNEL + 0x1000n, size: 0x10n, kind: 'function' },
        { name: 'sched', module: 'kernel', address: SCHED, size: 0x10n, kind: 'function' },
      ],
    }),
    'regs.get': ({ names }) => {
      const out: Record<string, bigint> = {};
      for (const n of names ?? Object.keys(regs)) {
        if (regs[n] === undefined) throw new HvdbgError('E_BAD_REGISTER');
        out[n] = regs[n]!;
      }
      return { vcpu: 0, regs: out };
    },
    'regs.set': ({ name, value }) => {
      regs[name] = value;
      return {};
    },
    'mem.read': ({ address, length }) => {
      const off = inRange(address, length);
      return { bytes: memory.slice(off, off + length) };
    },
    'mem.write': ({ address, bytes }) => {
      memory.set(bytes, inRange(address, bytes.length));
      return { written: bytes.length };
    },
    'exec.step': ({ count }) => {
      if (state !== 'halted') throw new HvdbgError('E_NOT_HALTED');
      daemon.notify({ t: 'resumed', step: true });
      setTimeout(() => {
        regs.rip = regs.rip! + BigInt(count);
        regs.rax = regs.rax! + 1n;
        guest.halt('step');
      }, 5);
      return {};
    },
    'exec.continue': () => {
      state = 'running';
      daemon.notify({ t: 'resumed' });
      return {};
    },
    'exec.pause': () => {
      setTimeout(() => guest.halt('pause'), 5);
      return {};
    },
    'event.add': (spec) => {
      const id = events.length + 1;
      events.push({ id, tag: BigInt(0x1000000 + id), enabled: true, kind: spec.kind, text: spec.text, hits: 0n });
      return { id, tag: BigInt(0x1000000 + id), warnings: [] };
    },
    'event.list': () => ({ events }),
    'event.modify': ({ id, action }) => {
      const hit = events.filter((e) => id === 'all' || e.id === id);
      if (hit.length === 0) throw new HvdbgError('E_BAD_EVENT_ID');
      for (const e of hit) e.enabled = action === 'enable';
      return { affected: hit.length };
    },
    'bp.add': () => ({ id: 1 }),
    'control.take': () => ({ role: 'controller' }),
    'script.eval': ({ buffer }) => ({ output: [`ran ${buffer.length} bytes`] }),
    disconnect: () => ({}),
  };
  const welcome = fakeWelcome({
    mode: options.mode ?? 'remote',
    role: options.role ?? 'controller',
    state,
    ...(state === 'halted' ? { halt: haltInfo('startup') } : {}),
  });
  daemon = await FakeDaemon.start(handlers, welcome);
  guest.daemon = daemon;
  return guest;
}
