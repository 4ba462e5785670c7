/**
 * Shared vocabulary of the instruction families: what a family returns, operand-size prefixes,
 * register picking and operand setup for the common "r/m, reg" shapes.
 */
import {
  CaseState,
  Insn,
  mask,
  operandValue,
  type Rng,
  regWithLow,
  rmMemory,
  rmRegister,
  setMemory,
} from './encode.js';

/** One generated snippet before the reference decoder has looked at it. */
export interface Built {
  code: number[];
  st: CaseState;
  /** Input RFLAGS (FLAGS_COMPARED bits); random when absent. */
  flags?: number;
  /** Raw count and operand width of a shift/rotate, for the count-dependent undefined flags. */
  count?: number;
  bits?: number;
  /** The snippet is meant to raise #UD (the reference decoder may call it invalid). */
  expectUd?: boolean;
  /** Label override (sequences). */
  label?: string;
  /** Prefix for the label ("rep ", "repne " …). */
  labelPrefix?: string;
  /** Offset of the snippet in the code page (near the end: instruction fetch runs off the page). */
  codeOffset?: number;
}

export type Family = (rng: Rng) => Built;

export const SIZES = [8, 16, 32, 64] as const;
export const WIDE = [16, 32, 64] as const;

/** Operand-size prefix for a non-byte opcode (a redundant 66 with REX.W now and then: W wins). */
export function sizePrefix(rng: Rng, ins: Insn, bits: number): void {
  if (bits === 16) ins.legacy.push(0x66);
  if (bits === 64) {
    ins.rexW = 1;
    if (rng.chance(0.05)) ins.legacy.push(0x66);
  }
  if (rng.chance(0.15)) ins.forceRex = true;
}

/** Random register; RSP only when the instruction does not use the stack. */
export function pickReg(rng: Rng, allowRsp = true): number {
  for (;;) {
    const r = rng.int(16);
    if (allowRsp || r !== 4) return r;
  }
}

/**
 * Gives register `r` an operand value of `bits` bits. For byte registers both low bytes get edge
 * values, since without REX encodings 4–7 name AH..BH.
 */
export function setRegOperand(rng: Rng, st: CaseState, r: number, bits: number): bigint {
  const v = operandValue(rng, bits);
  if (bits === 8) {
    const high = operandValue(rng, 8);
    st.set(r, regWithLow(rng, 16, (high << 8n) | v));
  } else {
    st.set(r, regWithLow(rng, bits, v));
  }
  return v;
}

export interface RmOptions {
  /** Probability of a memory operand. */
  mem?: number;
  ripRelative?: boolean;
  span?: number;
  offset?: number;
  /** Value to give the r/m operand (random edge value when absent). */
  value?: bigint;
  allowRsp?: boolean;
}

/**
 * Encodes the r/m operand (register or memory) with `reg` in ModRM.reg, giving it a value.
 * Returns true when it is a memory operand.
 */
export function rmOperand(rng: Rng, ins: Insn, st: CaseState, reg: number, bits: number, o: RmOptions = {}): boolean {
  const isMem = rng.chance(o.mem ?? 0.4);
  const v = o.value ?? operandValue(rng, bits);
  if (!isMem) {
    const rm = pickReg(rng, o.allowRsp ?? true);
    if (bits === 8) st.set(rm, regWithLow(rng, 16, (operandValue(rng, 8) << 8n) | (v & 0xffn)));
    else st.set(rm, regWithLow(rng, bits, v & mask(bits)));
    rmRegister(ins, reg, rm);
    return false;
  }
  const off = rmMemory(rng, ins, st, reg, bits / 8, {
    ripRelative: o.ripRelative,
    span: o.span,
    offset: o.offset,
    avoid: o.allowRsp === false ? [4] : [],
  });
  setMemory(st, off, v, bits / 8);
  return true;
}

/** Immediate bytes of `n` bytes holding an edge value. */
export function immediate(rng: Rng, n: number): number[] {
  const v = operandValue(rng, n * 8);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

/** Immediate width for the "iz" operands: 2 for 16-bit, else 4. */
export const izBytes = (bits: number): number => (bits === 16 ? 2 : 4);

export function newCase(): { ins: Insn; st: CaseState } {
  return { ins: new Insn(), st: new CaseState() };
}

/** Random arithmetic flags plus DF. */
export function randomFlags(rng: Rng): number {
  return rng.u32() & 0xcd5;
}
