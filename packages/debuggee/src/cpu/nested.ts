/**
 * Re-entrant runs from inside an exit handler (the hypervisor's custom code: save the guest state,
 * run a short buffer on the same vCPU, restore). An exit can happen in the middle of an instruction
 * (a memory access, a `pre` call), so besides the architectural state — which the caller saves and
 * restores with saveState/restoreState — the interpreter's transient decode state must survive the
 * nested run: decode cursor, prefixes, ModRM results, loop counters. This file captures and
 * reinstates exactly that.
 */
import type { CpuOperands } from './operands.js';

export interface TransientState {
  readonly nums: Float64Array;
  readonly fetchBytes: Uint8Array;
  readonly fetchView: DataView;
  readonly exitValue: bigint;
  readonly flags: number;
}

const BOOL_LOCK = 1;
const BOOL_66 = 2;
const BOOL_SOFT = 4;
const BOOL_SYS = 8;
const BOOL_MOVED = 16;
const BOOL_EVENT = 32;

export function saveTransient(c: CpuOperands, iter: number, legacyDirty: boolean): TransientState {
  return {
    nums: Float64Array.of(
      iter,
      c.rex,
      c.osize,
      c.asize,
      c.repPrefix,
      c.segOverrideBase,
      legacyDirty ? 1 : 0,
      c.mReg,
      c.mRm,
      c.mOp,
      c.ea,
      c.eaLo,
      c.eaHi,
      c.hi64,
      c.stopRequest,
      c.ipo,
      c.fetchBase,
      c.fetchLimit,
      c.fetchTrap,
      c.ripBase,
      c.startOff,
      c.exitAddress,
      c.exitLinear,
      c.exitSize,
      c.exitAccess,
    ),
    fetchBytes: c.fetchBytes,
    fetchView: c.fetchView,
    exitValue: c.exitValue,
    flags:
      (c.lock ? BOOL_LOCK : 0) |
      (c.has66 ? BOOL_66 : 0) |
      (c.faultSoft ? BOOL_SOFT : 0) |
      (c.sysAccess ? BOOL_SYS : 0) |
      (c.baseMoved ? BOOL_MOVED : 0) |
      (c.eventPending ? BOOL_EVENT : 0),
  };
}

/** Reinstates the transient state; returns [iter, legacyDirty]. */
export function restoreTransient(c: CpuOperands, t: TransientState): [number, boolean] {
  const n = t.nums;
  c.rex = n[1]!;
  c.osize = n[2]!;
  c.asize = n[3]!;
  c.repPrefix = n[4]!;
  c.segOverrideBase = n[5]!;
  c.mReg = n[7]!;
  c.mRm = n[8]!;
  c.mOp = n[9]!;
  c.ea = n[10]!;
  c.eaLo = n[11]!;
  c.eaHi = n[12]!;
  c.hi64 = n[13]!;
  c.stopRequest = n[14]!;
  c.ipo = n[15]!;
  c.fetchBase = n[16]!;
  c.fetchLimit = 0; // the fetch page is re-translated on the next fetch (paging may have changed)
  c.fetchTrap = n[18]!;
  c.ripBase = n[19]!;
  c.startOff = n[20]!;
  c.exitAddress = n[21]!;
  c.exitLinear = n[22]!;
  c.exitSize = n[23]!;
  c.exitAccess = n[24]!;
  c.fetchBytes = t.fetchBytes;
  c.fetchView = t.fetchView;
  c.exitValue = t.exitValue;
  c.lock = (t.flags & BOOL_LOCK) !== 0;
  c.has66 = (t.flags & BOOL_66) !== 0;
  c.faultSoft = (t.flags & BOOL_SOFT) !== 0;
  c.sysAccess = (t.flags & BOOL_SYS) !== 0;
  c.baseMoved = (t.flags & BOOL_MOVED) !== 0;
  c.eventPending = true;
  return [n[0]!, n[6]! !== 0];
}
