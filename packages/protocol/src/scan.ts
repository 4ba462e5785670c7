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
const remaining = new Float64Array(MAX_DEPTH + 1);
/** 1 when the container at that depth is a map (its even-numbered items are keys). */
const isMap = new Uint8Array(MAX_DEPTH + 1);

function bad(message: string): never {
  throw new HvdbgError('E_BAD_MESSAGE', message);
}

function isMapByte(b: number): boolean {
  return (b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf;
}

function isStrByte(b: number): boolean {
  return (b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb;
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

  const need = (n: number): void => {
    if (n > end - pos) bad('truncated message');
  };
  const skip = (n: number): void => {
    need(n);
    pos += n;
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = (bytes[pos] << 8) | bytes[pos + 1];
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = bytes[pos] * 0x1000000 + ((bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]);
    pos += 4;
    return v;
  };
  const open = (map: boolean, count: number): void => {
    if (depth === MAX_DEPTH) bad(`message nested deeper than ${MAX_DEPTH} levels`);
    // Every item takes at least one byte: a count larger than what is left is a lie.
    need(count * (map ? 2 : 1));
    depth++;
    remaining[depth] = map ? count * 2 : count;
    isMap[depth] = map ? 1 : 0;
  };

  for (;;) {
    while (remaining[depth] === 0) {
      if (depth === 0) {
        if (pos !== end) bad('trailing bytes after the message (one message per frame)');
        return;
      }
      depth--;
    }
    const atKey = isMap[depth] === 1 && remaining[depth] % 2 === 0;
    remaining[depth]--;
    const b = u8();
    if (depth === 0 && !isMapByte(b)) bad('a message must be a msgpack map');
    if (atKey && !isStrByte(b)) bad('map keys must be strings');

    if (b <= 0x7f || b >= 0xe0) continue; // positive / negative fixint
    if (b <= 0x8f) {
      open(true, b & 0x0f);
      continue;
    }
    if (b <= 0x9f) {
      open(false, b & 0x0f);
      continue;
    }
    if (b <= 0xbf) {
      skip(b & 0x1f); // fixstr
      continue;
    }
    switch (b) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        break;
      case 0xc4: // bin 8 / 16 / 32
      case 0xd9: // str 8 / 16 / 32
        skip(u8());
        break;
      case 0xc5:
      case 0xda:
        skip(u16());
        break;
      case 0xc6:
      case 0xdb:
        skip(u32());
        break;
      case 0xcc: // uint 8
      case 0xd0: // int 8
        skip(1);
        break;
      case 0xcd:
      case 0xd1:
        skip(2);
        break;
      case 0xca: // float 32
      case 0xce:
      case 0xd2:
        skip(4);
        break;
      case 0xcb: // float 64
      case 0xcf:
      case 0xd3:
        skip(8);
        break;
      case 0xdc:
        open(false, u16());
        break;
      case 0xdd:
        open(false, u32());
        break;
      case 0xde:
        open(true, u16());
        break;
      case 0xdf:
        open(true, u32());
        break;
      case 0xc1:
        bad('reserved msgpack byte 0xc1');
        break;
      default:
        // 0xc7-0xc9 (ext 8/16/32) and 0xd4-0xd8 (fixext): no extension type is part of the protocol.
        bad(`msgpack extension types are not part of the protocol (byte 0x${b.toString(16)})`);
    }
  }
}
