/**
 * Local APIC, one per vCPU (SDM Vol. 3A ch. 10), as much as the guest needs: ID, version, TPR, EOI,
 * the spurious-vector register, and the timer (§10.5.4) in one-shot or periodic mode. It is the
 * vCPUs' only interrupt source (the machine has no PIC).
 *
 * All vCPUs share one MMIO window at LAPIC_BASE, as on real hardware each CPU sees its own APIC
 * there: the machine sets `current` to the vCPU it is running before each run.
 *
 * Time is the vCPU's retired-instruction count plus `idle` (time it spent halted, which the machine
 * advances), so the timer fires at exactly the same instruction on every run. One timer count is
 * one instruction with divide-by-1.
 */
import type { InterruptSource } from '../../cpu/bus.js';
import type { MmioHandler } from '../memory.js';

export const LAPIC_BASE = 0xfee00000;
export const LAPIC_SIZE = 0x1000;

// Register offsets (SDM Vol. 3A Table 10-1).
const LAPIC_ID = 0x020;
const LAPIC_VERSION = 0x030;
const LAPIC_TPR = 0x080;
const LAPIC_EOI = 0x0b0;
const LAPIC_SVR = 0x0f0;
const LAPIC_LVT_TIMER = 0x320;
const LAPIC_TIMER_INITIAL = 0x380;
const LAPIC_TIMER_CURRENT = 0x390;
const LAPIC_TIMER_DIVIDE = 0x3e0;

const LAPIC_VERSION_VALUE = 0x00050014;
const SVR_ENABLE = 0x100;
const LVT_MASKED = 0x10000;
const LVT_TIMER_PERIODIC = 0x20000;
const LVT_RESET = LVT_MASKED;
const NO_VECTOR = -1;
const NEVER = -1;

/** The count a vCPU needs for its clock: retired instructions. */
interface Clocked {
  readonly index: number;
  readonly instructions: number;
}

class LocalApic {
  svr = 0xff;
  tpr = 0;
  lvtTimer = LVT_RESET;
  divideConfig = 0;
  initialCount = 0;
  /** Local time at which the timer next fires, or NEVER. */
  deadline = NEVER;
  /** Time the vCPU spent halted, added to its instruction count. */
  idle = 0;
  /** Vector requested and not yet acknowledged (a one-entry IRR), or NO_VECTOR. */
  requested = NO_VECTOR;
  /** Vector being serviced until EOI (a one-entry ISR), or NO_VECTOR. */
  inService = NO_VECTOR;
}

/** Divide configuration register bits 0,1,3 → divisor (SDM Figure 10-10). */
function divisor(config: number): number {
  const code = (config & 3) | ((config & 8) >> 1);
  return code === 7 ? 1 : 2 << code;
}

export class LocalApicBank implements InterruptSource, MmioHandler {
  private readonly units: LocalApic[];
  /** The vCPU whose accesses the MMIO window currently serves. */
  current = 0;

  constructor(private readonly cpus: readonly Clocked[]) {
    this.units = cpus.map(() => new LocalApic());
  }

  private now(index: number): number {
    return this.cpus[index]!.instructions + this.units[index]!.idle;
  }

  private period(u: LocalApic): number {
    return u.initialCount * divisor(u.divideConfig);
  }

  /** Latches an expired timer into the request register (re-arming it in periodic mode). */
  private update(index: number): void {
    const u = this.units[index]!;
    if (u.deadline === NEVER) return;
    const now = this.now(index);
    if (now < u.deadline) return;
    if ((u.lvtTimer & LVT_MASKED) === 0) u.requested = u.lvtTimer & 0xff;
    if (u.lvtTimer & LVT_TIMER_PERIODIC) {
      const period = this.period(u);
      // Ticks missed while interrupts were blocked collapse into one, as on hardware.
      u.deadline += (Math.floor((now - u.deadline) / period) + 1) * period;
    } else {
      u.deadline = NEVER;
    }
  }

  pending(cpu: Clocked): boolean {
    const i = cpu.index;
    const u = this.units[i]!;
    if (u.deadline !== NEVER && this.cpus[i]!.instructions + u.idle >= u.deadline) this.update(i);
    return u.requested !== NO_VECTOR && u.inService === NO_VECTOR && (u.svr & SVR_ENABLE) !== 0;
  }

  acknowledge(cpu: Clocked): number {
    const u = this.units[cpu.index]!;
    const v = u.requested === NO_VECTOR ? u.svr & 0xff : u.requested;
    u.inService = u.requested;
    u.requested = NO_VECTOR;
    return v;
  }

  /** Instructions vCPU `index` may retire before its timer fires (Infinity when disarmed). */
  untilTimer(index: number): number {
    const u = this.units[index]!;
    return u.deadline === NEVER ? Number.POSITIVE_INFINITY : Math.max(0, u.deadline - this.now(index));
  }

  /** Advances a halted vCPU's clock. */
  idle(index: number, instructions: number): void {
    this.units[index]!.idle += instructions;
  }

  read(offset: number, _size: number): number {
    const i = this.current;
    const u = this.units[i]!;
    switch (offset) {
      case LAPIC_ID:
        return (i << 24) >>> 0;
      case LAPIC_VERSION:
        return LAPIC_VERSION_VALUE;
      case LAPIC_TPR:
        return u.tpr;
      case LAPIC_SVR:
        return u.svr;
      case LAPIC_LVT_TIMER:
        return u.lvtTimer;
      case LAPIC_TIMER_INITIAL:
        return u.initialCount;
      case LAPIC_TIMER_CURRENT: {
        if (u.deadline === NEVER) return 0;
        return Math.min(u.initialCount, Math.ceil(this.untilTimer(i) / divisor(u.divideConfig)));
      }
      case LAPIC_TIMER_DIVIDE:
        return u.divideConfig;
      default:
        return 0;
    }
  }

  write(offset: number, _size: number, value: number): void {
    const i = this.current;
    const u = this.units[i]!;
    const v = value >>> 0;
    switch (offset) {
      case LAPIC_TPR:
        u.tpr = v & 0xff;
        break;
      case LAPIC_EOI:
        u.inService = NO_VECTOR;
        break;
      case LAPIC_SVR:
        u.svr = v & 0x1ff;
        break;
      case LAPIC_LVT_TIMER:
        u.lvtTimer = v & (0xff | LVT_MASKED | LVT_TIMER_PERIODIC);
        break;
      case LAPIC_TIMER_DIVIDE:
        u.divideConfig = v & 0xb;
        break;
      case LAPIC_TIMER_INITIAL:
        // Writing the initial count (re)starts the timer; 0 stops it.
        u.initialCount = v;
        u.deadline = v === 0 ? NEVER : this.now(i) + this.period(u);
        break;
    }
  }
}
