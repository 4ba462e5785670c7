import { describe, expect, it } from 'vitest';
import { REG_RAX, REG_RBP, REG_RBX, REG_RCX, REG_RDI, REG_RDX, REG_RSI, REG_RSP, RUN_HLT } from './cpu.js';
import { PF_ID, PF_P, PF_RSVD, PF_US, PF_WR, VEC_PF } from './faults.js';
import {
  CODE_BASE,
  makeTestMachine,
  PageTableBuilder,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_NX,
  PTE_U,
  PTE_W,
  poke,
  setGate,
} from './testkit.js';

const PF_HANDLER = 0x30000;
const TABLES = 0x100000;

/** Identity-maps the low 1.5 MiB (code, tables, stacks) with 4 KiB pages through a fresh builder. */
function setup() {
  const env = makeTestMachine();
  const { memory, cpu } = env;
  const pt = new PageTableBuilder(memory, TABLES);
  for (let a = 0; a < 0x180000; a += 0x1000) pt.map(BigInt(a), a, PTE_W | PTE_U);
  setGate(memory, VEC_PF, PF_HANDLER);
  poke(memory, PF_HANDLER, 'f4'); // hlt
  cpu.setCr(3, BigInt(pt.root));
  return { ...env, pt };
}

/** The error code pushed by the #PF handler entry (top of the interrupt stack). */
function pfError(env: ReturnType<typeof setup>): bigint {
  const rsp = env.cpu.getReg(REG_RSP);
  const b = env.cpu.readVirtual(rsp, 8)!;
  return new DataView(b.buffer).getBigUint64(0, true);
}

