import { describe, expect, it } from 'vitest';
import { REG_RAX, REG_RBX } from './cpu.js';
import { CODE_BASE, makeTestMachine, poke } from './testkit.js';

/** Condition from materialised RFLAGS bits (SDM Vol. 1 Appendix B), the reference for cond(). */
function reference(flags: bigint, cc: number): boolean {
  const cf = (flags & 1n) !== 0n;
  const pf = (flags & 4n) !== 0n;
  const zf = (flags & 0x40n) !== 0n;
  const sf = (flags & 0x80n) !== 0n;
  const of = (flags & 0x800n) !== 0n;
  const base = [of, cf, zf, cf || zf, sf, pf, sf !== of, zf || sf !== of][cc >> 1]!;
  return cc & 1 ? !base : base;
}

const EDGES = [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n];
const VALUES = [
  ...EDGES,
  ...EDGES.map((v) => -v),
  (1n << 63n) - 1n,
  1n << 63n,
  0x123456789abcdefn,
  -0x123456789abcdefn,
];

describe('lazy condition evaluation', () => {
  it('agrees with the materialised flags after CMP/SUB/ADD/AND/INC of every size', () => {
    const { cpu, memory } = makeTestMachine();
    // cmp rax,rbx | cmp eax,ebx | cmp ax,bx | cmp al,bl | add rax,rbx | and eax,ebx | inc ax | sub rax, rbx
    const forms = ['48 39 d8', '39 d8', '66 39 d8', '38 d8', '48 01 d8', '21 d8', '66 ff c0', '48 29 d8'];
    for (const form of forms) {
      for (const a of VALUES) {
        for (const b of VALUES) {
          poke(memory, CODE_BASE, form);
          cpu.setRip(BigInt(CODE_BASE));
          cpu.setReg(REG_RAX, a);
          cpu.setReg(REG_RBX, b);
          cpu.run(1);
          for (let cc = 0; cc < 16; cc++) {
            const fast = cpu.cond(cc);
            const flags = cpu.getRflags(); // materialises
            expect(fast, `${form} a=${a} b=${b} cc=${cc}`).toBe(reference(flags, cc));
            // Recompute lazily again for the next condition.
            cpu.setRip(BigInt(CODE_BASE));
            cpu.setReg(REG_RAX, a);
            cpu.setReg(REG_RBX, b);
            cpu.run(1);
          }
        }
      }
    }
  });
});
