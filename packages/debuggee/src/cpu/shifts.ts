/**
 * Shifts and rotates with exact flags (SDM Vol. 2B "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR",
 * "SHLD", "SHRD"). The count is masked to 5 bits (6 with REX.W); a masked count of 0 changes no
 * flags. OF is architecturally defined only for count 1 and AF never; we compute OF with the
 * count-1 formula for every count (what Intel cores do for most of them) — the oracle masks it.
 *
 * Values are handled as BigInt only for RCL/RCR and 64-bit SHLD/SHRD (rare in compiled code).
 */
import { aluOut } from './alu.js';
import type { CpuOperands } from './operands.js';
import { FLAG_CF, FLAG_OF } from './state.js';
import { bit64, sar64, shl64, shr64, wide } from './wide.js';

export const SH_ROL = 0;
export const SH_ROR = 1;
export const SH_RCL = 2;
export const SH_RCR = 3;
export const SH_SHL = 4;
export const SH_SHR = 5;
export const SH_SAL = 6;
export const SH_SAR = 7;

function toBig(size: number, lo: number, hi: number): bigint {
  return size === 8 ? (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0) : BigInt(lo >>> 0) & ((1n << BigInt(size * 8)) - 1n);
}

function fromBig(size: number, v: bigint): number {
  if (size === 8) {
    aluOut.hi = Number((v >> 32n) & 0xffffffffn) | 0;
    return Number(v & 0xffffffffn) | 0;
  }
  aluOut.hi = 0;
  const n = Number(v & 0xffffffffn);
  return size === 4 ? n | 0 : n;
}

function setFlags(
  c: CpuOperands,
  keepArith: boolean,
  size: number,
  rL: number,
  rH: number,
  cf: number,
  of: number,
): void {
  if (!keepArith) {
    c.resultFlags(size, rL, rH, cf, of !== 0);
    return;
  }
  // Rotates touch only CF and OF.
  c.materializeFlags();
  let f = c.rflags & ~(FLAG_CF | FLAG_OF);
  if (cf) f |= FLAG_CF;
  if (of) f |= FLAG_OF;
  c.rflags = f;
}

/**
 * Group-2 operation `op` on a value of `size` bytes by `count` (unmasked). Returns the low half; high
 * half in aluOut.hi. When the masked count is 0 the value is returned unchanged and flags untouched.
 */
export function shift(c: CpuOperands, op: number, size: number, lo: number, hi: number, count: number): number {
  const n = count & (size === 8 ? 63 : 31);
  if (n === 0) {
    aluOut.hi = size === 8 ? hi : 0;
    return lo;
  }
  if (op === SH_RCL || op === SH_RCR) return rotateCarry(c, op, size, lo, hi, n);
  if (size === 8) return shift64(c, op, lo, hi, n);
  const bits = size * 8;
  const mask = size === 4 ? -1 : (1 << bits) - 1;
  const v = size === 4 ? lo | 0 : lo & mask;
  const top = bits - 1;
  let r: number;
  let cf: number;
  let of: number;
  switch (op) {
    case SH_ROL:
    case SH_ROR: {
      const k = n % bits;
      if (k === 0) r = v;
      else if (op === SH_ROL) r = ((v << k) | (v >>> (bits - k))) & mask;
      else r = ((v >>> k) | (v << (bits - k))) & mask;
      if (op === SH_ROL) {
        cf = r & 1;
        of = ((r >>> top) & 1) ^ cf;
      } else {
        cf = (r >>> top) & 1;
        of = cf ^ ((r >>> (top - 1)) & 1);
      }
      setFlags(c, true, size, 0, 0, cf, of);
      aluOut.hi = 0;
      return size === 4 ? r | 0 : r;
    }
    case SH_SHL:
    case SH_SAL:
      r = (v << n) & mask;
      cf = n <= bits ? (v >>> (bits - n)) & 1 : 0;
      of = ((r >>> top) & 1) ^ cf;
      break;
    case SH_SHR:
      r = v >>> n;
      cf = (v >>> (n - 1)) & 1;
      of = (v >>> top) & 1;
      break;
    default: {
      const sv = size === 4 ? v : (v << (32 - bits)) >> (32 - bits);
      r = (sv >> n) & mask;
      cf = (sv >> (n - 1)) & 1;
      of = 0;
      break;
    }
  }
  if (size === 4) r |= 0;
  aluOut.hi = 0;
  setFlags(c, false, size, r, 0, cf, of);
  return r;
}

