/**
 * The codec: one protocol message ⇄ one binary WebSocket frame of msgpack.
 *
 * Encoding uses msgpackr with plain maps (`useRecords: false`): msgpackr's record extension is
 * unreadable by other msgpack libraries, and the protocol must stay speakable from any language.
 * bigint always packs as 64-bit int64/uint64 and int64/uint64 always decode as bigint, so 64-bit
 * values never pass through a double. Undefined fields are left out rather than written as
 * msgpackr's undefined extension, which other libraries do not know either.
 *
 * Decoding is three gates, in order: the frame size, a structural pre-scan (see scan.ts: no
 * extension types, bounded depth, string keys, exactly one map), then msgpackr, then the message
 * validators. Everything that fails comes out as HvdbgError with a catalogue code; nothing else
 * escapes, whatever the bytes.
 */
import { Packr, Unpackr } from 'msgpackr';
import { HvdbgError } from './errors.js';
import { LIMITS } from './limits.js';
import type { ClientMessage, ServerMessage } from './messages.js';
import { scanMessage } from './scan.js';
import { validateClientMessage, validateServerMessage } from './validate.js';

const OPTIONS = {
  useRecords: false,
  mapsAsObjects: true,
  // msgpackr's name for @msgpack/msgpack's `useBigInt64`: int64/uint64 decode as bigint.
  int64AsType: 'bigint',
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  // Never let a Date, Map, Set or object with toJSON through by accident: messages are plain data.
  useToJSON: false,
} as const;

// Undefined map values are skipped (`skipValues` exists in msgpackr 2.x but is missing from its
// type declarations); an undefined array element becomes nil instead of the extension.
const packr = new Packr({ ...OPTIONS, skipValues: [undefined], encodeUndefinedAsNil: true } as ConstructorParameters<
  typeof Packr
>[0]);
const unpackr = new Unpackr(OPTIONS);

/**
 * Encodes one message as one frame. Throws HvdbgError(E_TOO_LARGE) when the frame would exceed
 * LIMITS.maxFrameBytes, because the peer would close the connection on it: the caller answers
 * with an error instead. Throws HvdbgError(E_INTERNAL) when the message holds something the peer's
 * pre-scan refuses (a Date packs as a timestamp extension, nesting beyond the depth limit): that
 * is a bug on this side, better caught here than reported by the peer.
 */
export function encodeMessage(msg: ClientMessage | ServerMessage): Uint8Array {
  const frame = packr.pack(msg);
  if (frame.byteLength > LIMITS.maxFrameBytes) {
    throw new HvdbgError('E_TOO_LARGE', `the ${msg.t} message is ${frame.byteLength} bytes, over the frame limit`, {
      bytes: frame.byteLength,
      limit: LIMITS.maxFrameBytes,
    });
  }
  // A linear walk without allocation: a few microseconds for a typical 4 KiB log batch.
  try {
    scanMessage(frame);
  } catch (e) {
    throw new HvdbgError(
      'E_INTERNAL',
      `the ${msg.t} message does not encode as protocol msgpack: ${(e as Error).message}`,
    );
  }
  return frame;
}

/** Decodes a frame into a plain value that is known to be a map of plain data. */
function decodeFrame(bytes: Uint8Array): unknown {
  if (!(bytes instanceof Uint8Array)) throw new HvdbgError('E_BAD_MESSAGE', 'a frame must be binary');
  if (bytes.byteLength > LIMITS.maxFrameBytes) {
    throw new HvdbgError('E_TOO_LARGE', `frame of ${bytes.byteLength} bytes is over the frame limit`, {
      bytes: bytes.byteLength,
      limit: LIMITS.maxFrameBytes,
    });
  }
  scanMessage(bytes);
  try {
    return unpackr.unpack(bytes);
  } catch (e) {
    // Not expected after the pre-scan; kept so a decoder surprise is a bad message, not a crash.
    throw new HvdbgError('E_BAD_MESSAGE', `not valid msgpack: ${e instanceof Error ? e.message : 'decode failed'}`);
  }
}

/** Decodes and validates a frame sent by a client. */
export function decodeClientMessage(bytes: Uint8Array): ClientMessage {
  return validateClientMessage(decodeFrame(bytes));
}

/**
 * Decodes and validates a frame sent by the daemon. A successful response's `result` is plain
 * data still to be checked with `validateResult(op, result)` once the request is known.
 */
export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  return validateServerMessage(decodeFrame(bytes));
}
