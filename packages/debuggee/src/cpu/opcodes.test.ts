/**
 * The interpreter and the table-driven decoder must agree: for random instruction-shaped byte
 * strings, the CPU raises #UD exactly when decodeInstruction says `ud`, and an instruction that
 * retires without transferring control advances RIP by the decoded length.
 */
import { describe, expect, it } from 'vitest';
import { type Cpu, RUN_BUDGET, RUN_EXIT_HALT } from './cpu.js';
import { decodeInstruction } from './decoder.js';
import { EXIT_HALT, EXIT_REASON_EXCEPTION_NMI, EXIT_WANT_PRE } from './exits.js';
import { VEC_UD } from './faults.js';
import { OPCODES } from './opcodes.js';
import { CODE_BASE, makeTestMachine } from './testkit.js';

const BRANCHES = new Set(['jmp', 'call', 'ret', 'retf', 'iretq', 'syscall', 'sysretq', 'int', 'int3', 'hlt']);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

describe('opcode table vs interpreter', () => {
  it('agree on #UD and length for random instructions', () => {
    const next = rng(12345);
    const valid: number[] = [];
    for (let op = 0; op < 512; op++) if (OPCODES[op]!.mn !== '') valid.push(op);
    let env = makeTestMachine();
    let snap = env.cpu.saveState();
    let vector = -1;
    const handler = {
      pre(_c: Cpu, _reason: number, qual: number) {
        vector = qual;
        return EXIT_HALT;
      },
      post() {
        return 0;
      },
    };
    const mismatches: string[] = [];
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 20000; i++) {
      if (i % 1000 === 0) {
        env = makeTestMachine();
        env.cpu.exitHandler = handler;
        env.cpu.exitMask[EXIT_REASON_EXCEPTION_NMI] = EXIT_WANT_PRE;
        for (let r = 0; r < 16; r++) if (r !== 4) env.cpu.setReg(r, 0x200000n + BigInt(r * 0x100));
        env.cpu.setReg(1, 5n); // small RCX for REP string ops
        snap = env.cpu.saveState();
      }
      const { cpu, memory } = env;
      cpu.restoreState(snap);
      let p = 0;
      const nPrefix = next() % 3;
      const PFX = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x64, 0x65];
      for (let k = 0; k < nPrefix; k++) bytes[p++] = PFX[next() % PFX.length]!;
      if (next() % 2) bytes[p++] = 0x40 | (next() & 15);
      const op = valid[next() % valid.length]!;
      if (op >= 0x100) bytes[p++] = 0x0f;
      bytes[p++] = op & 0xff;
      while (p < 16) bytes[p++] = next() & 0xff;
      // Keep memory operands near the registers (mod 0/1 without SIB/RIP-relative surprises is not
      // required: unmapped or non-canonical addresses just fault with something other than #UD).
      memory.writeBytes(CODE_BASE, bytes);
      const d = decodeInstruction(bytes, 0);
      vector = -1;
      const r = cpu.run(1);
      const hex = Buffer.from(bytes).toString('hex');
      const cpuUd = r === RUN_EXIT_HALT && vector === VEC_UD;
      if (cpuUd !== (d.ud || d.mnemonic === 'ud2')) {
        mismatches.push(
          `${hex}: decoder ${d.ud ? 'ud' : d.mnemonic}, cpu ${cpuUd ? 'ud' : `run=${r} vector=${vector}`}`,
        );
        continue;
      }
      if (r === RUN_BUDGET && !d.ud && !BRANCHES.has(d.mnemonic) && !d.mnemonic.startsWith('j')) {
        const adv = Number(cpu.getRip()) - CODE_BASE;
        if (adv !== d.length) mismatches.push(`${hex}: ${d.mnemonic} length ${d.length}, cpu advanced ${adv}`);
      }
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
  });
});
