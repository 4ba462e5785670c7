import { describe, expect, it } from 'vitest';
import { type Cpu, REG_RAX, REG_RBX, REG_RCX, RUN_HLT } from './cpu.js';
import {
  EPT_READ_TRAP,
  EXIT_EMULATE,
  EXIT_REASON_CPUID,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_WANT_PRE,
  type ExitHandler,
} from './exits.js';
import { CODE_BASE, makeTestMachine, poke } from './testkit.js';

const CUSTOM = 0x40000;

/** A handler that runs the custom code buffer (mov ecx, 0x77; add rbx, 1; hlt) in a private context. */
function customCodeHandler(reason: number, log: bigint[]): ExitHandler<Cpu> {
  return {
    pre(cpu, r) {
      if (r !== reason) return EXIT_EMULATE;
      const saved = cpu.saveState();
      cpu.setRip(BigInt(CUSTOM));
      cpu.setReg(REG_RBX, 100n);
      expect(cpu.run(100)).toBe(RUN_HLT);
      log.push(cpu.getReg(REG_RCX), cpu.getReg(REG_RBX));
      cpu.restoreState(saved);
      return EXIT_EMULATE;
    },
    post: () => EXIT_EMULATE,
  };
}

describe('custom code run from an exit handler', () => {
  it('resumes the interrupted instruction after a nested run (CPUID pre exit)', () => {
    const { cpu, memory } = makeTestMachine();
    poke(memory, CUSTOM, 'b9 77 00 00 00 48 83 c3 01 f4');
    const log: bigint[] = [];
    cpu.exitHandler = customCodeHandler(EXIT_REASON_CPUID, log);
    cpu.exitMask[EXIT_REASON_CPUID] = EXIT_WANT_PRE;
    cpu.setReg(REG_RBX, 5n);
    // xor eax, eax; cpuid; mov ebx, 9; hlt
    poke(memory, CODE_BASE, '31 c0 0f a2 bb 09 00 00 00 f4');
    expect(cpu.run(100)).toBe(RUN_HLT);
    expect(log).toEqual([0x77n, 101n]);
    expect(cpu.getReg(REG_RAX)).toBe(7n); // CPUID leaf 0 ran after the custom code
    expect(cpu.getReg(REG_RBX)).toBe(9n);
    expect(cpu.getRip()).toBe(BigInt(CODE_BASE + 10));
  });

  it('resumes an instruction interrupted in the middle of a memory access (EPT read trap)', () => {
    const { cpu, memory, ept } = makeTestMachine();
    poke(memory, CUSTOM, 'b9 77 00 00 00 48 83 c3 01 f4');
    const log: bigint[] = [];
    cpu.exitHandler = customCodeHandler(EXIT_REASON_EPT_VIOLATION, log);
    cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE;
    ept[0x200] = EPT_READ_TRAP;
    memory.write32(0x200000, 40);
    cpu.setReg(REG_RAX, 2n);
    // add eax, [0x200000]; hlt
    poke(memory, CODE_BASE, '03 04 25 00 00 20 00 f4');
    expect(cpu.run(100)).toBe(RUN_HLT);
    expect(log).toEqual([0x77n, 101n]);
    expect(cpu.getReg(REG_RAX)).toBe(42n);
    expect(cpu.getRip()).toBe(BigInt(CODE_BASE + 8));
  });
});
