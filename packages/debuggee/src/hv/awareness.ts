/**
 * Fast reads of the guest kernel's awareness blocks (guest/BOOT.md: pid, tid, process, thread,
 * name per vCPU) for `pid` filters, `$pid`/`$tid` and log records, which the dispatch needs on
 * every firing. The block lives in kernel memory whose mapping never changes, so its physical
 * address is resolved once per registered address and then read straight from RAM: no BigInt, no
 * page walk, no allocation per read.
 */
import type { PhysicalMemory } from '../machine/memory.js';
import type { Awareness, HvCpu } from './vcpu.js';

export const AWARENESS_PID = 0x00;
export const AWARENESS_TID = 0x08;
const BLOCK_BYTES = 0x28;
const TWO_32 = 4294967296;

export interface AwarenessSourceLike {
  readonly cpus: readonly HvCpu[];
  readonly awarenessAddress: readonly bigint[];
  readonly memory: PhysicalMemory;
}

export class AwarenessCache implements Awareness {
  private readonly va: bigint[];
  private readonly pa: number[];

  constructor(private readonly source: AwarenessSourceLike) {
    this.va = source.cpus.map(() => 0n);
    this.pa = source.cpus.map(() => -1);
  }

  pid(cpu: number): number {
    return this.field(cpu, AWARENESS_PID);
  }

  tid(cpu: number): number {
    return this.field(cpu, AWARENESS_TID);
  }

  /** A 64-bit field of the block at `offset` (0x00 pid … 0x20 name pointer) as a number; 0 when unknown. */
  field(cpu: number, offset: number): number {
    const pa = this.resolve(cpu);
    if (pa < 0) return 0;
    const m = this.source.memory;
    return m.read32(pa + offset + 4) * TWO_32 + m.read32(pa + offset);
  }

  private resolve(cpu: number): number {
    const va = this.source.awarenessAddress[cpu] ?? 0n;
    if (va === this.va[cpu]) return this.pa[cpu]!;
    this.va[cpu] = va;
    let pa = -1;
    if (va !== 0n) {
      pa = this.source.cpus[cpu]!.translate(va, 'r');
      // A block straddling a page would need two translations; the kernel aligns it, so refuse.
      if (pa >= 0 && (pa & 0xfff) + BLOCK_BYTES > 0x1000) pa = -1;
    }
    this.pa[cpu] = pa;
    return pa;
  }
}
