import { describe, expect, it } from 'vitest';
import { disassemble, formatListing } from './disasm.js';
import { SymbolTable } from './symbols.js';

const symbols = new SymbolTable(
  [{ name: 'kernel', base: 0xffffffff80000000n, size: 0x10000n }],
  [
    { name: 'start', module: 'kernel', address: 0xffffffff80001000n, size: 0x10n, kind: 'function' },
    { name: 'sched', module: 'kernel', address: 0xffffffff80001010n, size: 0x20n, kind: 'function' },
  ],
);
const symbolize = (a: bigint) => symbols.symbolize(a);

describe('disassemble', () => {
  // call sched; mov rbp, rsp; je +2; ret; push rbp (in sched); syscall
  const code = new Uint8Array([
    0xe8, 0x0b, 0, 0, 0, 0x48, 0x89, 0xe5, 0x74, 0x02, 0xc3, 0x90, 0x90, 0x90, 0x90, 0x90, 0x55, 0x0f, 0x05,
  ]);

  it('uses Intel syntax and names branch targets', () => {
    const list = disassemble(code, 0xffffffff80001000n, symbolize);
    expect(list.slice(0, 4).map((i) => i.text)).toEqual([
      'call kernel!sched',
      'mov rbp, rsp',
      'je kernel!start+0xc',
      'ret',
    ]);
    expect(list[0]!.isCall).toBe(true);
    expect(list[0]!.target).toBe(0xffffffff80001010n);
  });

  it('formats a listing with symbol labels', () => {
    const list = disassemble(code, 0xffffffff80001000n, symbolize).filter((i) => i.address >= 0xffffffff8000100an);
    expect(formatListing(list, symbolize)).toEqual([
      'kernel!start+0xa:',
      'ffffffff8000100a  c3                   ret',
      'ffffffff8000100b  90                   nop',
      'ffffffff8000100c  90                   nop',
      'ffffffff8000100d  90                   nop',
      'ffffffff8000100e  90                   nop',
      'ffffffff8000100f  90                   nop',
      'kernel!sched:',
      'ffffffff80001010  55                   push rbp',
      'ffffffff80001011  0f05                 syscall',
    ]);
  });

  it('shows a truncated last instruction as bytes', () => {
    const list = disassemble(new Uint8Array([0x90, 0x48, 0x8b]), 0x1000n);
    expect(list.map((i) => i.text)).toEqual(['nop', 'db 0x48, 0x8b']);
  });
});

describe('SymbolTable', () => {
  it('resolves both ways', () => {
    expect(symbols.resolve('kernel!sched')).toBe(0xffffffff80001010n);
    expect(symbols.resolve('KERNEL!sched')).toBe(0xffffffff80001010n);
    expect(symbols.resolve('sched')).toBe(0xffffffff80001010n);
    expect(symbols.resolve('kernel!')).toBe(0xffffffff80000000n);
    expect(symbols.resolve('kernel!nope')).toBeUndefined();
    expect(symbols.symbolize(0xffffffff80001012n)).toBe('kernel!sched+0x2');
    expect(symbols.symbolize(0xffffffff80001010n)).toBe('kernel!sched');
    expect(symbols.symbolize(0xffffffff80005000n)).toBe('kernel+0x5000');
    expect(symbols.symbolize(0x1000n)).toBeUndefined();
  });

  it('searches with wildcards', () => {
    expect(symbols.search('kernel!s*').map((s) => s.name)).toEqual(['start', 'sched']);
    expect(symbols.search('*!sch?d').map((s) => s.name)).toEqual(['sched']);
    expect(symbols.search('nomod!*')).toEqual([]);
  });
});
