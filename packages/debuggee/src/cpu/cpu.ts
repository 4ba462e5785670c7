/**
 * The vCPU: prefix decoding, dispatch, the run loop and the public (cold-path, BigInt) API used by
 * the machine, the hypervisor and the debugger. Instruction semantics live in execute*.ts,
 * strings.ts, system.ts and transfer.ts; paging in paging.ts/tlb.ts; delivery in interrupts.ts.
 *
 * The run loop (SDM Vol. 3A §6.9 priorities, simplified): between instructions, when `eventPending`
 * is set, it reports mode changes, delivers injected events and external interrupts (RFLAGS.IF,
 * STI/MOV SS shadow) and honours HLT. Guest faults arrive as the GUEST_FAULT sentinel and are
 * delivered through the IDT with the double/triple-fault rules (§6.15, Table 6-5).
 */
import type { PhysicalMemory } from '../machine/memory.js';
import { OPS } from './dispatch.js';
import './execute-alu.js';
import './execute-branch.js';
import './execute-move.js';
import './execute0f.js';
import { CpuDebugApi } from './debugapi.js';
import { lockAllowed, operandBytes } from './decoder.js';
import { RUN_BUDGET, RUN_EXIT_HALT, RUN_HLT, RUN_SHUTDOWN, RUN_TRIPLE_FAULT } from './exitcall.js';
import {
  EXIT_HALT,
  EXIT_REASON_EPT_EXECUTE,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_MODE_CHANGE,
  EXIT_REASON_MONITOR_TRAP_FLAG,
  EXIT_REASON_TRIPLE_FAULT,
  EXIT_SKIP,
  EXIT_WANT_PRE,
} from './exits.js';
import {
  EXIT_ABANDON,
  EXIT_SKIP_INSN,
  GUEST_FAULT,
  hasErrorCode,
  isContributory,
  VEC_DB,
  VEC_DF,
  VEC_GP,
  VEC_PF,
  VEC_UD,
} from './faults.js';
import { restoreTransient, saveTransient } from './nested.js';
import { type CpuSnapshot, restoreSnapshot, takeSnapshot } from './snapshot.js';
import { FLAG_IF, FLAG_TF, SEG_FS, SEG_GS } from './state.js';

/** DR6.BS: the #DB was caused by single-stepping. */
const DR6_BS = 0x4000n;

import './strings.js';
import './system.js';
import './transfer.js';

export {
  REG_R8,
  REG_R9,
  REG_R10,
  REG_R11,
  REG_R12,
  REG_R13,
  REG_R14,
  REG_R15,
  REG_RAX,
  REG_RBP,
  REG_RBX,
  REG_RCX,
  REG_RDI,
  REG_RDX,
  REG_RSI,
  REG_RSP,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_SS,
} from './state.js';
export type { CpuSnapshot };
export { RUN_BUDGET, RUN_EXIT_HALT, RUN_HLT, RUN_SHUTDOWN, RUN_TRIPLE_FAULT };

/** Fetches (and discards) the ModRM/SIB/displacement/immediate bytes of opcode `op`. */
function skipOperands(c: Cpu, op: number): void {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16 && c.ip - c.rip < 15; i++) {
    bytes[i] = c.fetch8();
    const n = operandBytes(op, bytes, i + 1, c.osize, c.asize === 4);
    if (n >= 0 && i + 1 >= n) break;
  }
}

/** Kind of each byte in the legacy-prefix position: 1 = prefix. */
const PREFIX = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) PREFIX[p] = 1;

export class Cpu extends CpuDebugApi {
  /** Pending injected event (injectException), -1 = none. */
  private injectVector = -1;
  private injectError = -1;
  /** External interrupt acknowledged but not yet delivered (exit handler halted the run). */
  private pendingExternal = -1;

  constructor(index: number, memory: PhysicalMemory, ept: Uint8Array) {
    super(index, memory, ept);
  }

  // ---------------------------------------------------------------- execution

  /** RFLAGS.TF was set at the start of the current instruction. */
  private tfArmed = false;

  /** Set by a triple fault (shutdown state, SDM Vol. 3A §6.15 #DF "Interrupt 8"). */
  shutdown = false;

  /** Loop iterations used by the current `run` (instructions, faults and skipped dispatches). */
  private iter = 0;

