/**
 * Server-to-client WebSocket framing (RFC 6455 §5.2), done once per message for every client.
 *
 * Frames from a server are never masked, so one message's frame is the same bytes for every
 * client: the fan-out builds it once and writes that one buffer to each socket, where `ws.send`
 * would build a header per client and hand the kernel two pieces per client. This is only sound
 * while ws itself queues nothing of its own ahead of a direct socket write, which holds because
 * the daemon never enables compression (WS_OPTIONS) and never sends Blobs: every `ws.send` then
 * reaches the socket synchronously, so direct writes and ws's writes keep their call order.
 */

/** Largest header of an unmasked frame: 2 bytes, a 64-bit length. */
export const WS_HEADER_ROOM = 10;

/** FIN set, opcode 2 (binary): a complete binary message in one frame. */
const FIN_BINARY = 0x82;

/** Header bytes for a payload of `length` bytes. */
export function wsHeaderLength(length: number): number {
  return length <= 125 ? 2 : length <= 0xffff ? 4 : 10;
}

/**
 * Writes the header of a `length`-byte binary frame into `buf` so that it ends at `end` (where the
 * payload starts); returns where the header starts.
 */
export function writeWsHeader(buf: Uint8Array, end: number, length: number): number {
  const start = end - wsHeaderLength(length);
  buf[start] = FIN_BINARY;
  if (length <= 125) {
    buf[start + 1] = length;
  } else if (length <= 0xffff) {
    buf[start + 1] = 126;
    buf[start + 2] = length >>> 8;
    buf[start + 3] = length & 0xff;
  } else {
    buf[start + 1] = 127;
    // Payloads are bounded far below 2^32 (LIMITS.maxFrameBytes): the top half is zero.
    buf[start + 2] = buf[start + 3] = buf[start + 4] = buf[start + 5] = 0;
    buf[start + 6] = length >>> 24;
    buf[start + 7] = (length >>> 16) & 0xff;
    buf[start + 8] = (length >>> 8) & 0xff;
    buf[start + 9] = length & 0xff;
  }
  return start;
}

/** The complete frame (header and payload) of one binary message, in a fresh buffer. */
export function wsFrame(payload: Uint8Array): Buffer {
  const h = wsHeaderLength(payload.length);
  const out = Buffer.allocUnsafe(h + payload.length);
  writeWsHeader(out, h, payload.length);
  out.set(payload, h);
  return out;
}

/** The message inside a frame built here (the inverse of wsFrame, without a copy). */
export function wsPayload(frame: Uint8Array): Uint8Array {
  const len = frame[1]!;
  return frame.subarray(len === 126 ? 4 : len === 127 ? 10 : 2);
}
