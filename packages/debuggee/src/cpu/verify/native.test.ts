/**
 * The native oracle itself: hand-written cases whose outcome is known from the manual, so a broken
 * oracle cannot silently bless a broken emulator. Without gcc the oracle is unavailable and
 * buildOracle() must say so (the comparison then runs from the fixtures).
 */
import { describe, expect, test } from 'vitest';
import {
  type CaseInput,
  CODE_ADDR,
  DATA_ADDR,
  FLAG_CF,
  FLAG_OF,
  FLAG_ZF,
  FS_BASE,
  GS_BASE,
  STACK_TOP,
} from './layout.js';
import { buildOracle, hasGcc, nativeCpuId, runNative } from './native.js';

const base = (c: string, r: Record<string, string> = {}, f = 0): CaseInput => ({
  m: 'test',
  c,
  rs: 7,
  r,
  f,
  s: 1,
  p: [],
  uf: 0,
  ur: 0,
});
const hex = (n: number) => n.toString(16);

describe('native oracle', () => {
  const binary = buildOracle();

  test('is built exactly when gcc is present on an x86-64 Linux host', () => {
    expect(binary !== null).toBe(hasGcc() && process.arch === 'x64' && process.platform === 'linux');
  });

  if (!binary) return;

  test('reports registers and flags after a completed snippet', () => {
    // add rax, rbx with rax = 2^64 - 1, rbx = 1: result 0, CF and ZF set.
    const [r] = runNative(binary, [base('4801d8', { 0: 'ffffffffffffffff', 3: '1' })]);
    expect(r!.t).toBe(3); // ended on the INT3 after the snippet
    expect(r!.i).toBe(hex(CODE_ADDR + 4));
    expect(r!.r[0]).toBe('0');
    expect(r!.f & (FLAG_CF | FLAG_ZF | FLAG_OF)).toBe(FLAG_CF | FLAG_ZF);
  });

  test('reports faults with vector, error code and CR2', () => {
    const [de, ud, gp, pf] = runNative(binary, [
      base('48f7f1', { 1: '0' }), // div rcx by zero
      base('0f0b'), // ud2
      base('cd21'), // int 0x21 through a DPL-0 gate
      base('488b00', { 0: '30000000' }), // mov rax, [unmapped]
    ]);
    expect(de!.t).toBe(0);
    expect(de!.i).toBe(hex(CODE_ADDR));
    expect(ud!.t).toBe(6);
    expect(gp!.t).toBe(13);
    expect(gp!.e).toBe(0x21 * 8 + 2);
    expect(pf!.t).toBe(14);
    expect(pf!.a).toBe('30000000');
  });

  test('reports the data bytes a snippet wrote and where a branch landed', () => {
    const [push, jmp] = runNative(binary, [base('53', { 3: '1122334455667788' }), base('eb10')]);
    expect(push!.d).toEqual([[STACK_TOP - DATA_ADDR - 8, '8877665544332211']]);
    expect(push!.r[4]).toBe(hex(STACK_TOP - 8));
    expect(jmp!.i).toBe(hex(CODE_ADDR + 2 + 0x10 + 1)); // after the INT3 it landed on
  });

  test('applies the FS and GS bases to overridden operands', () => {
    const at = (base: number) => base - DATA_ADDR;
    const [fs, gs] = runNative(binary, [
      { ...base('64488b00', { 0: '8' }), p: [[at(FS_BASE) + 8, '0102030405060708']] }, // mov rax, fs:[rax]
      { ...base('65488b00', { 0: '10' }), p: [[at(GS_BASE) + 16, '1112131415161718']] }, // mov rax, gs:[rax]
    ]);
    expect(fs!.r[0]).toBe('807060504030201');
    expect(gs!.r[0]).toBe('1817161514131211');
  });

  test('names the CPU it ran on', () => {
    expect(nativeCpuId(binary)).toMatch(/\|.*family \d+ model \d+/);
  });
});
