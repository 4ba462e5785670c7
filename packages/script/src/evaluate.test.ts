import type { HvdbgError } from '@hvdbg/protocol';
import { describe, expect, test } from 'vitest';
import { ScriptSyntaxError } from './errors.js';
import { evaluateConstant } from './evaluate.js';

const symbols = (name: string) => (name === 'kernel!f' ? 0xffffffff80001000n : undefined);

function failure(source: string): string {
  try {
    evaluateConstant(source, { symbols });
    return 'no error';
  } catch (e) {
    return `${(e as HvdbgError).code}: ${(e as Error).message}`;
  }
}

describe('evaluateConstant', () => {
  test.each([
    ['10', 0x10n],
    ['0n10 * 2', 20n],
    ['kernel!f + 20', 0xffffffff80001020n],
    ['fffff800`00000000 | 1', 0xfffff80000000001n],
    ['sizeof(long) << 4', 0x80n],
    ['-1', 0xffffffffffffffffn],
  ])('%s → %s', (source, expected) => {
    expect(evaluateConstant(source, { symbols })).toBe(expected);
  });

  test.each([
    ['@rcx + 1', 'E_SCRIPT_RUNTIME: the expression reads machine state (registers, memory or pseudo-registers)'],
    ['poi(1000)', 'E_SCRIPT_RUNTIME: the expression reads machine state (registers, memory or pseudo-registers)'],
    ['$pid', 'E_SCRIPT_RUNTIME: the expression reads machine state (registers, memory or pseudo-registers)'],
    ['.g + 1', 'E_SCRIPT_RUNTIME: globals live in the daemon; evaluate there'],
    ['1 / 0', 'E_SCRIPT_RUNTIME: division by zero'],
    ['kernel!missing', "E_SCRIPT_SYNTAX: unknown symbol 'kernel!missing' (1:1)"],
    ['1 +', 'E_SCRIPT_SYNTAX: expected an expression but found end of input (1:4)'],
  ])('%s fails: %s', (source, expected) => {
    expect(failure(source)).toBe(expected);
  });

  test('syntax errors are ScriptSyntaxError', () => {
    expect(() => evaluateConstant('(')).toThrow(ScriptSyntaxError);
  });
});
