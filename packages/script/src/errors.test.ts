import { describe, expect, test } from 'vitest';
import { compileScript } from './compile.js';
import { ScriptSyntaxError } from './errors.js';
import type { ParseMode } from './parser.js';

const symbols = (name: string) => (name === 'kernel!start' ? 0xfffff80000100000n : undefined);

function message(source: string, mode?: ParseMode): string {
  try {
    compileScript(source, { mode, symbols });
  } catch (e) {
    expect(e).toBeInstanceOf(ScriptSyntaxError);
    expect((e as ScriptSyntaxError).code).toBe('E_SCRIPT_SYNTAX');
    return (e as Error).message;
  }
  return 'compiled';
}

// One line per case: source (and mode) → the whole message, position included.
const CASES: [string, ParseMode | undefined, string][] = [
  ['x = ;', undefined, "expected an expression but found ';' (1:5)"],
  ['x = 1', undefined, "expected ';' but found end of input (1:6)"],
  ['x = a > b;', undefined, "operator '>' is only allowed in a condition (1:7)"],
  ['x = 1 && 2;', undefined, "operator '&&' is only allowed in a condition (1:7)"],
  ['if (1) printf("x");', undefined, "expected '{' but found 'printf' (1:8)"],
  ['if (1) { } else if (2) { }', undefined, "use 'elsif' instead of 'else if' (1:17)"],
  ['while (1) { break }', undefined, "expected ';' but found '}' (1:19)"],
  ['break;', undefined, "'break' outside a loop (1:1)"],
  ['continue;', undefined, "'continue' outside a loop (1:1)"],
  ['return 1;', undefined, "'return' outside a function (1:1)"],
  ['x = @foo;', undefined, "unknown register '@foo' (1:5)"],
  ['x = $foo;', undefined, "unknown pseudo-register '$foo' (1:5)"],
  ['x = nt!nothing;', undefined, "unknown symbol 'nt!nothing' (1:5)"],
  ['foo(1);', undefined, "unknown function 'foo' (1:1)"],
  ['poi(1, 2);', undefined, "'poi' takes 1 argument, got 2 (1:1)"],
  ['x = pause();', undefined, "'pause' has no value (1:5)"],
  ['printf(@rax);', undefined, "printf's first argument must be a string literal (1:8)"],
  ['printf("%x %x", 1);', undefined, 'printf format needs 2 arguments, got 1 (1:1)'],
  ['printf("%q", 1);', undefined, "unknown printf conversion '%q' (1:8)"],
  ['printf("%X", 1);', undefined, "unknown printf conversion '%X' (1:8)"],
  ['printf("%.2d", 1);', undefined, 'printf precision is only supported for %f (1:8)'],
  ['int i; printf("%f", i);', undefined, "printf '%f' given an integer value (1:21)"],
  ['double v; printf("%x", v);', undefined, "printf '%x' given a floating-point value (1:24)"],
  ['double v; x = v % 2;', undefined, "operator '%' needs integer operands (1:15)"],
  ['double v; x = ~v;', undefined, "operator '~' needs an integer operand (1:15)"],
  ['double v; int *p = v;', undefined, 'cannot convert a floating-point value to a pointer (1:20)'],
  ['x = y;', undefined, "undefined variable 'y' (1:5)"],
  ['x = "abc', undefined, 'unterminated string (1:5)'],
  ['x = "\\q";', undefined, "invalid escape '\\q' in string (1:6)"],
  ['/* never closed', undefined, 'unterminated comment (1:1)'],
  ['x = 12g;', undefined, "invalid number '12g' (1:5)"],
  ['x = 0x;', undefined, "invalid number '0x' (1:5)"],
  ["x = '';", undefined, 'empty character literal (1:5)'],
  ["x = 'ab';", undefined, 'unterminated character literal (1:5)'],
  ["x = '\\q';", undefined, "invalid escape '\\q' in a character (1:5)"],
  ['x = 1ffffffffffffffff;', undefined, "number '1ffffffffffffffff' does not fit in 64 bits (1:5)"],
  ['x = 1..2;', undefined, 'invalid number: more than one dot (1:5)'],
  ['x = 0x1.2;', undefined, "invalid floating-point number '0x1.2' (1:5)"],
  ['int add = 1;', undefined, "'add' is a hex number here and cannot be used as a name (1:5)"],
  ['face = 1;', undefined, "'face' is a hex number here and cannot be used as a name (1:1)"],
  ['int x = 1;\n  y = x +;', undefined, "expected an expression but found ';' (2:10)"],
  ['x = 1; ~', undefined, 'expected an expression but found end of input (1:9)'],
  ['++x;', undefined, "prefix '++' is not supported; write 'x++;' (1:1)"],
  ['$pid = 1;', undefined, "'$pid' is read-only (1:1)"],
  [
    '5 = 1;',
    undefined,
    'the left side of an assignment must be a variable, a register, an element, a member or *pointer (1:1)',
  ],
  ['unsigned float x;', undefined, "invalid type 'unsigned float' (1:1)"],
  ['long long long x;', undefined, "invalid type 'long long long' (1:1)"],
  ['long float x;', undefined, "invalid type 'long float' (1:1)"],
  ['long double x;', undefined, "invalid type 'long double' (1:1)"],
  ['x = 1.0f;', undefined, "invalid floating-point number '1.0f' (1:5)"],
  ['int x[0];', undefined, 'an array size must be a number from 1 to 0x400 (1:7)'],
  ['int x[y];', undefined, 'an array size must be a number from 1 to 0x400 (1:7)'],
  ['int x[20][40];', undefined, "array 'x' has more than 0x400 elements (1:5)"],
  ['long x[100][4];', undefined, "'x' is larger than 1600 bytes (1:6)"],
  ['long x[0n190]; long y[0n20];', undefined, 'local variables need more than 200 stack slots (1:21)'],
  ['int x[2] = {1, 2, 3};', undefined, 'too many values in the initialiser (1:19)'],
  ['int x[2] = {{1}};', undefined, 'too many braces in the initialiser (1:13)'],
  ['int x[2]; x[1][2] = 1;', undefined, 'only arrays and pointers can be indexed (1:15)'],
  ['y = 1; y[0] = 1;', undefined, 'only arrays and pointers can be indexed (1:9)'],
  ['x = @rax[1];', undefined, 'only arrays and pointers can be indexed (1:9)'],
  ['y = 1; x = y.z;', undefined, "'.z' needs a struct (1:13)"],
  ['int x[2]; x[0] = x[1] = 1;', undefined, 'a store through a pointer or into an array cannot be chained (1:23)'],
  ['struct S { int q; }; struct S { int r; };', undefined, 'struct S is already defined (1:29)'],
  ['struct S; struct S v;', undefined, 'struct S is incomplete (1:20)'],
  ['struct S { struct S inner; };', undefined, "member 'inner' has the incomplete type struct S (1:21)"],
  ['struct S { int q; int q; };', undefined, "duplicate member 'q' (1:23)"],
  ['struct S { };', undefined, 'struct S has no members (1:8)'],
  ['struct S { int q; }; struct S v; x = v.r;', undefined, "struct S has no member 'r' (1:39)"],
  ['struct S { int q; }; struct S v; x = v + 1;', undefined, 'struct S cannot be used as a value here (1:38)'],
  ['struct S { int q; }; struct S v; v += 1;', undefined, "operator '+=' cannot be used on a struct (1:34)"],
  [
    'struct S { int q; }; struct T { int q; }; struct S v; struct T w; v = w;',
    undefined,
    'cannot assign struct T to struct S (1:71)',
  ],
  [
    'struct S { int q; }; int fn(struct S v) { return 1; }',
    undefined,
    'struct S cannot be used by value here; use a pointer (1:29)',
  ],
  ['struct S { int q; }; struct S v; x = v->q;', undefined, "'->q' needs a pointer to a struct (1:39)"],
  ['int t[2]; t = 1;', undefined, 'cannot assign to an array (1:11)'],
  ['typedef int u32; typedef char u32;', undefined, "type 'u32' is already defined (1:31)"],
  ['typedef int t1; int t1 = 1;', undefined, "expected a variable name but found 't1' (1:21)"],
  ['int *p; int *q; x = p + q;', undefined, 'cannot add two pointers (1:21)'],
  ['int *p; x = 1 + p;', undefined, 'put the pointer first: write p + n (1:13)'],
  ['void *p = 10; x = *p;', undefined, 'cannot dereference a void pointer (1:19)'],
  ['void *p = 10; p++;', undefined, 'arithmetic on a void pointer (1:15)'],
  ['int sq(int n) { return n; } int sq(int n) { return n; }', undefined, "function 'sq' is already defined (1:29)"],
  ['void v() { return 1; }', undefined, "void function 'v' cannot return a value (1:12)"],
  ['int r() { return; }', undefined, "function 'r' must return a value (1:11)"],
  ['void v() { } x = v();', undefined, "'v' returns void and has no value (1:18)"],
  ['x = sq(1); int sq(int n) { return n; }', undefined, "unknown function 'sq' (1:5)"],
  ['#include "x"', undefined, '#include must be expanded before compiling (1:1)'],
  ['x = 1 #', undefined, "expected ';' but found '#' (1:7)"],
  ['x = &@rax;', undefined, "'&' needs a variable (1:6)"],
  ['', 'expression', 'expected an expression but found end of input (1:1)'],
  ['1 2', 'expression', "expected end of input but found '2' (1:3)"],
  ['@rax == 1', 'expression', "operator '==' is only allowed in a condition (1:6)"],
  ['x = 1;', 'expression', "expected end of input but found '=' (1:3)"],
  ['elsif (1) { }', undefined, "'elsif' without 'if' (1:1)"],
  ['x = sizeof(int;', undefined, "expected ')' but found ';' (1:15)"],
  ['x = "\u4e2d";', undefined, 'non-ASCII character in a string; use L"…" (1:5)'],
];

