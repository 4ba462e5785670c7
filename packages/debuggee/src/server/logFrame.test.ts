/** The fast log encoder writes exactly the protocol codec's bytes. */
import { decodeServerMessage, encodeMessage, type LogRecord } from '@hvdbg/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogFrameEncoder } from './logFrame.js';

const record = fc
  .record(
    {
      seq: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      eventId: fc.nat({ max: 0xffff_ffff }),
      kind: fc.constantFrom(1, 2, 3, 5, 6),
      vcpu: fc.nat({ max: 300 }),
      pid: fc.nat({ max: 0xffff_ffff }),
      tid: fc.nat({ max: 70_000 }),
      time: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      stage: fc.constantFrom('pre' as const, 'post' as const),
      late: fc.boolean(),
      text: fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.string({ maxLength: 4095 }),
      ),
      bytes: fc.uint8Array({ maxLength: 300 }),
    },
    { requiredKeys: ['seq', 'eventId', 'kind', 'vcpu', 'pid', 'tid', 'time', 'stage'] },
  )
  // Key order as declared in LogRecord (the codec writes an object's keys in its own order).
  .map((r) => {
    const out: LogRecord = {
      seq: r.seq,
      eventId: r.eventId,
      kind: r.kind,
      vcpu: r.vcpu,
      pid: r.pid,
      tid: r.tid,
      time: r.time,
      stage: r.stage,
    };
    if (r.late !== undefined) out.late = r.late;
    if (r.text !== undefined) out.text = r.text;
    if (r.bytes !== undefined) out.bytes = r.bytes;
    return out;
  });

describe('LogFrameEncoder', () => {
  it('is byte-identical to encodeMessage for any batch', () => {
    const enc = new LogFrameEncoder();
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (batch) => {
        const fast = enc.encode(batch);
        expect(Buffer.from(fast).equals(Buffer.from(encodeMessage({ t: 'log', batch })))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('is byte-identical when consecutive records share an event (the copied-head path)', () => {
    const enc = new LogFrameEncoder();
    // Runs of records from one event: same head fields, their own seq, time, text and bytes.
    const run = fc
      .tuple(record, fc.array(fc.tuple(record, fc.boolean()), { minLength: 1, maxLength: 12 }))
      .map(([head, rest]) => [
        head,
        ...rest.map(([r, same]) => {
          if (!same) return r;
          const out: LogRecord = { ...head, seq: r.seq, time: r.time };
          delete out.text;
          delete out.bytes;
          // Half of them repeat the head record's text and bytes (the whole-record copy).
          const src = r.seq % 2n === 0n ? head : r;
          if (src.text !== undefined) out.text = src.text;
          if (src.bytes !== undefined) out.bytes = src.bytes;
          return out;
        }),
      ]);
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 4 }), (runs) => {
        const batch = runs.flat();
        const fast = enc.encode(batch);
        expect(Buffer.from(fast).equals(Buffer.from(encodeMessage({ t: 'log', batch })))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('produces frames the protocol decoder accepts, and independent frames per call', () => {
    const enc = new LogFrameEncoder();
    const batch: LogRecord[] = [
      { seq: 1n, eventId: 2, kind: 1, vcpu: 0, pid: 1, tid: 1, time: 9n, stage: 'pre', text: 'é ok' },
    ];
    const a = enc.encode(batch);
    const b = enc.encode([{ ...batch[0]!, seq: 2n, text: 'x'.repeat(5000) }]);
    expect(decodeServerMessage(a)).toEqual({ t: 'log', batch });
    expect(decodeServerMessage(b)).toMatchObject({ t: 'log', batch: [{ seq: 2n }] });
    // A large batch (array16, growing the scratch buffer) round-trips too.
    const big = Array.from({ length: 3000 }, (_, i) => ({ ...batch[0]!, seq: BigInt(i), text: `line ${i}` }));
    expect(decodeServerMessage(enc.encode(big))).toEqual({ t: 'log', batch: big });
  });

  it('falls back to the codec for values outside the known shape', () => {
    const enc = new LogFrameEncoder();
    const odd = [{ seq: 1n, eventId: -1, kind: 1, vcpu: 0, pid: 1, tid: 1, time: 1n, stage: 'pre' }] as LogRecord[];
    expect(Buffer.from(enc.encode(odd)).equals(Buffer.from(encodeMessage({ t: 'log', batch: odd })))).toBe(true);
  });
});
