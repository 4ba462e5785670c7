/**
 * The CPU's decoder against iced-x86 (64-bit): on 1,000,000 random byte strings biased toward our
 * opcode table, and on the .text of real binaries (this machine's /bin/ls and libc, the guest kernel).
 * For every instruction iced-x86 decodes inside the emulated ISA (isa.ts) our decoder must give the
 * same length and mnemonic; for everything else (invalid, or outside the ISA) it must report #UD.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Code, Decoder, DecoderOptions, Instruction } from 'iced-x86';
import { describe, expect, test } from 'vitest';
import { decodeInstruction } from '../decoder.js';
import { elfText } from './elf.js';
import { mnemonicName } from './iced.js';
import { inEmulatedIsa, randomSlots, SLOT } from './isa.js';
import { bytesToHex } from './layout.js';

const RANDOM_STRINGS = 1_000_000;
const CHUNKS = 4;
const KERNEL_ELF = fileURLToPath(new URL('../../../guest/hvdbg-kernel.elf', import.meta.url));

interface Tally {
  checked: number;
  mismatches: number;
  kinds: Map<string, { count: number; example: string }>;
}

const instr = new Instruction();

function check(buf: Uint8Array, decoder: Decoder, p: number, t: Tally): number {
  decoder.position = p;
  decoder.decodeOut(instr);
  const valid = instr.code !== Code.INVALID;
  const inIsa = valid && inEmulatedIsa(instr.code, instr.mnemonic);
  const icedName = valid ? mnemonicName(instr.mnemonic) : 'invalid';
  t.checked++;
  let kind: string | null = null;
  let ours = '';
  try {
    const d = decodeInstruction(buf, p);
    ours = d.ud ? 'ud' : `${d.mnemonic.toLowerCase()}/${d.length}`;
    if (!inIsa) {
      if (!d.ud) kind = `not #UD for ${valid ? `${icedName} (outside the ISA)` : 'invalid'}`;
    } else if (d.ud) {
      kind = `#UD for ${icedName}`;
    } else if (d.length !== instr.length) {
      kind = `length of ${icedName}`;
    } else if (d.mnemonic.toLowerCase() !== icedName) {
      kind = `mnemonic ${d.mnemonic.toLowerCase()} for ${icedName}`;
    }
  } catch (e) {
    kind = `host exception for ${icedName}`;
    ours = (e as Error).message;
  }
  if (kind) {
    t.mismatches++;
    const k = t.kinds.get(kind);
    if (k) k.count++;
    else {
      const bytes = bytesToHex(buf.subarray(p, Math.min(buf.length, p + (valid ? instr.length : 15))));
      t.kinds.set(kind, { count: 1, example: `${bytes} (iced ${icedName}/${instr.length}, ours ${ours})` });
    }
  }
  return valid ? instr.length : 1;
}

function summary(t: Tally): string {
  return [...t.kinds]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, 40)
    .map(([k, v]) => `${v.count}× ${k}: e.g. ${v.example}`)
    .join('\n');
}

function newTally(): Tally {
  return { checked: 0, mismatches: 0, kinds: new Map() };
}

describe('decoder vs iced-x86', () => {
  for (let chunk = 0; chunk < CHUNKS; chunk++) {
    const count = RANDOM_STRINGS / CHUNKS;
    test(`random byte strings ${chunk * count}..${(chunk + 1) * count - 1}`, () => {
      const buf = randomSlots(0xdec0de00 + chunk, count);
      const decoder = new Decoder(64, buf, DecoderOptions.None);
      const t = newTally();
      for (let s = 0; s < count; s++) check(buf, decoder, s * SLOT, t);
      decoder.free();
      if (t.mismatches) console.log(`random chunk ${chunk}: ${t.mismatches} of ${t.checked}\n${summary(t)}`);
      expect(t.checked).toBe(count);
      expect(t.mismatches).toBe(0);
    }, 60_000);
  }

  const binaries = ['/bin/ls', '/usr/lib/x86_64-linux-gnu/libc.so.6', KERNEL_ELF].filter((p) => existsSync(p));

  test('the .text of real binaries (linear sweep)', () => {
    expect(binaries).toContain(KERNEL_ELF);
    const report: string[] = [];
    let mismatches = 0;
    for (const path of binaries) {
      const text = elfText(path);
      expect(text, `${path} has a .text section`).not.toBeNull();
      const decoder = new Decoder(64, text!, DecoderOptions.None);
      const t = newTally();
      for (let p = 0; p < text!.length; ) p += check(text!, decoder, p, t);
      decoder.free();
      mismatches += t.mismatches;
      report.push(`${path}: ${t.checked} instructions, ${t.mismatches} mismatches\n${summary(t)}`);
    }
    if (mismatches) console.log(report.join('\n'));
    expect(mismatches).toBe(0);
  }, 60_000);
});