function shift64(c: CpuOperands, op: number, lo: number, hi: number, n: number): number {
  let rL: number;
  let rH: number;
  let cf: number;
  let of: number;
  switch (op) {
    case SH_ROL:
    case SH_ROR: {
      const k = op === SH_ROL ? n : 64 - n;
      const aL = shl64(lo, hi, k);
      const aH = wide.hi;
      const bL = shr64(lo, hi, 64 - k);
      rL = aL | bL;
      rH = aH | wide.hi;
      if (op === SH_ROL) {
        cf = rL & 1;
        of = ((rH >>> 31) & 1) ^ cf;
      } else {
        cf = (rH >>> 31) & 1;
        of = cf ^ ((rH >>> 30) & 1);
      }
      setFlags(c, true, 8, 0, 0, cf, of);
      aluOut.hi = rH;
      return rL;
    }
    case SH_SHL:
    case SH_SAL:
      rL = shl64(lo, hi, n);
      rH = wide.hi;
      cf = bit64(lo, hi, 64 - n);
      of = ((rH >>> 31) & 1) ^ cf;
      break;
    case SH_SHR:
      rL = shr64(lo, hi, n);
      rH = wide.hi;
      cf = bit64(lo, hi, n - 1);
      of = (hi >>> 31) & 1;
      break;
    default:
      rL = sar64(lo, hi, n);
      rH = wide.hi;
      cf = bit64(lo, hi, n - 1);
      of = 0;
      break;
  }
  aluOut.hi = rH;
  setFlags(c, false, 8, rL, rH, cf, of);
  return rL;
}

/** RCL/RCR through CF (rare in compiled code: BigInt is fine here). */
function rotateCarry(c: CpuOperands, op: number, size: number, lo: number, hi: number, n: number): number {
  const bits = size * 8;
  const m = size <= 2 ? n % (bits + 1) : n;
  if (m === 0) {
    aluOut.hi = size === 8 ? hi : 0;
    return lo;
  }
  const v = toBig(size, lo, hi);
  const mask = (1n << BigInt(bits)) - 1n;
  const top = BigInt(bits - 1);
  const cin = BigInt(c.getCF());
  const wide65 = (cin << BigInt(bits)) | v; // bits+1 wide: CF above the value
  const w = BigInt(bits + 1);
  const k = BigInt(m);
  const wmask = (1n << w) - 1n;
  const rot =
    op === SH_RCL ? ((wide65 << k) | (wide65 >> (w - k))) & wmask : ((wide65 >> k) | (wide65 << (w - k))) & wmask;
  const r = rot & mask;
  const cf = Number(rot >> BigInt(bits));
  const of = op === SH_RCL ? Number((r >> top) & 1n) ^ cf : Number((r >> top) & 1n) ^ Number((r >> (top - 1n)) & 1n);
  setFlags(c, true, size, 0, 0, cf, of);
  return fromBig(size, r);
}

/** SHLD (left = true) / SHRD: dst shifted with bits coming in from src. */
export function shiftDouble(
  c: CpuOperands,
  left: boolean,
  size: number,
  dL: number,
  dH: number,
  sL: number,
  sH: number,
  count: number,
): number {
  const bits = size * 8;
  const n = count & (size === 8 ? 63 : 31);
  if (n === 0) {
    aluOut.hi = size === 8 ? dH : 0;
    return dL;
  }
  const d = toBig(size, dL, dH);
  const s = toBig(size, sL, sH);
  const mask = (1n << BigInt(bits)) - 1n;
  const B = BigInt(n);
  const top = BigInt(bits - 1);
  let r: bigint;
  let cf: number;
  if (left) {
    // A 16-bit count above 16 is undefined; this models the usual 32-bit concatenation.
    const cat = (d << BigInt(bits)) | s;
    r = ((cat << B) >> BigInt(bits)) & mask;
    cf = Number((cat >> (BigInt(2 * bits) - B)) & 1n);
  } else {
    const cat = (s << BigInt(bits)) | d;
    r = (cat >> B) & mask;
    cf = Number((cat >> (B - 1n)) & 1n);
  }
  const of = Number(((r ^ d) >> top) & 1n);
  const rL = fromBig(size, r);
  setFlags(c, false, size, rL, aluOut.hi, cf, of);
  return rL;
}
