/**
 * The message queue between event actions and the clients (SPEC §3.6).
 *
 * HyperDbg keeps rings of 1000 x 4 KiB chunks and silently overwrites the oldest unsent chunk when
 * the reader falls behind. hvdbg keeps HyperDbg's `imm` rules (immediate = one message per shipment,
 * otherwise packed into ~4 KiB batches) but never loses a message silently:
 *  - every message gets a daemon-wide sequence number at the moment it is produced, dropped or not,
 *    so a gap on the client side always matches a `dropped` report with the exact seq range;
 *  - default mode: a full queue with a willing consumer makes the hypervisor end the run early (it
 *    ships between runs); when the consumer is blocked (backpressure from the wire side), new
 *    messages are counted as dropped and reported once the consumer can take them again;
 *  - lossless mode: nothing is dropped; above the high-water mark `throttled` turns true, the
 *    hypervisor ends the current run after the firing that filled it (a pre-stage walk parks and
 *    resumes later, like a break), and the target runs no slices until the depth falls below the
 *    low-water mark. `hardCapacity` only bounds a single firing that prints a flood.
 *
 * Producers (actions inside the dispatch hot path) only append; shipping happens in `pump`, called
 * by the target between slices, from `tick` and before every halt notification. That keeps listener
 * code (sockets, encoders) out of the CPU loop and makes ordering simple: records leave in seq order,
 * a pending batch is shipped before any later immediate message and before any halt.
 */
import type { LogRecord } from '@hvdbg/protocol';
import { LIMITS } from '@hvdbg/protocol';
import type { DropReport } from '../target.js';

/** Bytes a record costs in a batch besides its text/bytes: the fixed fields as msgpack packs them. */
export const RECORD_OVERHEAD_BYTES = 48;

export interface QueueSink {
  onLog(batch: LogRecord[]): void;
  onDropped(report: DropReport): void;
}

export interface QueueOptions {
  /** Messages held before the queue counts as full (HyperDbg: 1000 chunks per ring). */
  capacity?: number;
  /** Bytes held before the queue counts as full (HyperDbg: 1000 x 4 KiB). */
  capacityBytes?: number;
  /** Lossless mode: throttle the guest instead of dropping. */
  lossless?: boolean;
  /** Lossless mode resumes the guest once the depth is at or below this many messages. */
  lowWater?: number;
  /** Lossless hard stop: even lossless mode drops (and reports) past this many messages. */
  hardCapacity?: number;
  batchBytes?: number;
  batchFlushMs?: number;
  maxBatch?: number;
}

interface Entry {
  rec: LogRecord;
  imm: boolean;
  size: number;
  /** `nowMs` when it was queued, for the batch interval. */
  at: number;
}

export class MessageQueue {
  readonly capacity: number;
  readonly capacityBytes: number;
  readonly lossless: boolean;
  readonly lowWater: number;
  readonly hardCapacity: number;
  readonly batchBytes: number;
  readonly batchFlushMs: number;
  readonly maxBatch: number;

  /** Records produced while the guest is halted are marked `late`. */
  halted = false;
  /** The consumer cannot take messages now (backpressure from the wire side). */
  blocked = false;

  private sink: QueueSink | null = null;
  private entries: Entry[] = [];
  private head = 0;
  private bytes = 0;
  private seq = 0n;
  private shippedSeq = 0n;
  private dropped = 0n;
  private pendingDrops: DropReport[] = [];
  private throttle = false;
  /** Time (ms, from the last `now` the target gave us) when the oldest unshipped batched record came. */
  private batchSince = -1;
  private nowMs = 0;
  /** The batch being assembled by `pump`. */
  private batch: LogRecord[] = [];
  private batchSize = 0;

  constructor(options: QueueOptions = {}) {
    this.capacity = options.capacity ?? 65_536;
    this.capacityBytes = options.capacityBytes ?? 1000 * 4096 * 4;
    this.lossless = options.lossless ?? false;
    this.lowWater = options.lowWater ?? Math.floor(this.capacity / 2);
    this.hardCapacity = options.hardCapacity ?? this.capacity * 8;
    this.batchBytes = options.batchBytes ?? LIMITS.batchBytes;
    this.batchFlushMs = options.batchFlushMs ?? LIMITS.batchFlushMs;
    this.maxBatch = options.maxBatch ?? LIMITS.maxLogBatch;
  }

