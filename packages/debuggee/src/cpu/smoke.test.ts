import { describe, expect, it } from 'vitest';
import { REG_RAX, REG_RCX, RUN_HLT } from './cpu.js';
import { CODE_BASE, makeTestMachine, poke } from './testkit.js';

describe('smoke', () => {
  it('runs a counting loop and halts', () => {
    const { cpu, memory } = makeTestMachine();
    // mov ecx, 1000; xor eax, eax; L: add rax, rcx; dec rcx; jnz L; hlt
    poke(memory, CODE_BASE, 'b9 e8 03 00 00 31 c0 48 01 c8 48 ff c9 75 f8 f4');
    expect(cpu.run(100000)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(500500n);
    expect(cpu.getReg(REG_RCX)).toBe(0n);
  });
});
