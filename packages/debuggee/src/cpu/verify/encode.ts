/**
 * Building blocks of the case generator: a seeded PRNG, operand values biased toward the edges, and
 * an encoder for ModRM/SIB operands that points memory operands into the data region. Bytes are
 * assembled by hand (not through an assembler) so the cases can carry any prefix order, redundant
 * REX bytes and every addressing form, the way real code and hostile input do.
 */
import { CODE_ADDR, DATA_ADDR, DATA_SIZE, FS_BASE, GS_BASE } from './layout.js';

const MASK64 = (1n << 64n) - 1n;

/** mulberry32: small, fast, and the same on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

export const mask = (bits: number): bigint => (1n << BigInt(bits)) - 1n;
export const to64 = (v: bigint): bigint => v & MASK64;

/** A value for an operand of `bits` bits: an edge value (0, ±1, sign boundaries…) or random. */
export function operandValue(rng: Rng, bits: number): bigint {
  const m = mask(bits);
  const sign = 1n << BigInt(bits - 1);
  let v: bigint;
  switch (rng.int(12)) {
    case 0:
      v = 0n;
      break;
    case 1:
      v = 1n;
      break;
    case 2:
      v = m; // -1
      break;
    case 3:
      v = sign - 1n; // 0x7f…
      break;
    case 4:
      v = sign; // 0x80…
      break;
    case 5:
      v = sign + 1n;
      break;
    case 6:
      v = BigInt(rng.int(64)); // small
      break;
    case 7:
      v = (m - BigInt(rng.int(64))) & m; // small negative
      break;
    case 8: {
      const b = BigInt(rng.int(bits)); // single bit or bit boundary
      v = rng.chance(0.5) ? 1n << b : (1n << b) - 1n;
      break;
    }
    default:
      v = rng.u64() & m;
  }
  return v & m;
}

/** A full 64-bit register holding `v` in its low `bits` (upper bits random, to catch bad zero/sign extension). */
export function regWithLow(rng: Rng, bits: number, v: bigint): bigint {
  if (bits === 64) return v;
  const upper = rng.chance(0.3) ? 0n : rng.u64() & ~mask(bits) & MASK64;
  return upper | (v & mask(bits));
}

