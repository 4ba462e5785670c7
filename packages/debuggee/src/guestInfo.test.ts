/**
 * The target's guest-information requests over the real guest kernel: the process and thread
 * tables, memory of a process that no vCPU is running (read, written and walked from its own CR3), CPUID
 * without executing anything, and `flush` of the message queue.
 */
import { compileScript } from '@hvdbg/script';
import { describe, expect, it } from 'vitest';
import { Debuggee } from './debuggee.js';

function boot() {
  const d = new Debuggee({ workload: 'mixed', vcpus: 2, memoryBytes: 64n << 20n, sliceInstructions: 20_000 });
  d.setListener({
    onLog() {},
    onDropped() {},
    onConsole() {},
    onHalt() {},
    onResume() {},
    onEventsChanged() {},
  });
  const runUntil = (done: () => boolean, maxSlices = 500) => {
    for (let i = 0; i < maxSlices && !done(); i++) d.runSlice();
    return done();
  };
  return { d, runUntil };
}

const byCode = (code: string) => expect.objectContaining({ code });

describe('guest kernel objects', () => {
  it('lists the mixed workload’s first five processes and their threads', () => {
    const { d, runUntil } = boot();
    expect(runUntil(() => d.processes().length >= 5)).toBe(true);
    const procs = d.processes();
    expect(procs.slice(0, 5).map((p) => [p.pid, p.name])).toEqual([
      [1, 'hello'],
      [2, 'cpuid'],
      [3, 'faulty'],
      [4, 'threads'],
      [5, 'sysloop'],
    ]);
    for (const p of procs) {
      expect(p.address > 0xffff_8000_0000_0000n).toBe(true);
      expect(p.cr3 % 0x1000n).toBe(0n);
    }
    expect(new Set(procs.map((p) => p.cr3)).size).toBe(procs.length);
    // A process's vCPUs are the ones whose awareness block names it.
    for (const p of procs) for (const v of p.vcpus) expect(d.awareness.pid(v)).toBe(p.pid);

    // The threads process starts a worker: two threads, tids 4 and 6 (tids share the pid counter).
    expect(runUntil(() => d.threads(4).length === 2)).toBe(true);
    expect(d.threads(4).map((t) => t.tid)).toEqual([4, 6]);
    expect(d.processes().find((p) => p.pid === 4)!.threads).toBe(2);
    expect(d.threads().every((t) => d.processes().some((p) => p.pid === t.pid))).toBe(true);
    expect(() => d.threads(99)).toThrow(byCode('E_BAD_PARAMETER'));
  });
});

