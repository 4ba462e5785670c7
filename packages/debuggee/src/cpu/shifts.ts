/**
 * Shifts and rotates with exact flags (SDM Vol. 2B "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR",
 * "SHLD", "SHRD"). The count is masked to 5 bits (6 with REX.W); a masked count of 0 changes no
 * flags. OF is architecturally defined only for count 1 and AF never; we compute OF with the
 * count-1 formula for every count (what Intel cores do for most of them) — the oracle masks it.
 *
 * Values are handled as BigInt only for RCL/RCR and 64-bit SHLD/SHRD (rare in compiled code).
 */
import { aluOut } from './alu.js';
import { PARITY } from './flags.js';
import type { CpuOperands } from './operands.js';
import { FLAG_AF, FLAG_CF, FLAG_OF, FLAG_PF, FLAG_SF, FLAG_ZF } from './state.js';

export const SH_ROL = 0;
export const SH_ROR = 1;
export const SH_RCL = 2;
export const SH_RCR = 3;
export const SH_SHL = 4;
export const SH_SHR = 5;
export const SH_SAL = 6;
export const SH_SAR = 7;

const MASK64 = (1n << 64n) - 1n;

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
  c.materializeFlags();
  let f = c.rflags;
  if (keepArith) {
    // Rotates touch only CF and OF.
    f &= ~(FLAG_CF | FLAG_OF);
  } else {
    f &= ~(FLAG_CF | FLAG_OF | FLAG_ZF | FLAG_SF | FLAG_PF | FLAG_AF);
    if ((rL | rH) === 0) f |= FLAG_ZF;
    const neg = size === 8 ? rH < 0 : ((rL >>> (size * 8 - 1)) & 1) !== 0;
    if (neg) f |= FLAG_SF;
    if (PARITY[rL & 0xff]) f |= FLAG_PF;
  }
  if (cf) f |= FLAG_CF;
  if (of) f |= FLAG_OF;
  c.rflags = f;
}

/**
 * Group-2 operation `op` on a value of `size` bytes by `count` (unmasked). Returns the low half; high
 * half in aluOut.hi. When the masked count is 0 the value is returned unchanged and flags untouched.
 */
export function shift(c: CpuOperands, op: number, size: number, lo: number, hi: number, count: number): number {
  const bits = size * 8;
  const n = count & (size === 8 ? 63 : 31);
  if (n === 0) {
    aluOut.hi = size === 8 ? hi : 0;
    return lo;
  }
  const v = toBig(size, lo, hi);
  const mask = size === 8 ? MASK64 : (1n << BigInt(bits)) - 1n;
  const top = BigInt(bits - 1);
  const B = BigInt(n);
  let r: bigint;
  let cf: number;
  let of: number;
  switch (op) {
    case SH_ROL: {
      const k = BigInt(n % bits);
      r = ((v << k) | (v >> (BigInt(bits) - k))) & mask;
      cf = Number(r & 1n);
      of = Number((r >> top) & 1n) ^ cf;
      setFlags(c, true, size, 0, 0, cf, of);
      return fromBig(size, r);
    }
    case SH_ROR: {
      const k = BigInt(n % bits);
      r = ((v >> k) | (v << (BigInt(bits) - k))) & mask;
      cf = Number((r >> top) & 1n);
      of = cf ^ Number((r >> (top - 1n)) & 1n);
      setFlags(c, true, size, 0, 0, cf, of);
      return fromBig(size, r);
    }
    case SH_RCL:
    case SH_RCR: {
      const m = size <= 2 ? n % (bits + 1) : n;
      const cin = BigInt(c.getCF());
      if (m === 0) {
        aluOut.hi = size === 8 ? hi : 0;
        return lo;
      }
      const wide = (cin << BigInt(bits)) | v; // bits+1 wide: CF above the value
      const w = BigInt(bits + 1);
      const k = BigInt(m);
      const wmask = (1n << w) - 1n;
      const rot = op === SH_RCL ? ((wide << k) | (wide >> (w - k))) & wmask : ((wide >> k) | (wide << (w - k))) & wmask;
      r = rot & mask;
      cf = Number(rot >> BigInt(bits));
      of = op === SH_RCL ? Number((r >> top) & 1n) ^ cf : Number((r >> top) & 1n) ^ Number((r >> (top - 1n)) & 1n);
      setFlags(c, true, size, 0, 0, cf, of);
      return fromBig(size, r);
    }
    case SH_SHL:
    case SH_SAL:
      r = (v << B) & mask;
      cf = n <= bits ? Number((v >> BigInt(bits - n)) & 1n) : 0;
      of = Number((r >> top) & 1n) ^ cf;
      break;
    case SH_SHR:
      r = v >> B;
      cf = Number((v >> (B - 1n)) & 1n);
      of = Number((v >> top) & 1n);
      break;
    default: {
      const sv = BigInt.asIntN(bits, v);
      r = (sv >> B) & mask;
      cf = Number((sv >> (B - 1n)) & 1n);
      of = 0;
      break;
    }
  }
  const rL = fromBig(size, r);
  setFlags(c, false, size, rL, aluOut.hi, cf, of);
  return rL;
}

/** Fast SHL/SHR/SAR for sizes <= 4 (the common case); falls back to `shift` otherwise. */
export function shift32(c: CpuOperands, op: number, size: number, v: number, count: number): number {
  const n = count & 31;
  if (n === 0 || size !== 4 || (op !== SH_SHL && op !== SH_SAL && op !== SH_SHR && op !== SH_SAR)) {
    return shift(c, op, size, v, 0, count);
  }
  let r: number;
  let cf: number;
  let of: number;
  if (op === SH_SHR) {
    r = (v >>> n) | 0;
    cf = (v >>> (n - 1)) & 1;
    of = (v >>> 31) & 1;
  } else if (op === SH_SAR) {
    r = v >> n;
    cf = (v >> (n - 1)) & 1;
    of = 0;
  } else {
    r = v << n;
    cf = (v >>> (32 - n)) & 1;
    of = ((r >>> 31) & 1) ^ cf;
  }
  aluOut.hi = 0;
  setFlags(c, false, 4, r, 0, cf, of);
  return r;
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
