/**
 * Random instruction-shaped byte strings executed on the emulated CPU (user mode, as in the oracle
 * picture): the executor must raise #UD exactly where iced-x86 finds the instruction invalid or
 * outside the emulated ISA, and whatever the bytes do, nothing may escape as a host exception or
 * end in a triple fault. (Not run natively: random bytes include syscalls.)
 */
import { Code, Decoder, DecoderOptions, Instruction, Mnemonic } from 'iced-x86';
import { describe, expect, test } from 'vitest';
import { mnemonicName } from './iced.js';
import { inEmulatedIsa, randomSlots, SLOT } from './isa.js';
import { bytesToHex, type CaseInput, CODE_ADDR } from './layout.js';
import { SnippetMachine } from './snippet.js';

const COUNT = 100_000;
const VEC_UD = 6;
/**
 * In the ISA and still #UD here: ud2 always; vmcall unless a hypervisor takes its exit (nothing is
 * hooked in this picture, and outside VMX operation the instruction is #UD).
 */
const UD_HERE = new Set([Mnemonic.Ud2, Mnemonic.Vmcall]);

describe('executing random bytes', () => {
  test(`${COUNT.toLocaleString('en-US')} strings: #UD exactly outside the ISA, no host exception`, () => {
    const buf = randomSlots(0xe8ec0000, COUNT);
    const decoder = new Decoder(64, buf, DecoderOptions.None);
    const instr = new Instruction();
    const machine = new SnippetMachine();
    const kinds = new Map<string, { count: number; example: string }>();
    let bad = 0;
    for (let s = 0; s < COUNT; s++) {
      decoder.position = s * SLOT;
      decoder.decodeOut(instr);
      const valid = instr.code !== Code.INVALID;
      const inIsa = valid && inEmulatedIsa(instr.code, instr.mnemonic);
      // Only the first instruction: the INT3 filler follows it.
      const bytes = buf.subarray(s * SLOT, s * SLOT + (valid ? instr.length : 15));
      const c: CaseInput = { m: '', c: bytesToHex(bytes), rs: s, r: {}, f: s & 0xcd5, s: s & 63, p: [], uf: 0, ur: 0 };
      let kind: string | null = null;
      let detail = '';
      try {
        const r = machine.run(c);
        const udHere = r.t === VEC_UD && r.i === CODE_ADDR.toString(16);
        detail = `trap ${r.t} at 0x${r.i}`;
        if (r.t < 0) kind = `run ended with code ${-r.t}`;
        else if (!inIsa && !udHere) kind = `no #UD for ${valid ? mnemonicName(instr.mnemonic) : 'invalid'}`;
        else if (inIsa && udHere && !UD_HERE.has(instr.mnemonic)) kind = `#UD for ${mnemonicName(instr.mnemonic)}`;
      } catch (e) {
        kind = 'host exception';
        detail = (e as Error).message;
      }
      if (kind) {
        bad++;
        const k = kinds.get(kind);
        if (k) k.count++;
        else kinds.set(kind, { count: 1, example: `${bytesToHex(bytes)} (${detail})` });
      }
    }
    decoder.free();
    if (bad) {
      const lines = [...kinds]
        .sort((a, b) => b[1].count - a[1].count)
        .map(([k, v]) => `${v.count}× ${k}: e.g. ${v.example}`);
      console.log(`${bad} of ${COUNT}\n${lines.slice(0, 40).join('\n')}`);
    }
    expect(bad).toBe(0);
  }, 60_000);
});
