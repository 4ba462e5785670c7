/**
 * The case generator: draws snippets from the instruction families with fixed weights from a seeded
 * PRNG (the same seed always gives the same cases), decodes each with iced-x86 to name it and to
 * learn which flags its result leaves undefined, and emits CaseInput records.
 */

import { Decoder, DecoderOptions, Instruction } from 'iced-x86';
import { Rng } from './encode.js';
import {
  alu,
  bitScan,
  bitTest,
  bswap,
  cmov,
  convert,
  doubleShift,
  exchangeAdd,
  imulMulti,
  mulDiv,
  setcc,
  shift,
  test,
  unary,
} from './gen-arith.js';
import { type Built, type Family, randomFlags } from './gen-common.js';
import { branch, flagOps, loop, nop, sequence, trap } from './gen-control.js';
import { lea, mov, pushPop, stringOp, xchg } from './gen-move.js';
import { decodeOne, icedFlagsToRflags, undefinedFlagsFor } from './iced.js';
import type { CaseInput } from './layout.js';
import { bytesToHex, CODE_SIZE } from './layout.js';

/** Families whose snippets do not branch: safe to slide toward the end of the code page. */
const STRAIGHT: readonly Family[] = [alu, unary, mulDiv, shift, mov, exchangeAdd, bitTest, cmov, setcc, convert];

/**
 * A straight-line snippet placed so that it ends at, or straddles, the end of the code page: the
 * next instruction fetch (or the rest of this one) is in an unmapped page → #PF with CR2 there.
 */
const pageEdge: Family = (rng) => {
  const b = rng.pick(STRAIGHT)(rng);
  const cut = 1 + rng.int(b.code.length + 2); // bytes that stay in the page (≥ length: fits)
  return { ...b, codeOffset: CODE_SIZE - Math.min(cut, b.code.length + 1) };
};

/** Families and their relative weights (roughly: how much can go wrong in each). */
export const FAMILIES: readonly (readonly [string, Family, number])[] = [
  ['alu', alu, 16],
  ['test', test, 3],
  ['unary', unary, 5],
  ['muldiv', mulDiv, 9],
  ['imul', imulMulti, 4],
  ['shift', shift, 14],
  ['shld/shrd', doubleShift, 6],
  ['bt', bitTest, 6],
  ['bitscan', bitScan, 5],
  ['bswap', bswap, 1],
  ['xadd/cmpxchg', exchangeAdd, 4],
  ['convert', convert, 1],
  ['cmov', cmov, 3],
  ['setcc', setcc, 2],
  ['mov', mov, 8],
  ['lea', lea, 3],
  ['xchg', xchg, 2],
  ['push/pop', pushPop, 3],
  ['string', stringOp, 9],
  ['branch', branch, 5],
  ['trap', trap, 2],
  ['nop', nop, 1],
  ['flags', flagOps, 1],
  ['sequence', sequence, 4],
  ['page edge', pageEdge, 1],
  ['loop', loop, 2],
];

const TOTAL_WEIGHT = FAMILIES.reduce((s, f) => s + f[2], 0);

function pickFamily(rng: Rng): Family {
  let x = rng.int(TOTAL_WEIGHT);
  for (const [, family, weight] of FAMILIES) {
    if (x < weight) return family;
    x -= weight;
  }
  return FAMILIES[0]![1];
}

const seqInstr = new Instruction();

/**
 * Undefined flags after a multi-instruction snippet, or -1 when an instruction reads a flag an
 * earlier one left undefined (such a case would compare noise).
 */
function sequenceUndefined(code: Uint8Array): number {
  const decoder = new Decoder(64, code, DecoderOptions.None);
  let undef = 0;
  try {
    while (decoder.position < code.length) {
      decoder.decodeOut(seqInstr);
      const read = icedFlagsToRflags(seqInstr.rflagsRead);
      if (read & undef) return -1;
      const modified = icedFlagsToRflags(seqInstr.rflagsModified);
      undef = (undef & ~modified) | icedFlagsToRflags(seqInstr.rflagsUndefined);
    }
  } finally {
    decoder.free();
  }
  return undef;
}

/** Turns a built snippet into a case, or null when it must be drawn again. */
function finish(b: Built, rng: Rng): CaseInput | null {
  const code = Uint8Array.from(b.code);
  const d = decodeOne(code);
  let uf: number;
  if (b.label === 'sequence' || b.label === 'loop') {
    uf = sequenceUndefined(code);
    if (uf < 0) return null;
  } else {
    if (!d.valid && !b.expectUd) throw new Error(`generator produced an invalid encoding: ${bytesToHex(code)}`);
    if (d.valid && d.length !== code.length) {
      throw new Error(`generator length mismatch: ${bytesToHex(code)} decodes to ${d.length} bytes`);
    }
    uf = b.count !== undefined ? undefinedFlagsFor(d, b.count, b.bits ?? 64) : d.undefinedFlags;
  }
  const r: Record<string, string> = {};
  for (const [k, v] of b.st.regs) r[k] = v.toString(16);
  return {
    m: b.label ?? `${b.labelPrefix ?? ''}${d.valid ? d.mnemonic : udLabel(code)}`,
    c: bytesToHex(code),
    rs: rng.u32(),
    r,
    f: b.flags ?? randomFlags(rng),
    s: rng.int(64),
    p: b.st.patches,
    uf,
    ur: b.st.undefRegs,
    ...(b.codeOffset ? { o: b.codeOffset } : {}),
  };
}

const LEGACY_PREFIXES = new Set([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]);

/** Names a #UD case: "lock add" for a lock prefix on a register form, else "ud". */
function udLabel(code: Uint8Array): string {
  let lock = 0;
  while (lock < code.length && LEGACY_PREFIXES.has(code[lock]!) && code[lock] !== 0xf0) lock++;
  if (code[lock] !== 0xf0) return 'ud';
  const unlocked = decodeOne(Uint8Array.from([...code.subarray(0, lock), ...code.subarray(lock + 1)]));
  return unlocked.valid ? `lock ${unlocked.mnemonic}` : 'ud';
}

/** `count` cases from `seed`. */
export function generateCases(seed: number, count: number): CaseInput[] {
  const rng = new Rng(seed);
  const cases: CaseInput[] = [];
  while (cases.length < count) {
    const c = finish(pickFamily(rng)(rng), rng);
    if (c) cases.push(c);
  }
  return cases;
}
