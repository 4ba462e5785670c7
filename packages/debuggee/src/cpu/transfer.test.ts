import { describe, expect, it } from 'vitest';
import { REG_RAX, REG_RCX, REG_RDX, REG_RSP, RUN_HLT } from './cpu.js';
import { VEC_DE, VEC_GP, VEC_UD } from './faults.js';
import { CODE_BASE, makeTestMachine, poke, setGate, USER_CS, USER_SS } from './testkit.js';

const HANDLER = 0x30000;
const ENTRY = 0x31000;

function vectorTrap(env: ReturnType<typeof makeTestMachine>, vector: number): void {
  // Each vector's handler stores its number in RBX and halts: mov ebx, vector; hlt
  setGate(env.memory, vector, HANDLER + vector * 8);
  poke(env.memory, HANDLER + vector * 8, [0xbb, vector, 0, 0, 0, 0xf4]);
}

function toUser(env: ReturnType<typeof makeTestMachine>, rip: number): void {
  env.cpu.setSegmentSelector(1, USER_CS);
  env.cpu.setSegmentSelector(2, USER_SS);
  env.cpu.setRip(BigInt(rip));
}

describe('privilege, syscall/sysret, iretq, swapgs', () => {
  it('raises #GP for privileged instructions at CPL 3', () => {
    for (const code of [
      'f4',
      'fa',
      '0f 32',
      '0f 30',
      '0f 20 d8',
      '0f 22 d8',
      '0f 01 f8',
      '0f 01 15 00 00 00 00',
      'e6 80',
      '0f 07',
    ]) {
      const env = makeTestMachine();
      vectorTrap(env, VEC_GP);
      poke(env.memory, CODE_BASE, code);
      toUser(env, CODE_BASE);
      expect(env.cpu.run(10), code).toBe(RUN_HLT);
      expect(env.cpu.getReg(3), code).toBe(BigInt(VEC_GP));
    }
  });

  it('raises #UD for undefined opcodes and #DE for division errors', () => {
    for (const [code, vec] of [
      ['0f 0b', VEC_UD],
      ['06', VEC_UD], // push es: invalid in 64-bit mode
      ['0f 38 00 c0', VEC_UD], // outside the ISA (pshufb)
      ['f0 01 c0', VEC_UD], // lock with a register destination
      ['f7 f1', VEC_DE], // div ecx with ecx = 0
    ] as const) {
      const env = makeTestMachine();
      vectorTrap(env, vec);
      poke(env.memory, CODE_BASE, code);
      expect(env.cpu.run(10), code).toBe(RUN_HLT);
      expect(env.cpu.getReg(3), code).toBe(BigInt(vec));
    }
    // idiv overflow: -2^63 / -1
    const env = makeTestMachine();
    vectorTrap(env, VEC_DE);
    env.cpu.setReg(REG_RAX, 1n << 63n);
    env.cpu.setReg(REG_RDX, -1n);
    env.cpu.setReg(REG_RCX, -1n);
    poke(env.memory, CODE_BASE, '48 f7 f9');
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(env.cpu.getReg(3)).toBe(BigInt(VEC_DE));
  });

  it('runs syscall into the kernel and sysretq back to user mode', () => {
    const env = makeTestMachine();
    const { cpu, memory } = env;
    cpu.setMsr(0xc0000082, BigInt(ENTRY)); // LSTAR
    cpu.setMsr(0xc0000084, 0x200n); // FMASK: clear IF
    // user: mov eax, 5; syscall; mov ebx, eax; hlt(→ #GP at CPL3, handler halts)
    poke(memory, CODE_BASE, 'b8 05 00 00 00 0f 05 89 c3 f4');
    // kernel: add eax, 10; sysretq
    poke(memory, ENTRY, '83 c0 0a 48 0f 07');
    vectorTrap(env, VEC_GP);
    toUser(env, CODE_BASE);
    cpu.setRflags(0x202n);
    expect(cpu.run(2)).toBe(0);
    expect(cpu.cpl).toBe(0);
    expect(cpu.getRip()).toBe(BigInt(ENTRY));
    expect(cpu.getReg(REG_RCX)).toBe(BigInt(CODE_BASE + 7));
    expect(cpu.getReg(11) & 0x200n).toBe(0x200n);
    expect(cpu.getRflags() & 0x200n).toBe(0n);
    expect(cpu.getSegment(1).selector).toBe(0x08);
    expect(cpu.getSegment(2).selector).toBe(0x10);
    expect(cpu.run(2)).toBe(0);
    expect(cpu.cpl).toBe(3);
    expect(cpu.getSegment(1).selector).toBe(USER_CS);
    expect(cpu.getSegment(2).selector).toBe(USER_SS);
    expect(cpu.getRflags() & 0x200n).toBe(0x200n);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(15n);
  });

  it('raises #UD for syscall when EFER.SCE is clear', () => {
    const env = makeTestMachine();
    env.cpu.setMsr(0xc0000080, env.cpu.getEfer() & ~1n);
    vectorTrap(env, VEC_UD);
    poke(env.memory, CODE_BASE, '0f 05');
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(env.cpu.getReg(3)).toBe(BigInt(VEC_UD));
  });

  it('iretq returns to ring 3 with the popped RSP, SS and RFLAGS', () => {
    const env = makeTestMachine();
    const { cpu, memory } = env;
    // push ss(0x1b); push rsp(0x70000); push rflags(0x202); push cs(0x23); push rip; iretq
    poke(memory, CODE_BASE, '6a 1b 68 00 00 07 00 68 02 02 00 00 6a 23 68 00 10 01 00 48 cf');
    poke(memory, CODE_BASE + 0x1000, '90 90');
    expect(cpu.run(6)).toBe(0);
    expect(cpu.cpl).toBe(3);
    expect(cpu.getRip()).toBe(BigInt(CODE_BASE + 0x1000));
    expect(cpu.getReg(REG_RSP)).toBe(0x70000n);
    expect(cpu.getRflags()).toBe(0x202n);
    expect(cpu.getSegment(2).selector).toBe(0x1b);
  });

  it('swapgs exchanges GS.base and KERNEL_GS_BASE', () => {
    const env = makeTestMachine();
    const { cpu, memory } = env;
    cpu.setMsr(0xc0000101, 0x1000n);
    cpu.setMsr(0xc0000102, 0x2000n);
    memory.write32(0x2008, 0x77);
    // swapgs; mov eax, gs:[8]; hlt
    poke(memory, CODE_BASE, '0f 01 f8 65 8b 04 25 08 00 00 00 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(0x77n);
    expect(cpu.getMsr(0xc0000101)).toBe(0x2000n);
    expect(cpu.getMsr(0xc0000102)).toBe(0x1000n);
  });

  it('saves and restores the whole state', () => {
    const env = makeTestMachine();
    const { cpu, memory } = env;
    const snap = cpu.saveState();
    poke(memory, CODE_BASE, 'b8 09 00 00 00 0f 22 d8'); // mov eax, 9; mov cr3, rax (junk CR3)
    cpu.run(1);
    expect(cpu.getReg(REG_RAX)).toBe(9n);
    cpu.restoreState(snap);
    expect(cpu.getReg(REG_RAX)).toBe(0n);
    expect(cpu.getRip()).toBe(BigInt(CODE_BASE));
  });
});

describe('stack faults', () => {
  it('raises #SS(0) for a push through a non-canonical RSP', () => {
    const env = makeTestMachine();
    vectorTrap(env, 12);
    env.cpu.setReg(REG_RSP, 0x0000800000000008n);
    // The handler frame goes to RSP0 only on a privilege change; use an IST stack for the kernel.
    env.memory.write64(0x5000 + 0x24, 0x90000n);
    setGate(env.memory, 12, HANDLER + 12 * 8, 0, 1);
    poke(env.memory, CODE_BASE, '50'); // push rax
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(env.cpu.getReg(3)).toBe(12n);
  });
});