describe('pid p on memory requests', () => {
  it('reads and walks a process that no vCPU is running, from the CR3 in its process object', () => {
    const { d, runUntil } = boot();
    const idle = () => d.processes().find((p) => p.pid === 2 && p.vcpus.length === 0);
    expect(runUntil(() => idle() !== undefined && d.threads(2).length === 1)).toBe(true);
    const prog = d.symbols().symbols.find((s) => s.name === 'prog_cpuid')!;
    const segment = d.machine.image.segments.find((s) => s.vaddr === 0x400000n)!;
    const expected = d.machine.memory.readBytes(segment.paddr + Number(prog.address - 0x400000n), 16);

    expect(d.readMemory('virtual', prog.address, 16, 0, 2)).toEqual(expected);
    const walk = d.translate(prog.address, 0, 2);
    expect(walk.physical).toBe(BigInt(segment.paddr) + (prog.address - 0x400000n));
    expect(walk.entries).toHaveLength(4);
    expect(walk.entries[3]! & 0xf_ffff_ffff_f000n).toBe(walk.physical & ~0xfffn);
    // Writes go through the same walk (restored before the guest runs again).
    const patch = new Uint8Array([0xcc, 0xcc]);
    expect(d.writeMemory('virtual', prog.address, patch, 0, 2)).toBe(2);
    expect(d.readMemory('physical', walk.physical, 2, 0)).toEqual(patch);
    expect(d.writeMemory('virtual', prog.address, expected.subarray(0, 2), 0, 2)).toBe(2);
    expect(d.readMemory('virtual', prog.address, 16, 0, 2)).toEqual(expected);
    // A breakpoint for process 2 resolves there too.
    const id = d.addBreakpoint(prog.address, { pid: 2 });
    expect(d.listBreakpoints().find((b) => b.id === id)).toMatchObject({ address: prog.address, pid: 2 });
    expect(() => d.addBreakpoint(prog.address, { pid: 99 })).toThrow(byCode('E_BAD_PARAMETER'));
    // An address process 2 never mapped.
    expect(() => d.readMemory('virtual', 0xdead_0000n, 8, 0, 2)).toThrow(byCode('E_BAD_ADDRESS'));
    expect(() => d.translate(0xdead_0000n, 0, 2)).toThrow(byCode('E_BAD_ADDRESS'));
    expect(() => d.writeMemory('virtual', 0xdead_0000n, patch, 0, 2)).toThrow(byCode('E_BAD_ADDRESS'));
  });

  it('uses the vCPU running the process when there is one, and refuses an unknown pid', () => {
    const { d, runUntil } = boot();
    const running = () => d.processes().find((p) => p.vcpus.length > 0);
    expect(runUntil(() => running() !== undefined)).toBe(true);
    const p = running()!;
    const vcpu = p.vcpus[0]!;
    expect(d.readRegisters(vcpu, ['cr3']).cr3! & ~0xfffn).toBe(p.cr3);
    const other = vcpu === 0 ? 1 : 0;
    expect(d.readMemory('virtual', 0x400000n, 64, other, p.pid)).toEqual(d.readMemory('virtual', 0x400000n, 64, vcpu));
    expect(d.translate(0x400000n, other, p.pid)).toEqual(d.translate(0x400000n, vcpu));
    expect(() => d.readMemory('virtual', 0x400000n, 8, 0, 99)).toThrow(byCode('E_BAD_PARAMETER'));
    expect(() => d.translate(0x400000n, 0, 99)).toThrow(byCode('E_BAD_PARAMETER'));
    expect(() => d.writeMemory('virtual', 0x400000n, new Uint8Array(1), 0, 99)).toThrow(byCode('E_BAD_PARAMETER'));
  });
});

describe('cpuid and flush', () => {
  it('answers CPUID like the core does, without retiring an instruction or touching registers', () => {
    const { d, runUntil } = boot();
    runUntil(() => d.instructions() > 50_000n);
    const before = { n: d.instructions(), regs: d.readRegisters(1) };
    const vendor = d.cpuid(0, 0, 0);
    const text = [vendor.ebx, vendor.edx, vendor.ecx]
      .map((w) => String.fromCharCode(w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24))
      .join('');
    expect(text).toBe('GenuineIntel');
    expect(vendor.eax).toBeGreaterThanOrEqual(1);
    expect(d.cpuid(1, 1, 0).ebx >>> 24).toBe(1); // initial APIC id = the vCPU
    expect(d.cpuid(0, 0x8000_0001, 0).edx & (1 << 29)).not.toBe(0); // long mode
    expect(d.instructions()).toBe(before.n);
    expect(d.readRegisters(1)).toEqual(before.regs);
    expect(() => d.cpuid(7, 0, 0)).toThrow(byCode('E_BAD_VCPU'));
  });

  it('flush discards queued messages and reports them as dropped', () => {
    const { d, runUntil } = boot();
    d.setConsumerBlocked(true);
    d.addEvent({
      kind: 'syscall',
      stage: 'pre',
      sc: false,
      imm: false,
      bufferSize: 0,
      text: '!syscall',
      actions: [{ type: 'script', buffer: compileScript('printf("s\\n");') }],
    });
    expect(runUntil(() => d.queueDepth() >= 3)).toBe(true);
    const depth = d.queueDepth();
    const dropsBefore = d.drops();
    expect(d.flushQueue()).toBe(depth);
    expect(d.queueDepth()).toBe(0);
    expect(d.drops()).toBe(dropsBefore + BigInt(depth));
    expect(d.flushQueue()).toBe(0);
  });
});
