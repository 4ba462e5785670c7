/**
 * The pre-scan must accept exactly the msgpack a conforming encoder writes for a map of plain
 * data, in every width (str/bin 8/16/32, array/map 16/32), and refuse every truncation of it.
 */
import { encode as theirEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HvdbgError } from './errors.js';
import { scanMessage } from './scan.js';

const encode = (v: unknown) => theirEncode(v, { useBigInt64: true });

function scanError(bytes: Uint8Array): string | undefined {
  try {
    scanMessage(bytes);
    return undefined;
  } catch (e) {
    if (e instanceof HvdbgError && e.code === 'E_BAD_MESSAGE') return e.message;
    throw e;
  }
}

const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
    fc.string({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 20 }),
  ),
})).value;
const message = fc.dictionary(fc.string({ maxLength: 8 }), plain, { maxKeys: 8 });

describe('scanMessage', () => {
  it('accepts every map a conforming encoder writes, and no strict prefix of it', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encode(m);
        expect(scanError(bytes)).toBeUndefined();
        for (let cut = 0; cut < bytes.length; cut++) expect(scanError(bytes.subarray(0, cut))).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ['str 8', 'x'.repeat(200)],
    ['str 16', 'x'.repeat(300)],
    ['str 32', 'x'.repeat(70_000)],
    ['bin 8', new Uint8Array(200)],
    ['bin 16', new Uint8Array(300)],
    ['bin 32', new Uint8Array(70_000)],
    ['array 16', new Array(20).fill(0)],
    ['array 32', new Array(70_000).fill(0)],
    ['map 16', Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))],
    ['map 32', Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, 0]))],
  ])('walks %s', (_, value) => {
    const bytes = encode({ v: value, after: true });
    expect(scanError(bytes)).toBeUndefined();
    expect(scanError(bytes.subarray(0, bytes.length - 1))).toBe('truncated message');
  });

  it('accepts a map 16 at the top level', () => {
    expect(scanError(encode(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]))))).toBeUndefined();
  });
});