  /**
   * The dispatch loop: decodes prefixes and executes instructions until `max` iterations, an event
   * that ends the run, or a thrown sentinel (caught by `run`). Kept as one function so the per-
   * instruction path involves no call besides the handler.
   */
  private execLoop(max: number): number {
    while (this.iter < max) {
      this.iter++;
      if (this.eventPending) {
        const r = this.handleEvents();
        if (r >= 0) return r;
        if (this.halted) return RUN_HLT;
      }
      // Between instructions rip = ripBase + startOff = fetchBase + ipo (kept in sync at retirement).
      const o = this.ipo;
      if (o >= this.fetchLimit) {
        this.refillFetch(this.fetchBase + o); // a fetch fault sees the right RIP
        this.ripBase = this.fetchBase;
        this.startOff = this.ipo;
        this.baseMoved = false;
      }
      if (this.fetchTrap !== 0 && (this.exitMask[EXIT_REASON_EPT_EXECUTE]! & EXIT_WANT_PRE) !== 0) {
        const rip = this.rip;
        this.exitLinear = rip;
        this.exitAddress = this.translate(BigInt(rip), 'x');
        this.exitAccess = 4;
        if (this.exitPre(EXIT_REASON_EPT_EXECUTE, 4) === EXIT_SKIP) continue; // re-dispatch from RIP
        this.rip = rip;
      }
      this.rex = 0;
      this.osize = 4;
      if (this.legacyDirty) this.resetLegacy();
      let b = this.fetch8();
      if ((b & 0xf0) === 0x40) {
        // REX alone is the common 64-bit case: handle it without the general prefix loop.
        this.rex = b;
        if ((b & 8) !== 0) this.osize = 8;
        b = this.fetch8();
        if (b === 0x0f) b = 0x100 | this.fetch8();
        else if (PREFIX[b] !== 0 || (b & 0xf0) === 0x40) b = this.prefixes(b);
      } else if (b === 0x0f) b = 0x100 | this.fetch8();
      else if (PREFIX[b] !== 0) b = this.prefixes(b);
      OPS[b]!(this);
      // Retire: the next instruction starts where decoding stopped (or where a jump pointed).
      this.startOff = this.ipo;
      if (this.baseMoved) {
        this.ripBase = this.fetchBase;
        this.baseMoved = false;
      }
      this.instructions++;
      if (this.postStep) {
        if (this.eptPostQual !== 0) {
          // EPT violation `post` calls wait for retirement: the access is done and RIP committed.
          const q = this.eptPostQual;
          this.eptPostQual = 0;
          this.exitPost(EXIT_REASON_EPT_VIOLATION, q);
        }
        if (this.tfArmed) {
          // RFLAGS.TF was set when the instruction began: single-step trap (SDM Vol. 3B §18.3.1.4).
          this.dr[6] = this.dr[6]! | DR6_BS;
          this.raise(VEC_DB);
        }
        const h = this.exitHandler;
        if (this.mtf && h !== null) {
          const r = h.pre(this, EXIT_REASON_MONITOR_TRAP_FLAG, 0);
          this.syncTranslations();
          if (r === EXIT_HALT) return RUN_EXIT_HALT;
        }
      }
    }
    return RUN_BUDGET;
  }

  /** Legacy-prefix state differs from the defaults (set by `prefixes`). */
  private legacyDirty = false;

  private resetLegacy(): void {
    this.asize = 8;
    this.repPrefix = 0;
    this.has66 = false;
    this.lock = false;
    this.segOverrideBase = 0;
    this.legacyDirty = false;
  }

  /** Consumes legacy prefixes and REX; returns the opcode (0x100 | byte for the 0F map). */
  private prefixes(b: number): number {
    this.legacyDirty = true;
    for (;;) {
      if (PREFIX[b] !== 0) {
        this.rex = 0; // a REX followed by a legacy prefix is ignored
        switch (b) {
          case 0x66:
            this.has66 = true;
            break;
          case 0x67:
            this.asize = 4;
            break;
          case 0xf2:
          case 0xf3:
            this.repPrefix = b;
            break;
          case 0xf0:
            this.lock = true;
            break;
          case 0x64:
            this.segOverrideBase = this.segBase[SEG_FS]!;
            break;
          case 0x65:
            this.segOverrideBase = this.segBase[SEG_GS]!;
            break;
          default:
            this.segOverrideBase = 0; // ES/CS/SS/DS overrides are ignored in 64-bit mode
        }
      } else if ((b & 0xf0) === 0x40) this.rex = b;
      else break;
      if (this.ip - this.rip >= 15) this.raise(VEC_GP, 0);
      b = this.fetch8();
    }
    this.osize = (this.rex & 8) !== 0 ? 8 : this.has66 ? 2 : 4;
    const op = b === 0x0f ? 0x100 | this.fetch8() : b;
    if (this.lock) {
      // LOCK is legal only on read-modify-write instructions with a memory destination.
      const m = this.fetch8();
      this.ip--;
      if (!lockAllowed(op, m)) {
        // The whole instruction is fetched before #UD is recognised (a fetch #PF wins).
        skipOperands(this, op);
        this.raise(VEC_UD);
      }
    }
    return op;
  }

