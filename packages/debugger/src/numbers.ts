/**
 * Numbers as the debugger reads and prints them (SPEC §4.1): bare digits are hex, `0x` hex, `0n`
 * decimal, `0y` binary, `0o`/`0t` octal; backticks inside a number are ignored
 * (`fffff800`00001000`). Values are unsigned 64-bit; a leading `-` wraps as in the script language.
 */
import { HvdbgError } from '@hvdbg/protocol';

export const U64_MASK = (1n << 64n) - 1n;

const RADIX_PREFIX: Record<string, number> = { x: 16, n: 10, y: 2, o: 8, t: 8 };
const DIGITS: Record<number, RegExp> = {
  16: /^[0-9a-f]+$/i,
  10: /^[0-9]+$/,
  8: /^[0-7]+$/,
  2: /^[01]+$/,
};

/** Parses one number token; undefined when the text is not a number in any accepted form. */
export function parseNumber(text: string): bigint | undefined {
  let body = text.replaceAll('`', '');
  let negative = false;
  if (body.startsWith('-')) {
    negative = true;
    body = body.slice(1);
  }
  let radix = 16;
  if (body.length > 2 && body[0] === '0') {
    const prefixed = RADIX_PREFIX[body[1]!.toLowerCase()];
    if (prefixed !== undefined) {
      radix = prefixed;
      body = body.slice(2);
    }
  }
  if (body.length === 0 || !DIGITS[radix]!.test(body)) return undefined;
  let value = 0n;
  const big = BigInt(radix);
  for (const ch of body) value = value * big + BigInt(Number.parseInt(ch, radix));
  if (value > U64_MASK) return undefined;
  return negative ? -value & U64_MASK : value;
}

/** Like parseNumber, but a bad number is a user error naming what was expected. */
export function expectNumber(text: string | undefined, what: string): bigint {
  if (text === undefined) throw new HvdbgError('E_BAD_PARAMETER', `missing ${what}`);
  const value = parseNumber(text);
  if (value === undefined) throw new HvdbgError('E_BAD_PARAMETER', `'${text}' is not a valid ${what} (hex by default)`);
  return value;
}

/** A number that must fit a JavaScript safe integer (counts, ids, cores). */
export function expectSmall(text: string | undefined, what: string, max = 0xffff_ffff): number {
  const value = expectNumber(text, what);
  if (value > BigInt(max))
    throw new HvdbgError('E_BAD_VALUE', `${what} ${hex(value)} is out of range (max ${hex(max)})`);
  return Number(value);
}

/** Lower-case hex without prefix, zero-padded to `width` digits. */
export function hexPad(value: bigint | number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

/** `0x`-prefixed lower-case hex. */
export function hex(value: bigint | number): string {
  return `0x${value.toString(16)}`;
}

/** Reads `size` bytes little-endian at `offset` as an unsigned value. */
export function readLE(bytes: Uint8Array, offset: number, size: number): bigint {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[offset + i]!);
  return value;
}

/** Writes `value` as `size` little-endian bytes; the value must fit. */
export function writeLE(value: bigint, size: number): Uint8Array {
  if (value >= 1n << BigInt(size * 8)) {
    throw new HvdbgError('E_BAD_VALUE', `${hex(value)} does not fit in ${size} byte${size === 1 ? '' : 's'}`);
  }
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((value >> BigInt(i * 8)) & 0xffn);
  return out;
}

/** Parses `{ 90 c3 }`-style hex byte blocks: pairs separated by whitespace, or one run of digits. */
export function parseHexBytes(text: string, what: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  const parts = text
    .trim()
    .split(/\s+/)
    .filter((p) => p.length > 0);
  const pairs = parts.every((p) => p.length <= 2) ? parts : (compact.match(/.{1,2}/g) ?? []);
  if (compact.length === 0) throw new HvdbgError('E_CODE_INVALID', `the ${what} block is empty`);
  if (!parts.every((p) => p.length <= 2) && compact.length % 2 !== 0) {
    throw new HvdbgError('E_CODE_INVALID', `the ${what} block has an odd number of hex digits`);
  }
  const out = new Uint8Array(pairs.length);
  pairs.forEach((pair, i) => {
    if (!/^[0-9a-f]{1,2}$/i.test(pair))
      throw new HvdbgError('E_CODE_INVALID', `'${pair}' in the ${what} block is not a hex byte`);
    out[i] = Number.parseInt(pair, 16);
  });
  return out;
}
