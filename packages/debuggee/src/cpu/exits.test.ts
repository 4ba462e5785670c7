import { describe, expect, it } from 'vitest';
import { type Cpu, REG_RAX, REG_RBX, RUN_BUDGET, RUN_EXIT_HALT, RUN_HLT } from './cpu.js';
import {
  EPT_ACCESS_READ,
  EPT_ACCESS_WRITE,
  EPT_EXEC_TRAP,
  EPT_READ_TRAP,
  EPT_WRITE_TRAP,
  EXIT_EMULATE,
  EXIT_HALT,
  EXIT_REASON_CPUID,
  EXIT_REASON_CR_ACCESS,
  EXIT_REASON_EPT_EXECUTE,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MODE_CHANGE,
  EXIT_REASON_MONITOR_TRAP_FLAG,
  EXIT_REASON_MSR_WRITE,
  EXIT_SKIP,
  EXIT_WANT_POST,
  EXIT_WANT_PRE,
  type ExitHandler,
} from './exits.js';
import { VEC_BP, VEC_PF } from './faults.js';
import { CODE_BASE, makeTestMachine, poke, setGate, USER_CS, USER_SS } from './testkit.js';

interface Call {
  side: 'pre' | 'post';
  reason: number;
  qual: number;
  rip: bigint;
}

function recorder(verdict: (c: Call, cpu: Cpu) => number = () => EXIT_EMULATE): ExitHandler<Cpu> & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    pre(cpu, reason, qual) {
      const c: Call = { side: 'pre', reason, qual, rip: cpu.getRip() };
      calls.push(c);
      return verdict(c, cpu);
    },
    post(cpu, reason, qual) {
      const c: Call = { side: 'post', reason, qual, rip: cpu.getRip() };
      calls.push(c);
      return verdict(c, cpu);
    },
  };
}

