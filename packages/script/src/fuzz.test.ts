import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compileScript } from './compile.js';
import { ScriptSyntaxError, ScriptVerifyError } from './errors.js';
import { newScriptContext } from './host.js';
import { newHost } from './test/run.js';
import { verifyScript } from './verify.js';
import { ScriptVM } from './vm.js';

// Properties over hostile input: the compiler only ever compiles or raises a syntax error; what it
// compiles always verifies; the verifier only ever accepts or raises a verification error; whatever
// it accepts runs to a result (ok or run-time error) within the step budget, never an exception.

const vm = new ScriptVM(newHost(), { maxSteps: 5000 });

function runsCleanly(buffer: Uint8Array): void {
  let script: ReturnType<typeof verifyScript>;
  try {
    script = verifyScript(buffer);
  } catch (e) {
    if (!(e instanceof ScriptVerifyError)) throw e;
    return;
  }
  const r = vm.run(script, newScriptContext());
  if (!r.ok) expect(r.error.message).not.toMatch(/^internal error/);
}

function compileOrSyntaxError(source: string, mode?: 'expression' | 'condition'): Uint8Array | undefined {
  try {
    return compileScript(source, { mode, symbols: (n) => (n.length % 2 === 0 ? 0x1000n : undefined) });
  } catch (e) {
    if (!(e instanceof ScriptSyntaxError)) throw e;
    expect(e.message).toMatch(/ \(\d+:\d+\)$/);
    return undefined;
  }
}

// Fragments that make token soup more likely to parse than random characters.
const TOKENS = [
  'x',
  'y',
  '.g',
  '@rax',
  '@eax',
  '@al',
  '@zf',
  '$pid',
  '$context',
  '1',
  '0n10',
  'ff',
  '0y101',
  '"s"',
  'L"w"',
  '=',
  '+=',
  '++',
  '--',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<<',
  '>>',
  '&',
  '|',
  '^',
  '~',
  '!',
  '<',
  '==',
  '&&',
  '||',
  '(',
  ')',
  '{',
  '}',
  ';',
  ',',
  'if',
  'elsif',
  'else',
  'while',
  'do',
  'for',
  'break',
  'continue',
  'return',
  'int',
  'char',
  'unsigned',
  'void',
  'poi',
  'db',
  'printf',
  '"%x %d %s\\n"',
  'strlen',
  'memcpy',
  'print',
  'interlocked_increment',
  '&.g',
  'kernel!f',
  'ab!cd',
  'sizeof',
  '/*c*/',
  '//c\n',
  'fun',
  'fun2',
  'double',
  'float',
  '1.5',
  '.25',
  '"%f"',
  'typedef',
  't[2]',
  '[',
  ']',
  'int t[2] = {1, 2};',
  '*p',
  'int *p = t;',
  'struct pt { int x; int y; };',
  'struct pt',
  '->',
  '.x',
  '&q',
  'q.y',
] as const;

const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 }).map((t) => t.join(' '));

const SAMPLES = [
  'x = 1; while (x < 0n20) { x++; if (x == 5) { continue; } } printf("%d %s\\n", x, "s");',
  'int fib(int n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); } .r = fib(7); print(.r);',
  'for (i = 0; i < 3 && .k || 1; i++) { @rax = @rax + i; } do { .z++; } while (.z < 3);',
  'eq(&.a, interlocked_increment(&.b)); printf("%016llx %-5s|%ws", poi(5040), 5000, 5020);',
  'char ch = 1ff; unsigned int u = ch; if (u > 0) { @al = ch; } memcpy(5080, 5000, 6);',
  'struct pt { int x; double y; int t[2]; }; struct pt q = {1, 2.5, {3}}; struct pt *p = &q; p->t[1] = q.x; printf("%f", p->y);',
];