  setSink(sink: QueueSink | null): void {
    this.sink = sink;
  }

  /** Messages waiting to ship. */
  get depth(): number {
    return this.entries.length - this.head;
  }

  /** Messages dropped since start (default mode, or lossless past the hard capacity). */
  get drops(): bigint {
    return this.dropped;
  }

  /** Seq of the last message handed to the sink (0 before the first). */
  get lastShippedSeq(): bigint {
    return this.shippedSeq;
  }

  /** Seq of the last message produced (shipped, queued or dropped). */
  get lastSeq(): bigint {
    return this.seq;
  }

  /** Lossless mode: true while the guest must not run. */
  get throttled(): boolean {
    return this.throttle;
  }

  /**
   * The hypervisor should end the current run after this firing: lossless mode is throttled, or
   * (default mode) the queue is full while the consumer could take it — shipping happens between
   * runs, so ending the run early turns what would be a drop into a delay. Drops remain for a
   * consumer that cannot keep up.
   */
  get shouldYield(): boolean {
    return this.throttle || (!this.blocked && this.entries.length - this.head >= this.capacity);
  }

  /** The clock the target last saw; batched records are timed against it (no clock read per message). */
  setNow(nowMs: number): void {
    this.nowMs = nowMs;
  }

  /**
   * Append one message. Returns its seq (also for a dropped message). `text`/`bytes` are kept by
   * reference: the caller hands over ownership.
   */
  push(
    eventId: number,
    kind: number,
    vcpu: number,
    pid: number,
    tid: number,
    time: bigint,
    stage: 'pre' | 'post',
    imm: boolean,
    text?: string,
    bytes?: Uint8Array,
  ): bigint {
    const seq = ++this.seq;
    const size =
      RECORD_OVERHEAD_BYTES + (text === undefined ? 0 : text.length) + (bytes === undefined ? 0 : bytes.length);
    const depth = this.depth;
    const full = depth >= this.capacity || this.bytes + size > this.capacityBytes;
    if (full && (!this.lossless || depth >= this.hardCapacity)) {
      this.recordDrop(seq, size, eventId);
      return seq;
    }
    const rec: LogRecord = { seq, eventId, kind, vcpu, pid, tid, time, stage };
    if (this.halted) rec.late = true;
    if (text !== undefined) rec.text = text;
    if (bytes !== undefined) rec.bytes = bytes;
    this.entries.push({ rec, imm, size, at: this.nowMs });
    this.bytes += size;
    if (!imm && this.batchSince < 0) this.batchSince = this.nowMs;
    if (this.lossless && this.depth >= this.capacity) this.throttle = true;
    return seq;
  }

