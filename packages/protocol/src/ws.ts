/**
 * WebSocket settings both ends share.
 *
 * Attach an `'error'` listener to every socket before anything else, on both ends. ws reports a
 * frame above `maxPayload` (and other protocol violations) by emitting `'error'` and closing the
 * socket; an EventEmitter with no `'error'` listener throws instead, which takes down the whole
 * Node process — one hostile frame would kill the daemon and every session on it.
 */
import type { RawData } from 'ws';
import { HvdbgError } from './errors.js';
import { LIMITS } from './limits.js';

/** Options for `new WebSocketServer(...)` and `new WebSocket(url, ...)`. */
export const WS_OPTIONS = {
  /** ws defaults to 100 MiB; a frame over the protocol limit closes the socket (code 1009). */
  maxPayload: LIMITS.maxFrameBytes,
  /** Compression costs CPU on both ends for data that is mostly small binary maps. */
  perMessageDeflate: false,
} as const;

/**
 * The bytes of one incoming `'message'` event, ready for the decoder. Text frames are refused:
 * the protocol is binary msgpack only.
 */
export function frameBytes(data: RawData, isBinary: boolean): Uint8Array {
  if (!isBinary) throw new HvdbgError('E_BAD_MESSAGE', 'text frames are not part of the protocol');
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
