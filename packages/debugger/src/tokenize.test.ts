import { describe, expect, it } from 'vitest';
import { needsMoreInput, tokenize } from './tokenize.js';

const words = (line: string) => tokenize(line).map((t) => (t.block ? `{${t.text}}` : t.text));

describe('tokenize', () => {
  it.each([
    ['g', ['g']],
    ['  db   @rsp  l 10 ', ['db', '@rsp', 'l', '10']],
    ['!syscall 3c script { printf("x"); }', ['!syscall', '3c', 'script', '{ printf("x"); }']],
    ['script {if (1) { print(1); }}', ['script', '{if (1) { print(1); }}']],
    ['script {printf("}");}', ['script', '{printf("}");}']],
    ['script {printf("\\"}");}', ['script', '{printf("\\"}");}']],
    ["script {x = '}';}", ['script', "{x = '}';}"]],
    ['script {// }\n x = 1; }', ['script', '{// }\n x = 1; }']],
    ['script {/* } */ x = 1;}', ['script', '{/* } */ x = 1;}']],
    ['code{90 c3}imm no', ['code', '{90 c3}', 'imm', 'no']],
    ['print "a b"', ['print', '"a b"']],
    ['', []],
  ])('%j', (line, expected) => {
    expect(words(line)).toEqual(expected);
  });

  it('records token offsets', () => {
    expect(tokenize('ab {c}').map((t) => t.start)).toEqual([0, 3]);
  });

  it.each([
    ['script { x = 1;', "missing '}' for the block opened at column 8"],
    ['script { printf("x); }', 'unterminated string in the block opened at column 8'],
    ['g }', "unexpected '}' at column 3"],
    ['script { /* x }', 'unterminated comment in the block opened at column 8'],
  ])('%j fails', (line, message) => {
    expect(() => tokenize(line)).toThrow(message);
  });

  it('knows when a block continues on the next line', () => {
    expect(needsMoreInput('!syscall script {')).toBe(true);
    expect(needsMoreInput('!syscall script { x = 1; }')).toBe(false);
    expect(needsMoreInput('g }')).toBe(false);
  });
});
