/**
 * The daemon's encoder for its one high-rate message, the `log` batch.
 *
 * It writes exactly the bytes the protocol codec (`encodeMessage`) writes for the same batch —
 * plain msgpack maps, bigint as int64, the smallest integer and string forms — so nothing changes
 * on the wire and any msgpack library still reads it; a test holds the two byte-identical. It is
 * several times faster because the keys are pre-encoded and the record shape is known: the
 * generic encoder's cost per record, not the sockets, capped delivery near 1 M records/s.
 *
 * Anything outside the known shape (an unexpected value type, a huge frame) falls back to
 * `encodeMessage`, which also raises the codec's own errors.
 */
import { encodeMessage, LIMITS, type LogRecord } from '@hvdbg/protocol';
import { WS_HEADER_ROOM, writeWsHeader, wsFrame, wsPayload } from './wsFrame.js';

const ascii = (s: string): number[] => [0xa0 | s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

/** `{t: 'log', batch: ` up to the array header. */
const PREFIX = Uint8Array.from([0x82, ...ascii('t'), ...ascii('log'), ...ascii('batch')]);
const KEY = {
  seq: ascii('seq'),
  eventId: ascii('eventId'),
  kind: ascii('kind'),
  vcpu: ascii('vcpu'),
  pid: ascii('pid'),
  tid: ascii('tid'),
  time: ascii('time'),
  stage: ascii('stage'),
  late: ascii('late'),
  text: ascii('text'),
  bytes: ascii('bytes'),
};
const STAGE_PRE = ascii('pre');
const STAGE_POST = ascii('post');
const INT64_MIN = -(1n << 63n);
const INT64_END = 1n << 63n;
const UINT64_END = 1n << 64n;
/** Fixed bytes of one record: map header, every key, the largest encoding of every fixed field. */
const RECORD_BOUND = 160;

/** Where the value of `seq` starts in a record: after the map header and the key. */
const SEQ_AT = 1 + KEY.seq.length;

/** A record's map header: eight fields always, three optional ones. */
function mapHeader(r: LogRecord): number {
  let fields = 8;
  if (r.late !== undefined) fields++;
  if (r.text !== undefined) fields++;
  if (r.bytes !== undefined) fields++;
  return 0x80 | fields;
}

/**
 * True when `r` encodes to the same bytes as `p` from the map's second byte up to `text`, except
 * for `seq` and `time`. `p` was encoded already, so its values are known to fit the fast path.
 */
function sameHead(p: LogRecord, r: LogRecord): boolean {
  return (
    r.eventId === p.eventId &&
    r.kind === p.kind &&
    r.vcpu === p.vcpu &&
    r.pid === p.pid &&
    r.tid === p.tid &&
    r.stage === p.stage &&
    r.late === p.late
  );
}

/** Thrown inside the encoder to take the generic path; never escapes. */
const FALLBACK = Symbol('fallback');

/**
 * Frames are cut from large slabs, the way Node's Buffer pool works: no allocation and no copy per
 * frame. A frame is never written again once returned, so sockets may hold it as long as they
 * like; a slab is freed when its last frame is.
 */
const SLAB_BYTES = 64 * 1024;

export class LogFrameEncoder {
  private scratch = Buffer.allocUnsafe(SLAB_BYTES);
  private view = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.byteLength);
  private pos = 0;

  /** The batch's message: the bytes `encodeMessage` writes for it. */
  encode(batch: readonly LogRecord[]): Uint8Array {
    return wsPayload(this.encodeFrame(batch));
  }

  /**
   * The batch's complete WebSocket frame (header and message), immutable from now on: write it to
   * any number of sockets. The header is written in front of the message in the same slab, so the
   * one buffer is all a socket needs.
   */
  encodeFrame(batch: readonly LogRecord[]): Uint8Array {
    let bound = WS_HEADER_ROOM + PREFIX.length + 5;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      bound += RECORD_BOUND + (r.text === undefined ? 0 : r.text.length * 3) + (r.bytes?.length ?? 0);
    }
    if (bound > LIMITS.maxFrameBytes || batch.length >= 0x10000) return this.generic(batch);
    if (this.pos + bound > this.scratch.length) this.newSlab(bound);
    const frameStart = this.pos;
    this.pos += WS_HEADER_ROOM;
    const start = this.pos;
    try {
      this.raw(PREFIX);
      this.arrayHeader(batch.length);
      this.records(batch);
    } catch (e) {
      this.pos = frameStart;
      if (e !== FALLBACK) throw e;
      return this.generic(batch);
    }
    return this.scratch.subarray(writeWsHeader(this.scratch, start, this.pos - start), this.pos);
  }

  private generic(batch: readonly LogRecord[]): Uint8Array {
    return wsFrame(encodeMessage({ t: 'log', batch: [...batch] }));
  }

  /**
   * The records of a batch. Consecutive records of one event share everything up to `text` except
   * `seq` and `time` (same event, kind, vCPU, process, thread, stage), and those two always take 9
   * bytes (bigint travels as 64 bits): such a record starts as a copy of its predecessor's head with
   * the two numbers patched, one native copy instead of a dozen key and value writes. A record that
   * also repeats its predecessor's text and bytes (the same strings and buffers) is copied whole.
   */
  private records(batch: readonly LogRecord[]): void {
    const s = this.scratch;
    let prev: LogRecord | undefined;
    let prevAt = 0;
    let headBytes = 0;
    let timeAt = 0;
    let recordBytes = 0;
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const at = this.pos;
      if (prev !== undefined && sameHead(prev, r)) {
        // The same text and bytes too (a fixed message): the whole record is its predecessor's.
        const whole = r.text === prev.text && r.bytes === prev.bytes;
        s.copyWithin(at, prevAt, prevAt + (whole ? recordBytes : headBytes));
        s[at] = mapHeader(r);
        this.pos = at + SEQ_AT;
        this.bigint(r.seq);
        this.pos = at + timeAt;
        this.bigint(r.time);
        this.pos = at + headBytes;
        if (whole) this.pos = at + recordBytes;
        else this.tail(r);
      } else {
        timeAt = this.head(r) - at;
        headBytes = this.pos - at;
        this.tail(r);
      }
      recordBytes = this.pos - at;
      prev = r;
      prevAt = at;
    }
  }

  /** Map header through `stage` (and `late`); returns where the value of `time` starts. */
  private head(r: LogRecord): number {
    const s = this.scratch;
    s[this.pos++] = mapHeader(r);
    this.raw(KEY.seq);
    this.bigint(r.seq);
    this.raw(KEY.eventId);
    this.uint(r.eventId);
    this.raw(KEY.kind);
    this.uint(r.kind);
    this.raw(KEY.vcpu);
    this.uint(r.vcpu);
    this.raw(KEY.pid);
    this.uint(r.pid);
    this.raw(KEY.tid);
    this.uint(r.tid);
    this.raw(KEY.time);
    const timeAt = this.pos;
    this.bigint(r.time);
    this.raw(KEY.stage);
    if (r.stage === 'pre') this.raw(STAGE_PRE);
    else if (r.stage === 'post') this.raw(STAGE_POST);
    else throw FALLBACK;
    if (r.late !== undefined) {
      if (typeof r.late !== 'boolean') throw FALLBACK;
      this.raw(KEY.late);
      s[this.pos++] = r.late ? 0xc3 : 0xc2;
    }
    return timeAt;
  }

  private tail(r: LogRecord): void {
    if (r.text !== undefined) {
      this.raw(KEY.text);
      this.string(r.text);
    }
    if (r.bytes !== undefined) {
      if (!(r.bytes instanceof Uint8Array)) throw FALLBACK;
      this.raw(KEY.bytes);
      this.bin(r.bytes);
    }
  }

  private raw(bytes: ArrayLike<number>): void {
    const s = this.scratch;
    let p = this.pos;
    for (let i = 0; i < bytes.length; i++) s[p++] = bytes[i]!;
    this.pos = p;
  }

  private arrayHeader(n: number): void {
    const s = this.scratch;
    if (n < 0x10) {
      s[this.pos++] = 0x90 | n;
    } else {
      s[this.pos++] = 0xdc;
      s[this.pos++] = n >> 8;
      s[this.pos++] = n & 0xff;
    }
  }

  /** Non-negative integers below 2^32, in msgpackr's smallest form (fixint up to 0x7f). */
  private uint(v: number): void {
    if (v >>> 0 !== v) throw FALLBACK;
    const s = this.scratch;
    if (v < 0x80) {
      s[this.pos++] = v;
    } else if (v < 0x100) {
      s[this.pos++] = 0xcc;
      s[this.pos++] = v;
    } else if (v < 0x10000) {
      s[this.pos++] = 0xcd;
      s[this.pos++] = v >> 8;
      s[this.pos++] = v & 0xff;
    } else {
      s[this.pos++] = 0xce;
      this.view.setUint32(this.pos, v);
      this.pos += 4;
    }
  }

  /** bigint always travels as 64 bits: int64 while it fits, else uint64 (as msgpackr does). */
  private bigint(v: bigint): void {
    if (typeof v !== 'bigint') throw FALLBACK;
    if (v >= INT64_MIN && v < INT64_END) {
      this.scratch[this.pos++] = 0xd3;
      this.view.setBigInt64(this.pos, v);
    } else if (v > 0n && v < UINT64_END) {
      this.scratch[this.pos++] = 0xcf;
      this.view.setBigUint64(this.pos, v);
    } else {
      throw FALLBACK;
    }
    this.pos += 8;
  }

  private string(text: string): void {
    if (typeof text !== 'string') throw FALLBACK;
    const s = this.scratch;
    const n = text.length;
    // Short ASCII text (the common case) is copied by hand; anything else goes through utf8Write.
    if (n < 0x20) {
      const start = this.pos;
      let p = start + 1;
      for (let i = 0; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) {
          this.pos = start;
          this.longString(text);
          return;
        }
        s[p++] = c;
      }
      s[start] = 0xa0 | n;
      this.pos = p;
      return;
    }
    this.longString(text);
  }

  private longString(text: string): void {
    const s = this.scratch;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes < 0x20) {
      s[this.pos++] = 0xa0 | bytes;
    } else if (bytes < 0x100) {
      s[this.pos++] = 0xd9;
      s[this.pos++] = bytes;
    } else if (bytes < 0x10000) {
      s[this.pos++] = 0xda;
      s[this.pos++] = bytes >> 8;
      s[this.pos++] = bytes & 0xff;
    } else {
      throw FALLBACK;
    }
    // Lone surrogates become U+FFFD here as in msgpackr (and TextEncoder).
    this.pos += s.write(text, this.pos, bytes, 'utf8');
  }

  private bin(bytes: Uint8Array): void {
    const s = this.scratch;
    const n = bytes.length;
    if (n < 0x100) {
      s[this.pos++] = 0xc4;
      s[this.pos++] = n;
    } else if (n < 0x10000) {
      s[this.pos++] = 0xc5;
      s[this.pos++] = n >> 8;
      s[this.pos++] = n & 0xff;
    } else {
      s[this.pos++] = 0xc6;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
    s.set(bytes, this.pos);
    this.pos += n;
  }

  private newSlab(bound: number): void {
    this.scratch = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bound));
    this.pos = 0;
    this.view = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.byteLength);
  }
}
