/**
 * A bare guest for hypervisor tests and benchmarks: one or more real vCPUs over a few MiB of RAM,
 * identity-mapped with 2 MiB pages (user-accessible), a hand-assembled program at CODE, and the
 * full hypervisor stack installed. No kernel, no devices except an optional port-I/O bus.
 */
import type { LogRecord } from '@hvdbg/protocol';
import type { IoBus } from '../../cpu/bus.js';
import { Cpu } from '../../cpu/cpu.js';
import { PhysicalMemory } from '../../machine/memory.js';
import type { DropReport } from '../../target.js';
import { createHypervisorStack, type HypervisorStack, type StackOptions } from '../stack.js';
import type { DebugCpu } from '../vcpu.js';

export const BARE_MEMORY = 4 * 1024 * 1024;
export const CODE = 0x10000;
export const DATA = 0x20000;
export const STACK_TOP = 0x80000;
const PML4 = 0x1000;
const PDPT = 0x2000;
const PD = 0x3000;

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

export interface BareGuestOptions extends Partial<Pick<StackOptions, 'mode' | 'lossless' | 'queue' | 'codeBudget'>> {
  vcpus?: number;
  io?: IoBus;
}

export class BareGuest {
  readonly memory = new PhysicalMemory(BARE_MEMORY);
  readonly ept = new Uint8Array(BARE_MEMORY / 4096);
  readonly cpus: Cpu[];
  readonly stack: HypervisorStack;
  readonly logs: LogRecord[] = [];
  readonly drops: DropReport[] = [];
  pid = 0;

  constructor(options: BareGuestOptions = {}) {
    const m = this.memory;
    m.write32(PML4, PDPT | 7);
    m.write32(PDPT, PD | 7);
    m.write32(PD, 0x87); // 0–2 MiB, present, writable, user, 2 MiB page
    m.write32(PD + 8, 0x200000 | 0x87);
    this.cpus = Array.from({ length: options.vcpus ?? 1 }, (_, i) => {
      const cpu = new Cpu(i, m, this.ept);
      cpu.setCr(3, BigInt(PML4));
      cpu.setReg(4, BigInt(STACK_TOP - i * 0x1000));
      cpu.setRip(BigInt(CODE));
      if (options.io !== undefined) cpu.io = options.io;
      return cpu;
    });
    this.stack = createHypervisorStack({
      cpus: this.cpus as unknown as DebugCpu[],
      memory: m,
      ept: this.ept,
      mode: options.mode ?? 'remote',
      awareness: { pid: () => this.pid, tid: () => 0, field: (_c, off) => (off === 0 ? this.pid : 0) },
      ...(options.lossless !== undefined ? { lossless: options.lossless } : {}),
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      ...(options.codeBudget !== undefined ? { codeBudget: options.codeBudget } : {}),
    });
    this.stack.queue.setSink({
      onLog: (batch) => this.logs.push(...batch),
      onDropped: (r) => this.drops.push(r),
    });
  }

  /** Places a program at CODE (and resets RIP of every vCPU to it). */
  load(code: Uint8Array, at = CODE): this {
    this.memory.writeBytes(at, code);
    for (const cpu of this.cpus) cpu.setRip(BigInt(at));
    return this;
  }

  run(max = 10_000, vcpu = 0): number {
    const r = this.cpus[vcpu]!.run(max);
    this.stack.queue.pump(0, true);
    return r;
  }

  /** Log texts shipped so far. */
  texts(): string[] {
    return this.logs.map((r) => r.text ?? '');
  }
}