describe('syntax errors', () => {
  test.each(CASES)('%j (%s)', (source, mode, expected) => {
    expect(message(source, mode)).toBe(expected);
  });

  test('errors carry line and column as fields', () => {
    try {
      compileScript('x = 1;\n\n   y = @nope;');
      expect.unreachable();
    } catch (e) {
      const err = e as ScriptSyntaxError;
      expect([err.line, err.column, err.reason]).toEqual([3, 8, "unknown register '@nope'"]);
      expect(err.toBody()).toEqual({ code: 'E_SCRIPT_SYNTAX', message: err.message, data: { line: 3, column: 8 } });
    }
  });

  test('words that lex as hex numbers are reported as warnings', () => {
    const warnings: string[] = [];
    compileScript('x = face + 1; printf("%x", x);', { onWarning: (m, l, c) => warnings.push(`${m} (${l}:${c})`) });
    expect(warnings).toEqual(["'face' is read as the hex number 0xface (1:5)"]);
  });

  test('valid sources compile, in every mode', () => {
    expect(message('@rax == 3c', 'condition')).toBe('compiled');
    expect(message('kernel!start + @rcx', 'expression')).toBe('compiled');
    expect(message('{ x = 1; }')).toBe('compiled');
    expect(message('')).toBe('compiled');
  });
});
