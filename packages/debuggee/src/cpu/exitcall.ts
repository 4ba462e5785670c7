/**
 * Raising guest exceptions and calling the exit handler (SDM Vol. 3C ch. 26 "VM Exits").
 *
 * Exit points test `exitMask[reason]` themselves (one byte load) and call `exitPre`/`exitPost` only
 * when a bit is set. After every handler call the vCPU re-checks the translation epoch: a handler that
 * changed EPT trap bits or wrote a paging structure through the debug accessors has bumped it, and
 * one that wrote control registers flushed through setCr; otherwise the TLB stays warm.
 */
import type { Cpu } from './cpu.js';
import { EXIT_HALT, type ExitHandler } from './exits.js';
import { EXIT_ABANDON, GUEST_FAULT } from './faults.js';
import { CpuFlags } from './flags.js';

/** Run results (see cpu.ts for the public re-export). */
export const RUN_BUDGET = 0;
export const RUN_EXIT_HALT = 1;
export const RUN_HLT = 2;
export const RUN_TRIPLE_FAULT = 3;
export const RUN_SHUTDOWN = 4;

export abstract class CpuExitCalls extends CpuFlags {
  declare exitHandler: ExitHandler<Cpu> | null;
  /** Pending guest exception (valid while GUEST_FAULT propagates). */
  faultVector = -1;
  faultError = -1;
  /** When >= 0, `run` stops before the next instruction with this RUN_* code. */
  stopRequest = -1;

  /** Drops cached translations (TLB and code page); subclasses implement. */
  abstract flushTlb(): void;
  /** Drops cached translations if `memory.translationEpoch` moved; subclasses implement. */
  abstract syncTranslations(): void;
  /** Makes RIP the address after the current instruction (its effect is complete). */
  abstract commitRip(): void;

  /** Raises a guest exception: never returns. `error` < 0 = no error code. */
  raise(vector: number, error = -1): never {
    this.faultVector = vector;
    this.faultError = error;
    throw GUEST_FAULT;
  }

  /** Calls the `pre` side of an exit; throws EXIT_ABANDON on EXIT_HALT, else returns the verdict. */
  exitPre(reason: number, qual: number): number {
    const h = this.exitHandler;
    if (h === null) return 0;
    const r = h.pre(this as unknown as Cpu, reason, qual);
    this.syncTranslations();
    this.eventPending = true; // the handler may have changed MTF, RFLAGS, interrupts…
    if (r === EXIT_HALT) throw EXIT_ABANDON;
    return r;
  }

  /** Calls the `post` side of an exit; EXIT_HALT ends the run after the current instruction. */
  exitPost(reason: number, qual: number): void {
    const h = this.exitHandler;
    if (h === null) return;
    // Post calls come after the instruction's effect: the handler sees the next RIP, as after a
    // VM exit on the instruction that follows.
    this.commitRip();
    const r = h.post(this as unknown as Cpu, reason, qual);
    this.syncTranslations();
    this.eventPending = true;
    if (r === EXIT_HALT) {
      this.stopRequest = RUN_EXIT_HALT;
      this.eventPending = true;
    }
  }
}
