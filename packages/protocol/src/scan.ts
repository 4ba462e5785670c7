/**
 * Structural pre-scan of one msgpack frame, run before msgpackr ever sees the bytes.
 *
 * Why a separate pass instead of trusting the decoder's options: msgpackr keeps its extension
 * table in module state and, whatever the options, builds `Error`, `RegExp`, `Set`, `Date`, typed
 * arrays, record definitions and structured-clone references from peer-chosen extension types;
 * several of those run constructors on peer data. Its reader is also recursive, so a frame of a
 * few kilobytes of nested array headers overflows the stack. Walking the grammar once without
 * building anything lets us refuse all of that up front, so the decoder only ever runs on a
 * plain tree of maps (string keys), arrays, strings, bins, numbers, booleans and nils that we
 * know is complete and shallow. Every count is also checked against the bytes left, so the
 * decoder never pre-allocates an array for elements that are not there.
 *
 * The walk is iterative and allocation-free: container state lives in two typed arrays sized by
 * LIMITS.maxDepth, allocated once (decoding is synchronous, so sharing them is safe).
 */
import { HvdbgError } from './errors.js';
import { LIMITS } from './limits.js';

const MAX_DEPTH = LIMITS.maxDepth;
/** Items still to read in each open container (a map of n entries counts 2n items). */
const remaining = new Int32Array(MAX_DEPTH + 1);
/** 1 when the container at that depth is a map (its even-numbered items are keys). */
const isMap = new Uint8Array(MAX_DEPTH + 1);

// What each lead byte is: a value of fixed size (the count of bytes after the lead byte), or one
// of the kinds below. A table lookup keeps the common tokens (fixints, short strings) to one load.
const FIXMAP = -1;
const FIXARRAY = -2;
const VARIABLE = -3; // str/bin 8/16/32, array/map 16/32: a length field follows
const FORBIDDEN = -4; // extension types (0xc7-0xc9, 0xd4-0xd8) and the reserved 0xc1
const LEAD = new Int8Array(256).fill(FORBIDDEN);
for (let b = 0x00; b <= 0x7f; b++) LEAD[b] = 0; // positive fixint
for (let b = 0x80; b <= 0x8f; b++) LEAD[b] = FIXMAP;
for (let b = 0x90; b <= 0x9f; b++) LEAD[b] = FIXARRAY;
for (let b = 0xa0; b <= 0xbf; b++) LEAD[b] = b & 0x1f; // fixstr: its bytes
for (let b = 0xe0; b <= 0xff; b++) LEAD[b] = 0; // negative fixint
LEAD[0xc0] = LEAD[0xc2] = LEAD[0xc3] = 0; // nil, false, true
LEAD[0xcc] = LEAD[0xd0] = 1; // (u)int 8
LEAD[0xcd] = LEAD[0xd1] = 2;
LEAD[0xca] = LEAD[0xce] = LEAD[0xd2] = 4; // float 32, (u)int 32
LEAD[0xcb] = LEAD[0xcf] = LEAD[0xd3] = 8; // float 64, (u)int 64
for (const b of [0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf]) LEAD[b] = VARIABLE;

function bad(message: string): never {
  throw new HvdbgError('E_BAD_MESSAGE', message);
}

function isMapByte(b: number): boolean {
  return (b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf;
}

function isStrByte(b: number): boolean {
  return (b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb;
}

/** Big-endian unsigned integer of `size` (1, 2 or 4) bytes at `pos`; the caller checked bounds. */
function readLength(bytes: Uint8Array, pos: number, size: number): number {
  if (size === 1) return bytes[pos];
  if (size === 2) return (bytes[pos] << 8) | bytes[pos + 1];
  return bytes[pos] * 0x1000000 + ((bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]);
}

/**
 * Throws HvdbgError(E_BAD_MESSAGE) unless `bytes` is exactly one well-formed msgpack map with
 * string keys, no extension types, no reserved byte and at most LIMITS.maxDepth levels of nesting.
 */
export function scanMessage(bytes: Uint8Array): void {
  const end = bytes.length;
  let pos = 0;
  let depth = 0;
  // Depth 0 is a virtual container holding the single top-level value.
  remaining[0] = 1;
  isMap[0] = 0;

  for (;;) {
    while (remaining[depth] === 0) {
      if (depth === 0) {
        if (pos !== end) bad('trailing bytes after the message (one message per frame)');
        return;
      }
      depth--;
    }
    const atKey = isMap[depth] === 1 && (remaining[depth] & 1) === 0;
    remaining[depth]--;
    if (pos >= end) bad('truncated message');
    const b = bytes[pos++];
    if (atKey && !isStrByte(b)) bad('map keys must be strings');
    if (depth === 0 && !isMapByte(b)) bad('a message must be a msgpack map');

    const lead = LEAD[b];
    if (lead >= 0) {
      pos += lead;
      if (pos > end) bad('truncated message');
      continue;
    }
    let map: boolean;
    let count: number;
    if (lead === FIXMAP || lead === FIXARRAY) {
      map = lead === FIXMAP;
      count = b & 0x0f;
    } else if (lead === VARIABLE) {
      // Width of the length field: 0xc4 bin8 .. 0xc6 bin32, 0xd9 str8 .. 0xdb str32, then
      // 0xdc/0xdd array 16/32 and 0xde/0xdf map 16/32.
      const size = b <= 0xc6 ? 1 << (b - 0xc4) : b <= 0xdb ? 1 << (b - 0xd9) : b & 1 ? 4 : 2;
      if (size > end - pos) bad('truncated message');
      const n = readLength(bytes, pos, size);
      pos += size;
      if (b <= 0xdb) {
        if (n > end - pos) bad('truncated message');
        pos += n;
        continue;
      }
      map = b >= 0xde;
      count = n;
    } else if (b === 0xc1) {
      bad('reserved msgpack byte 0xc1');
    } else {
      bad(`msgpack extension types are not part of the protocol (byte 0x${b.toString(16)})`);
    }
    if (depth === MAX_DEPTH) bad(`message nested deeper than ${MAX_DEPTH} levels`);
    // Every item takes at least one byte: a count larger than what is left is a lie. This also
    // keeps 2 * count within Int32 range (frames are at most a few MiB).
    if ((map ? count * 2 : count) > end - pos) bad('truncated message');
    depth++;
    remaining[depth] = map ? count * 2 : count;
    isMap[depth] = map ? 1 : 0;
  }
}
