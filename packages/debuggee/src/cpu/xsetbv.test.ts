import { describe, expect, it } from 'vitest';
import { type Cpu, REG_RAX, REG_RCX, REG_RDX, RUN_EXIT_HALT, RUN_HLT } from './cpu.js';
import {
  EXIT_EMULATE,
  EXIT_HALT,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_XSETBV,
  EXIT_SKIP,
  EXIT_WANT_POST,
  EXIT_WANT_PRE,
} from './exits.js';
import { VEC_GP, VEC_UD } from './faults.js';
import { CODE_BASE, makeTestMachine, poke, USER_CS, USER_SS } from './testkit.js';

const CR4_OSXSAVE = 1n << 18n;
const XSETBV = '0f 01 d1';
const XGETBV = '0f 01 d0';

interface Seen {
  side: 'pre' | 'post';
  reason: number;
  qual: number;
  value: bigint;
}

/** Records exits; exceptions end the run (EXIT_HALT) so the test sees which one was raised. */
function setup(code: string, xsetbvVerdict = EXIT_EMULATE, osxsave = true) {
  const env = makeTestMachine();
  const { cpu } = env;
  const seen: Seen[] = [];
  cpu.exitHandler = {
    pre: (c: Cpu, reason, qual) => {
      seen.push({ side: 'pre', reason, qual, value: c.exitValue });
      return reason === EXIT_REASON_EXCEPTION_NMI ? EXIT_HALT : xsetbvVerdict;
    },
    post: (c: Cpu, reason, qual) => {
      seen.push({ side: 'post', reason, qual, value: c.exitValue });
      return EXIT_EMULATE;
    },
  };
  cpu.exitMask[EXIT_REASON_EXCEPTION_NMI] = EXIT_WANT_PRE;
  cpu.exitMask[EXIT_REASON_XSETBV] = EXIT_WANT_PRE | EXIT_WANT_POST;
  if (osxsave) expect(cpu.setCr(4, cpu.getCr(4) | CR4_OSXSAVE)).toBe(true);
  poke(env.memory, CODE_BASE, `${code} f4`);
  return { ...env, seen };
}

const exception = (seen: Seen[]) => seen.find((s) => s.reason === EXIT_REASON_EXCEPTION_NMI)?.qual;

describe('XSETBV / XGETBV', () => {
  it('XSETBV exits with qual = ECX and exitValue = EDX:EAX, then writes XCR0 (read back by XGETBV)', () => {
    const { cpu, seen } = setup(`${XSETBV} b8 ff 00 00 00 ${XGETBV}`);
    cpu.setReg(REG_RCX, 0n);
    cpu.setReg(REG_RAX, 1n);
    cpu.setReg(REG_RDX, 0n);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(seen.map((s) => [s.side, s.reason, s.qual, s.value])).toEqual([
      ['pre', EXIT_REASON_XSETBV, 0, 1n],
      ['post', EXIT_REASON_XSETBV, 0, 1n],
    ]);
    expect(cpu.xcr0).toBe(1);
    expect(cpu.getReg(REG_RAX)).toBe(1n);
    expect(cpu.getReg(REG_RDX)).toBe(0n);
  });

  it('#UD without CR4.OSXSAVE (before any exit), and with a 66 prefix', () => {
    const a = setup(XSETBV, EXIT_EMULATE, false);
    a.cpu.setReg(REG_RAX, 1n);
    expect(a.cpu.run(10)).toBe(RUN_EXIT_HALT);
    expect(a.seen.map((s) => [s.reason, s.qual])).toEqual([[EXIT_REASON_EXCEPTION_NMI, VEC_UD]]);
    const b = setup(`66 ${XSETBV}`);
    b.cpu.setReg(REG_RAX, 1n);
    expect(b.cpu.run(10)).toBe(RUN_EXIT_HALT);
    expect(exception(b.seen)).toBe(VEC_UD);
  });

  it('#GP(0) at CPL 3 before the exit', () => {
    const { cpu, seen } = setup(XSETBV);
    cpu.setSegmentSelector(1, USER_CS);
    cpu.setSegmentSelector(2, USER_SS);
    cpu.setReg(REG_RAX, 1n);
    expect(cpu.run(10)).toBe(RUN_EXIT_HALT);
    expect(seen.map((s) => [s.reason, s.qual])).toEqual([[EXIT_REASON_EXCEPTION_NMI, VEC_GP]]);
  });

  it('a bad XCR index or value is checked after the exit: #GP, unless the handler skips it', () => {
    for (const [ecx, eax] of [
      [1n, 1n], // no XCR1
      [0n, 0n], // x87 must stay enabled
      [0n, 3n], // SSE state is not supported
    ] as const) {
      const { cpu, seen } = setup(XSETBV);
      cpu.setReg(REG_RCX, ecx);
      cpu.setReg(REG_RAX, eax);
      expect(cpu.run(10)).toBe(RUN_EXIT_HALT);
      expect(seen[0]).toMatchObject({ side: 'pre', reason: EXIT_REASON_XSETBV, qual: Number(ecx), value: eax });
      expect(exception(seen)).toBe(VEC_GP);
      expect(cpu.xcr0).toBe(1);
    }
    const { cpu, seen } = setup(XSETBV, EXIT_SKIP);
    cpu.setReg(REG_RAX, 7n);
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(seen.map((s) => s.side)).toEqual(['pre']);
    expect(cpu.xcr0).toBe(1);
  });

  it('MOV to CR4 accepts OSXSAVE; XGETBV with ECX != 0 is #GP', () => {
    const { cpu, seen } = setup(XGETBV);
    expect(cpu.getCr(4) & CR4_OSXSAVE).toBe(CR4_OSXSAVE);
    cpu.setReg(REG_RCX, 1n);
    expect(cpu.run(10)).toBe(RUN_EXIT_HALT);
    expect(exception(seen)).toBe(VEC_GP);
  });
});
