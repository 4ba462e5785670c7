/**
 * The debug target over the real guest kernel: events fired by the kernel's own activity, breaks
 * and halts, stepping, registers and memory, hidden hooks the kernel cannot see, and the queue in
 * front of the listener.
 */
import type { EventSpec, HaltInfo, LogRecord } from '@hvdbg/protocol';
import { LIMITS } from '@hvdbg/protocol';
import { compileScript } from '@hvdbg/script';
import { describe, expect, it } from 'vitest';
import { Debuggee, type DebuggeeOptions } from './debuggee.js';
import { flowAt } from './hv/stepper.js';
import type { HvCpu } from './hv/vcpu.js';

const cpuOf = (d: Debuggee): HvCpu => d.machine.cpus[d.mainVcpu()] as unknown as HvCpu;

import type { DropReport } from './target.js';

function boot(options: DebuggeeOptions = {}) {
  const d = new Debuggee({
    workload: 'mixed',
    vcpus: 2,
    memoryBytes: 64n << 20n,
    sliceInstructions: 100_000,
    ...options,
  });
  const seen = {
    logs: [] as LogRecord[],
    drops: [] as DropReport[],
    halts: [] as HaltInfo[],
    console: '',
    order: [] as string[],
  };
  d.setListener({
    onLog: (b) => {
      seen.logs.push(...b);
      seen.order.push('log');
    },
    onDropped: (r) => seen.drops.push(r),
    onConsole: (t) => (seen.console += t),
    onHalt: (h) => {
      seen.halts.push(h);
      seen.order.push('halt');
    },
    onResume: () => seen.order.push('resume'),
    onEventsChanged: () => {},
  });
  const runUntil = (done: () => boolean, maxSlices = 2000) => {
    for (let i = 0; i < maxSlices && !done(); i++) {
      if (d.state() !== 'running') break;
      d.runSlice();
    }
    return done();
  };
  const add = (spec: Partial<EventSpec> & Pick<EventSpec, 'kind'>, script?: string) =>
    d.addEvent({
      stage: 'pre',
      sc: false,
      imm: true,
      bufferSize: 0,
      text: `!${spec.kind}`,
      actions: script === undefined ? [{ type: 'break' }] : [{ type: 'script', buffer: compileScript(script) }],
      ...spec,
    });
  const symbol = (name: string) => d.symbols().symbols.find((s) => s.name === name)!.address;
  const texts = () => seen.logs.map((r) => r.text ?? '');
  return { d, seen, runUntil, add, symbol, texts };
}