  /**
   * Runs up to `maxInstructions` loop iterations (retired instructions, plus faults and deliveries).
   * Returns a RUN_* code. Guest faults never escape.
   */
  run(maxInstructions: number): number {
    if (this.runDepth > 0) return this.runNested(maxInstructions);
    this.runDepth = 1;
    try {
      return this.runOuter(maxInstructions);
    } finally {
      this.runDepth = 0;
    }
  }

  /**
   * A run started from inside an exit handler (custom code). The caller brackets it with
   * saveState()/restoreState(); a snapshot taken inside a run also holds the interrupted
   * instruction's decode state, so after restoreState the outer instruction resumes exactly where
   * its exit happened.
   */
  runNested(maxInstructions: number): number {
    if (this.runDepth === 0) return this.run(maxInstructions);
    this.runDepth++;
    try {
      return this.runOuter(maxInstructions);
    } finally {
      this.runDepth--;
    }
  }

  private runDepth = 0;

  private runOuter(maxInstructions: number): number {
    if (this.shutdown) return RUN_SHUTDOWN; // after a triple fault only a reset (restoreState) helps
    this.syncTranslations(); // pick up EPT / page-table changes made while we were not running
    this.eventPending = true;
    this.iter = 0;
    for (;;) {
      try {
        return this.execLoop(maxInstructions);
      } catch (e) {
        const r = this.onThrow(e);
        if (r >= 0) return r;
        if (this.iter >= maxInstructions) return RUN_BUDGET;
      }
    }
  }

  private onThrow(e: unknown): number {
    this.sysAccess = false;
    this.eptPostQual = 0; // a faulted, abandoned or skipped instruction gets no post call
    if (e === GUEST_FAULT) return this.handleFault(this.faultVector, this.faultError);
    if (e === EXIT_ABANDON) {
      this.faultSoft = false;
      this.ip = this.rip; // restart the instruction
      return RUN_EXIT_HALT;
    }
    if (e === EXIT_SKIP_INSN) {
      this.rip = this.ip;
      this.instructions++;
      return -1;
    }
    throw e;
  }

  /** Delivers a guest exception with the double/triple-fault rules. Returns a RUN_* code or -1. */
  private handleFault(vector: number, error: number): number {
    let soft = this.faultSoft;
    this.faultSoft = false;
    // Faults restart the instruction; INT n / INT3 return past it.
    const next = this.ip;
    this.ip = this.rip;
    for (;;) {
      if ((this.exitMask[EXIT_REASON_EXCEPTION_NMI]! & EXIT_WANT_PRE) !== 0) {
        this.exitValue = BigInt(Math.max(error, 0));
        this.exitSize = soft ? next - this.rip : 0;
        try {
          if (this.exitPre(EXIT_REASON_EXCEPTION_NMI, vector) === EXIT_SKIP) return -1;
        } catch (e) {
          if (e === EXIT_ABANDON) return RUN_EXIT_HALT;
          throw e;
        }
      }
      try {
        this.deliver(vector, hasErrorCode(vector) ? Math.max(error, 0) : -1, soft, false, soft ? next : this.rip);
        return -1;
      } catch (e) {
        this.sysAccess = false;
        if (e !== GUEST_FAULT) throw e;
        const second = this.faultVector;
        if (vector === VEC_DF && !soft) return this.tripleFault();
        // INT n is not an exception for the double-fault rule: its vector number means nothing there.
        const firstBad = !soft && (isContributory(vector) || vector === VEC_PF);
        const secondBad = isContributory(second) || (vector === VEC_PF && second === VEC_PF);
        if (firstBad && secondBad) {
          vector = VEC_DF;
          error = 0;
        } else {
          vector = second;
          error = this.faultError;
        }
        soft = false;
      }
    }
  }