describe('fuzzing', () => {
  test('random strings compile or raise a positioned syntax error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const b = compileOrSyntaxError(s);
        if (b) runsCleanly(b);
      }),
      { numRuns: 2000 },
    );
  });

  test('token soup compiles or raises a syntax error; what compiles verifies and runs', () => {
    fc.assert(
      fc.property(soup, fc.constantFrom(undefined, 'expression' as const, 'condition' as const), (s, mode) => {
        const b = compileOrSyntaxError(s, mode);
        if (b) {
          expect(() => verifyScript(b)).not.toThrow();
          runsCleanly(b);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('random buffers are rejected or run within budget', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => runsCleanly(bytes)),
      { numRuns: 2000 },
    );
  });

  test('random buffers with a valid header are rejected or run within budget', () => {
    const header = compileScript('x = 1;').subarray(0, 8);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 200 }), (bytes) => {
        const b = new Uint8Array(8 + bytes.length);
        b.set(header);
        b.set(bytes, 8);
        runsCleanly(b);
      }),
      { numRuns: 2000 },
    );
  });

  test('mutated valid buffers are rejected or run within budget', () => {
    const buffers = SAMPLES.map((s) => compileScript(s));
    const mutation = fc.record({
      which: fc.nat(buffers.length - 1),
      edits: fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('set', 'insert', 'delete', 'truncate')), {
        minLength: 1,
        maxLength: 4,
      }),
    });
    fc.assert(
      fc.property(mutation, ({ which, edits }) => {
        let b = Array.from(buffers[which]);
        for (const [pos, value, kind] of edits) {
          const at = pos % (b.length + 1);
          if (kind === 'set' && at < b.length) b[at] = value;
          else if (kind === 'insert') b.splice(at, 0, value);
          else if (kind === 'delete') b.splice(at, 1);
          else if (kind === 'truncate') b = b.slice(0, at);
        }
        runsCleanly(Uint8Array.from(b));
      }),
      { numRuns: 3000 },
    );
  });
});

// Programs from a small grammar of valid scripts: they must compile, verify and run without an
// internal error (run-time errors such as /0 or a bad address are fine).
const VARS = ['x', 'y', 'z'] as const;
const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('1', '0n10', 'ff', '-1', "'A'", '@rax', '@al', '@zf', '$pid', '$context', '.g', 'sizeof(int)'),
    fc.constantFrom(...VARS),
    fc
      .tuple(tie('e'), fc.constantFrom('+', '-', '*', '/', '%', '<<', '>>', '&', '|', '^'), tie('e'))
      .map(([a, o, b]) => `(${a} ${o} ${b})`),
    tie('e').map((a) => `-(${a})`),
    tie('e').map((a) => `~(${a})`),
    tie('e').map((a) => `poi(${a})`),
    tie('e').map((a) => `db(5000 + (${a} & 7))`),
    tie('e').map((a) => `(int)${a}`),
    tie('e').map((a) => `(char)${a}`),
    tie('e').map((a) => `sq(${a})`),
  ),
})).e;
const cond = fc
  .tuple(expr, fc.constantFrom('<', '>', '<=', '>=', '==', '!=', '&&', '||'), expr)
  .map(([a, o, b]) => `${a} ${o} ${b}`);
const stmt: fc.Arbitrary<string> = fc.letrec<{ s: string }>((tie) => ({
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .tuple(
        fc.constantFrom(...VARS, '.g', '@rbx', '@cx', 't[1]', 'pt.q', 'pp->r'),
        fc.constantFrom('=', '+=', '-=', '*=', '|=', '^='),
        expr,
      )
      .map(([v, o, e]) => `${v} ${o} ${e};`),
    fc.constantFrom(...VARS).map((v) => `${v}++;`),
    expr.map((e) => `printf("%llx %d\\n", ${e}, ${e});`),
    fc.tuple(cond, tie('s'), tie('s')).map(([c, a, b]) => `if (${c}) { ${a} } else { ${b} }`),
    fc.tuple(cond, tie('s')).map(([c, a]) => `while (${c}) { ${a} break; }`),
    fc.tuple(tie('s')).map(([a]) => `for (i = 0; i < 3; i++) { ${a} }`),
    fc.tuple(tie('s'), cond).map(([a, c]) => `do { ${a} } while (${c} && 0);`),
    expr.map((e) => `eq(5080, ${e});`),
  ),
})).s;
const program = fc
  .array(stmt, { minLength: 1, maxLength: 6 })
  .map(
    (body) =>
      'int sq(int n) { return n * n; } struct ps { int q; long r; }; struct ps pt; struct ps *pp = &pt; int t[3]; ' +
      `x = 0; y = 1; z = 2; ${body.join(' ')}`,
  );

test('programs from a grammar of valid scripts compile, verify and run cleanly', () => {
  fc.assert(
    fc.property(program, (source) => {
      const buffer = compileScript(source);
      const r = vm.run(verifyScript(buffer), newScriptContext());
      if (!r.ok) expect(r.error.message).not.toMatch(/^internal error/);
    }),
    { numRuns: 600 },
  );
}, 30_000);
