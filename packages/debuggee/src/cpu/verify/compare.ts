/**
 * Comparing the emulator's result with the real CPU's, masking what the architecture leaves
 * undefined, and summarising mismatches by mnemonic for the people fixing them.
 */
import { type CaseInput, type CaseResult, FLAGS_COMPARED, inputRegs, REG_NAMES } from './layout.js';

const FLAG_NAMES: [number, string][] = [
  [0x1, 'CF'],
  [0x4, 'PF'],
  [0x10, 'AF'],
  [0x40, 'ZF'],
  [0x80, 'SF'],
  [0x400, 'DF'],
  [0x800, 'OF'],
];
/** Vectors whose error code the kernel reports faithfully to user space and we compare. */
const ERROR_CODE_VECTORS = new Set([10, 11, 12, 13, 17]);
const PF = 14;

export function flagNames(bits: number): string {
  const names = FLAG_NAMES.filter(([b]) => bits & b).map(([, n]) => n);
  return names.length ? names.join(' ') : '-';
}

function regsAfter(r: CaseResult, input: bigint[]): bigint[] {
  const regs = input.slice();
  for (const [k, v] of Object.entries(r.r)) regs[Number(k)] = BigInt(`0x${v}`);
  return regs;
}

function memoryMap(d: [number, string][]): Map<number, number> {
  const m = new Map<number, number>();
  for (const [off, hex] of d)
    for (let i = 0; i < hex.length; i += 2) m.set(off + i / 2, Number.parseInt(hex.slice(i, i + 2), 16));
  return m;
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** Human-readable differences between expected (real CPU) and got (emulator); empty when equal. */
export function compareResults(c: CaseInput, expected: CaseResult, got: CaseResult): string[] {
  const out: string[] = [];
  if (expected.t !== got.t) out.push(`trap ${trapName(expected.t)} vs ${trapName(got.t)}`);
  if (expected.i !== got.i) out.push(`rip 0x${expected.i} vs 0x${got.i}`);
  if (expected.t === got.t && ERROR_CODE_VECTORS.has(expected.t) && expected.e !== got.e) {
    out.push(`error code ${hex(expected.e)} vs ${hex(got.e)}`);
  }
  if (expected.t === PF && got.t === PF && expected.a !== got.a) out.push(`cr2 0x${expected.a} vs 0x${got.a}`);
  const input = inputRegs(c);
  const re = regsAfter(expected, input);
  const rg = regsAfter(got, input);
  for (let i = 0; i < 16; i++) {
    if (c.ur & (1 << i)) continue;
    if (re[i] !== rg[i]) out.push(`${REG_NAMES[i]} ${hex(re[i]!)} vs ${hex(rg[i]!)}`);
  }
  const flagDiff = (expected.f ^ got.f) & FLAGS_COMPARED & ~c.uf;
  if (flagDiff)
    out.push(`flags ${flagNames(flagDiff)}: ${flagNames(expected.f & flagDiff)} vs ${flagNames(got.f & flagDiff)}`);
  const me = memoryMap(expected.d);
  const mg = memoryMap(got.d);
  const offsets = new Set([...me.keys(), ...mg.keys()]);
  let memDiffs = 0;
  let first = -1;
  for (const off of [...offsets].sort((a, b) => a - b)) {
    if (me.get(off) !== mg.get(off)) {
      if (first < 0) first = off;
      memDiffs++;
    }
  }
  if (memDiffs) out.push(`memory: ${memDiffs} byte(s) differ from data+${hex(first)}`);
  return out;
}

export function trapName(t: number): string {
  const names: Record<number, string> = {
    0: '#DE',
    3: 'end',
    6: '#UD',
    12: '#SS',
    13: '#GP',
    14: '#PF',
    100: 'timeout',
  };
  return names[t] ?? (t < 0 ? `emulator-error(${t})` : `vector ${t}`);
}

export interface Mismatch {
  c: CaseInput;
  diffs: string[];
}

/** Mismatch counts per mnemonic, largest first, as a text table with one example each. */
export function summarise(mismatches: Mismatch[], total: Map<string, number>): string {
  const byMnemonic = new Map<string, Mismatch[]>();
  for (const m of mismatches) {
    const list = byMnemonic.get(m.c.m) ?? [];
    list.push(m);
    byMnemonic.set(m.c.m, list);
  }
  const lines: string[] = [];
  for (const [m, list] of [...byMnemonic].sort((a, b) => b[1].length - a[1].length)) {
    const ex = list[0]!;
    lines.push(`${m}: ${list.length}/${total.get(m) ?? '?'}  e.g. ${ex.c.c}: ${ex.diffs.join('; ')}`);
  }
  return lines.join('\n');
}
