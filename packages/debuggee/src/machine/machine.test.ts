import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HvdbgError } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import * as exits from '../cpu/exits.js';
import { Machine, type MachineConfig } from './machine.js';
import { guestProcesses, guestThreads, readProcessMemory } from './processes.js';

const MIB = 1024 * 1024;
/** Long enough for both vCPUs, every mixed-workload process, faults, exits and a heartbeat. */
const GOLDEN_INSTRUCTIONS = 8_000_000;
const goldenPath = fileURLToPath(new URL('./goldens/mixed-2vcpu.txt', import.meta.url));

function boot(config: Partial<MachineConfig> = {}) {
  const machine = new Machine({ memoryBytes: 64 * MIB, vcpus: 2, workload: 'mixed', ...config });
  let console = '';
  machine.onConsole((text) => {
    console += text;
  });
  return { machine, output: () => console };
}

function run(machine: Machine, instructions: number, slice: number): void {
  let left = instructions;
  while (left > 0) {
    const n = Math.min(slice, left);
    const r = machine.runSlice(n);
    expect(r.stop).toBe('budget');
    left -= n;
  }
}

describe('Machine', () => {
  it('boots the mixed workload: serial transcript matches the golden file', () => {
    const { machine, output } = boot();
    const started = performance.now();
    run(machine, GOLDEN_INSTRUCTIONS, 1_000_000);
    const seconds = (performance.now() - started) / 1000;
    const mips = machine.instructions / seconds / 1e6;
    console.log(
      `mixed workload: ${machine.instructions} instructions in ${seconds.toFixed(2)} s (${mips.toFixed(1)} MIPS)`,
    );
    if (process.env.UPDATE_GOLDENS === '1' || !existsSync(goldenPath)) writeFileSync(goldenPath, output());
    expect(output()).toBe(readFileSync(goldenPath, 'utf8'));
    expect(machine.banner).toBe('hvdbg guest kernel 1.0');
  });

  it('runs both vCPUs and exposes per-vCPU awareness', () => {
    const { machine, output } = boot();
    run(machine, 6_000_000, 500_000);
    expect(machine.started).toEqual([true, true]);
    expect(machine.cpus[0]!.instructions).toBeGreaterThan(100_000);
    expect(machine.cpus[1]!.instructions).toBeGreaterThan(100_000);
    expect(output()).toContain('cpu1: online');
    expect(machine.awarenessAddress.every((a) => a >= 0xffffffff80000000n)).toBe(true);
    // Over many short runs, vCPU 1 is seen running some user process with a consistent name.
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      machine.runSlice(7_919);
      for (const vcpu of [0, 1]) {
        const a = machine.awareness(vcpu);
        if (a.pid === 0n) expect(a.processName).toBe('idle');
        else seen.add(`${vcpu}:${a.processName}`);
      }
    }
    expect([...seen].some((s) => s.startsWith('1:'))).toBe(true);
    expect([...seen].some((s) => s.startsWith('0:'))).toBe(true);

    // Running one vCPU alone (debugger stepping) while it waits in HLT lets its clock reach the tick.
    const ap = machine.cpus[1]!;
    for (let i = 0; i < 1000 && !ap.halted; i++) machine.runSlice(997);
    expect(ap.halted).toBe(true);
    const before = ap.instructions;
    for (let i = 0; i < 3 && ap.instructions === before; i++) machine.runVcpu(1, 25_000);
    expect(ap.instructions).toBeGreaterThan(before);
  });

  it('exercises every event kind BOOT.md lists', () => {
    const { machine } = boot();
    const seen = new Set<string>();
    const reasons = Object.entries(exits).filter(([k]) => k.startsWith('EXIT_REASON_') && k !== 'EXIT_REASON_COUNT');
    const names = new Map(reasons.map(([k, v]) => [v as number, k.slice('EXIT_REASON_'.length)]));
    for (const cpu of machine.cpus) {
      cpu.exitHandler = {
        pre: (c, reason, qual) => {
          const name = names.get(reason)!;
          seen.add(name);
          if (name === 'EXCEPTION_NMI' || name === 'EXTERNAL_INTERRUPT') seen.add(`${name}:${qual}`);
          if (name === 'CR_ACCESS' || name === 'DR_ACCESS') seen.add(`${name}:${qual.toString(16)}`);
          // Frequent kinds need to be seen once; stop paying for their exits.
          if (['SYSCALL', 'SYSRET', 'MODE_CHANGE', 'IO_INSTRUCTION', 'HLT'].includes(name)) c.exitMask[reason] = 0;
          return machine.exitHandler.pre(c, reason, qual);
        },
        post: () => exits.EXIT_EMULATE,
      };
      for (const [name, reason] of reasons) {
        if (name !== 'EXIT_REASON_MONITOR_TRAP_FLAG') cpu.exitMask[reason as number] = exits.EXIT_WANT_PRE;
      }
    }
    run(machine, 8_000_000, 2_000_000);
    const expected = [
      'CPUID',
      'MSR_READ',
      'MSR_WRITE',
      'RDTSC',
      'RDTSCP',
      'RDPMC',
      'IO_INSTRUCTION',
      'VMCALL',
      'CR_ACCESS:0', // mov to CR0
      'CR_ACCESS:3', // mov to CR3
      'CR_ACCESS:4', // mov to CR4
      'DR_ACCESS:7', // mov to DR7
      'EXCEPTION_NMI:0', // #DE
      'EXCEPTION_NMI:3', // #BP
      'EXCEPTION_NMI:14', // #PF
      'EXTERNAL_INTERRUPT:32', // timer
      'SYSCALL',
      'SYSRET',
      'MODE_CHANGE',
      'INVLPG',
      'HLT',
    ];
    expect(expected.filter((e) => !seen.has(e))).toEqual([]);
  });

  it('lists guest processes and threads and reads a process that is not running', () => {
    const { machine } = boot();
    run(machine, 1_500_000, 500_000);
    const procs = guestProcesses(machine);
    expect(procs.filter((p) => p.state === 'live').map((p) => [p.pid, p.name])).toEqual(
      expect.arrayContaining([
        [2, 'cpuid'],
        [3, 'faulty'],
        [4, 'threads'],
        [5, 'sysloop'],
      ]),
    );
    const threads = guestThreads(machine);
    expect(threads.filter((t) => t.pid === 4).map((t) => t.tid)).toEqual([4, 6]);
    // Process 2 sleeps most of the time; its user image is the shared read-only mapping at 0x400000.
    const prog = machine.symbols.find((s) => s.name === 'prog_cpuid')!;
    const code = readProcessMemory(machine, 2, prog.address, 16)!;
    const segment = machine.image.segments.find((s) => s.vaddr === 0x400000n)!;
    expect(code).toEqual(machine.memory.readBytes(segment.paddr + Number(prog.address - 0x400000n), 16));
    // Kernel data through the same page tables (2 MiB kernel pages).
    const counter = machine.symbols.find((s) => s.name === 'syscall_count')!;
    const viaProcess = readProcessMemory(machine, 2, counter.address, 8)!;
    expect(viaProcess).toEqual(machine.memory.readBytes(Number(counter.address - 0xffffffff80000000n), 8));
    expect(new DataView(viaProcess.buffer).getBigUint64(0, true)).toBeGreaterThan(0n);
    expect(readProcessMemory(machine, 2, 0xdead000n, 8)).toBeNull();
    expect(readProcessMemory(machine, 999, 0x400000n, 8)).toBeNull();
  });

  it('is deterministic however the run is cut into slices', () => {
    const a = boot();
    const b = boot();
    run(a.machine, 3_000_000, 1_000_000);
    run(b.machine, 3_000_000, 77_777);
    expect(b.output()).toBe(a.output());
    expect(b.machine.instructions).toBe(a.machine.instructions);
  });

  it('keeps a 256 MiB guest small on the host', () => {
    const { machine } = boot({ memoryBytes: 256 * MIB });
    run(machine, 2_000_000, 1_000_000);
    const touched = machine.memory.frames.filter((f) => f !== undefined).length;
    expect(touched * 4096).toBeLessThan(4 * MIB);
  });

  it('runs the compute and syscalls workloads', () => {
    const compute = boot({ workload: 'compute', vcpus: 1 });
    run(compute.machine, 4_000_000, 1_000_000);
    expect(compute.output()).toMatch(/compute: round 1 x=[0-9a-f]{16}/);
    const syscalls = boot({ workload: 'syscalls', vcpus: 1 });
    run(syscalls.machine, 3_000_000, 1_000_000);
    expect(syscalls.output()).toContain('sysloop: 10000 syscalls');
  });

  it('rejects bad configurations with E_CONFIG and bad images with E_BAD_IMAGE', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof HvdbgError ? e.code : String(e);
      }
      return 'none';
    };
    expect(code(() => new Machine({ memoryBytes: 64 * MIB, vcpus: 9, workload: 'mixed' }))).toBe('E_CONFIG');
    expect(code(() => new Machine({ memoryBytes: 1000, vcpus: 1, workload: 'mixed' }))).toBe('E_CONFIG');
    expect(code(() => new Machine({ memoryBytes: 64 * MIB, vcpus: 1, workload: 'nope' }))).toBe('E_CONFIG');
    const image = new Uint8Array(100);
    expect(code(() => new Machine({ memoryBytes: 64 * MIB, vcpus: 1, workload: 'mixed', image }))).toBe('E_BAD_IMAGE');
  });
});
