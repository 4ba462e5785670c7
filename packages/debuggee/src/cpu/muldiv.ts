/**
 * Multiplication and division (SDM Vol. 2: MUL, IMUL, DIV, IDIV). CF=OF report a significant high
 * half; SF/ZF/AF/PF are undefined (we derive SF/ZF/PF from the low result). DIV/IDIV leave all flags
 * undefined (unchanged here) and raise #DE on a zero divisor or a quotient that does not fit.
 *
 * 32-bit and smaller use exact double arithmetic; 64-bit operands use BigInt (a cold 128-bit path).
 */
import { aluOut } from './alu.js';
import { VEC_DE } from './faults.js';
import type { CpuOperands } from './operands.js';
import { REG_RAX, REG_RDX } from './state.js';
import { mul64, umul32, umulHi, wide } from './wide.js';

function big64(lo: number, hi: number, signed: boolean): bigint {
  const u = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  return signed ? BigInt.asIntN(64, u) : u;
}

function sext(size: number, v: number): number {
  return size === 1 ? (v << 24) >> 24 : size === 2 ? (v << 16) >> 16 : v | 0;
}

/** Two/three-operand IMUL: dst = a * b truncated; CF=OF when the product does not fit. */
export function imulTrunc(c: CpuOperands, size: number, aL: number, aH: number, bL: number, bH: number): number {
  let rL: number;
  let rH = 0;
  let overflow: boolean;
  if (size === 8) {
    // Low quadword from 32-bit partial products; overflow decided by magnitude when clear-cut.
    rL = Math.imul(aL, bL);
    rH = (umulHi(aL, bL) + Math.imul(aL, bH) + Math.imul(aH, bL)) | 0;
    const mag = Math.abs(aH * 4294967296 + (aL >>> 0)) * Math.abs(bH * 4294967296 + (bL >>> 0));
    if (mag < 4.5e18) overflow = false;
    else if (mag > 1.9e19) overflow = true;
    else {
      mul64(aL, aH, bL, bH, true);
      const s = rH < 0 ? 0xffffffff : 0;
      overflow = wide.w2 !== s || wide.w3 !== s;
    }
  } else if (size === 4) {
    rL = Math.imul(aL, bL);
    overflow = aL * bL !== rL;
  } else {
    const p = sext(2, aL) * sext(2, bL);
    rL = p & 0xffff;
    overflow = (p << 16) >> 16 !== p;
  }
  c.resultFlags(size, rL, rH, overflow ? 1 : 0, overflow);
  aluOut.hi = rH;
  return rL;
}

/** One-operand MUL (signed = false) / IMUL: rDX:rAX (or AX) = acc * src. */
export function mulAcc(c: CpuOperands, signed: boolean, size: number, sL: number, sH: number): void {
  const lo = c.lo;
  const hi = c.hi;
  if (size === 1) {
    const a = lo[REG_RAX]! & 0xff;
    const p = signed ? sext(1, a) * sext(1, sL) : a * sL;
    lo[REG_RAX] = (lo[REG_RAX]! & ~0xffff) | (p & 0xffff);
    const of = signed ? (p << 24) >> 24 !== p : p > 0xff;
    c.resultFlags(1, p & 0xff, 0, of ? 1 : 0, of);
    return;
  }
  if (size === 2) {
    const a = lo[REG_RAX]! & 0xffff;
    const p = signed ? sext(2, a) * sext(2, sL) : a * sL;
    lo[REG_RAX] = (lo[REG_RAX]! & ~0xffff) | (p & 0xffff);
    lo[REG_RDX] = (lo[REG_RDX]! & ~0xffff) | ((p >> 16) & 0xffff);
    const of = signed ? (p << 16) >> 16 !== p : p > 0xffff;
    c.resultFlags(2, p & 0xffff, 0, of ? 1 : 0, of);
    return;
  }
  if (size === 4) {
    const a = lo[REG_RAX]!;
    let l = umul32(a, sL);
    let h = wide.hi;
    if (signed) {
      // Signed high word: subtract the other operand for each negative factor.
      if (a < 0) h -= sL >>> 0;
      if ((sL | 0) < 0) h -= a >>> 0;
      h = h < 0 ? h + 4294967296 * 2 : h;
    }
    l |= 0;
    h |= 0;
    const of = signed ? h !== l >> 31 : h !== 0;
    lo[REG_RAX] = l;
    hi[REG_RAX] = 0;
    lo[REG_RDX] = h;
    hi[REG_RDX] = 0;
    c.resultFlags(4, l, 0, of ? 1 : 0, of);
    return;
  }
  mul64(lo[REG_RAX]!, hi[REG_RAX]!, sL, sH, signed);
  lo[REG_RAX] = wide.w0 | 0;
  hi[REG_RAX] = wide.w1 | 0;
  lo[REG_RDX] = wide.w2 | 0;
  hi[REG_RDX] = wide.w3 | 0;
  const s = signed && hi[REG_RAX]! < 0 ? 0xffffffff : 0;
  const of = wide.w2 !== s || wide.w3 !== s;
  c.resultFlags(8, lo[REG_RAX]!, hi[REG_RAX]!, of ? 1 : 0, of);
}

