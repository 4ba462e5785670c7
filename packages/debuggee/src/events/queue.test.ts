import type { LogRecord } from '@hvdbg/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DropReport } from '../target.js';
import { MessageQueue, RECORD_OVERHEAD_BYTES } from './queue.js';

function sinkOf() {
  const out: { batches: LogRecord[][]; drops: DropReport[]; order: string[] } = { batches: [], drops: [], order: [] };
  return {
    out,
    sink: {
      onLog(batch: LogRecord[]) {
        out.batches.push(batch);
        out.order.push(`log:${batch.map((r) => r.seq).join(',')}`);
      },
      onDropped(r: DropReport) {
        out.drops.push(r);
        out.order.push(`drop:${r.firstSeq}-${r.lastSeq}`);
      },
    },
  };
}

const push = (q: MessageQueue, imm: boolean, text = 'x', eventId = 1) =>
  q.push(eventId, 5, 0, 1, 1, 0n, 'pre', imm, text);

describe('MessageQueue', () => {
  it('ships immediate messages as batches of one, in seq order', () => {
    const q = new MessageQueue();
    const { out, sink } = sinkOf();
    q.setSink(sink);
    expect(push(q, true)).toBe(1n);
    expect(push(q, true)).toBe(2n);
    q.pump(0);
    expect(out.batches.map((b) => b.map((r) => r.seq))).toEqual([[1n], [2n]]);
    expect(q.depth).toBe(0);
    expect(q.lastShippedSeq).toBe(2n);
  });

  it('accumulates batched messages until the batch is full, the interval passes, or a halt forces them', () => {
    const q = new MessageQueue({ batchBytes: 4 * (RECORD_OVERHEAD_BYTES + 1) });
    const { out, sink } = sinkOf();
    q.setSink(sink);
    q.setNow(1000);
    for (let i = 0; i < 3; i++) push(q, false);
    q.pump(1010);
    expect(out.batches).toHaveLength(0);
    push(q, false);
    push(q, false);
    q.pump(1020);
    // Four records fill a batch exactly; the fifth waits.
    expect(out.batches.map((b) => b.length)).toEqual([4]);
    expect(q.depth).toBe(1);
    q.pump(1010 + 99);
    expect(q.depth).toBe(1);
    q.pump(1010 + 100);
    expect(out.batches.map((b) => b.length)).toEqual([4, 1]);
    push(q, false);
    q.flushAll(1171);
    expect(out.batches.map((b) => b.length)).toEqual([4, 1, 1]);
  });

  it('ships a pending batch before a later immediate message', () => {
    const q = new MessageQueue();
    const { out, sink } = sinkOf();
    q.setSink(sink);
    push(q, false);
    push(q, false);
    push(q, true);
    q.pump(0);
    expect(out.order).toEqual(['log:1,2', 'log:3']);
  });

  it('default mode: counts drops when full and reports exact seq ranges in order', () => {
    const q = new MessageQueue({ capacity: 4 });
    const { out, sink } = sinkOf();
    q.setSink(sink);
    q.blocked = true;
    for (let i = 0; i < 10; i++) push(q, true, 'm', i < 6 ? 7 : 8);
    q.pump(0);
    expect(out.order).toEqual([]);
    expect(q.drops).toBe(6n);
    q.blocked = false;
    q.pump(0);
    expect(out.order).toEqual(['log:1', 'log:2', 'log:3', 'log:4', 'drop:5-10']);
    expect(out.drops[0]).toMatchObject({ count: 6n, firstSeq: 5n, lastSeq: 10n, eventIds: [7, 8] });
    // After draining, messages flow again with seqs after the gap.
    expect(push(q, true)).toBe(11n);
    q.pump(0);
    expect(out.order.at(-1)).toBe('log:11');
  });

  it('lossless mode: throttles instead of dropping and releases below the low-water mark', () => {
    const q = new MessageQueue({ capacity: 4, lossless: true, lowWater: 1 });
    const { out, sink } = sinkOf();
    q.setSink(sink);
    q.blocked = true;
    for (let i = 0; i < 6; i++) push(q, true);
    expect(q.throttled).toBe(true);
    expect(q.drops).toBe(0n);
    q.blocked = false;
    q.pump(0);
    expect(q.throttled).toBe(false);
    expect(out.batches.flat().map((r) => r.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });

  it('lossless mode still reports (never silently loses) past its hard capacity', () => {
    const q = new MessageQueue({ capacity: 2, lossless: true, hardCapacity: 3 });
    const { out, sink } = sinkOf();
    q.setSink(sink);
    q.blocked = true;
    for (let i = 0; i < 5; i++) push(q, true);
    q.blocked = false;
    q.pump(0);
    expect(out.order).toEqual(['log:1', 'log:2', 'log:3', 'drop:4-5']);
  });

  it('marks messages produced while halted as late', () => {
    const q = new MessageQueue();
    const { out, sink } = sinkOf();
    q.setSink(sink);
    q.halted = true;
    push(q, true);
    q.halted = false;
    push(q, true);
    q.pump(0);
    expect(out.batches.flat().map((r) => r.late)).toEqual([true, undefined]);
  });

  it('discard (script flush) reports the discarded messages as dropped', () => {
    const q = new MessageQueue();
    const { out, sink } = sinkOf();
    q.setSink(sink);
    push(q, false);
    push(q, false);
    expect(q.discard()).toBe(2);
    q.pump(0);
    expect(out.order).toEqual(['drop:1-2']);
  });
});

describe('MessageQueue properties', () => {
  const op = fc.oneof(
    fc.record({ t: fc.constant('push' as const), imm: fc.boolean(), size: fc.integer({ min: 0, max: 600 }) }),
    fc.record({ t: fc.constant('pump' as const), dt: fc.integer({ min: 0, max: 150 }) }),
    fc.record({ t: fc.constant('block' as const), on: fc.boolean() }),
    fc.record({ t: fc.constant('discard' as const) }),
  );

  it('every seq is delivered exactly once or reported dropped exactly once, in ascending order', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 300 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 20 }),
        (ops, lossless, capacity) => {
          const q = new MessageQueue({ capacity, lossless, hardCapacity: capacity * 2, lowWater: 0 });
          const order: bigint[] = [];
          let delivered = 0;
          let dropped = 0n;
          q.setSink({
            onLog(batch) {
              expect(batch.length).toBeGreaterThan(0);
              for (const r of batch) order.push(r.seq);
              delivered += batch.length;
            },
            onDropped(r) {
              expect(r.count).toBe(r.lastSeq - r.firstSeq + 1n);
              for (let s = r.firstSeq; s <= r.lastSeq; s++) order.push(s);
              dropped += r.count;
            },
          });
          let now = 0;
          for (const o of ops) {
            if (o.t === 'push') push(q, o.imm, 'x'.repeat(o.size));
            else if (o.t === 'pump') q.pump((now += o.dt));
            else if (o.t === 'block') q.blocked = o.on;
            else q.discard();
          }
          q.blocked = false;
          q.flushAll(now + 1000);
          expect(q.depth).toBe(0);
          expect(order).toEqual(Array.from({ length: order.length }, (_, i) => BigInt(i + 1)));
          expect(BigInt(order.length)).toBe(q.lastSeq);
          expect(dropped).toBe(q.drops);
          expect(delivered + Number(dropped)).toBe(Number(q.lastSeq));
        },
      ),
      { numRuns: 300 },
    );
  });
});
