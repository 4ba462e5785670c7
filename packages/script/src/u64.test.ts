import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { divmod64, fromBig, hex64, mul64, shl64, shr64, toBigUint, U64_RESULT } from './u64.js';

// The pair arithmetic against BigInt as the reference, over random and edge-case 64-bit values.
const EDGES = [
  0n,
  1n,
  2n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  (1n << 63n) - 1n,
  1n << 63n,
  (1n << 64n) - 1n,
];
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(...EDGES));
const M = (1n << 64n) - 1n;

function halves(v: bigint): [number, number] {
  fromBig(v);
  return [U64_RESULT[0], U64_RESULT[1]];
}
const result = () => toBigUint(U64_RESULT[0], U64_RESULT[1]);

describe('u64 pair arithmetic', () => {
  test('mul64 is the low 64 bits of the product', () => {
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        mul64(...halves(a), ...halves(b));
        expect(result()).toBe((a * b) & M);
      }),
      { numRuns: 2000 },
    );
  });

  test('divmod64 unsigned and signed', () => {
    fc.assert(
      fc.property(u64, u64, (a, b) => {
        if (b === 0n) return;
        const [al, ah] = halves(a);
        const [bl, bh] = halves(b);
        divmod64(al, ah, bl, bh, false, false);
        expect(result()).toBe(a / b);
        divmod64(al, ah, bl, bh, false, true);
        expect(result()).toBe(a % b);
        const sa = BigInt.asIntN(64, a);
        const sb = BigInt.asIntN(64, b);
        divmod64(al, ah, bl, bh, true, false);
        expect(result()).toBe(BigInt.asUintN(64, sa / sb));
      }),
      { numRuns: 2000 },
    );
  });

  test('shifts take the count mod 64', () => {
    fc.assert(
      fc.property(u64, fc.nat(200), (a, n) => {
        const [l, h] = halves(a);
        shl64(l, h, n);
        expect(result()).toBe((a << BigInt(n & 63)) & M);
        shr64(l, h, n, false);
        expect(result()).toBe(a >> BigInt(n & 63));
        shr64(l, h, n, true);
        expect(result()).toBe(BigInt.asUintN(64, BigInt.asIntN(64, a) >> BigInt(n & 63)));
      }),
      { numRuns: 2000 },
    );
  });

  test('hex64 matches BigInt#toString(16)', () => {
    fc.assert(
      fc.property(u64, (a) => {
        expect(hex64(...halves(a))).toBe(a.toString(16));
      }),
      { numRuns: 3000 },
    );
    for (let bit = 0n; bit < 64n; bit++)
      for (const v of [1n << bit, (1n << bit) - 1n]) expect(hex64(...halves(v))).toBe(v.toString(16));
  });
});