  /** Script `flush()`: discard every queued message (reported as dropped, never silent). */
  discard(): number {
    const n = this.depth;
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      this.recordDrop(e.rec.seq, e.size, e.rec.eventId);
    }
    this.entries.length = 0;
    this.head = 0;
    this.bytes = 0;
    this.batchSince = -1;
    this.updateThrottle();
    return n;
  }

  /**
   * Ship what is due: every immediate message (as a batch of one), full batches, and — when `force`
   * (before a halt) or when the oldest batched record is older than `batchFlushMs` — the partial
   * batch too. Drop reports go out in seq order between the records around them.
   */
  pump(nowMs: number, force = false): void {
    this.nowMs = nowMs;
    const sink = this.sink;
    if (sink === null || this.blocked) return;
    const due = force || (this.batchSince >= 0 && nowMs - this.batchSince >= this.batchFlushMs);
    this.batch = [];
    this.batchSize = 0;
    const end = this.entries.length;
    for (let i = this.head; i < end; i++) {
      const e = this.entries[i]!;
      this.shipDropsBefore(e.rec.seq, sink);
      if (e.imm) {
        this.shipBatch(sink);
        this.ship([e.rec], sink);
        continue;
      }
      if (this.batch.length > 0 && (this.batchSize + e.size > this.batchBytes || this.batch.length >= this.maxBatch)) {
        this.shipBatch(sink);
      }
      this.batch.push(e.rec);
      this.batchSize += e.size;
    }
    // A trailing partial batch waits for more company unless it is due.
    let kept = 0;
    if (this.batch.length > 0) {
      if (due || this.batchSize >= this.batchBytes) this.shipBatch(sink);
      else kept = this.batch.length;
    }
    // Drop reports newer than everything queued can go now.
    if (kept === 0) this.shipDropsBefore(this.seq + 1n, sink);
    this.batch = [];
    this.compact(end - kept, kept);
  }

  /** Ship everything, whatever its age (before a halt notification and at shutdown). */
  flushAll(nowMs: number): void {
    this.pump(nowMs, true);
  }

  private ship(batch: LogRecord[], sink: QueueSink): void {
    this.shippedSeq = batch[batch.length - 1]!.seq;
    sink.onLog(batch);
  }

  private shipBatch(sink: QueueSink): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.batchSize = 0;
    this.ship(batch, sink);
  }

  /** Emit pending drop reports whose range lies before `seq`; the open batch is shipped first. */
  private shipDropsBefore(seq: bigint, sink: QueueSink): void {
    while (this.pendingDrops.length > 0 && this.pendingDrops[0]!.lastSeq < seq) {
      this.shipBatch(sink);
      sink.onDropped(this.pendingDrops.shift()!);
    }
  }

  /**
   * Adds one dropped seq to the pending reports, kept sorted and merged: drops usually extend the
   * last run, but `discard` drops queued records older than a run already pending.
   */
  private recordDrop(seq: bigint, size: number, eventId: number): void {
    this.dropped++;
    const drops = this.pendingDrops;
    let i = drops.length;
    while (i > 0 && drops[i - 1]!.firstSeq > seq) i--;
    const before = drops[i - 1];
    const after = drops[i];
    if (before !== undefined && before.lastSeq + 1n === seq) {
      extendDrop(before, seq, size, eventId);
      if (after !== undefined && after.firstSeq === seq + 1n) {
        // The new seq bridges two runs: merge them.
        before.lastSeq = after.lastSeq;
        before.count += after.count;
        before.bytes += after.bytes;
        for (const id of after.eventIds) if (!before.eventIds.includes(id)) before.eventIds.push(id);
        drops.splice(i, 1);
      }
      return;
    }
    if (after !== undefined && after.firstSeq === seq + 1n) {
      after.firstSeq = seq;
      after.count++;
      after.bytes += BigInt(size);
      if (!after.eventIds.includes(eventId)) after.eventIds.push(eventId);
      return;
    }
    drops.splice(i, 0, { count: 1n, firstSeq: seq, lastSeq: seq, bytes: BigInt(size), eventIds: [eventId] });
  }

  /** Remove shipped entries: `shippedUpTo` is the index after the last shipped one, `kept` stay. */
  private compact(shippedUpTo: number, kept: number): void {
    for (let i = this.head; i < shippedUpTo; i++) this.bytes -= this.entries[i]!.size;
    this.head = shippedUpTo;
    if (kept === 0) {
      this.entries.length = 0;
      this.head = 0;
      this.batchSince = -1;
      this.bytes = 0;
    } else {
      this.batchSince = this.entries[this.head]!.at;
      if (this.head > 1024 && this.head * 2 > this.entries.length) {
        this.entries = this.entries.slice(this.head);
        this.head = 0;
      }
    }
    this.updateThrottle();
  }

  private updateThrottle(): void {
    if (this.throttle && this.depth <= this.lowWater) this.throttle = false;
  }
}

function extendDrop(r: DropReport, seq: bigint, size: number, eventId: number): void {
  r.lastSeq = seq;
  r.count++;
  r.bytes += BigInt(size);
  if (!r.eventIds.includes(eventId)) r.eventIds.push(eventId);
}
