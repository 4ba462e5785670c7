import { describe, expect, it } from 'vitest';
import { type ExprEnv, evaluate, isConstant, parseExpression } from './expr.js';

const memory = new Map<bigint, bigint>([[0x1000n, 0x1122334455667788n]]);
const env: ExprEnv = {
  symbol: (name) => ({ 'kernel!main': 0xffffffff80001000n, main: 0xffffffff80001000n })[name],
  register: async (name) => {
    const regs: Record<string, bigint> = { rcx: 0x10n, rsp: 0x1000n };
    const v = regs[name];
    if (v === undefined) throw new Error(`no ${name}`);
    return v;
  },
  pseudo: async () => 7n,
  memory: async (address, size) => (memory.get(address) ?? 0n) & ((1n << BigInt(size * 8)) - 1n),
};

describe('evaluate', () => {
  it.each([
    ['10', 0x10n],
    ['0n10 + 1', 11n],
    ['1 + 2 * 3', 7n],
    ['(1 + 2) * 3', 9n],
    ['1 + 2 & 6', 2n],
    ['1 << 4 | 1', 0x11n],
    ['-1', 0xffffffffffffffffn],
    ['~0 >> 3c', 0xfn],
    ['10 / 3', 5n],
    ['10 % 3', 1n],
    ['kernel!main+12', 0xffffffff80001012n],
    ['kernel!main + @rcx', 0xffffffff80001010n],
    ['poi(@rsp)', 0x1122334455667788n],
    ['dd(@rsp)', 0x55667788n],
    ['db(1000)', 0x88n],
    ['hi(1000)', 0x5566n],
    ['low(1000)', 0x7788n],
    ['not(0)', 0xffffffffffffffffn],
    ['neg(1)', 0xffffffffffffffffn],
    ['$core', 7n],
    ['ff', 0xffn],
  ])('%s = %s', async (source, value) => {
    expect(await evaluate(source, env)).toBe(value);
  });

  it.each([
    ['', 'expression expected'],
    ['1 +', 'expression expected'],
    ['(1', "')' expected"],
    ['1 )', "unexpected ')'"],
    ['kernel!nothing', "unknown symbol 'kernel!nothing'"],
    ['1 / 0', 'division by zero'],
    ['12z', "bad number '12z'"],
    ['@', 'register name expected'],
  ])('%j fails with %s', async (source, message) => {
    await expect(evaluate(source, env)).rejects.toThrow(message);
  });

  it('tells constant expressions from target-dependent ones', () => {
    expect(isConstant(parseExpression('kernel!main + 10'))).toBe(true);
    expect(isConstant(parseExpression('kernel!main + @rcx'))).toBe(false);
    expect(isConstant(parseExpression('poi(10)'))).toBe(false);
  });
});
