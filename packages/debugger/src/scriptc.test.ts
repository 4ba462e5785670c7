import { describe, expect, it } from 'vitest';
import { defaultCompiler } from './scriptc.js';
import { SymbolTable } from './symbols.js';

const symbols = new SymbolTable(
  [{ name: 'kernel', base: 0x1000n, size: 0x1000n }],
  [{ name: 'counter', module: 'kernel', address: 0x1800n, size: 8n, kind: 'object' }],
);

describe('defaultCompiler', () => {
  it('compiles with symbols from the session table', () => {
    const buffer = defaultCompiler('printf("%llx\\n", kernel!counter);', 'statements', symbols);
    expect(buffer).toBeInstanceOf(Uint8Array);
    expect(buffer.length).toBeGreaterThan(0);
  });

  it('keeps the source on syntax errors for the caret', () => {
    let caught: unknown;
    try {
      defaultCompiler('x = kernel!nope;', 'statements', symbols);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'E_SCRIPT_SYNTAX', data: { line: 1, source: 'x = kernel!nope;' } });
    expect((caught as Error).message).toMatch(/unknown symbol 'kernel!nope' \(1:\d+\)$/);
  });
});