  private tripleFault(): number {
    if ((this.exitMask[EXIT_REASON_TRIPLE_FAULT]! & EXIT_WANT_PRE) !== 0 && this.exitHandler !== null) {
      this.exitHandler.pre(this, EXIT_REASON_TRIPLE_FAULT, 0);
    }
    this.shutdown = true;
    return RUN_TRIPLE_FAULT;
  }

  /** Between-instruction events. Returns a RUN_* code to stop, else -1. */
  private handleEvents(): number {
    this.eventPending = false;
    if (this.stopRequest >= 0) {
      const r = this.stopRequest;
      this.stopRequest = -1;
      return r;
    }
    if (this.modeChanged) {
      this.modeChanged = false;
      if ((this.exitMask[EXIT_REASON_MODE_CHANGE]! & EXIT_WANT_PRE) !== 0) {
        try {
          this.exitPre(EXIT_REASON_MODE_CHANGE, this.cpl_);
        } catch (e) {
          if (e === EXIT_ABANDON) return RUN_EXIT_HALT;
          throw e;
        }
      }
    }
    if (this.injectVector >= 0) {
      const v = this.injectVector;
      const err = this.injectError;
      this.injectVector = -1;
      this.halted = false;
      const r = this.deliverEvent(v, err, false);
      if (r >= 0) return r;
    }
    if (
      (this.interrupts !== null || this.pendingExternal >= 0) &&
      !this.interruptsMasked &&
      (this.rflags & FLAG_IF) !== 0
    ) {
      if (this.instructions < this.shadowEnd) {
        this.eventPending = true;
      } else if (this.pendingExternal >= 0 || this.interrupts!.pending(this)) {
        const v = this.pendingExternal >= 0 ? this.pendingExternal : this.interrupts!.acknowledge(this) & 0xff;
        this.pendingExternal = v;
        if ((this.exitMask[EXIT_REASON_EXTERNAL_INTERRUPT]! & EXIT_WANT_PRE) !== 0) {
          let r: number;
          try {
            r = this.exitPre(EXIT_REASON_EXTERNAL_INTERRUPT, v);
          } catch (e) {
            if (e === EXIT_ABANDON) return RUN_EXIT_HALT;
            throw e;
          }
          if (r === EXIT_SKIP) {
            this.pendingExternal = -1;
            return -1;
          }
        }
        this.pendingExternal = -1;
        this.halted = false;
        const r = this.deliverEvent(v, -1, true);
        if (r >= 0) return r;
        this.eventPending = true; // another interrupt may be waiting
      }
    }
    if (this.halted) this.eventPending = true;
    // Per-instruction work after retirement: MTF and the TF single-step trap (re-armed each time).
    this.tfArmed = (this.rflags & FLAG_TF) !== 0;
    if (this.tfArmed) this.eventPending = true;
    this.postStep = this.mtf || this.tfArmed;
    return -1;
  }

  /** Delivers an injected or external event (no exception exit), with fault escalation. */
  private deliverEvent(vector: number, error: number, external: boolean): number {
    try {
      this.deliver(vector, error, false, external, this.rip);
      return -1;
    } catch (e) {
      this.sysAccess = false;
      if (e !== GUEST_FAULT) throw e;
      return this.handleFault(this.faultVector, this.faultError);
    }
  }

  // ---------------------------------------------------------------- events into the CPU

  injectException(vector: number, errorCode?: number): void {
    this.injectVector = vector & 0xff;
    // Vectors that architecturally push an error code get 0 when none is given.
    this.injectError = errorCode === undefined ? (hasErrorCode(vector & 0xff) ? 0 : -1) : errorCode;
    this.eventPending = true;
  }

  // ---------------------------------------------------------------- snapshots

  saveState(): CpuSnapshot {
    const transient = this.runDepth > 0 ? saveTransient(this, this.iter, this.legacyDirty) : null;
    return takeSnapshot(this, transient);
  }

  restoreState(s: CpuSnapshot): void {
    restoreSnapshot(this, s);
    this.shutdown = false;
    this.setCplMasks();
    this.flushTlb();
    this.eventPending = true;
    const t = s.transient;
    if (t !== null && this.runDepth > 0) {
      const [iter, legacyDirty] = restoreTransient(this, t);
      this.iter = iter;
      this.legacyDirty = legacyDirty;
    }
  }
}
