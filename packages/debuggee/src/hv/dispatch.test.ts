/**
 * The SPEC §2.4 dispatch against a scripted fake core: the exit protocol (pre → verdict → post) is
 * driven by hand, so every branch of the walk is checked independently of the CPU and the guest.
 */
import type { EventSpec } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import {
  CR_ACCESS_TO,
  EPT_ACCESS_READ,
  EPT_ACCESS_WRITE,
  EPT_EXEC_TRAP,
  EPT_READ_TRAP,
  EXIT_EMULATE,
  EXIT_HALT,
  EXIT_REASON_COUNT,
  EXIT_REASON_CPUID,
  EXIT_REASON_CR_ACCESS,
  EXIT_REASON_EPT_EXECUTE,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_RDTSC,
  EXIT_REASON_RDTSCP,
  EXIT_REASON_SYSCALL,
  EXIT_REASON_VMCALL,
  EXIT_SKIP,
  EXIT_WANT_POST,
  EXIT_WANT_PRE,
  type ExitHandler,
  IO_DIRECTION_IN,
  IO_DIRECTION_OUT,
} from '../cpu/exits.js';
import { type ActionError, ActionRunner, type Firing, type MachineCode } from '../events/actions.js';
import { EventManager } from '../events/manager.js';
import { MessageQueue } from '../events/queue.js';
import { EventRegistry } from '../events/registry.js';
import { BreakpointTable } from './breakpoints.js';
import { EptManager } from './ept.js';
import { Hypervisor } from './exits.js';
import type { HvCpu } from './vcpu.js';

class FakeCpu implements HvCpu {
  exitHandler: HvCpu['exitHandler'] = null;
  exitMask = new Uint8Array(EXIT_REASON_COUNT);
  exitAddress = 0;
  exitLinear = 0;
  exitSize = 0;
  exitAccess = 0;
  exitValue = 0n;
  mtf = false;
  interruptsMasked = false;
  cpl = 0;
  instructions = 0;
  regs = new Array<bigint>(16).fill(0n);
  rip = 0x1000;
  cr = [0x80000011n, 0n, 0n, 0n, 0x20n];
  constructor(readonly index: number) {}
  getReg(r: number) {
    return this.regs[r]!;
  }
  setReg(r: number, v: bigint) {
    this.regs[r] = BigInt.asUintN(64, v);
  }
  getRip() {
    return BigInt(this.rip);
  }
  setRip(v: bigint) {
    this.rip = Number(v);
  }
  getRflags() {
    return 2n;
  }
  setRflags() {}
  getCr(n: number) {
    return this.cr[n]!;
  }
  setCr(n: number, v: bigint) {
    this.cr[n] = v;
  }
  translate(linear: bigint) {
    return Number(linear & 0xfffffffn);
  }
  readVirtual() {
    return null;
  }
  writeVirtual() {
    return false;
  }
}

type Program = (f: Firing) => void;
type Code = MachineCode & { fn: (f: Firing) => ActionError | boolean | null };

function setup(vcpus = 2, mode: 'remote' | 'local' = 'remote') {
  const cpus = Array.from({ length: vcpus }, (_, i) => new FakeCpu(i));
  const queue = new MessageQueue();
  const registry = new EventRegistry();
  const ept = new EptManager(new Uint8Array(0x10000));
  const scripts = {
    run(program: unknown, _b: Uint8Array, f: Firing) {
      (program as Program)(f);
      return null;
    },
  };
  const code = {
    runCode: (c: MachineCode, f: Firing) => (c as Code).fn(f) as ActionError | null,
    runCondition: (c: MachineCode, f: Firing) => (c as Code).fn(f) as boolean | ActionError,
  };
  const runner = new ActionRunner(queue, scripts, code, { pid: () => 7, tid: () => 9 }, () => 0n);
  const bps = new BreakpointTable(ept);
  const pids = [7, 7];
  const hv = new Hypervisor(cpus, registry, runner, { pid: (c) => pids[c]!, tid: () => 9 }, bps);
  const programs = new Map<number, Program>();
  const codes = new Map<number, (f: Firing) => ActionError | boolean | null>();
  const manager = new EventManager(registry, ept, {
    mode,
    vcpus,
    ept,
    translate: (a) => Number(a & 0xfffffffn),
    prepareScript: (buffer) => {
      if (buffer[0] === 0xff) throw new Error('unverifiable');
      return programs.get(buffer[0]!);
    },
    checkCode: (bytes) => (bytes.includes(0xc3) ? null : 'no ret'),
    loadCode: (bytes) => ({ size: bytes.length, release() {}, fn: codes.get(bytes[0]!)! }) as Code,
    allocBuffer: (size) => ({
      size,
      address: 0x5000n,
      read: () => new Uint8Array(size),
      readAt: () => false,
      writeAt: () => false,
      release() {},
    }),
  });
  registry.onChange = () => hv.sync();
  hv.install();
  let nextProgram = 1;
  const script = (p: Program) => {
    const n = nextProgram++;
    programs.set(n, p);
    return { type: 'script' as const, buffer: new Uint8Array([n]) };
  };
  const machineCode = (fn: (f: Firing) => ActionError | boolean | null) => {
    const n = nextProgram++;
    codes.set(n, fn);
    return new Uint8Array([n, 0xc3]);
  };
  const add = (spec: Partial<EventSpec> & Pick<EventSpec, 'kind'>) =>
    manager.add({ stage: 'pre', sc: false, imm: true, bufferSize: 0, actions: [], text: `!${spec.kind}`, ...spec });
  return { cpus, queue, registry, hv, manager, add, script, machineCode, ept, bps, pids };
}