describe('exit points', () => {
  it('calls nothing when nothing is hooked', () => {
    const { cpu, memory } = makeTestMachine();
    const h = recorder();
    cpu.exitHandler = h;
    poke(memory, CODE_BASE, '0f a2 f4'); // cpuid; hlt
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(h.calls).toEqual([]);
  });

  it('CPUID: pre and post, EXIT_SKIP keeps the handler result, EXIT_HALT abandons', () => {
    const { cpu, memory } = makeTestMachine();
    const h = recorder((c, cpu) => {
      if (c.side === 'pre' && cpu.getReg(REG_RAX) === 0x4000n) {
        cpu.setReg(REG_RBX, 0x1234n);
        return EXIT_SKIP;
      }
      return EXIT_EMULATE;
    });
    cpu.exitHandler = h;
    cpu.exitMask[EXIT_REASON_CPUID] = EXIT_WANT_PRE | EXIT_WANT_POST;
    poke(memory, CODE_BASE, '0f a2 b8 00 40 00 00 0f a2 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(h.calls.map((c) => c.side)).toEqual(['pre', 'post', 'pre']);
    expect(cpu.getReg(REG_RBX)).toBe(0x1234n);
    // EXIT_HALT: state as before the instruction; rerun calls the handler again.
    const env = makeTestMachine();
    let n = 0;
    env.cpu.exitHandler = recorder(() => (n++ === 0 ? EXIT_HALT : EXIT_EMULATE));
    env.cpu.exitMask[EXIT_REASON_CPUID] = EXIT_WANT_PRE;
    poke(env.memory, CODE_BASE, '0f a2 f4');
    expect(env.cpu.run(10)).toBe(RUN_EXIT_HALT);
    expect(env.cpu.getRip()).toBe(BigInt(CODE_BASE));
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(n).toBe(2);
  });

  it('reports exceptions before delivery with CR2 already set', () => {
    const { cpu, memory } = makeTestMachine();
    setGate(memory, VEC_PF, 0x30000);
    poke(memory, 0x30000, 'f4');
    let cr2 = 0n;
    let err = -1n;
    cpu.exitHandler = recorder((c, cpu) => {
      if (c.reason === EXIT_REASON_EXCEPTION_NMI) {
        cr2 = cpu.getCr(2);
        err = cpu.exitValue;
      }
      return EXIT_EMULATE;
    });
    cpu.exitMask[EXIT_REASON_EXCEPTION_NMI] = EXIT_WANT_PRE;
    poke(memory, CODE_BASE, '89 04 25 00 00 00 80'); // mov [0xffffffff80000000], eax
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cr2).toBe(0xffffffff80000000n);
    expect(err).toBe(2n);
  });

  it('lets a #BP handler skip delivery and move RIP', () => {
    const { cpu, memory } = makeTestMachine();
    cpu.exitHandler = recorder((c, cpu) => {
      if (c.reason === EXIT_REASON_EXCEPTION_NMI && c.qual === VEC_BP) {
        expect(cpu.exitSize).toBe(1);
        cpu.setRip(cpu.getRip() + 1n);
        return EXIT_SKIP;
      }
      return EXIT_EMULATE;
    });
    cpu.exitMask[EXIT_REASON_EXCEPTION_NMI] = EXIT_WANT_PRE;
    poke(memory, CODE_BASE, 'cc b8 03 00 00 00 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(3n);
  });

  it('EPT read/write traps report the access and may skip the instruction', () => {
    const { cpu, memory, ept } = makeTestMachine();
    const accesses: number[] = [];
    cpu.exitHandler = recorder((c, cpu) => {
      if (c.reason === EXIT_REASON_EPT_VIOLATION) {
        accesses.push(c.qual, cpu.exitAddress, cpu.exitSize);
        expect(cpu.exitLinear).toBe(0x200010);
        return c.qual === EPT_ACCESS_WRITE ? EXIT_SKIP : EXIT_EMULATE;
      }
      return EXIT_EMULATE;
    });
    cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE;
    memory.write32(0x200010, 0x99);
    ept[0x200] = EPT_READ_TRAP | EPT_WRITE_TRAP;
    // mov eax,[0x200010]; mov [0x200010], ebx (skipped); mov ecx, 1; hlt
    cpu.setReg(REG_RBX, 5n);
    poke(memory, CODE_BASE, '8b 04 25 10 00 20 00 89 1c 25 10 00 20 00 b9 01 00 00 00 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(accesses).toEqual([EPT_ACCESS_READ, 0x200010, 4, EPT_ACCESS_WRITE, 0x200010, 4]);
    expect(cpu.getReg(REG_RAX)).toBe(0x99n);
    expect(memory.read32(0x200010)).toBe(0x99);
    expect(cpu.getReg(1)).toBe(1n);
    // Clearing the trap lets accesses through again without exits.
    ept[0x200] = 0;
    accesses.length = 0;
    cpu.halted = false;
    cpu.setRip(BigInt(CODE_BASE));
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(accesses).toEqual([]);
    expect(memory.read32(0x200010)).toBe(5);
  });

  it('EPT execute traps fire before the instruction; EXIT_SKIP re-dispatches from the new RIP', () => {
    const { cpu, memory, ept } = makeTestMachine();
    const seen: bigint[] = [];
    cpu.exitHandler = recorder((c, cpu) => {
      if (c.reason !== EXIT_REASON_EPT_EXECUTE) return EXIT_EMULATE;
      seen.push(c.rip);
      if (c.rip === BigInt(CODE_BASE)) {
        cpu.setRip(BigInt(CODE_BASE + 5)); // jump over mov eax, 1
        return EXIT_SKIP;
      }
      return EXIT_EMULATE;
    });
    cpu.exitMask[EXIT_REASON_EPT_EXECUTE] = EXIT_WANT_PRE;
    ept[CODE_BASE >> 12] = EPT_EXEC_TRAP;
    poke(memory, CODE_BASE, 'b8 01 00 00 00 bb 02 00 00 00 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(seen).toEqual([BigInt(CODE_BASE), BigInt(CODE_BASE + 5), BigInt(CODE_BASE + 10)]);
    expect(cpu.getReg(REG_RAX)).toBe(0n);
    expect(cpu.getReg(REG_RBX)).toBe(2n);
  });

  it('MTF exits after every instruction; I/O, CR, MSR and mode-change exits carry their details', () => {
    const { cpu, memory } = makeTestMachine();
    const h = recorder((c, cpu) => {
      if (c.reason === EXIT_REASON_IO_INSTRUCTION) expect(cpu.exitValue).toBe(0x41n);
      if (c.reason === EXIT_REASON_CR_ACCESS) expect(cpu.exitValue).toBe(BigInt(0x1000));
      if (c.reason === EXIT_REASON_MSR_WRITE) expect(cpu.exitValue).toBe(0x41n);
      return EXIT_EMULATE;
    });
    cpu.exitHandler = h;
    cpu.mtf = true;
    cpu.exitMask[EXIT_REASON_IO_INSTRUCTION] = EXIT_WANT_PRE;
    cpu.exitMask[EXIT_REASON_CR_ACCESS] = EXIT_WANT_PRE;
    cpu.exitMask[EXIT_REASON_MSR_WRITE] = EXIT_WANT_PRE;
    const out: number[] = [];
    cpu.io = { in: () => 0, out: (_p, _s, v) => void out.push(v) };
    // mov al, 0x41; out 0xe9, al; mov eax, 0x1000; mov cr3, rax; hlt
    poke(memory, CODE_BASE, 'b0 41 e6 e9 b8 00 10 00 00 0f 22 d8 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(out).toEqual([0x41]);
    const reasons = h.calls.map((c) => c.reason);
    expect(reasons.filter((r) => r === EXIT_REASON_MONITOR_TRAP_FLAG).length).toBe(5);
    expect(h.calls.find((c) => c.reason === EXIT_REASON_IO_INSTRUCTION)!.qual).toBe(0xe9 | (1 << 16));
    expect(h.calls.find((c) => c.reason === EXIT_REASON_CR_ACCESS)!.qual).toBe(3);

    const env = makeTestMachine();
    const h2 = recorder();
    env.cpu.exitHandler = h2;
    env.cpu.exitMask[EXIT_REASON_MODE_CHANGE] = EXIT_WANT_PRE;
    env.cpu.setMsr(0xc0000082, 0x31000n);
    poke(env.memory, CODE_BASE, '0f 05');
    poke(env.memory, 0x31000, 'f4');
    env.cpu.setSegmentSelector(1, USER_CS);
    env.cpu.setSegmentSelector(2, USER_SS);
    // The first report is the CPL change made through setSegmentSelector, then SYSCALL's.
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(h2.calls.filter((c) => c.reason === EXIT_REASON_MODE_CHANGE).map((c) => c.qual)).toEqual([3, 0]);
    expect(RUN_BUDGET).toBe(0);
  });

  it('post calls see RIP past the instruction (committed before the call)', () => {
    const { cpu, memory } = makeTestMachine();
    const rips: bigint[] = [];
    cpu.exitHandler = {
      pre: () => EXIT_EMULATE,
      post: (c) => {
        rips.push(c.getRip());
        return EXIT_EMULATE;
      },
    };
    cpu.exitMask[EXIT_REASON_CPUID] = EXIT_WANT_POST;
    // nop; cpuid; hlt
    poke(memory, CODE_BASE, '90 0f a2 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(rips).toEqual([BigInt(CODE_BASE + 3)]);
  });
});
