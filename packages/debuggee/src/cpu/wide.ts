/**
 * 64- and 128-bit integer helpers on 32-bit halves, so the hot paths of multiplication and shifts
 * never touch BigInt. Results come back through the `wide` scratch object (no allocation).
 */

/** Scratch results: w0..w3 little-endian 32-bit words (unsigned numbers), or lo/hi of a 64-bit value. */
export const wide = { w0: 0, w1: 0, w2: 0, w3: 0, hi: 0 };

const TWO_32 = 4294967296;

/** Unsigned 32×32 → 64: returns the low word (unsigned), high word in wide.hi. */
export function umul32(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const p0 = aL * bL;
  const p1 = aL * bH;
  const p2 = aH * bL;
  const mid = (p0 >>> 16) + (p1 & 0xffff) + (p2 & 0xffff);
  wide.hi = aH * bH + (p1 >>> 16) + (p2 >>> 16) + Math.floor(mid / 65536);
  return (((mid & 0xffff) << 16) | (p0 & 0xffff)) >>> 0;
}

/** High word of the unsigned 32×32 product, as an int32. */
export function umulHi(a: number, b: number): number {
  umul32(a, b);
  return wide.hi | 0;
}

/**
 * Full 64×64 → 128 product of (aH:aL)·(bH:bL), unsigned or signed; words in wide.w0..w3 (unsigned).
 */
export function mul64(aL: number, aH: number, bL: number, bH: number, signed: boolean): void {
  const l00 = umul32(aL, bL);
  const h00 = wide.hi;
  const l01 = umul32(aL, bH);
  const h01 = wide.hi;
  const l10 = umul32(aH, bL);
  const h10 = wide.hi;
  const l11 = umul32(aH, bH);
  const h11 = wide.hi;
  const s1 = h00 + l01 + l10;
  const c1 = Math.floor(s1 / TWO_32);
  const s2 = h01 + h10 + l11 + c1;
  const c2 = Math.floor(s2 / TWO_32);
  let w2 = s2 % TWO_32;
  let w3 = (h11 + c2) % TWO_32;
  if (signed) {
    // (a - 2^64·[a<0])(b - 2^64·[b<0]) = a·b - 2^64·([a<0]·b + [b<0]·a) mod 2^128
    if (aH < 0) {
      const d = w2 - (bL >>> 0);
      w2 = d < 0 ? d + TWO_32 : d;
      w3 = w3 - (bH >>> 0) - (d < 0 ? 1 : 0);
      if (w3 < 0) w3 += TWO_32;
      if (w3 < 0) w3 += TWO_32;
    }
    if (bH < 0) {
      const d = w2 - (aL >>> 0);
      w2 = d < 0 ? d + TWO_32 : d;
      w3 = w3 - (aH >>> 0) - (d < 0 ? 1 : 0);
      if (w3 < 0) w3 += TWO_32;
      if (w3 < 0) w3 += TWO_32;
    }
  }
  wide.w0 = l00;
  wide.w1 = s1 % TWO_32;
  wide.w2 = w2;
  wide.w3 = w3;
}

/** Bit k (0..63) of a 64-bit value. */
export function bit64(lo: number, hi: number, k: number): number {
  return k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1;
}

/** Logical left shift by n in 1..63: returns lo, hi in wide.hi. */
export function shl64(lo: number, hi: number, n: number): number {
  if (n < 32) {
    wide.hi = (hi << n) | (lo >>> (32 - n));
    return lo << n;
  }
  wide.hi = lo << (n - 32);
  return 0;
}

/** Logical right shift by n in 1..63. */
export function shr64(lo: number, hi: number, n: number): number {
  if (n < 32) {
    wide.hi = (hi >>> n) | 0;
    return (lo >>> n) | (hi << (32 - n));
  }
  wide.hi = 0;
  return (hi >>> (n - 32)) | 0;
}

/** Arithmetic right shift by n in 1..63. */
export function sar64(lo: number, hi: number, n: number): number {
  if (n < 32) {
    wide.hi = hi >> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  wide.hi = hi >> 31;
  return hi >> (n - 32);
}
