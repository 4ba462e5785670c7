import { describe, expect, it } from 'vitest';
import type { InterruptSource } from './bus.js';
import { type Cpu, REG_RAX, REG_RSP, RUN_BUDGET, RUN_HLT, RUN_TRIPLE_FAULT } from './cpu.js';
import { VEC_DF, VEC_GP, VEC_PF, VEC_UD } from './faults.js';
import {
  CODE_BASE,
  KERNEL_CS,
  makeTestMachine,
  poke,
  RSP0_TOP,
  STACK_TOP,
  setGate,
  TSS_BASE,
  USER_CS,
} from './testkit.js';

const HANDLER = 0x30000;

function qword(cpu: Cpu, lin: bigint): bigint {
  return new DataView(cpu.readVirtual(lin, 8)!.buffer).getBigUint64(0, true);
}

describe('interrupt and exception delivery', () => {
  it('delivers #UD with a 64-bit frame on the current stack (same privilege)', () => {
    const { cpu, memory } = makeTestMachine();
    setGate(memory, VEC_UD, HANDLER);
    poke(memory, HANDLER, 'f4');
    poke(memory, CODE_BASE, '0f 0b'); // ud2
    expect(cpu.run(10)).toBe(RUN_HLT);
    const rsp = cpu.getReg(REG_RSP);
    expect(rsp).toBe(BigInt(STACK_TOP - 40));
    expect(qword(cpu, rsp)).toBe(BigInt(CODE_BASE)); // RIP of the faulting instruction
    expect(qword(cpu, rsp + 8n)).toBe(BigInt(KERNEL_CS));
    expect(qword(cpu, rsp + 24n)).toBe(BigInt(STACK_TOP)); // old RSP
    expect(cpu.getRflags() & 0x200n).toBe(0n); // interrupt gate clears IF
  });

  it('pushes the error code of #GP and aligns the stack to 16', () => {
    const { cpu, memory } = makeTestMachine();
    setGate(memory, VEC_GP, HANDLER);
    poke(memory, HANDLER, 'f4');
    cpu.setReg(REG_RSP, BigInt(STACK_TOP - 8));
    poke(memory, CODE_BASE, '0f 32'); // rdmsr of an unknown MSR
    cpu.setReg(1, 0x12345n);
    expect(cpu.run(10)).toBe(RUN_HLT);
    const rsp = cpu.getReg(REG_RSP);
    expect(rsp).toBe(BigInt(STACK_TOP - 16 - 48));
    expect(qword(cpu, rsp)).toBe(0n); // error code
    expect(qword(cpu, rsp + 8n)).toBe(BigInt(CODE_BASE));
  });

  it('switches to TSS.RSP0 from ring 3 and to an IST stack when the gate asks', () => {
    const { cpu, memory } = makeTestMachine();
    setGate(memory, 0x80, HANDLER, 3);
    setGate(memory, VEC_PF, HANDLER + 0x10, 0, 1);
    poke(memory, HANDLER, 'f4');
    poke(memory, HANDLER + 0x10, 'f4');
    memory.write64(TSS_BASE + 0x24, 0xa0000n); // IST1
    poke(memory, CODE_BASE, 'cd 80'); // int 0x80
    cpu.setSegmentSelector(1, USER_CS);
    cpu.setSegmentSelector(2, 0x1b);
    expect(cpu.cpl).toBe(3);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.cpl).toBe(0);
    const rsp = cpu.getReg(REG_RSP);
    expect(rsp).toBe(BigInt(RSP0_TOP - 40));
    expect(qword(cpu, rsp)).toBe(BigInt(CODE_BASE + 2)); // INT n saves the next RIP
    expect(qword(cpu, rsp + 8n)).toBe(BigInt(USER_CS));
    expect(qword(cpu, rsp + 32n)).toBe(0x1bn); // SS
    // A page fault goes to IST1.
    const env2 = makeTestMachine();
    setGate(env2.memory, VEC_PF, HANDLER, 0, 1);
    poke(env2.memory, HANDLER, 'f4');
    env2.memory.write64(TSS_BASE + 0x24, 0xa0000n);
    poke(env2.memory, CODE_BASE, '8b 04 25 00 00 00 80'); // mov eax, [0xffffffff80000000] (unmapped)
    expect(env2.cpu.run(10)).toBe(RUN_HLT);
    expect(env2.cpu.getReg(REG_RSP)).toBe(0xa0000n - 48n);
    expect(env2.cpu.getCr(2)).toBe(0xffffffff80000000n);
  });

  it('refuses INT n from ring 3 through a DPL 0 gate with #GP(vector*8+2)', () => {
    const { cpu, memory } = makeTestMachine();
    setGate(memory, 0x80, HANDLER, 0);
    setGate(memory, VEC_GP, HANDLER + 0x10);
    poke(memory, HANDLER + 0x10, 'f4');
    poke(memory, CODE_BASE, 'cd 80');
    cpu.setSegmentSelector(1, USER_CS);
    cpu.setSegmentSelector(2, 0x1b);
    expect(cpu.run(10)).toBe(RUN_HLT);
    const rsp = cpu.getReg(REG_RSP);
    expect(qword(cpu, rsp)).toBe(BigInt(0x80 * 8 + 2));
    expect(qword(cpu, rsp + 8n)).toBe(BigInt(CODE_BASE)); // fault: RIP of the INT
  });

  it('escalates a fault during #PF delivery to #DF, and a fault during #DF to a triple fault', () => {
    const { cpu, memory } = makeTestMachine();
    // #PF gate not present → #NP while delivering #PF → #DF.
    setGate(memory, VEC_DF, HANDLER);
    poke(memory, HANDLER, 'f4');
    poke(memory, CODE_BASE, '8b 04 25 00 00 00 80');
    memory.write64(0x4000 + VEC_PF * 16, 0n);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(qword(cpu, cpu.getReg(REG_RSP))).toBe(0n); // #DF error code
    // Without a #DF gate the machine triple-faults.
    const env2 = makeTestMachine();
    poke(env2.memory, CODE_BASE, '0f 0b');
    expect(env2.cpu.run(10)).toBe(RUN_TRIPLE_FAULT);
  });

  it('takes external interrupts only with IF=1, after the STI shadow, and wakes HLT', () => {
    const { cpu, memory } = makeTestMachine();
    setGate(memory, 0x20, HANDLER);
    poke(memory, HANDLER, '48 ff c0 f4'); // inc rax; hlt
    let pending = true;
    const src: InterruptSource = {
      pending: () => pending,
      acknowledge: () => {
        pending = false;
        return 0x20;
      },
    };
    cpu.interrupts = src;
    // cli; nop; sti; mov ebx, 1; hlt
    poke(memory, CODE_BASE, 'fa 90 fb bb 01 00 00 00 f4');
    cpu.setRflags(0x202n);
    expect(cpu.run(1)).toBe(RUN_BUDGET); // cli (the interrupt was pending before: IF=1 → delivered first)
    // The interrupt was delivered before cli executed.
    expect(cpu.getRip()).toBe(BigInt(HANDLER + 3));
    expect(cpu.getReg(REG_RAX)).toBe(1n);

    const env2 = makeTestMachine();
    setGate(env2.memory, 0x20, HANDLER);
    poke(env2.memory, HANDLER, '48 ff c0 f4');
    pending = false;
    env2.cpu.interrupts = src;
    poke(env2.memory, CODE_BASE, 'fb bb 01 00 00 00 f4'); // sti; mov ebx,1; hlt
    expect(env2.cpu.run(1)).toBe(RUN_BUDGET); // sti
    pending = true;
    expect(env2.cpu.run(1)).toBe(RUN_BUDGET); // shadow: mov ebx,1 runs first
    expect(env2.cpu.getReg(3)).toBe(1n);
    expect(env2.cpu.getRip()).toBe(BigInt(CODE_BASE + 6));
    expect(env2.cpu.run(10)).toBe(RUN_HLT); // now the interrupt, then the handler's hlt
    expect(env2.cpu.getReg(REG_RAX)).toBe(1n);

    // HLT with IF=1 and nothing pending returns RUN_HLT; a later interrupt wakes it up.
    const env3 = makeTestMachine();
    setGate(env3.memory, 0x21, HANDLER);
    poke(env3.memory, HANDLER, 'b8 07 00 00 00 f4');
    poke(env3.memory, CODE_BASE, 'f4');
    let p3 = false;
    env3.cpu.interrupts = {
      pending: () => p3,
      acknowledge: () => {
        p3 = false;
        return 0x21;
      },
    };
    env3.cpu.setRflags(0x202n);
    expect(env3.cpu.run(10)).toBe(RUN_HLT);
    expect(env3.cpu.run(10)).toBe(RUN_HLT);
    expect(env3.cpu.getReg(REG_RAX)).toBe(0n);
    p3 = true;
    expect(env3.cpu.run(10)).toBe(RUN_HLT);
    expect(env3.cpu.getReg(REG_RAX)).toBe(7n);
    expect(qword(env3.cpu, env3.cpu.getReg(REG_RSP))).toBe(BigInt(CODE_BASE + 1)); // resumes after hlt
  });

  it('injects exceptions before the next instruction', () => {
    const { cpu, memory } = makeTestMachine();
    setGate(memory, VEC_GP, HANDLER);
    poke(memory, HANDLER, 'f4');
    poke(memory, CODE_BASE, '90 90 f4');
    cpu.injectException(VEC_GP, 0x18);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getRip()).toBe(BigInt(HANDLER + 1));
    expect(qword(cpu, cpu.getReg(REG_RSP))).toBe(0x18n);
    expect(qword(cpu, cpu.getReg(REG_RSP) + 8n)).toBe(BigInt(CODE_BASE));
  });
});

describe('single-step trap', () => {
  it('raises #DB after each instruction while RFLAGS.TF is set, with DR6.BS', () => {
    const { cpu, memory } = makeTestMachine();
    setGate(memory, 1, HANDLER);
    poke(memory, HANDLER, 'f4');
    // pushfq; or qword [rsp], 0x100; popfq; mov eax, 1; mov eax, 2
    poke(memory, CODE_BASE, '9c 48 81 0c 24 00 01 00 00 9d b8 01 00 00 00 b8 02 00 00 00');
    expect(cpu.run(10)).toBe(RUN_HLT);
    // The trap comes after the first instruction executed with TF set (mov eax, 1).
    expect(cpu.getReg(REG_RAX)).toBe(1n);
    expect(qword(cpu, cpu.getReg(REG_RSP))).toBe(BigInt(CODE_BASE + 15));
    expect(cpu.getDr(6) & 0x4000n).toBe(0x4000n);
    expect(cpu.getRflags() & 0x100n).toBe(0n); // the handler runs with TF clear
  });
});
