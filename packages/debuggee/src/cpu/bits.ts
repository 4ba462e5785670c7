/**
 * Bit instructions (SDM Vol. 2: BT/BTS/BTR/BTC, BSF/BSR, TZCNT/LZCNT, POPCNT, BSWAP).
 * BT*: CF = selected bit, ZF unchanged, OF/SF/AF/PF undefined (unchanged here).
 * BSF/BSR: ZF = (source == 0) and the destination is left unchanged then; other flags undefined.
 * TZCNT/LZCNT: CF = (source == 0), ZF = (result == 0). POPCNT: ZF = (source == 0), others 0.
 */
import { aluOut } from './alu.js';
import type { CpuOperands } from './operands.js';
import { FLAG_CF, FLAG_ZF, FLAGS_ARITH } from './state.js';

export const BT_TEST = 0;
export const BT_SET = 1;
export const BT_RESET = 2;
export const BT_COMPLEMENT = 3;

/** Applies a BT* op to bit `bit` (already reduced to the operand width) of lo/hi; sets CF. */
export function bitOp(c: CpuOperands, kind: number, lo: number, hi: number, bit: number): number {
  const inHi = bit >= 32;
  const m = 1 << (bit & 31);
  const word = inHi ? hi : lo;
  const cf = (word & m) !== 0;
  c.materializeFlags();
  c.rflags = cf ? c.rflags | FLAG_CF : c.rflags & ~FLAG_CF;
  let w = word;
  if (kind === BT_SET) w |= m;
  else if (kind === BT_RESET) w &= ~m;
  else if (kind === BT_COMPLEMENT) w ^= m;
  if (inHi) {
    aluOut.hi = w;
    return lo;
  }
  aluOut.hi = hi;
  return w;
}

function ctz32(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}

/** Index of lowest set bit of a size-byte value, or -1 when zero. */
export function lowestBit(size: number, lo: number, hi: number): number {
  if (size === 8) return lo !== 0 ? ctz32(lo) : hi !== 0 ? 32 + ctz32(hi) : -1;
  return lo === 0 ? -1 : ctz32(lo);
}

/** Index of highest set bit, or -1 when zero. */
export function highestBit(size: number, lo: number, hi: number): number {
  if (size === 8) return hi !== 0 ? 63 - Math.clz32(hi) : lo !== 0 ? 31 - Math.clz32(lo) : -1;
  return lo === 0 ? -1 : 31 - Math.clz32(lo);
}

export function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Sets exactly CF and ZF, clearing the other arithmetic flags (POPCNT/TZCNT/LZCNT). */
export function setCfZf(c: CpuOperands, cf: boolean, zf: boolean, keepOthers: boolean): void {
  c.materializeFlags();
  let f = keepOthers ? c.rflags & ~(FLAG_CF | FLAG_ZF) : c.rflags & ~FLAGS_ARITH;
  if (cf) f |= FLAG_CF;
  if (zf) f |= FLAG_ZF;
  c.rflags = f;
}

export function bswap32(v: number): number {
  return (v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24) | 0;
}
