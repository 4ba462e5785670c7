import { describe, expect, it } from 'vitest';
import { type Cpu, REG_RAX, REG_RBX, REG_RDX, RUN_HLT } from './cpu.js';
import {
  EPT_ACCESS_READ,
  EPT_ACCESS_WRITE,
  EPT_READ_TRAP,
  EPT_WRITE_TRAP,
  EXIT_EMULATE,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_SKIP,
  EXIT_WANT_POST,
  EXIT_WANT_PRE,
  type ExitHandler,
} from './exits.js';
import { CODE_BASE, makeTestMachine, poke } from './testkit.js';

interface Seen {
  side: 'pre' | 'post';
  qual: number;
  address: number;
  linear: number;
  size: number;
  rip: bigint;
  /** The 8 bytes at 0x200ff8..0x201007 and 0x200010.. as the handler saw them. */
  memory: bigint;
}

const DATA = 0x200000;

function watcher(env: ReturnType<typeof makeTestMachine>, at: number, verdict = EXIT_EMULATE) {
  const seen: Seen[] = [];
  const record = (side: 'pre' | 'post', cpu: Cpu, reason: number, qual: number): void => {
    if (reason !== EXIT_REASON_EPT_VIOLATION) return;
    seen.push({
      side,
      qual,
      address: cpu.exitAddress,
      linear: cpu.exitLinear,
      size: cpu.exitSize,
      rip: cpu.getRip(),
      memory: env.memory.read64(at),
    });
  };
  const h: ExitHandler<Cpu> = {
    pre: (cpu, reason, qual) => {
      record('pre', cpu, reason, qual);
      return verdict;
    },
    post: (cpu, reason, qual) => {
      record('post', cpu, reason, qual);
      return EXIT_EMULATE;
    },
  };
  env.cpu.exitHandler = h;
  return seen;
}

/** mov [at], rbx (disp32 absolute); hlt. */
function storeRbx(env: ReturnType<typeof makeTestMachine>, at: number): void {
  const d = [at & 0xff, (at >>> 8) & 0xff, (at >>> 16) & 0xff, (at >>> 24) & 0xff];
  poke(env.memory, CODE_BASE, [0x48, 0x89, 0x1c, 0x25, ...d, 0xf4]);
  env.cpu.setReg(REG_RBX, 0x1122334455667788n);
}

describe('one EPT check per architectural access', () => {
  it('an 8-byte store is one exit with its full size and start address', () => {
    const env = makeTestMachine();
    const seen = watcher(env, DATA + 0x10);
    env.cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE;
    env.ept[DATA >> 12] = EPT_WRITE_TRAP;
    storeRbx(env, DATA + 0x10);
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(seen.map((s) => [s.side, s.qual, s.address, s.linear, s.size])).toEqual([
      ['pre', EPT_ACCESS_WRITE, DATA + 0x10, DATA + 0x10, 8],
    ]);
    expect(env.memory.read64(DATA + 0x10)).toBe(0x1122334455667788n);
  });

  it('EXIT_SKIP on an 8-byte store leaves all eight bytes as they were', () => {
    const env = makeTestMachine();
    watcher(env, DATA + 0x10, EXIT_SKIP);
    env.cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE;
    env.ept[DATA >> 12] = EPT_WRITE_TRAP;
    env.memory.write64(DATA + 0x10, 0xaaaaaaaabbbbbbbbn);
    storeRbx(env, DATA + 0x10);
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(env.memory.read64(DATA + 0x10)).toBe(0xaaaaaaaabbbbbbbbn);
  });

  it('a page-crossing store checks both frames before writing and reports its start', () => {
    for (const trapped of [DATA >> 12, (DATA >> 12) + 1]) {
      const env = makeTestMachine();
      const seen = watcher(env, DATA + 0xffc, EXIT_SKIP);
      env.cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE;
      env.ept[trapped] = EPT_WRITE_TRAP;
      storeRbx(env, DATA + 0xffc);
      expect(env.cpu.run(10)).toBe(RUN_HLT);
      expect(seen.length).toBe(1);
      expect(seen[0]!.linear).toBe(DATA + 0xffc);
      expect(seen[0]!.size).toBe(8);
      // The first byte in a trapped frame: the start, or the second page's first byte.
      expect(seen[0]!.address).toBe(trapped === DATA >> 12 ? DATA + 0xffc : DATA + 0x1000);
      expect(env.memory.read64(DATA + 0xffc)).toBe(0n);
    }
  });

  it('reads: an 8-byte load and a page-crossing 4-byte load are one exit each', () => {
    const env = makeTestMachine();
    const seen = watcher(env, DATA);
    env.cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE;
    env.ept[DATA >> 12] = EPT_READ_TRAP;
    env.memory.write64(DATA + 0x20, 0x0102030405060708n);
    env.memory.write32(DATA + 0xffe, 0xddccbbaa);
    // mov rax, [DATA+0x20]; mov edx, [DATA+0xffe]; hlt
    poke(env.memory, CODE_BASE, '48 8b 04 25 20 00 20 00 8b 14 25 fe 0f 20 00 f4');
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(seen.map((s) => [s.qual, s.linear, s.size])).toEqual([
      [EPT_ACCESS_READ, DATA + 0x20, 8],
      [EPT_ACCESS_READ, DATA + 0xffe, 4],
    ]);
    expect(env.cpu.getReg(REG_RAX)).toBe(0x0102030405060708n);
    expect(env.cpu.getReg(REG_RDX)).toBe(0xddccbbaan);
  });
});

