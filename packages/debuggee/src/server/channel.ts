/**
 * One client's outgoing side: a bounded queue over the WebSocket.
 *
 * The queue is the socket's own buffer (`ws.bufferedAmount`): frames are handed to ws at once and
 * the kernel/Node buffers hold what the peer has not read yet. Log batches are the only traffic
 * that can flood a client, so they are the only frames ever dropped: once the buffer is over the
 * bound, batches are counted instead of sent, and the client learns exactly what it missed through
 * `dropped {reason: 'client-slow'}` — sent before the next batch it does get, and at most once per
 * notice period while it stays behind. Everything else (halts, responses, role changes) is always
 * queued, because losing one would leave the client with a wrong picture of the guest; a client
 * that is still behind after a grace period, or whose buffer passes a hard cap, is disconnected.
 * The daemon's memory per client is therefore bounded by about the queue bound plus one frame.
 */

import type { Duplex } from 'node:stream';
import type { LogRecord } from '@hvdbg/protocol';
import { encodeMessage } from '@hvdbg/protocol';
import type { WebSocket } from 'ws';

export interface ChannelLimits {
  /** Buffered bytes above which log batches are dropped for this client. */
  maxQueueBytes: number;
  /** Extra headroom for frames that are never dropped; past it the client is disconnected. */
  hardCapSlackBytes: number;
  /** A client continuously over the bound for this long is disconnected. */
  slowGraceMs: number;
  /** Least time between two drop notices while the client stays behind. */
  dropNoticeMs: number;
}

interface DropTally {
  count: bigint;
  firstSeq: bigint;
  lastSeq: bigint;
  bytes: bigint;
  eventIds: Set<number>;
}

export class ClientChannel {
  /** Log records this client never received (reported in notices). */
  droppedTotal = 0n;
  /** Highest bufferedAmount seen, for diagnostics and the memory-bound test. */
  peakBuffered = 0;
  private tally: DropTally | undefined = undefined;
  private behindSince = 0;
  private lastNoticeAt = 0;
  private closed = false;
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    /** The TCP socket under `ws`, corked around a slice so its frames leave in one write. */
    private readonly socket: Duplex,
    private readonly limits: ChannelLimits,
    /** Called once when the client must go; the session closes the socket and logs the reason. */
    private readonly onOverflow: (reason: string) => void,
  ) {}

  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  /** A frame that must not be lost (response, halt, role change …). */
  sendFrame(frame: Uint8Array): void {
    if (this.closed) return;
    // What was lost comes first: a halt must not arrive before the news of messages dropped before it.
    if (this.tally !== undefined) this.flushNotice(Date.now());
    if (this.closed) return;
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.limits.maxQueueBytes + this.limits.hardCapSlackBytes) {
      this.overflow(`outgoing queue over its hard cap (${buffered} bytes buffered)`);
      return;
    }
    this.write(frame, buffered);
  }

  /**
   * A log batch, shared by every client as one complete WebSocket frame (wsFrame.ts); dropped (and
   * tallied) when this client is behind.
   */
  sendLog(frame: Uint8Array, batch: readonly LogRecord[], now: number): void {
    if (this.closed) return;
    const buffered = this.ws.bufferedAmount;
    if (buffered + frame.length > this.limits.maxQueueBytes) {
      this.drop(frame.length, batch, now);
      return;
    }
    this.behindSince = 0;
    if (this.tally !== undefined) this.flushNotice(now);
    // ws would drop a message once its closing handshake has begun; so do we.
    if (this.ws.readyState !== this.ws.OPEN) return;
    // A shared frame lives in a slab with its neighbours (logFrame.ts); a client near its bound
    // takes only some frames, and each kept frame would pin a whole slab. Such a client gets its
    // own copy, so what it holds is what it is owed and no more.
    this.socket.write(buffered > this.limits.maxQueueBytes / 2 ? Buffer.from(frame) : frame);
    this.notePeak(buffered + frame.length);
    // Immediate-mode messages arrive as batches of one (TargetListener): they leave at once
    // instead of waiting for the end of the slice.
    if (batch.length === 1 && this.corked) {
      this.socket.uncork();
      this.socket.cork();
    }
  }

  /**
   * Holds writes until uncork(): the frames of one slice (often dozens of log batches) then reach
   * the kernel in a single writev instead of one system call each. With many observers the
   * per-call cost is what multiplies; the net benchmark measured about 1.7× the fan-out rate.
   */
  cork(): void {
    if (this.corked || this.closed) return;
    this.corked = true;
    this.socket.cork();
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  /** Stops sending (the socket is closing). */
  close(): void {
    this.uncork();
    this.closed = true;
  }

  private write(frame: Uint8Array, bufferedBefore: number): void {
    this.ws.send(frame);
    this.notePeak(bufferedBefore + frame.length);
  }

  private notePeak(buffered: number): void {
    if (buffered > this.peakBuffered) this.peakBuffered = buffered;
  }

  private drop(bytes: number, batch: readonly LogRecord[], now: number): void {
    const n = batch.length;
    if (n === 0) return;
    this.droppedTotal += BigInt(n);
    const first = batch[0]!.seq;
    const last = batch[n - 1]!.seq;
    if (this.tally === undefined) {
      this.tally = { count: 0n, firstSeq: first, lastSeq: last, bytes: 0n, eventIds: new Set() };
    }
    const t = this.tally;
    t.count += BigInt(n);
    t.lastSeq = last;
    t.bytes += BigInt(bytes);
    for (let i = 0; i < n; i++) t.eventIds.add(batch[i]!.eventId);
    if (this.behindSince === 0) this.behindSince = now;
    if (now - this.behindSince > this.limits.slowGraceMs) {
      this.flushNotice(now);
      this.overflow(`client-slow: not reading for ${now - this.behindSince} ms, ${this.droppedTotal} messages dropped`);
      return;
    }
    if (now - this.lastNoticeAt >= this.limits.dropNoticeMs) this.flushNotice(now);
  }

  private flushNotice(now: number): void {
    const t = this.tally;
    if (t === undefined) return;
    this.tally = undefined;
    this.lastNoticeAt = now;
    const notice = encodeMessage({
      t: 'dropped',
      count: t.count,
      firstSeq: t.firstSeq,
      lastSeq: t.lastSeq,
      bytes: t.bytes,
      eventIds: [...t.eventIds].sort((a, b) => a - b),
      reason: 'client-slow',
    });
    this.sendFrame(notice);
  }

  private overflow(reason: string): void {
    if (this.closed) return;
    this.uncork();
    this.closed = true;
    // Later, not now: we are inside a fan-out loop over the client list, which closing the session
    // would shorten under its feet (the next client would miss this frame).
    queueMicrotask(() => this.onOverflow(reason));
  }
}
