/**
 * Save/restore of the complete architectural state of a vCPU, so the hypervisor can run a short
 * code buffer on the same vCPU in a private context and then put the guest back exactly.
 */
import type { TransientState } from './nested.js';
import type { CpuOperands } from './operands.js';
import { XCR0_X87 } from './state.js';

export interface CpuSnapshot {
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly rip: number;
  readonly rflags: number;
  readonly segSel: Uint16Array;
  readonly segBase: Float64Array;
  readonly segLimit: Uint32Array;
  readonly segAttr: Uint16Array;
  readonly tables: Float64Array; // gdtrBase, gdtrLimit, idtrBase, idtrLimit, trSel, trBase, trLimit, trAttr, ldtrSel
  readonly cr: Float64Array; // cr0, cr2, cr3, cr4, cr8
  readonly dr: BigUint64Array;
  readonly efer: number;
  readonly star: bigint;
  readonly msrNums: Float64Array; // lstar, cstar, fmask, kernelGsBase, tscAux, xcr0
  readonly msrs: Map<number, bigint>;
  readonly cpl: number;
  readonly halted: boolean;
  readonly shadowEnd: number;
  /** Decode state of an instruction interrupted by an exit (snapshots taken inside a run). */
  readonly transient: TransientState | null;
}

export function takeSnapshot(c: CpuOperands, transient: TransientState | null): CpuSnapshot {
  c.materializeFlags();
  return {
    lo: c.lo.slice(),
    hi: c.hi.slice(),
    rip: c.rip,
    rflags: c.rflags,
    segSel: c.segSel.slice(),
    segBase: c.segBase.slice(),
    segLimit: c.segLimit.slice(),
    segAttr: c.segAttr.slice(),
    tables: Float64Array.of(
      c.gdtrBase,
      c.gdtrLimit,
      c.idtrBase,
      c.idtrLimit,
      c.trSel,
      c.trBase,
      c.trLimit,
      c.trAttr,
      c.ldtrSel,
    ),
    cr: Float64Array.of(c.cr0, c.cr2, c.cr3, c.cr4, c.cr8),
    dr: c.dr.slice(),
    efer: c.efer,
    star: c.star,
    msrNums: Float64Array.of(c.lstar, c.cstar, c.fmask, c.kernelGsBase, c.tscAux, c.xcr0),
    msrs: new Map(c.msrs),
    cpl: c.cpl_,
    halted: c.halted,
    shadowEnd: c.shadowEnd,
    transient,
  };
}

export function restoreSnapshot(c: CpuOperands, s: CpuSnapshot): void {
  c.lo.set(s.lo);
  c.hi.set(s.hi);
  c.rip = s.rip;
  c.lzOp = 0;
  c.rflags = s.rflags;
  c.segSel.set(s.segSel);
  c.segBase.set(s.segBase);
  c.segLimit.set(s.segLimit);
  c.segAttr.set(s.segAttr);
  const t = s.tables;
  c.gdtrBase = t[0]!;
  c.gdtrLimit = t[1]!;
  c.idtrBase = t[2]!;
  c.idtrLimit = t[3]!;
  c.trSel = t[4]!;
  c.trBase = t[5]!;
  c.trLimit = t[6]!;
  c.trAttr = t[7]!;
  c.ldtrSel = t[8]!;
  c.cr0 = s.cr[0]!;
  c.cr2 = s.cr[1]!;
  c.cr3 = s.cr[2]!;
  c.cr4 = s.cr[3]!;
  c.cr8 = s.cr[4]!;
  c.dr.set(s.dr);
  c.efer = s.efer;
  c.star = s.star;
  c.lstar = s.msrNums[0]!;
  c.cstar = s.msrNums[1]!;
  c.fmask = s.msrNums[2]!;
  c.kernelGsBase = s.msrNums[3]!;
  c.tscAux = s.msrNums[4]!;
  c.xcr0 = s.msrNums[5] ?? XCR0_X87;
  c.msrs.clear();
  for (const [k, v] of s.msrs) c.msrs.set(k, v);
  if (c.cpl_ !== s.cpl) c.modeChanged = true;
  c.cpl_ = s.cpl;
  c.halted = s.halted;
  c.shadowEnd = s.shadowEnd;
}
