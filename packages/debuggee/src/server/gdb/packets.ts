/**
 * GDB remote serial protocol framing (gdb manual, "Overview" and "Binary Data" of Appendix E).
 *
 * A packet is `$data#cs`: `cs` is the sum of the raw data bytes modulo 256 as two hex digits. The
 * receiver answers `+` (good) or `-` (resend) until QStartNoAckMode turns acks off. Inside data,
 * `}` escapes the next byte (xor 0x20), and `X*n` repeats X (n - 29) more times (run-length
 * encoding; only stubs send it, but we accept it). A lone 0x03 outside a packet is an interrupt.
 *
 * The reader is a byte-at-a-time state machine, so packets may arrive split across TCP reads or
 * several per read. Nothing a peer sends can make it throw: oversized or corrupt frames become
 * 'bad' items that the session answers with `-` or an error reply.
 */

/** Error replies (errno-style numbers, as gdbserver uses): malformed packet, target refusal, bad address. */
export const E_BAD_PACKET = 'E01';
export const E_TARGET = 'E02';
export const E_FAULT = 'E0e';

/** Largest packet we accept (and advertise as PacketSize); a longer frame is dropped as bad. */
export const MAX_PACKET_BYTES = 0x4000;

const DOLLAR = 0x24;
const HASH = 0x23;
const ESCAPE = 0x7d;
const STAR = 0x2a;
const PLUS = 0x2b;
const MINUS = 0x2d;
export const INTERRUPT = 0x03;
/** Bytes a packet's data can never hold raw: framing, escape and run-length markers. */
const MUST_ESCAPE = new Set([DOLLAR, HASH, ESCAPE, STAR]);

export type ReadItem =
  /** A complete packet with a good checksum; `data` is already unescaped and RLE-expanded. */
  | { type: 'packet'; data: Buffer }
  /** A complete frame whose checksum or escaping was wrong, or that was too long. */
  | { type: 'bad'; reason: string }
  | { type: 'interrupt' }
  | { type: 'ack' }
  | { type: 'nack' };

/** Sum of the bytes modulo 256. */
export function checksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum = (sum + data[i]!) & 0xff;
  return sum;
}

/** Escapes `$ # } *` so any byte string can travel as packet data. */
export function escapeBinary(data: Uint8Array): Buffer {
  let extra = 0;
  for (let i = 0; i < data.length; i++) if (MUST_ESCAPE.has(data[i]!)) extra++;
  if (extra === 0) return Buffer.from(data);
  const out = Buffer.allocUnsafe(data.length + extra);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (MUST_ESCAPE.has(b)) {
      out[o++] = ESCAPE;
      out[o++] = b ^ 0x20;
    } else {
      out[o++] = b;
    }
  }
  return out;
}

/**
 * Undoes escaping and run-length encoding of raw packet data. Returns an error text for a
 * dangling escape, a repeat with nothing before it, or a repeat count outside the protocol's range.
 */
export function decodeData(raw: Uint8Array): Buffer | string {
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === ESCAPE) {
      if (i + 1 >= raw.length) return 'escape at the end of the packet';
      out.push(raw[++i]! ^ 0x20);
    } else if (b === STAR) {
      if (out.length === 0 || i + 1 >= raw.length) return 'run-length marker without a byte to repeat';
      const n = raw[++i]! - 29;
      // Counts are printable characters from ' ' + 3; '#' and '$' are not allowed.
      if (n < 3 || n > 97) return `bad run-length count ${n}`;
      const prev = out[out.length - 1]!;
      for (let k = 0; k < n; k++) out.push(prev);
      if (out.length > MAX_PACKET_BYTES * 4) return 'run-length expansion too large';
    } else {
      out.push(b);
    }
  }
  return Buffer.from(out);
}

/** `$data#cs` with data escaped as needed. */
export function framePacket(data: string | Uint8Array): Buffer {
  const bytes = escapeBinary(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  const out = Buffer.allocUnsafe(bytes.length + 4);
  out[0] = DOLLAR;
  bytes.copy(out, 1);
  out[bytes.length + 1] = HASH;
  out.write(hex2(checksum(bytes)), bytes.length + 2, 'latin1');
  return out;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

enum State {
  Idle,
  Data,
  Sum1,
  Sum2,
}

/** Incremental packet reader: feed() bytes as they arrive, get the complete items back. */
export class PacketReader {
  private state = State.Idle;
  private data: number[] = [];
  private overflow = false;
  private sumHigh = 0;

  feed(chunk: Uint8Array): ReadItem[] {
    const items: ReadItem[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.state) {
        case State.Idle:
          if (b === DOLLAR) this.begin();
          else if (b === INTERRUPT) items.push({ type: 'interrupt' });
          else if (b === PLUS) items.push({ type: 'ack' });
          else if (b === MINUS) items.push({ type: 'nack' });
          // Anything else between packets is line noise; gdb ignores it too.
          break;
        case State.Data:
          if (b === HASH) this.state = State.Sum1;
          else if (b === DOLLAR)
            this.begin(); // A new start: the peer gave up on the old frame.
          else if (this.data.length < MAX_PACKET_BYTES) this.data.push(b);
          else this.overflow = true;
          break;
        case State.Sum1:
          this.sumHigh = hexDigit(b);
          this.state = State.Sum2;
          break;
        case State.Sum2:
          items.push(this.finish(this.sumHigh, hexDigit(b)));
          this.state = State.Idle;
          break;
      }
    }
    return items;
  }

  private begin(): void {
    this.state = State.Data;
    this.data = [];
    this.overflow = false;
  }

  private finish(high: number, low: number): ReadItem {
    const raw = Uint8Array.from(this.data);
    this.data = [];
    if (this.overflow) return { type: 'bad', reason: `packet longer than ${MAX_PACKET_BYTES} bytes` };
    if (high < 0 || low < 0) return { type: 'bad', reason: 'checksum is not two hex digits' };
    const expected = checksum(raw);
    if (((high << 4) | low) !== expected) {
      return { type: 'bad', reason: `checksum mismatch (sent ${hex2((high << 4) | low)}, computed ${hex2(expected)})` };
    }
    const decoded = decodeData(raw);
    if (typeof decoded === 'string') return { type: 'bad', reason: decoded };
    return { type: 'packet', data: decoded };
  }
}

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

// -- hex helpers shared by the packet handlers ----------------------------------------------------

/** Bytes → lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Hex text → bytes, or undefined when it is not an even number of hex digits. */
export function fromHex(text: string): Buffer | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

/** An unsigned value as `bytes` little-endian bytes in hex (the register encoding of g/p). */
export function leHex(value: bigint, bytes: number): string {
  let v = BigInt.asUintN(bytes * 8, value);
  let out = '';
  for (let i = 0; i < bytes; i++) {
    out += hex2(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

/** Little-endian hex → value; undefined for bad digits. */
export function parseLeHex(text: string): bigint | undefined {
  const bytes = fromHex(text);
  if (bytes === undefined) return undefined;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** A big-endian hex number as gdb writes addresses and lengths; undefined unless 1–16 hex digits. */
export function parseHexNumber(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) return undefined;
  return BigInt(`0x${text}`);
}