/** One exit through the handler the way the CPU drives it. */
function exit(cpu: FakeCpu, reason: number, qual = 0, emulate: () => void = () => {}): number {
  const h = cpu.exitHandler as ExitHandler<HvCpu>;
  const want = cpu.exitMask[reason]!;
  if (want === 0) {
    emulate();
    return EXIT_EMULATE;
  }
  const v = want & EXIT_WANT_PRE ? h.pre(cpu, reason, qual) : EXIT_EMULATE;
  if (v === EXIT_HALT || v === EXIT_SKIP) return v;
  emulate();
  if (want & EXIT_WANT_POST) return h.post(cpu, reason, qual);
  return EXIT_EMULATE;
}

describe('hypervisor dispatch (SPEC §2.4)', () => {
  it('keeps exit masks in sync with registered events, per core', () => {
    const { cpus, add, manager } = setup();
    expect(cpus[0]!.exitMask[EXIT_REASON_CPUID]).toBe(0);
    const { id } = add({ kind: 'cpuid', core: 1, stage: 'all', actions: [{ type: 'break' }] });
    expect(cpus[0]!.exitMask[EXIT_REASON_CPUID]).toBe(0);
    expect(cpus[1]!.exitMask[EXIT_REASON_CPUID]).toBe(EXIT_WANT_PRE | EXIT_WANT_POST);
    add({ kind: 'tsc', actions: [{ type: 'break' }] });
    expect(cpus[0]!.exitMask[EXIT_REASON_RDTSC]).toBe(EXIT_WANT_PRE);
    expect(cpus[0]!.exitMask[EXIT_REASON_RDTSCP]).toBe(EXIT_WANT_PRE);
    manager.modify(id, 'disable');
    expect(cpus[1]!.exitMask[EXIT_REASON_CPUID]).toBe(0);
    manager.modify('all', 'clear');
    expect(cpus[0]!.exitMask.every((b) => b === 0)).toBe(true);
  });

  it('short-circuits cpuid with a faked result (sc on) and skips the post pass', () => {
    const { cpus, add, script } = setup();
    const cpu = cpus[0]!;
    let post = 0;
    add({
      kind: 'cpuid',
      param: 1n,
      sc: true,
      actions: [script((f) => f.cpu.setReg(0, 0x1234n))],
    });
    add({ kind: 'cpuid', stage: 'post', actions: [script(() => post++)] });
    cpu.regs[0] = 1n;
    let emulated = false;
    expect(exit(cpu, EXIT_REASON_CPUID, 0, () => (emulated = true))).toBe(EXIT_SKIP);
    expect(emulated).toBe(false);
    expect(cpu.regs[0]).toBe(0x1234n);
    expect(post).toBe(0);
    // Another leaf does not match the first event: emulated, post runs with the leaf as context.
    cpu.regs[0] = 2n;
    const contexts: number[] = [];
    add({ kind: 'cpuid', stage: 'post', actions: [script((f) => contexts.push(f.context))] });
    expect(exit(cpu, EXIT_REASON_CPUID, 0, () => (cpu.regs[0] = 0xabcn))).toBe(EXIT_EMULATE);
    expect(contexts).toEqual([2]);
    expect(post).toBe(1);
  });

  it('the last matching event decides short-circuit; event_sc from a script overrides', () => {
    const { cpus, add, script } = setup();
    add({ kind: 'syscall', sc: true, actions: [script(() => {})] });
    add({ kind: 'syscall', actions: [script(() => {})] });
    expect(exit(cpus[0]!, EXIT_REASON_SYSCALL)).toBe(EXIT_EMULATE);
    add({ kind: 'syscall', actions: [script((f) => (f.sc = true))] });
    expect(exit(cpus[0]!, EXIT_REASON_SYSCALL)).toBe(EXIT_SKIP);
  });

  it('a pre-stage break parks the walk; after continue it resumes at the next event, not re-breaking', () => {
    const { cpus, add, script, hv } = setup();
    const cpu = cpus[0]!;
    const order: string[] = [];
    add({ kind: 'vmcall', actions: [script(() => order.push('a'))] });
    const b = add({ kind: 'vmcall', actions: [{ type: 'break' }, script(() => order.push('b2'))] });
    add({ kind: 'vmcall', actions: [script(() => order.push('c'))] });
    let emulated = 0;
    expect(exit(cpu, EXIT_REASON_VMCALL, 0, () => emulated++)).toBe(EXIT_HALT);
    expect(hv.haltRequest).toMatchObject({ vcpu: 0, reason: 'event', eventId: b.id, stage: 'pre', context: 0n });
    expect(order).toEqual(['a']);
    expect(emulated).toBe(0);
    hv.haltRequest = null;
    // The CPU re-executes the instruction: the walk goes on after the break action.
    expect(exit(cpu, EXIT_REASON_VMCALL, 0, () => emulated++)).toBe(EXIT_EMULATE);
    expect(order).toEqual(['a', 'b2', 'c']);
    expect(emulated).toBe(1);
    // The next vmcall starts a fresh walk and breaks again.
    expect(exit(cpu, EXIT_REASON_VMCALL)).toBe(EXIT_HALT);
  });

  it('clearing every event while a walk is parked keeps the exit until the walk finishes with its sc', () => {
    const { cpus, add, manager, hv } = setup(1);
    const cpu = cpus[0]!;
    const { id } = add({ kind: 'vmcall', actions: [{ type: 'break' }] });
    expect(exit(cpu, EXIT_REASON_VMCALL)).toBe(EXIT_HALT);
    expect(hv.setParkedSc(0, true)).toBe(true);
    manager.modify(id, 'clear');
    expect(cpu.exitMask[EXIT_REASON_VMCALL]).toBe(EXIT_WANT_PRE);
    expect(exit(cpu, EXIT_REASON_VMCALL)).toBe(EXIT_SKIP);
    hv.sync();
    expect(cpu.exitMask[EXIT_REASON_VMCALL]).toBe(0);
  });

  it('a parked walk is dropped when RIP was changed while halted', () => {
    const { cpus, add, script } = setup();
    const cpu = cpus[0]!;
    const order: string[] = [];
    add({ kind: 'vmcall', actions: [script(() => order.push('a')), { type: 'break' }] });
    expect(exit(cpu, EXIT_REASON_VMCALL)).toBe(EXIT_HALT);
    cpu.rip = 0x2000;
    expect(exit(cpu, EXIT_REASON_VMCALL)).toBe(EXIT_HALT);
    expect(order).toEqual(['a', 'a']);
  });

  it('a post-stage break runs the rest of the post walk, then halts after the instruction', () => {
    const { cpus, add, script, hv } = setup();
    const order: string[] = [];
    const b = add({ kind: 'cpuid', stage: 'post', actions: [{ type: 'break' }] });
    add({ kind: 'cpuid', stage: 'all', actions: [script((f) => order.push(`s${f.stage}`))] });
    let emulated = 0;
    expect(exit(cpus[0]!, EXIT_REASON_CPUID, 0, () => emulated++)).toBe(EXIT_HALT);
    expect(emulated).toBe(1);
    expect(order).toEqual(['s0', 's1']);
    expect(hv.haltRequest).toMatchObject({ eventId: b.id, stage: 'post' });
  });

  it('filters by core and pid', () => {
    const { cpus, add, script, pids } = setup();
    const hits: number[] = [];
    add({ kind: 'syscall', core: 1, actions: [script((f) => hits.push(f.cpu.index))] });
    add({ kind: 'syscall', pid: 8, actions: [script((f) => hits.push(100 + f.cpu.index))] });
    exit(cpus[0]!, EXIT_REASON_SYSCALL);
    exit(cpus[1]!, EXIT_REASON_SYSCALL);
    pids[0] = 8;
    exit(cpus[0]!, EXIT_REASON_SYSCALL);
    expect(hits).toEqual([1, 100]);
  });

  it('matches syscall numbers, ports by direction, and CR writes with mask semantics', () => {
    const { cpus, add, script } = setup();
    const cpu = cpus[0]!;
    const hits: string[] = [];
    add({ kind: 'syscall', param: 0x3cn, actions: [script((f) => hits.push(`sys${f.context}`))] });
    add({ kind: 'ioin', param: 0x3f8n, actions: [script((f) => hits.push(`in${f.context.toString(16)}`))] });
    add({ kind: 'ioout', actions: [script((f) => hits.push(`out${f.context.toString(16)}`))] });
    add({ kind: 'crwrite', param: 4n, mask: 0x80n, actions: [script(() => hits.push('cr4'))] });
    cpu.regs[0] = 0x3bn;
    exit(cpu, EXIT_REASON_SYSCALL);
    cpu.regs[0] = 0x3cn;
    exit(cpu, EXIT_REASON_SYSCALL);
    exit(cpu, EXIT_REASON_IO_INSTRUCTION, 0x3f8 | (1 << 16) | (IO_DIRECTION_IN << 24));
    exit(cpu, EXIT_REASON_IO_INSTRUCTION, 0x3f9 | (1 << 16) | (IO_DIRECTION_IN << 24));
    exit(cpu, EXIT_REASON_IO_INSTRUCTION, 0x3f8 | (1 << 16) | (IO_DIRECTION_OUT << 24));
    cpu.exitValue = 0x20n | 0x10n; // toggles bit 4 only: masked out
    exit(cpu, EXIT_REASON_CR_ACCESS, 4 | (CR_ACCESS_TO << 4));
    cpu.exitValue = 0x20n | 0x80n; // toggles bit 7 (PGE)
    exit(cpu, EXIT_REASON_CR_ACCESS, 4 | (CR_ACCESS_TO << 4));
    expect(hits).toEqual(['sys60', 'in3f8', 'out3f8', 'cr4']);
  });

  it('monitor: any overlapping byte of an inclusive range fires, per access kind; EPT bits follow', () => {
    const { cpus, add, script, ept, manager } = setup();
    const cpu = cpus[0]!;
    const hits: string[] = [];
    const { id } = add({
      kind: 'monitor',
      access: 'r',
      space: 'physical',
      rangeStart: 0x3000n,
      rangeEnd: 0x300fn,
      actions: [script((f) => hits.push(`r${f.context.toString(16)}`))],
    });
    expect(ept.ept[3]).toBe(EPT_READ_TRAP);
    const access = (pa: number, size: number, kind: number) => {
      cpu.instructions++;
      cpu.exitAddress = pa;
      cpu.exitLinear = pa;
      cpu.exitSize = size;
      return exit(cpu, EXIT_REASON_EPT_VIOLATION, kind);
    };
    access(0x2ffc, 8, EPT_ACCESS_READ); // overlaps the first byte
    access(0x300f, 1, EPT_ACCESS_READ); // the inclusive last byte
    access(0x3010, 4, EPT_ACCESS_READ); // just after
    access(0x3004, 4, EPT_ACCESS_WRITE); // wrong access kind
    expect(hits).toEqual(['r2ffc', 'r300f']);
    // One instruction whose access the CPU checks in two parts fires once.
    cpu.exitAddress = 0x3000;
    cpu.exitLinear = 0x3000;
    cpu.exitSize = 4;
    exit(cpu, EXIT_REASON_EPT_VIOLATION, EPT_ACCESS_READ);
    cpu.exitAddress = 0x3004;
    cpu.exitLinear = 0x3004;
    exit(cpu, EXIT_REASON_EPT_VIOLATION, EPT_ACCESS_READ);
    expect(hits).toEqual(['r2ffc', 'r300f', 'r3000']);
    manager.modify(id, 'clear');
    expect(ept.ept[3]).toBe(0);
  });

  it('epthook shares pages; monitor and epthook2 refuse to (E_HOOK_CONFLICT) and register nothing', () => {
    const { add, ept, registry } = setup();
    add({ kind: 'epthook', param: 0x4010n, actions: [{ type: 'break' }] });
    add({ kind: 'epthook', param: 0x4020n, actions: [{ type: 'break' }] });
    expect(ept.ept[4]).toBe(EPT_EXEC_TRAP);
    expect(() => add({ kind: 'epthook2', param: 0x4030n, actions: [{ type: 'break' }] })).toThrow(
      expect.objectContaining({ code: 'E_HOOK_CONFLICT' }),
    );
    expect(() =>
      add({ kind: 'monitor', access: 'w', rangeStart: 0x4ff0n, rangeEnd: 0x5010n, actions: [{ type: 'break' }] }),
    ).toThrow(expect.objectContaining({ code: 'E_HOOK_CONFLICT' }));
    expect(registry.size).toBe(2);
    expect(ept.ept[5]).toBe(0);
  });

  it('epthook matches the exact address on a trapped page and breakpoints halt once per hit', () => {
    const { cpus, add, script, bps, hv } = setup();
    const cpu = cpus[0]!;
    const hits: number[] = [];
    add({ kind: 'epthook', param: 0x4010n, actions: [script((f) => hits.push(f.context))] });
    bps.add(0x4020n, 0x4020, {});
    hv.sync();
    const execute = (va: number) => {
      cpu.rip = va;
      cpu.exitLinear = va;
      cpu.exitAddress = va;
      return exit(cpu, EXIT_REASON_EPT_EXECUTE, 4);
    };
    expect(execute(0x4000)).toBe(EXIT_EMULATE);
    expect(execute(0x4010)).toBe(EXIT_EMULATE);
    expect(hits).toEqual([0x4010]);
    expect(execute(0x4020)).toBe(EXIT_HALT);
    expect(hv.haltRequest).toMatchObject({ reason: 'breakpoint' });
    hv.haltRequest = null;
    expect(execute(0x4020)).toBe(EXIT_EMULATE);
    expect(execute(0x4020)).toBe(EXIT_HALT);
  });

  it('runs actions in order gated by the condition; a failing action is reported and the next still runs', () => {
    const { cpus, add, script, machineCode, queue } = setup();
    const order: string[] = [];
    let gate = false;
    const out: string[] = [];
    queue.setSink({ onLog: (b) => out.push(...b.map((r) => r.text ?? '')), onDropped() {} });
    add({
      kind: 'syscall',
      condition: machineCode(() => gate),
      actions: [
        { type: 'code', bytes: machineCode(() => ({ code: 'E_CODE_RUNTIME', message: 'boom' })) },
        script(() => order.push('script')),
      ],
    });
    exit(cpus[0]!, EXIT_REASON_SYSCALL);
    expect(order).toEqual([]);
    gate = true;
    exit(cpus[0]!, EXIT_REASON_SYSCALL);
    expect(order).toEqual(['script']);
    queue.pump(0);
    expect(out).toEqual(['event 0x0: code failed: E_CODE_RUNTIME: boom']);
  });

  it('chains the machine handler as the emulate step; sc skips it too', () => {
    const { cpus, add, script, hv } = setup(1);
    const cpu = cpus[0]!;
    const calls: string[] = [];
    const machine: ExitHandler<HvCpu> = {
      pre: () => {
        calls.push('machine');
        return EXIT_SKIP;
      },
      post: () => EXIT_EMULATE,
    };
    cpu.exitHandler = machine;
    cpu.exitMask[EXIT_REASON_VMCALL] = EXIT_WANT_PRE;
    hv.install();
    expect(exit(cpu, EXIT_REASON_VMCALL)).toBe(EXIT_SKIP);
    expect(calls).toEqual(['machine']);
    const { id } = add({ kind: 'vmcall', sc: true, actions: [script(() => calls.push('event'))] });
    expect(exit(cpu, EXIT_REASON_VMCALL)).toBe(EXIT_SKIP);
    expect(calls).toEqual(['machine', 'event']);
    hv.sync();
    expect(cpu.exitMask[EXIT_REASON_VMCALL]).toBe(EXIT_WANT_PRE);
    void id;
  });

  it('does not re-enter while an action runs', () => {
    const { cpus, add, script } = setup(1);
    const cpu = cpus[0]!;
    let inner = -1;
    let runs = 0;
    add({
      kind: 'cpuid',
      actions: [
        script(() => {
          runs++;
          inner = exit(cpu, EXIT_REASON_CPUID);
        }),
      ],
    });
    exit(cpu, EXIT_REASON_CPUID);
    expect(runs).toBe(1);
    expect(inner).toBe(EXIT_EMULATE);
  });
});

