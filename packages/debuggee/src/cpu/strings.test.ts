import { describe, expect, it } from 'vitest';
import { REG_RAX, REG_RCX, REG_RDI, REG_RSI, RUN_HLT } from './cpu.js';
import { CODE_BASE, makeTestMachine, poke } from './testkit.js';

function run(code: string, setup: (env: ReturnType<typeof makeTestMachine>) => void) {
  const env = makeTestMachine();
  setup(env);
  poke(env.memory, CODE_BASE, `${code} f4`);
  expect(env.cpu.run(1000)).toBe(RUN_HLT);
  return env;
}

describe('string instructions', () => {
  it('rep movsb copies forward and leaves RSI/RDI/RCX past the block', () => {
    const env = run('f3 a4', ({ cpu, memory }) => {
      memory.writeBytes(0x200000, Uint8Array.from([1, 2, 3, 4, 5]));
      cpu.setReg(REG_RSI, 0x200000n);
      cpu.setReg(REG_RDI, 0x300000n);
      cpu.setReg(REG_RCX, 5n);
    });
    expect([...env.memory.readBytes(0x300000, 6)]).toEqual([1, 2, 3, 4, 5, 0]);
    expect(env.cpu.getReg(REG_RSI)).toBe(0x200005n);
    expect(env.cpu.getReg(REG_RDI)).toBe(0x300005n);
    expect(env.cpu.getReg(REG_RCX)).toBe(0n);
  });

  it('std; rep movsq copies backward (overlapping memmove)', () => {
    const env = run('fd f3 48 a5 fc', ({ cpu, memory }) => {
      for (let i = 0; i < 4; i++) memory.write64(0x200000 + i * 8, BigInt(i + 1));
      // move qwords 0..2 up by one: start at the last one
      cpu.setReg(REG_RSI, 0x200010n);
      cpu.setReg(REG_RDI, 0x200018n);
      cpu.setReg(REG_RCX, 3n);
    });
    const q = [0, 1, 2, 3].map((i) => env.memory.read64(0x200000 + i * 8));
    expect(q).toEqual([1n, 1n, 2n, 3n]);
    expect(env.cpu.getReg(REG_RSI)).toBe(0x1ffff8n);
    expect(env.cpu.getRflags() & 0x400n).toBe(0n);
  });

  it('rep stosd fills; lodsw loads; a zero count does nothing', () => {
    const env = run('f3 ab 66 ad', ({ cpu }) => {
      cpu.setReg(REG_RAX, 0xdeadbeefn);
      cpu.setReg(REG_RDI, 0x200000n);
      cpu.setReg(REG_RSI, 0x200002n);
      cpu.setReg(REG_RCX, 3n);
    });
    expect(env.memory.read32(0x200008)).toBe(0xdeadbeef);
    expect(env.memory.read32(0x20000c)).toBe(0);
    expect(env.cpu.getReg(REG_RAX)).toBe(0xdeaddeadn);
    const env2 = run('f3 aa', ({ cpu }) => {
      cpu.setReg(REG_RDI, 0x200000n);
      cpu.setReg(REG_RCX, 0n);
      cpu.setReg(REG_RAX, 1n);
    });
    expect(env2.memory.read8(0x200000)).toBe(0);
    expect(env2.cpu.getReg(REG_RDI)).toBe(0x200000n);
  });

  it('repne scasb finds a terminator (strlen idiom) and repe cmpsb stops at a difference', () => {
    const env = run('f2 ae', ({ cpu, memory }) => {
      memory.writeBytes(0x200000, new TextEncoder().encode('hello\0'));
      cpu.setReg(REG_RDI, 0x200000n);
      cpu.setReg(REG_RCX, -1n);
      cpu.setReg(REG_RAX, 0n);
    });
    expect(-2n - BigInt.asIntN(64, env.cpu.getReg(REG_RCX))).toBe(5n);
    expect(env.cpu.getRflags() & 0x40n).toBe(0x40n);
    const env2 = run('f3 a6', ({ cpu, memory }) => {
      memory.writeBytes(0x200000, new TextEncoder().encode('abcx'));
      memory.writeBytes(0x300000, new TextEncoder().encode('abcy'));
      cpu.setReg(REG_RSI, 0x200000n);
      cpu.setReg(REG_RDI, 0x300000n);
      cpu.setReg(REG_RCX, 10n);
    });
    expect(env2.cpu.getReg(REG_RCX)).toBe(6n);
    expect(env2.cpu.getReg(REG_RSI)).toBe(0x200004n);
    expect(env2.cpu.getRflags() & 0x41n).toBe(0x01n); // ZF clear, CF set ('x' < 'y')
  });
});