/** DIV (signed = false) / IDIV of rDX:rAX (or AX) by the source; #DE on zero or overflow. */
export function divAcc(c: CpuOperands, signed: boolean, size: number, sL: number, sH: number): void {
  const lo = c.lo;
  const hi = c.hi;
  if (size === 1 || size === 2) {
    const bits = size * 8;
    const d = signed ? sext(size, sL) : sL;
    if (d === 0) c.raise(VEC_DE);
    let n: number;
    if (size === 1) n = signed ? (lo[REG_RAX]! << 16) >> 16 : lo[REG_RAX]! & 0xffff;
    else {
      const u = ((lo[REG_RDX]! & 0xffff) * 65536 + (lo[REG_RAX]! & 0xffff)) >>> 0;
      n = signed ? u | 0 : u;
    }
    const q = Math.trunc(n / d);
    const r = n - q * d;
    const limit = 2 ** (bits - 1);
    if (signed ? q >= limit || q < -limit : q >= 2 ** bits) c.raise(VEC_DE);
    const mask = size === 1 ? 0xff : 0xffff;
    if (size === 1) lo[REG_RAX] = (lo[REG_RAX]! & ~0xffff) | ((r & 0xff) << 8) | (q & 0xff);
    else {
      lo[REG_RAX] = (lo[REG_RAX]! & ~0xffff) | (q & mask);
      lo[REG_RDX] = (lo[REG_RDX]! & ~0xffff) | (r & mask);
    }
    return;
  }
  if (size === 4 && !signed && lo[REG_RDX] === 0) {
    // Common fast path: 32-bit dividend.
    const d = sL >>> 0;
    if (d === 0) c.raise(VEC_DE);
    const n = lo[REG_RAX]! >>> 0;
    const q = Math.floor(n / d);
    lo[REG_RAX] = q | 0;
    hi[REG_RAX] = 0;
    lo[REG_RDX] = (n - q * d) | 0;
    hi[REG_RDX] = 0;
    return;
  }
  const bits = BigInt(size * 8);
  let n: bigint;
  let d: bigint;
  if (size === 4) {
    const u = (BigInt(lo[REG_RDX]! >>> 0) << 32n) | BigInt(lo[REG_RAX]! >>> 0);
    n = signed ? BigInt.asIntN(64, u) : u;
    d = signed ? BigInt(sL | 0) : BigInt(sL >>> 0);
  } else {
    const u = (big64(lo[REG_RDX]!, hi[REG_RDX]!, false) << 64n) | big64(lo[REG_RAX]!, hi[REG_RAX]!, false);
    n = signed ? BigInt.asIntN(128, u) : u;
    d = big64(sL, sH, signed);
  }
  if (d === 0n) c.raise(VEC_DE);
  const q = n / d; // BigInt division truncates toward zero, like IDIV
  const r = n % d;
  const half = 1n << (bits - 1n);
  if (signed ? q >= half || q < -half : q >= 1n << bits) c.raise(VEC_DE);
  const qu = BigInt.asUintN(Number(bits), q);
  const ru = BigInt.asUintN(Number(bits), r);
  lo[REG_RAX] = Number(qu & 0xffffffffn) | 0;
  hi[REG_RAX] = size === 8 ? Number(qu >> 32n) | 0 : 0;
  lo[REG_RDX] = Number(ru & 0xffffffffn) | 0;
  hi[REG_RDX] = size === 8 ? Number(ru >> 32n) | 0 : 0;
}