describe('debuggee on the guest kernel', () => {
  it('boots the kernel and streams its console', () => {
    const { d, seen, runUntil } = boot();
    expect(runUntil(() => seen.console.includes('heartbeat'))).toBe(true);
    expect(d.state()).toBe('running');
  });

  it('!syscall with a script logs the kernel processes’ syscalls with pid and number', () => {
    const { seen, runUntil, add } = boot();
    add({ kind: 'syscall', param: 39n }, 'printf("getpid from %d\\n", $pid);');
    expect(runUntil(() => seen.logs.length >= 3)).toBe(true);
    const pids = new Set(seen.logs.map((r) => r.pid));
    for (const r of seen.logs) expect(r.text).toBe(`getpid from ${r.pid}\n`);
    expect(pids.size).toBeGreaterThan(0);
    expect([...pids].every((p) => p > 0)).toBe(true);
  });

  it('a break halts every vCPU, reports RIP bytes, and continue resumes the walk', () => {
    const { d, seen, runUntil, add } = boot();
    const { id } = add({ kind: 'syscall' });
    expect(runUntil(() => seen.halts.length > 0)).toBe(true);
    const h = seen.halts[0]!;
    expect(h).toMatchObject({ reason: 'event', eventId: id, stage: 'pre' });
    expect(d.state()).toBe('halted');
    expect(d.readMemory('virtual', h.rip, h.bytes.length, h.vcpu)).toEqual(h.bytes);
    expect([...h.bytes.slice(0, 2)]).toEqual([0x0f, 0x05]); // halted before the SYSCALL itself
    const before = d.instructions();
    expect(d.runSlice().idle).toBe(true);
    expect(d.instructions()).toBe(before);
    d.modifyEvent(id, 'clear');
    d.resume();
    expect(runUntil(() => d.instructions() > before + 100_000n)).toBe(true);
  });

  it('pause, step instr / into / over, registers and memory', () => {
    const { d, runUntil, seen, add, symbol } = boot();
    runUntil(() => d.instructions() > 2_000_000n);
    d.pause(7);
    expect(seen.halts.at(-1)).toMatchObject({ reason: 'pause', byClient: 7 });
    d.resume();
    // Halt on a SYSCALL in user mode, then single-step it into the kernel's entry point.
    const { id } = add({ kind: 'syscall' });
    expect(runUntil(() => d.state() === 'halted')).toBe(true);
    d.modifyEvent(id, 'clear');
    const vcpu = d.mainVcpu();
    d.step('instr', 1);
    runUntil(() => d.state() === 'halted', 10);
    expect(seen.halts.at(-1)).toMatchObject({ reason: 'step', vcpu });
    expect(d.readRegisters(vcpu, ['rip']).rip).toBe(symbol('syscall_entry'));
    d.step('into', 3);
    runUntil(() => d.state() === 'halted', 50);
    expect(seen.halts.at(-1)!.reason).toBe('step');
    d.writeRegister(vcpu, 'r15', 0x1234n);
    expect(d.readRegisters(vcpu, ['r15', 'r15d', 'r15w']).r15).toBe(0x1234n);
    expect(() => d.readRegisters(vcpu, ['nope'])).toThrow(expect.objectContaining({ code: 'E_BAD_REGISTER' }));
    expect(() => d.readMemory('virtual', 0x7fff_0000_0000n, 8, vcpu)).toThrow(
      expect.objectContaining({ code: 'E_BAD_ADDRESS' }),
    );
    expect(() => d.readMemory('physical', 1n << 40n, 8, vcpu)).toThrow(
      expect.objectContaining({ code: 'E_BAD_ADDRESS' }),
    );
    expect(() => d.readMemory('virtual', 0n, LIMITS.maxMemoryBytes + 1, vcpu)).toThrow(
      expect.objectContaining({ code: 'E_TOO_LARGE' }),
    );
    const t = d.translate(0xffffffff80100000n, vcpu);
    expect(t.physical).toBe(0x100000n);
    expect(() => d.resume()).not.toThrow();
    expect(() => d.resume()).toThrow(expect.objectContaining({ code: 'E_NOT_HALTED' }));
  });

  it('step over runs a call to its return address; step out runs to after the RET', () => {
    const { d, runUntil, seen, symbol } = boot({ vcpus: 1 });
    const getpid = d.symbols().symbols.find((x) => x.name === 'do_getpid')!;
    const bp = d.addBreakpoint(getpid.address, {});
    expect(runUntil(() => d.state() === 'halted', 5000)).toBe(true);
    expect(seen.halts.at(-1)).toMatchObject({ reason: 'breakpoint', eventId: bp, rip: getpid.address });
    d.modifyBreakpoint(bp, 'clear');
    d.step('out', 1);
    runUntil(() => d.state() === 'halted', 10);
    const after = d.readRegisters(0, ['rip']).rip!;
    expect(after < getpid.address || after >= getpid.address + getpid.size).toBe(true);
    // Walk forward with single steps to the next CALL, then step over it.
    let flow = flowAt(cpuOf(d));
    for (let i = 0; i < 200 && !flow?.call; i++) {
      d.step('instr', 1);
      runUntil(() => d.state() === 'halted', 10);
      flow = flowAt(cpuOf(d));
    }
    expect(flow?.call).toBe(true);
    const rip = d.readRegisters(0, ['rip']).rip!;
    d.step('over', 1);
    runUntil(() => d.state() === 'halted', 100);
    expect(d.readRegisters(0, ['rip']).rip).toBe(rip + BigInt(flow!.length));
    void symbol;
  });

  it('hidden hooks: an epthook and a breakpoint on checked code leave the kernel’s checksum unchanged', () => {
    const { d, seen, runUntil, add, symbol, texts } = boot({ vcpus: 1 });
    const checksums = () => [...seen.console.matchAll(/code checksum: ([0-9a-f]{8})/g)].map((m) => m[1]);
    expect(runUntil(() => checksums().length >= 1, 5000)).toBe(true);
    const clean = checksums()[0];
    add({ kind: 'epthook', param: symbol('do_getpid') }, 'printf("getpid hook\\n");');
    const bp = d.addBreakpoint(symbol('do_open'), {});
    const n = checksums().length;
    expect(runUntil(() => checksums().length > n || d.state() === 'halted', 5000)).toBe(true);
    if (d.state() === 'halted') {
      expect(seen.halts.at(-1)).toMatchObject({ reason: 'breakpoint', rip: symbol('do_open') });
      d.modifyBreakpoint(bp, 'clear');
      d.resume();
      expect(runUntil(() => checksums().length > n, 5000)).toBe(true);
    }
    expect(checksums().at(-1)).toBe(clean);
    expect(texts()).toContain('getpid hook\n');
  });

  it('messages produced before a halt ship before the halt notification', () => {
    const { seen, runUntil, add } = boot();
    add({ kind: 'syscall', imm: false }, 'printf("s\\n");');
    add({ kind: 'syscall', param: 39n });
    expect(runUntil(() => seen.halts.length > 0)).toBe(true);
    const i = seen.order.indexOf('halt');
    expect(seen.order.slice(0, i)).toContain('log');
    expect(seen.halts[0]!.lastSeq).toBe(seen.logs.at(-1)!.seq);
  });

  it('lossless mode throttles the guest instead of dropping', () => {
    const { d, runUntil, add } = boot({ lossless: true, queue: { capacity: 16, lowWater: 4 } });
    d.setConsumerBlocked(true);
    add({ kind: 'syscall' }, 'printf("s\\n");');
    runUntil(() => d.queueDepth() >= 16);
    expect(d.runSlice().idle).toBe(true);
    expect(d.drops()).toBe(0n);
    d.setConsumerBlocked(false);
    d.tick(Date.now());
    expect(d.runSlice().idle).toBe(false);
  });

  it('evaluates scripts for ?, switches cores, lists breakpoints, reads event buffers, sets sc while halted', () => {
    const { d, seen, runUntil, add, symbol } = boot();
    runUntil(() => d.instructions() > 3_000_000n);
    const { id } = add({ kind: 'syscall', param: 39n });
    const counter = d.addEvent({
      kind: 'cpuid',
      stage: 'pre',
      sc: false,
      imm: true,
      bufferSize: 8,
      text: '!cpuid code',
      actions: [{ type: 'code', bytes: Uint8Array.from([0x48, 0xff, 0x01, 0xc3]) }],
    });
    expect(runUntil(() => d.state() === 'halted')).toBe(true);
    const h = d.haltInfo()!;
    expect(h).toMatchObject({ reason: 'event', eventId: id });
    // ? @rax and a printf statement, against the halted vCPU's real state.
    expect(d.evalScript(compileScript('@rax', { mode: 'expression' }), h.vcpu)).toEqual({ output: ['27'] });
    expect(d.evalScript(compileScript('printf("pid=%d\\n", $pid);'), h.vcpu).output[0]).toMatch(/^pid=\d+\n$/);
    expect(d.evalScript(new Uint8Array([1, 2, 3]), h.vcpu).error?.code).toBe('E_SCRIPT_VERIFY');
    // events sc on: the halted SYSCALL is skipped, so one step leaves RIP past it, still in ring 3.
    d.setShortCircuit(true);
    d.modifyEvent(id, 'clear');
    d.step('instr', 1, h.vcpu);
    runUntil(() => d.state() === 'halted', 5);
    expect(d.readRegisters(h.vcpu, ['rip', 'cs'])).toEqual({ rip: h.rip + 2n, cs: d.readRegisters(h.vcpu, ['cs']).cs });
    expect(d.readRegisters(h.vcpu, ['cs']).cs! & 3n).toBe(3n);
    expect(() => d.setShortCircuit(true)).toThrow(expect.objectContaining({ code: 'E_BAD_PARAMETER' }));
    const other = h.vcpu === 0 ? 1 : 0;
    const switched = d.switchCore(other);
    expect(switched.vcpu).toBe(other);
    expect(d.mainVcpu()).toBe(other);
    expect(() => d.switchCore(9)).toThrow(expect.objectContaining({ code: 'E_BAD_VCPU' }));
    const bp = d.addBreakpoint(symbol('do_open'), { core: 1 });
    expect(d.listBreakpoints()).toEqual([{ id: bp, address: symbol('do_open'), enabled: true, core: 1, hits: 0n }]);
    expect(d.modifyBreakpoint('all', 'clear')).toBe(1);
    expect(() => d.modifyBreakpoint(bp, 'enable')).toThrow(expect.objectContaining({ code: 'E_BAD_BREAKPOINT' }));
    d.resume();
    runUntil(() => d.instructions() > 6_000_000n);
    expect(d.readEventBuffer(counter.id).length).toBe(8);
    expect(d.listEvents().find((e) => e.id === counter.id)!.hits).toBeGreaterThan(0n);
    expect(() => d.readEventBuffer(99)).toThrow(expect.objectContaining({ code: 'E_BAD_EVENT_ID' }));
    void seen;
  });

  it('starts halted when asked, refuses breaks in local mode, and reports a triple fault as a stop', () => {
    const halted = boot({ halted: true });
    expect(halted.d.state()).toBe('halted');
    expect(halted.d.haltInfo()).toMatchObject({ reason: 'startup', vcpu: 0 });
    expect(halted.d.runSlice().idle).toBe(true);

    const local = boot({ mode: 'local' });
    expect(() => local.add({ kind: 'syscall' })).toThrow(expect.objectContaining({ code: 'E_LOCAL_MODE' }));
    expect(local.d.listEvents()).toEqual([]);

    const { d, seen, runUntil } = boot({ vcpus: 1 });
    runUntil(() => d.instructions() > 1_000_000n);
    d.pause();
    d.writeRegister(0, 'cr3', 0x3fff000n); // page tables full of zeros: the next fetch cannot be delivered
    d.resume();
    expect(runUntil(() => d.state() === 'stopped', 10)).toBe(true);
    expect(seen.halts.at(-1)!.reason).toBe('triple-fault');
    expect(() => d.resume()).toThrow(expect.objectContaining({ code: 'E_GUEST_STOPPED' }));
  });

  it('a user-space hook with pid resolves in that process and fires only there', () => {
    const { d, runUntil, add, symbol, texts } = boot();
    expect(runUntil(() => d.processes().some((p) => p.pid === 5 && p.name === 'sysloop'), 3000)).toBe(true);
    add({ kind: 'epthook', param: symbol('uprintf'), pid: 5 }, 'printf("uprintf in %d\\n", $pid);');
    expect(runUntil(() => texts().length >= 2, 5000)).toBe(true);
    expect(new Set(texts())).toEqual(new Set(['uprintf in 5\n']));
    expect(() => add({ kind: 'epthook', param: symbol('uprintf'), pid: 99 })).toThrow(
      expect.objectContaining({ code: 'E_BAD_ADDRESS' }),
    );
  });
});