describe('event validation registers nothing on failure', () => {
  const cases: [string, Partial<EventSpec> & Pick<EventSpec, 'kind'>, string][] = [
    ['unknown kind', { kind: 'nope' as never }, 'E_BAD_EVENT'],
    ['sc with stage post', { kind: 'cpuid', stage: 'post', sc: true }, 'E_BAD_PARAMETER'],
    ['sc with stage all', { kind: 'cpuid', stage: 'all', sc: true }, 'E_BAD_PARAMETER'],
    ['post on a pre-only kind', { kind: 'epthook', param: 0x1000n, stage: 'post' }, 'E_BAD_PARAMETER'],
    ['exception vector ≥ 0x20', { kind: 'exception', param: 0x20n }, 'E_BAD_PARAMETER'],
    ['interrupt vector < 0x20', { kind: 'interrupt', param: 0x1fn }, 'E_BAD_PARAMETER'],
    ['interrupt without vector', { kind: 'interrupt' }, 'E_BAD_PARAMETER'],
    ['crwrite cr3', { kind: 'crwrite', param: 3n }, 'E_BAD_PARAMETER'],
    ['port > 0xffff', { kind: 'ioin', param: 0x10000n }, 'E_BAD_PARAMETER'],
    ['parameter on !tsc', { kind: 'tsc', param: 1n }, 'E_BAD_PARAMETER'],
    ['bad mode direction', { kind: 'mode', direction: 'x' }, 'E_BAD_PARAMETER'],
    ['bad trace type', { kind: 'trace', direction: 'sideways' }, 'E_BAD_PARAMETER'],
    ['bad monitor access', { kind: 'monitor', access: 'q', rangeStart: 0n, rangeEnd: 1n }, 'E_BAD_PARAMETER'],
    ['monitor range reversed', { kind: 'monitor', access: 'r', rangeStart: 9n, rangeEnd: 1n }, 'E_BAD_PARAMETER'],
    ['core out of range', { kind: 'cpuid', core: 5 }, 'E_BAD_VCPU'],
    ['buffer too large', { kind: 'cpuid', bufferSize: 1 << 20 }, 'E_TOO_LARGE'],
    [
      'code without ret',
      { kind: 'cpuid', actions: [{ type: 'code', bytes: new Uint8Array([0x90]) }] },
      'E_CODE_INVALID',
    ],
    ['condition without ret', { kind: 'cpuid', condition: new Uint8Array([0x90]) }, 'E_CODE_INVALID'],
    ['unknown action', { kind: 'cpuid', actions: [{ type: 'jump' } as never] }, 'E_BAD_ACTION'],
  ];
  for (const [name, spec, code] of cases) {
    it(name, () => {
      const { add, registry, cpus } = setup();
      expect(() => add({ actions: [{ type: 'break' }], ...spec })).toThrow(expect.objectContaining({ code }));
      expect(registry.size).toBe(0);
      expect(registry.peekId()).toBe(0);
      expect(cpus[0]!.exitMask.every((b) => b === 0)).toBe(true);
    });
  }

  it('local mode refuses a break action with a clear message', () => {
    const { add, registry } = setup(1, 'local');
    expect(() => add({ kind: 'syscall', actions: [{ type: 'break' }] })).toThrow(
      expect.objectContaining({ code: 'E_LOCAL_MODE', message: expect.stringContaining('local mode') }),
    );
    expect(registry.size).toBe(0);
  });

  it('ids and tags follow insertion order; list shows enabled state and text', () => {
    const { add, manager } = setup();
    const a = add({ kind: 'cpuid', actions: [{ type: 'break' }] });
    const b = add({ kind: 'tsc', actions: [{ type: 'break' }] });
    expect([a.id, b.id]).toEqual([0, 1]);
    expect(b.tag).toBe(0x1000001n);
    manager.modify(0, 'disable');
    expect(manager.list().map((e) => [e.id, e.enabled, e.text])).toEqual([
      [0, false, '!cpuid'],
      [1, true, '!tsc'],
    ]);
    expect(() => manager.modify(9, 'enable')).toThrow(expect.objectContaining({ code: 'E_BAD_EVENT_ID' }));
  });
});
