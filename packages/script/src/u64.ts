/**
 * 64-bit integer arithmetic on (lo, hi) int32 halves, so the VM's hot path never touches BigInt.
 * Results go to the module-level `rLo` / `rHi` pair (read right after the call), which avoids
 * allocating a result object. Only 64-bit division with a high half falls back to BigInt.
 */

export const U64_RESULT = new Int32Array(2);

const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);

/** Low 64 bits of a × b (after Long.js's 16-bit limb product). */
export function mul64(al: number, ah: number, bl: number, bh: number): void {
  const a48 = ah >>> 16;
  const a32 = ah & 0xffff;
  const a16 = al >>> 16;
  const a00 = al & 0xffff;
  const b48 = bh >>> 16;
  const b32 = bh & 0xffff;
  const b16 = bl >>> 16;
  const b00 = bl & 0xffff;
  let c00 = a00 * b00;
  let c16 = c00 >>> 16;
  c00 &= 0xffff;
  c16 += a16 * b00;
  let c32 = c16 >>> 16;
  c16 &= 0xffff;
  c16 += a00 * b16;
  c32 += c16 >>> 16;
  c16 &= 0xffff;
  c32 += a32 * b00;
  let c48 = c32 >>> 16;
  c32 &= 0xffff;
  c32 += a16 * b16;
  c48 += c32 >>> 16;
  c32 &= 0xffff;
  c32 += a00 * b32;
  c48 += c32 >>> 16;
  c32 &= 0xffff;
  c48 += a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48;
  c48 &= 0xffff;
  U64_RESULT[0] = (c16 << 16) | c00;
  U64_RESULT[1] = (c48 << 16) | c32;
}

export function toBigUint(lo: number, hi: number): bigint {
  scratch32[0] = lo;
  scratch32[1] = hi;
  return scratch64[0];
}

/** Store a BigInt (taken mod 2^64) into U64_RESULT without allocating. */
export function fromBig(v: bigint): void {
  scratch64[0] = BigInt.asUintN(64, v);
  U64_RESULT[0] = scratch32[0];
  U64_RESULT[1] = scratch32[1];
}

/** Split a bigint into `out` (Uint32Array or Int32Array of length ≥ 2) without allocating. */
export function splitBig(v: bigint, out: Uint32Array): void {
  scratch64[0] = v;
  out[0] = scratch32[0];
  out[1] = scratch32[1];
}

/** Unsigned or signed quotient/remainder; the divisor is non-zero (checked by the caller). */
export function divmod64(al: number, ah: number, bl: number, bh: number, signed: boolean, remainder: boolean): void {
  if (!signed && ah === 0 && bh === 0) {
    const a = al >>> 0;
    const b = bl >>> 0;
    U64_RESULT[0] = remainder ? a % b : Math.floor(a / b);
    U64_RESULT[1] = 0;
    return;
  }
  let a = toBigUint(al, ah);
  let b = toBigUint(bl, bh);
  if (signed) {
    a = BigInt.asIntN(64, a);
    b = BigInt.asIntN(64, b);
  }
  fromBig(remainder ? a % b : a / b);
}

export function shl64(lo: number, hi: number, n: number): void {
  n &= 63;
  if (n === 0) {
    U64_RESULT[0] = lo;
    U64_RESULT[1] = hi;
  } else if (n < 32) {
    U64_RESULT[1] = (hi << n) | (lo >>> (32 - n));
    U64_RESULT[0] = lo << n;
  } else {
    U64_RESULT[1] = lo << (n - 32);
    U64_RESULT[0] = 0;
  }
}

export function shr64(lo: number, hi: number, n: number, arithmetic: boolean): void {
  n &= 63;
  if (n === 0) {
    U64_RESULT[0] = lo;
    U64_RESULT[1] = hi;
  } else if (n < 32) {
    U64_RESULT[0] = (lo >>> n) | (hi << (32 - n));
    U64_RESULT[1] = arithmetic ? hi >> n : hi >>> n;
  } else {
    U64_RESULT[0] = arithmetic ? hi >> (n - 32) : hi >>> (n - 32);
    U64_RESULT[1] = arithmetic ? hi >> 31 : 0;
  }
}

/** Two hex digits per byte value: building hex text from these is ~3x faster than
 * Number#toString(16), which takes a slow path for values of 2^31 and above (printf's hot spot). */
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Hex digits of an unsigned 16-bit value, without leading zeros. */
function hex16(v: number): string {
  if (v < 0x100) return v < 0x10 ? HEX_BYTE[v][1] : HEX_BYTE[v];
  return (v < 0x1000 ? HEX_BYTE[v >>> 8][1] : HEX_BYTE[v >>> 8]) + HEX_BYTE[v & 0xff];
}

/** Hex digits of an unsigned 32-bit value, without leading zeros. */
function hex32(v: number): string {
  if (v < 0x10000) return hex16(v);
  return hex16(v >>> 16) + HEX_BYTE[(v >>> 8) & 0xff] + HEX_BYTE[v & 0xff];
}

/** Lower-case hex of the u64 hi:lo, without leading zeros. */
export function hex64(lo: number, hi: number): string {
  lo >>>= 0;
  hi >>>= 0;
  if (hi === 0) return hex32(lo);
  return (
    hex32(hi) + HEX_BYTE[lo >>> 24] + HEX_BYTE[(lo >>> 16) & 0xff] + HEX_BYTE[(lo >>> 8) & 0xff] + HEX_BYTE[lo & 0xff]
  );
}
