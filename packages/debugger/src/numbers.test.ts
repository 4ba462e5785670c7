import { describe, expect, it } from 'vitest';
import { hex, parseHexBytes, parseNumber, readLE, writeLE } from './numbers.js';

describe('parseNumber', () => {
  it.each([
    ['10', 0x10n],
    ['ff', 0xffn],
    ['0x10', 0x10n],
    ['0X1f', 0x1fn],
    ['0n10', 10n],
    ['0y101', 5n],
    ['0o17', 15n],
    ['0t17', 15n],
    ['fffff800`00001000', 0xfffff80000001000n],
    ['ffffffffffffffff', 0xffffffffffffffffn],
    ['-1', 0xffffffffffffffffn],
    ['0', 0n],
    ['00', 0n],
  ])('%s → %s', (text, value) => {
    expect(parseNumber(text)).toBe(value);
  });

  it.each(['', 'g', '0x', '0n1f', '0y2', '0o8', '1ffffffffffffffff', 'kernel!x', '12z'])(
    '%s is not a number',
    (text) => {
      expect(parseNumber(text)).toBeUndefined();
    },
  );
});

describe('bytes', () => {
  it('reads and writes little-endian', () => {
    expect(readLE(new Uint8Array([0x78, 0x56, 0x34, 0x12]), 0, 4)).toBe(0x12345678n);
    expect(Array.from(writeLE(0x1234n, 2))).toEqual([0x34, 0x12]);
    expect(() => writeLE(0x100n, 1)).toThrow('0x100 does not fit in 1 byte');
  });

  it.each([
    ['90 c3', [0x90, 0xc3]],
    ['f0 48 ff 01 c3', [0xf0, 0x48, 0xff, 0x01, 0xc3]],
    ['31c0c3', [0x31, 0xc0, 0xc3]],
    [' 0f  05 ', [0x0f, 0x05]],
    ['9', [0x09]],
  ])('hex block %s', (text, bytes) => {
    expect(Array.from(parseHexBytes(text, 'code'))).toEqual(bytes);
  });

  it.each([
    ['', 'the code block is empty'],
    ['zz', "'zz' in the code block is not a hex byte"],
    ['31c', 'the code block has an odd number of hex digits'],
  ])('bad hex block %j', (text, message) => {
    expect(() => parseHexBytes(text, 'code')).toThrow(message);
  });

  it('formats hex', () => {
    expect(hex(255n)).toBe('0xff');
  });
});