describe('paging', () => {
  it('sets accessed on reads and dirty on writes', () => {
    const env = setup();
    const { cpu, memory, pt } = env;
    const pte = pt.map(0x400000n, 0x200000, PTE_W);
    memory.write32(0x200000, 0x12345678);
    // mov eax, [0x400000]; hlt
    poke(memory, CODE_BASE, '8b 04 25 00 00 40 00 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(0x12345678n);
    expect(memory.read64(pte) & (PTE_A | PTE_D)).toBe(PTE_A);
    // mov [0x400000], ebx; hlt
    cpu.setRip(BigInt(CODE_BASE + 0x10));
    cpu.halted = false;
    poke(memory, CODE_BASE + 0x10, '89 1c 25 00 00 40 00 f4');
    cpu.setReg(REG_RBX, 0xabcdn);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(memory.read64(pte) & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
    expect(memory.read32(0x200000)).toBe(0xabcd);
  });

  it('raises #PF for a not-present page with CR2 and error code', () => {
    const env = setup();
    const { cpu, memory } = env;
    poke(memory, CODE_BASE, '8b 04 25 00 00 50 00 f4'); // mov eax, [0x500000]
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getRip()).toBe(BigInt(PF_HANDLER + 1));
    expect(cpu.getCr(2)).toBe(0x500000n);
    expect(pfError(env)).toBe(0n);
    // The frame's RIP is the faulting instruction.
    const frame = cpu.readVirtual(cpu.getReg(REG_RSP) + 8n, 8)!;
    expect(new DataView(frame.buffer).getBigUint64(0, true)).toBe(BigInt(CODE_BASE));
  });

  it('checks R/W with CR0.WP for supervisor writes', () => {
    const env = setup();
    const { cpu, memory, pt } = env;
    pt.map(0x400000n, 0x200000, 0n); // read-only
    poke(memory, CODE_BASE, '89 04 25 00 00 40 00 f4'); // mov [0x400000], eax
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(pfError(env)).toBe(BigInt(PF_P | PF_WR));
    // Without WP the supervisor may write.
    const env2 = setup();
    env2.pt.map(0x400000n, 0x200000, 0n);
    env2.cpu.setCr(0, env2.cpu.getCr(0) & ~(1n << 16n));
    env2.cpu.setReg(REG_RAX, 7n);
    poke(env2.memory, CODE_BASE, '89 04 25 00 00 40 00 f4');
    expect(env2.cpu.run(10)).toBe(RUN_HLT);
    expect(env2.cpu.getRip()).toBe(BigInt(CODE_BASE + 8));
    expect(env2.memory.read32(0x200000)).toBe(7);
  });

  it('checks U/S for user accesses and NX for fetches', () => {
    const env = setup();
    const { cpu, memory, pt } = env;
    pt.map(0x400000n, 0x200000, PTE_W); // supervisor only
    // user code page
    pt.map(0x600000n, 0x210000, PTE_U);
    poke(memory, 0x210000, '8b 04 25 00 00 40 00'); // mov eax, [0x400000]
    cpu.setSegmentSelector(1, 0x23);
    cpu.setSegmentSelector(2, 0x1b);
    cpu.setRip(0x600000n);
    expect(cpu.cpl).toBe(3);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.cpl).toBe(0);
    expect(pfError(env)).toBe(BigInt(PF_P | PF_US));
    expect(cpu.getCr(2)).toBe(0x400000n);

    const env2 = setup();
    env2.pt.map(0x400000n, 0x200000, PTE_NX | PTE_W);
    env2.cpu.setRip(0x400000n);
    expect(env2.cpu.run(10)).toBe(RUN_HLT);
    expect(pfError(env2)).toBe(BigInt(PF_P | PF_ID));
    expect(env2.cpu.getCr(2)).toBe(0x400000n);
  });

  it('reports reserved bits', () => {
    const env = setup();
    const { cpu, memory, pt } = env;
    const pte = pt.map(0x400000n, 0x200000, PTE_W);
    memory.write64(pte, memory.read64(pte) | (1n << 50n));
    poke(memory, CODE_BASE, '8b 04 25 00 00 40 00 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(pfError(env)).toBe(BigInt(PF_P | PF_RSVD));
  });

  it('translates 2 MiB and 1 GiB pages', () => {
    const env = setup();
    const { cpu, memory, pt } = env;
    pt.map(0x40000000n, 0x200000, PTE_W, 0x200000);
    pt.map(0x8000000000n, 0, PTE_W, 0x40000000);
    memory.write32(0x212344, 0x55aa);
    expect(cpu.translate(0x40012344n, 'r')).toBe(0x212344);
    expect(cpu.translate(0x8000212344n, 'w')).toBe(0x212344);
    expect(cpu.walk(0x40012344n)!.entries.length).toBe(3);
    expect(cpu.walk(0x8000212344n)!.entries.length).toBe(2);
    // movabs eax, [0x8000212344]; hlt
    poke(memory, CODE_BASE, 'a1 44 23 21 00 80 00 00 00 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(0x55aan);
  });

  it('keeps stale TLB entries until INVLPG, and global ones across CR3 writes', () => {
    const env = setup();
    const { cpu, memory, pt } = env;
    const pte = pt.map(0x400000n, 0x200000, PTE_W | PTE_A | PTE_D);
    const gpte = pt.map(0x401000n, 0x201000, PTE_W | PTE_A | PTE_D | PTE_G);
    memory.write32(0x200000, 1);
    memory.write32(0x202000, 2);
    memory.write32(0x201000, 3);
    memory.write32(0x203000, 4);
    cpu.setCr(4, cpu.getCr(4) | 0x80n); // PGE
    cpu.setReg(REG_RBX, 0x202063n); // new PTE: 0x202000, P W A D
    cpu.setReg(REG_RSI, BigInt(pte));
    cpu.setReg(REG_RDI, BigInt(gpte));
    cpu.setReg(REG_RBP, 0x203163n); // new global PTE: 0x203000, P W A D G
    // mov eax,[0x400000]; mov [rsi],rbx; mov ecx,[0x400000]; invlpg [0x400000]; mov edx,[0x400000]
    // mov r8d,[0x401000]; mov [rdi],rbp; mov r9,cr3; mov cr3,r9; mov r10d,[0x401000]; hlt
    poke(
      memory,
      CODE_BASE,
      '8b 04 25 00 00 40 00 48 89 1e 8b 0c 25 00 00 40 00 0f 01 3c 25 00 00 40 00 8b 14 25 00 00 40 00' +
        '44 8b 04 25 00 10 40 00 48 89 2f 41 0f 20 d9 41 0f 22 d9 44 8b 14 25 00 10 40 00 f4',
    );
    expect(cpu.run(20)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(1n);
    expect(cpu.getReg(REG_RCX)).toBe(1n); // the TLB still holds the old translation
    expect(cpu.getReg(REG_RDX)).toBe(2n);
    expect(cpu.getReg(8)).toBe(3n);
    expect(cpu.getReg(10)).toBe(3n); // global entry survived the CR3 write
  });

  it('faults with CR2 at the page start when an instruction crosses into an unmapped page', () => {
    const env = setup();
    const { cpu, memory, pt } = env;
    pt.map(0x400000n, 0x200000, PTE_W);
    // 5-byte mov eax, imm32 starting 2 bytes before the end of the mapped page
    poke(memory, 0x200ffe, 'b8 01');
    cpu.setRip(0x400ffen);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getCr(2)).toBe(0x401000n);
    expect(pfError(env)).toBe(BigInt(PF_ID)); // not present, instruction fetch (EFER.NXE is set)
  });
});