describe('EPT violation post exit', () => {
  it('is called once after the access completed, with RIP past the instruction', () => {
    const env = makeTestMachine();
    const seen = watcher(env, DATA + 0x10);
    env.cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE | EXIT_WANT_POST;
    env.ept[DATA >> 12] = EPT_WRITE_TRAP;
    storeRbx(env, DATA + 0x10);
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(seen.map((s) => [s.side, s.qual, s.rip, s.memory])).toEqual([
      ['pre', EPT_ACCESS_WRITE, BigInt(CODE_BASE), 0n],
      ['post', EPT_ACCESS_WRITE, BigInt(CODE_BASE + 8), 0x1122334455667788n],
    ]);
  });

  it('is not called without EXIT_WANT_POST, nor for a skipped access', () => {
    const env = makeTestMachine();
    const seen = watcher(env, DATA + 0x10);
    env.cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE;
    env.ept[DATA >> 12] = EPT_WRITE_TRAP;
    storeRbx(env, DATA + 0x10);
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(seen.map((s) => s.side)).toEqual(['pre']);

    const env2 = makeTestMachine();
    const seen2 = watcher(env2, DATA + 0x10, EXIT_SKIP);
    env2.cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE | EXIT_WANT_POST;
    env2.ept[DATA >> 12] = EPT_WRITE_TRAP;
    storeRbx(env2, DATA + 0x10);
    expect(env2.cpu.run(10)).toBe(RUN_HLT);
    expect(seen2.map((s) => s.side)).toEqual(['pre']);
  });

  it('a read-modify-write gets one post covering both of its accesses', () => {
    const env = makeTestMachine();
    const seen = watcher(env, DATA + 0x10);
    env.cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE | EXIT_WANT_POST;
    env.ept[DATA >> 12] = EPT_READ_TRAP | EPT_WRITE_TRAP;
    // add qword [DATA+0x10], 1; hlt
    poke(env.memory, CODE_BASE, '48 83 04 25 10 00 20 00 01 f4');
    expect(env.cpu.run(10)).toBe(RUN_HLT);
    expect(seen.map((s) => [s.side, s.qual])).toEqual([
      ['pre', EPT_ACCESS_READ],
      ['pre', EPT_ACCESS_WRITE],
      ['post', EPT_ACCESS_READ | EPT_ACCESS_WRITE],
    ]);
    expect(env.memory.read64(DATA + 0x10)).toBe(1n);
  });
});