export function leBytes(v: bigint, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** The parts of one instruction under construction. */
export class Insn {
  legacy: number[] = [];
  rexW = 0;
  rexR = 0;
  rexX = 0;
  rexB = 0;
  /** Emit a REX byte even when no bit needs it (changes AH..BH into SPL..DIL for byte operands). */
  forceRex = false;
  opcode: number[] = [];
  modrm: number[] = [];
  imm: number[] = [];
  bytes(): number[] {
    const rexNeeded = this.rexW | this.rexR | this.rexX | this.rexB;
    const rex =
      rexNeeded || this.forceRex ? [0x40 | (this.rexW << 3) | (this.rexR << 2) | (this.rexX << 1) | this.rexB] : [];
    return [...this.legacy, ...rex, ...this.opcode, ...this.modrm, ...this.imm];
  }
}

/** Register values, data patches and register masks the case accumulates. */
export class CaseState {
  regs = new Map<number, bigint>();
  patches: [number, string][] = [];
  /** Registers already given a meaningful value; memory-address registers avoid them. */
  busy = new Set<number>();
  undefRegs = 0;
  set(reg: number, value: bigint): void {
    this.regs.set(reg, to64(value));
    this.busy.add(reg);
  }
  patch(offset: number, bytes: number[] | Uint8Array): void {
    let hex = '';
    for (const b of bytes) hex += (b < 16 ? '0' : '') + b.toString(16);
    this.patches.push([offset, hex]);
  }
}

export interface MemOptions {
  /** Bytes the access may touch from the effective address (default: operand size). */
  span?: number;
  /** Allow RIP-relative addressing (only for operands that are read or not accessed at all). */
  ripRelative?: boolean;
  /** Allow an FS/GS segment override. */
  gs?: boolean;
  /** Where in the data region the access should land (offset); random when absent. */
  offset?: number;
  /** Registers the address may not use. */
  avoid?: number[];
}

function freeReg(rng: Rng, st: CaseState, avoid: number[] = []): number {
  for (;;) {
    const r = rng.int(16);
    if (!st.busy.has(r) && !avoid.includes(r)) return r;
  }
}

/** Fills `modrm` with a register operand (mod = 3). */
export function rmRegister(ins: Insn, reg: number, rm: number): void {
  ins.rexR = reg >> 3;
  ins.rexB = rm >> 3;
  ins.modrm = [0xc0 | ((reg & 7) << 3) | (rm & 7)];
}

/**
 * Fills `modrm` (+SIB, displacement) with a memory operand whose effective address lands in the
 * data region (or the code page for RIP-relative), and sets the base/index registers to make it so.
 * Returns the data-region offset accessed (-1 for RIP-relative).
 */
export function rmMemory(rng: Rng, ins: Insn, st: CaseState, reg: number, size: number, opt: MemOptions = {}): number {
  ins.rexR = reg >> 3;
  const span = opt.span ?? size;
  const offset = opt.offset ?? rng.int(DATA_SIZE - span + 1);
  let target = BigInt(DATA_ADDR + offset);
  if (opt.gs !== false && rng.chance(0.06)) {
    // FS/GS overrides are real in 64-bit mode: the base is added.
    const fs = rng.chance(0.5);
    ins.legacy.push(fs ? 0x64 : 0x65);
    target -= BigInt(fs ? FS_BASE : GS_BASE);
  } else if (rng.chance(0.05)) {
    ins.legacy.push(rng.pick([0x26, 0x2e, 0x36, 0x3e])); // ES/CS/SS/DS: ignored in 64-bit mode
  }
  // 67h: 32-bit addressing. The sum wraps at 4 GiB and the registers' upper halves are ignored,
  // so they get random upper halves (the data region is below 4 GiB).
  const addr32 = rng.chance(0.05);
  if (addr32) ins.legacy.push(0x67);
  const fit = (v: bigint): bigint => (addr32 ? (rng.u64() & ~0xffff_ffffn) | (v & 0xffff_ffffn) : v);
  const form = rng.int(opt.ripRelative ? 6 : 5);
  const dispKind = rng.int(3); // none, disp8, disp32
  const disp = dispKind === 0 ? 0 : dispKind === 1 ? rng.int(256) - 128 : rng.int(0x20000) - 0x10000;
  const dispBytes = (mod: number): number[] =>
    mod === 1 ? leBytes(BigInt(disp), 1) : mod === 2 ? leBytes(BigInt(disp), 4) : [];
  if (form === 5) {
    // RIP-relative: into the code page, past the instruction (reads INT3 filler or the snippet).
    ins.modrm = [((reg & 7) << 3) | 5, 0, 0, 0, 0];
    ins.rexB = rng.int(2); // ignored for RIP-relative
    return -1;
  }
  if (form === 4) {
    // No base: SIB base = 101 with mod = 00 → [index*scale + disp32].
    const index = freeReg(rng, st, [4, ...(opt.avoid ?? [])]);
    const scale = rng.int(4);
    const indexVal = BigInt(rng.int(64));
    const d = target - (indexVal << BigInt(scale));
    st.set(index, fit(indexVal));
    ins.rexX = index >> 3;
    ins.rexB = rng.int(2);
    ins.modrm = [((reg & 7) << 3) | 4, (scale << 6) | ((index & 7) << 3) | 5, ...leBytes(d, 4)];
    return offset;
  }
  const base = freeReg(rng, st, opt.avoid);
  let mod = dispKind;
  if (mod === 0 && (base & 7) === 5) mod = 1; // [rbp]/[r13] need a displacement
  const realDisp = mod === 0 ? 0n : BigInt(disp);
  ins.rexB = base >> 3;
  if (form === 0 && (base & 7) !== 4) {
    st.set(base, fit(target - realDisp));
    ins.modrm = [(mod << 6) | ((reg & 7) << 3) | (base & 7), ...dispBytes(mod)];
    return offset;
  }
  // SIB: with an index (forms 1–3) or without (index field 100, needed for rsp/r12 as base).
  const scale = rng.int(4);
  let indexField = 4;
  let indexPart = 0n;
  if (form !== 0) {
    const index = freeReg(rng, st, [base, ...(opt.avoid ?? [])]);
    if (index !== 4) {
      const indexVal = BigInt(rng.int(129) - 64);
      st.set(index, fit(indexVal));
      indexField = index & 7;
      ins.rexX = index >> 3;
      indexPart = indexVal << BigInt(scale);
    }
  }
  st.set(base, fit(target - realDisp - indexPart));
  ins.modrm = [(mod << 6) | ((reg & 7) << 3) | 4, (scale << 6) | (indexField << 3) | (base & 7), ...dispBytes(mod)];
  return offset;
}

/** Puts `v` (size bytes) at a data offset; -1 (RIP-relative) is ignored. */
export function setMemory(st: CaseState, offset: number, v: bigint, size: number): void {
  if (offset >= 0) st.patch(offset, leBytes(v, size));
}

/** Absolute address of a code-page offset, for branch targets. */
export const codeAddr = (offset: number): bigint => BigInt(CODE_ADDR + offset);
