import { describe, expect, it } from 'vitest';
import { REG_RAX, REG_RSP, RUN_BUDGET, RUN_HLT, RUN_SHUTDOWN, RUN_TRIPLE_FAULT } from './cpu.js';
import { CODE_BASE, makeTestMachine, poke } from './testkit.js';

describe('several vCPUs', () => {
  it('share physical memory, each with its own registers, interleaved deterministically', () => {
    const { cpus, memory } = makeTestMachine(16 * 1024 * 1024, 2);
    const [a, b] = cpus as [(typeof cpus)[0], (typeof cpus)[0]];
    // vCPU 0: lock inc dword [0x200000] in a loop; vCPU 1 does the same at another RIP.
    // L: lock inc dword [0x200000]; jmp L
    poke(memory, CODE_BASE, 'f0 ff 04 25 00 00 20 00 eb f6');
    b.setReg(REG_RSP, 0x70000n);
    for (let i = 0; i < 10; i++) {
      expect(a.run(100)).toBe(RUN_BUDGET);
      expect(b.run(50)).toBe(RUN_BUDGET);
    }
    expect(memory.read32(0x200000)).toBe(500 + 250);
    expect(a.instructions).toBe(1000);
    expect(b.instructions).toBe(500);
  });

  it('sees code another vCPU (or the debugger) wrote', () => {
    const { cpus, memory } = makeTestMachine(16 * 1024 * 1024, 2);
    const [a, b] = cpus as [(typeof cpus)[0], (typeof cpus)[0]];
    poke(memory, CODE_BASE, 'b8 01 00 00 00 f4'); // mov eax, 1; hlt
    b.setRip(0x20000n);
    // vCPU 1 patches vCPU 0's immediate: mov byte [CODE_BASE+1], 2; hlt
    poke(memory, 0x20000, 'c6 04 25 01 00 01 00 02 f4');
    expect(a.run(1)).toBe(RUN_BUDGET);
    expect(a.getReg(REG_RAX)).toBe(1n);
    expect(b.run(10)).toBe(RUN_HLT);
    a.setRip(BigInt(CODE_BASE));
    expect(a.run(10)).toBe(RUN_HLT);
    expect(a.getReg(REG_RAX)).toBe(2n);
    // And a debugger write through the virtual-memory accessor.
    expect(a.writeVirtual(BigInt(CODE_BASE + 1), Uint8Array.of(3))).toBe(true);
    a.setRip(BigInt(CODE_BASE));
    a.halted = false;
    expect(a.run(10)).toBe(RUN_HLT);
    expect(a.getReg(REG_RAX)).toBe(3n);
  });

  it('stays in shutdown after a triple fault until its state is restored', () => {
    const { cpu, memory } = makeTestMachine();
    const snap = cpu.saveState();
    poke(memory, CODE_BASE, '0f 0b');
    expect(cpu.run(10)).toBe(RUN_TRIPLE_FAULT);
    expect(cpu.run(10)).toBe(RUN_SHUTDOWN);
    cpu.restoreState(snap);
    poke(memory, CODE_BASE, 'f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
  });
});
