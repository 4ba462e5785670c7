/**
 * What a verification case is, and the fixed address-space layout it runs in. The native oracle
 * (oracle/oracle.c) and the emulator adapter (snippet.ts) both build exactly this picture, so a
 * case means the same thing on both sides:
 *
 *   CODE_ADDR  one 4 KiB page, filled with INT3, the case's bytes at its start (or at offset `o`,
 *              cut at the page end: nothing is mapped after the page). A run ends on the first #BP
 *              (the INT3 after the snippet, the INT3 a branch landed on) or on a real fault.
 *   DATA_ADDR  DATA_SIZE bytes filled with `dataPattern(seed)` and then the case's patches; memory
 *              operands point here through base registers, RSP normally too (STACK_TOP).
 *   GS_BASE,   the GS and FS segment bases, inside the data region, for GS/FS-prefixed operands.
 *   FS_BASE
 *
 * Registers the case does not set get `fillerRegs(regSeed)`, so fixtures store only operands.
 */

export const CODE_ADDR = 0x1000_0000;
export const CODE_SIZE = 0x1000;
export const DATA_ADDR = 0x2000_0000;
export const DATA_SIZE = 0x2000;
export const GS_BASE = 0x2000_1000;
export const FS_BASE = 0x2000_0c00;
export const STACK_TOP = DATA_ADDR + 0x1800;
/** Trap number the oracle reports when its watchdog fired (the snippet never ended). */
export const TRAPNO_TIMEOUT = 100;

/** RFLAGS bits the cases set and compare: the six arithmetic flags and DF. */
export const FLAG_CF = 0x1;
export const FLAG_PF = 0x4;
export const FLAG_AF = 0x10;
export const FLAG_ZF = 0x40;
export const FLAG_SF = 0x80;
export const FLAG_DF = 0x400;
export const FLAG_OF = 0x800;
export const FLAGS_COMPARED = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_DF | FLAG_OF;

/** Register names in Intel encoding order (the index used everywhere in a case). */
export const REG_NAMES = [
  'rax',
  'rcx',
  'rdx',
  'rbx',
  'rsp',
  'rbp',
  'rsi',
  'rdi',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
] as const;
export const RSP = 4;

/** One case as the generator produces it and the fixtures store it. */
export interface CaseInput {
  /** Label for reports: the iced-x86 mnemonic of the (first) instruction, lower case. */
  m: string;
  /** Code bytes, hex. */
  c: string;
  /** Seed for the registers the case does not set. */
  rs: number;
  /** Registers the case sets, index → 64-bit value as hex. */
  r: Record<string, string>;
  /** Input RFLAGS (only FLAGS_COMPARED bits are used). */
  f: number;
  /** Data pattern seed. */
  s: number;
  /** Data patches: [offset into the data region, hex bytes]. */
  p: [number, string][];
  /** RFLAGS bits whose result is architecturally undefined for this case (not compared). */
  uf: number;
  /** Registers (bit per index) whose result is undefined for this case (not compared). */
  ur: number;
  /** Offset of the snippet in the code page (absent = 0); a snippet is cut at the page end. */
  o?: number;
}

/** What the real CPU did. */
export interface CaseResult {
  /** Trap number: 3 when the run ended on an INT3, else the fault vector, or TRAPNO_TIMEOUT. */
  t: number;
  /** Error code the kernel recorded (meaningful for #GP). */
  e: number;
  /** CR2 (meaningful for #PF). */
  a: string;
  /** RIP when the run stopped, hex (after the INT3 for a trap, at the instruction for a fault). */
  i: string;
  /** Result RFLAGS & FLAGS_COMPARED. */
  f: number;
  /** Registers that differ from the input, index → hex. */
  r: Record<string, string>;
  /** Data bytes that differ from the input: [offset, hex]. */
  d: [number, string][];
}

export interface FixtureCase extends CaseInput {
  x: CaseResult;
}

const MASK64 = (1n << 64n) - 1n;

function splitmix64(x: bigint): bigint {
  x = (x + 0x9e3779b97f4a7c15n) & MASK64;
  let z = x;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

/** The sixteen input registers of a case: fillers from `rs`, RSP = STACK_TOP, then the overrides. */
export function inputRegs(c: CaseInput): bigint[] {
  const regs: bigint[] = [];
  for (let i = 0; i < 16; i++) regs.push(splitmix64(BigInt(c.rs) * 16n + BigInt(i)));
  regs[RSP] = BigInt(STACK_TOP);
  for (const [k, v] of Object.entries(c.r)) regs[Number(k)] = BigInt(`0x${v}`);
  return regs;
}

const patternCache = new Map<number, Uint8Array>();

/** The data region's initial bytes for a seed: xorshift32 words, as oracle.c fill_pattern(). */
export function dataPattern(seed: number): Uint8Array {
  let cached = patternCache.get(seed);
  if (cached) return cached;
  cached = new Uint8Array(DATA_SIZE);
  const words = new Uint32Array(cached.buffer);
  let s = (seed ^ 0x9e3779b9) >>> 0;
  if (s === 0) s = 1;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    words[i] = s;
  }
  patternCache.set(seed, cached);
  return cached;
}

/** Initial data region of a case: pattern plus patches (a fresh copy). */
export function initialData(c: CaseInput): Uint8Array {
  const data = dataPattern(c.s).slice();
  for (const [off, hex] of c.p) data.set(hexToBytes(hex), off);
  return data;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHex(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  return s;
}

/** Changed byte runs between two equal-length buffers (runs of at most 128 bytes, as the oracle prints). */
export function diffRuns(before: Uint8Array, after: Uint8Array): [number, string][] {
  const runs: [number, string][] = [];
  // Most cases touch a few bytes of 8 KiB: skip equal 32-bit words when both buffers allow it.
  const aligned = before.byteOffset % 4 === 0 && after.byteOffset % 4 === 0 && after.length % 4 === 0;
  const wb = aligned ? new Uint32Array(before.buffer, before.byteOffset, after.length >> 2) : null;
  const wa = aligned ? new Uint32Array(after.buffer, after.byteOffset, after.length >> 2) : null;
  for (let i = 0; i < after.length; ) {
    if (wa && wb && (i & 3) === 0 && wa[i >> 2] === wb[i >> 2]) {
      i += 4;
      continue;
    }
    if (after[i] === before[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < after.length && after[j] !== before[j] && j - i < 128) j++;
    runs.push([i, bytesToHex(after.subarray(i, j))]);
    i = j;
  }
  return runs;
}
