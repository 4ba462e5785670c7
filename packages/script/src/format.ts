/**
 * printf (SPEC §4.8): format strings are parsed once — by the compiler to report errors with a
 * position, by the verifier to check argument counts — and the VM formats from the parsed form.
 *
 * Conversions: %d %i %u %o %x take the `h` (16-bit), none (32-bit, as C's int) or `l`/`ll` (64-bit)
 * size; %c %p %s %ws %ls; %f for float/double (with an optional precision, default 6). hvdbg adds
 * a width with the `0` and `-` flags, and `%%`. Upper-case conversions and integer precision are
 * refused.
 */

import { hex64 } from './u64.js';

export type Conversion = 'd' | 'u' | 'o' | 'x' | 'c' | 'p' | 's' | 'ws' | 'f';

export interface FormatSpec {
  conv: Conversion;
  /** Operand width in bits for integer conversions. */
  bits: 16 | 32 | 64;
  width: number;
  /** Digits after the point for %f. */
  precision: number;
  zero: boolean;
  left: boolean;
}

/** Literal runs and conversions alternate: parts[i] is a string or a FormatSpec. */
export type FormatParts = (string | FormatSpec)[];

export interface FormatError {
  message: string;
  /** Character index in the format string. */
  index: number;
}

const MAX_WIDTH = 4096;

export function parseFormat(fmt: string): FormatParts | FormatError {
  const parts: FormatParts = [];
  let text = '';
  let i = 0;
  while (i < fmt.length) {
    const ch = fmt[i];
    if (ch !== '%') {
      text += ch;
      i++;
      continue;
    }
    const start = i++;
    if (fmt[i] === '%') {
      text += '%';
      i++;
      continue;
    }
    let zero = false;
    let left = false;
    while (fmt[i] === '0' || fmt[i] === '-') {
      if (fmt[i] === '0') zero = true;
      else left = true;
      i++;
    }
    let width = 0;
    while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9') {
      width = width * 10 + (fmt.charCodeAt(i) - 48);
      if (width > MAX_WIDTH) return { message: `printf width larger than ${MAX_WIDTH}`, index: start };
      i++;
    }
    let precision = -1;
    if (fmt[i] === '.') {
      precision = 0;
      i++;
      while (i < fmt.length && fmt[i] >= '0' && fmt[i] <= '9')
        precision = Math.min(precision * 10 + (fmt.charCodeAt(i++) - 48), 100);
    }
    let bits: 16 | 32 | 64 = 32;
    let sized = false;
    if (fmt.startsWith('ll', i)) {
      bits = 64;
      i += 2;
      sized = true;
    } else if (fmt[i] === 'l' && fmt[i + 1] !== 's') {
      bits = 64;
      i++;
      sized = true;
    } else if (fmt[i] === 'h') {
      bits = 16;
      i++;
      sized = true;
    }
    let conv: Conversion;
    const c = fmt[i];
    if (c === 'd' || c === 'i') conv = 'd';
    else if (c === 'u' || c === 'o' || c === 'x') conv = c;
    else if (!sized && (c === 'c' || c === 'p' || c === 's')) conv = c;
    else if (!sized && (c === 'w' || c === 'l') && fmt[i + 1] === 's') {
      conv = 'ws';
      i++;
    } else if (!sized && c === 'f') conv = 'f';
    else if (c === undefined) return { message: "printf format ends inside a '%' conversion", index: start };
    else return { message: `unknown printf conversion '${fmt.slice(start, i + 1)}'`, index: start };
    i++;
    if (precision >= 0 && conv !== 'f') return { message: 'printf precision is only supported for %f', index: start };
    if (conv === 'p' || conv === 'f') bits = 64;
    if (text) parts.push(text);
    text = '';
    parts.push({ conv, bits, width, precision: precision < 0 ? 6 : precision, zero, left });
  }
  if (text) parts.push(text);
  return parts;
}

export function isFormatError(x: FormatParts | FormatError): x is FormatError {
  return !Array.isArray(x);
}

export function argumentCount(parts: FormatParts): number {
  let n = 0;
  for (const p of parts) if (typeof p !== 'string') n++;
  return n;
}

const TWO32 = 4294967296;

function unsignedDecimal(lo: number, hi: number): string {
  lo >>>= 0;
  hi >>>= 0;
  if (hi === 0) return lo.toString();
  if (hi < 0x200000) return (hi * TWO32 + lo).toString(); // exact below 2^53
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Format one integer conversion (everything but %s / %ws) of the 64-bit value hi:lo. */
export function formatInteger(spec: FormatSpec, lo: number, hi: number): string {
  let neg = false;
  // Narrow to the operand width first, as C's varargs would.
  if (spec.bits === 32) hi = spec.conv === 'd' && lo < 0 ? -1 : 0;
  else if (spec.bits === 16) {
    lo = spec.conv === 'd' ? (lo << 16) >> 16 : lo & 0xffff;
    hi = lo < 0 ? -1 : 0;
  }
  let body: string;
  switch (spec.conv) {
    case 'd':
      if (hi < 0) {
        neg = true;
        // two's complement negate hi:lo
        lo = ~lo + 1;
        hi = ~hi + (lo === 0 ? 1 : 0);
      }
      body = unsignedDecimal(lo, hi);
      break;
    case 'u':
      body = unsignedDecimal(lo, hi);
      break;
    case 'x':
      body = hex64(lo, hi);
      break;
    case 'o':
      body = hi === 0 ? (lo >>>= 0).toString(8) : ((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)).toString(8);
      break;
    case 'p': {
      const h = hex64(lo, hi);
      body = '0000000000000000'.slice(h.length) + h;
      break;
    }
    default: // 'c'
      body = String.fromCharCode(lo & 0xff);
  }
  return pad(spec, body, neg);
}

const F64 = new Float64Array(1);
const F64_HALVES = new Int32Array(F64.buffer);

/** %f of the double whose bits are hi:lo. */
export function formatFloat(spec: FormatSpec, lo: number, hi: number): string {
  F64_HALVES[0] = lo;
  F64_HALVES[1] = hi;
  const v = F64[0];
  const neg = v < 0 || Object.is(v, -0);
  const body = Number.isFinite(v) ? Math.abs(v).toFixed(spec.precision) : Number.isNaN(v) ? 'nan' : 'inf';
  return pad(spec, body, neg);
}

export function pad(spec: FormatSpec, body: string, neg = false): string {
  const len = body.length + (neg ? 1 : 0);
  if (spec.width <= len) return neg ? `-${body}` : body;
  const fill = spec.width - len;
  if (spec.left) return (neg ? '-' : '') + body + ' '.repeat(fill);
  if (spec.zero && spec.conv !== 's' && spec.conv !== 'ws' && spec.conv !== 'c' && /^[0-9]/.test(body))
    return (neg ? '-' : '') + '0'.repeat(fill) + body;
  return ' '.repeat(fill) + (neg ? '-' : '') + body;
}
