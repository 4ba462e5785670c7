/**
 * Instruction families for integer arithmetic and logic: ALU group, test, inc/dec, neg/not,
 * mul/imul/div/idiv, shifts and rotates, shld/shrd, bt*, bit scans, bswap, xadd/cmpxchg, sign
 * conversions, cmovcc and setcc. Each returns one snippet with its operands set up.
 */
import { mask, operandValue, type Rng, regWithLow, rmMemory, setMemory } from './encode.js';
import {
  type Built,
  type Family,
  immediate,
  izBytes,
  newCase,
  pickReg,
  rmOperand,
  SIZES,
  setRegOperand,
  sizePrefix,
  WIDE,
} from './gen-common.js';

const LOCK = 0xf0;

/** add/or/adc/sbb/and/sub/xor/cmp in all eight encodings. */
export const alu: Family = (rng) => {
  const { ins, st } = newCase();
  const op = rng.int(8);
  const bits = rng.pick(SIZES);
  const w = bits === 8 ? 0 : 1;
  if (bits !== 8) sizePrefix(rng, ins, bits);
  else if (rng.chance(0.3)) ins.forceRex = true;
  const form = rng.int(7);
  let expectUd = false;
  if (form <= 1) {
    // 00/01 r/m, reg   02/03 reg, r/m
    const reg = pickReg(rng);
    setRegOperand(rng, st, reg, bits);
    ins.opcode = [(op << 3) | (form << 1) | w];
    const isMem = rmOperand(rng, ins, st, reg, bits, { ripRelative: form === 1 });
    if (form === 0 && op !== 7 && rng.chance(0.15)) {
      ins.legacy.push(LOCK);
      expectUd = !isMem;
    }
  } else if (form === 2) {
    // 04/05 AL/eAX, imm
    setRegOperand(rng, st, 0, bits);
    ins.opcode = [(op << 3) | 4 | w];
    ins.imm = immediate(rng, bits === 8 ? 1 : izBytes(bits));
  } else {
    // 80 ib, 81 iz, 83 ib (sign-extended)
    const opc = bits === 8 ? 0x80 : rng.pick([0x81, 0x83]);
    ins.opcode = [opc];
    const isMem = rmOperand(rng, ins, st, op, bits);
    ins.imm = immediate(rng, opc === 0x81 ? izBytes(bits) : 1);
    if (op !== 7 && rng.chance(0.15)) {
      ins.legacy.push(LOCK);
      expectUd = !isMem;
    }
  }
  return { code: ins.bytes(), st, expectUd };
};

/** test r/m,reg (84/85), test AL/eAX,imm (A8/A9), test r/m,imm (F6/F7 /0). */
export const test: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(SIZES);
  const w = bits === 8 ? 0 : 1;
  if (bits !== 8) sizePrefix(rng, ins, bits);
  const form = rng.int(3);
  if (form === 0) {
    const reg = pickReg(rng);
    setRegOperand(rng, st, reg, bits);
    ins.opcode = [0x84 | w];
    rmOperand(rng, ins, st, reg, bits);
  } else if (form === 1) {
    setRegOperand(rng, st, 0, bits);
    ins.opcode = [0xa8 | w];
    ins.imm = immediate(rng, bits === 8 ? 1 : izBytes(bits));
  } else {
    ins.opcode = [0xf6 | w];
    rmOperand(rng, ins, st, 0, bits);
    ins.imm = immediate(rng, bits === 8 ? 1 : izBytes(bits));
  }
  return { code: ins.bytes(), st };
};

/** Group 3/4/5 one-operand forms: FE/FF /0 inc, /1 dec; F6/F7 /2 not, /3 neg. */
export const unary: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(SIZES);
  const w = bits === 8 ? 0 : 1;
  if (bits !== 8) sizePrefix(rng, ins, bits);
  const [opc, digit] = rng.pick([
    [0xfe, 0],
    [0xfe, 1],
    [0xf6, 2],
    [0xf6, 3],
  ] as const);
  ins.opcode = [opc | w];
  const isMem = rmOperand(rng, ins, st, digit, bits);
  let expectUd = false;
  if (rng.chance(0.1)) {
    ins.legacy.push(LOCK);
    expectUd = !isMem;
  }
  return { code: ins.bytes(), st, expectUd };
};

/** mul/imul/div/idiv (F6/F7 /4–/7) with dividends chosen so both quotients and #DE occur. */
export const mulDiv: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(SIZES);
  const w = bits === 8 ? 0 : 1;
  if (bits !== 8) sizePrefix(rng, ins, bits);
  const digit = 4 + rng.int(4);
  ins.opcode = [0xf6 | w];
  const m = mask(bits);
  const divisor = rng.chance(0.08) ? 0n : operandValue(rng, bits);
  let low = operandValue(rng, bits);
  let high: bigint;
  if (digit === 6) {
    // Unsigned: high < divisor gives a quotient that fits.
    high = rng.chance(0.8) && divisor > 0n ? BigInt.asUintN(64, rng.u64()) % divisor : operandValue(rng, bits);
  } else if (digit === 7) {
    // Signed: mostly the sign extension of the low half, as cqo would make it.
    const negative = (low >> BigInt(bits - 1)) & 1n;
    high = rng.chance(0.8) ? (negative ? m : 0n) : operandValue(rng, bits);
    if (rng.chance(0.05)) {
      low = 1n << BigInt(bits - 1); // most negative / -1 → #DE
      high = m;
    }
  } else {
    high = operandValue(rng, bits);
  }
  // RAX/RDX are reserved so a memory divisor is not addressed through them; a register divisor
  // may still be RAX/RDX (then the values below win, as the instruction would see them).
  st.busy.add(0);
  st.busy.add(2);
  rmOperand(rng, ins, st, digit, bits, { value: divisor, allowRsp: true });
  if (bits === 8) {
    st.set(0, regWithLow(rng, 16, ((high & 0xffn) << 8n) | (low & 0xffn)));
  } else {
    st.set(0, regWithLow(rng, bits, low));
    st.set(2, regWithLow(rng, bits, high));
  }
  return { code: ins.bytes(), st };
};

/** imul reg, r/m (0F AF); imul reg, r/m, imm8 (6B); imul reg, r/m, imm (69). */
export const imulMulti: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(WIDE);
  sizePrefix(rng, ins, bits);
  const reg = pickReg(rng);
  setRegOperand(rng, st, reg, bits);
  const form = rng.int(3);
  ins.opcode = form === 0 ? [0x0f, 0xaf] : form === 1 ? [0x6b] : [0x69];
  rmOperand(rng, ins, st, reg, bits, { ripRelative: true });
  if (form === 1) ins.imm = immediate(rng, 1);
  if (form === 2) ins.imm = immediate(rng, izBytes(bits));
  return { code: ins.bytes(), st };
};

/** A shift count: every value 0..70 equally often, plus random bytes. */
function shiftCount(rng: Rng): number {
  return rng.chance(0.75) ? rng.int(71) : rng.int(256);
}

/** Group 2: rol/ror/rcl/rcr/shl/shr/sar by 1 (D0/D1), CL (D2/D3) and imm8 (C0/C1). */
export const shift: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(SIZES);
  const w = bits === 8 ? 0 : 1;
  if (bits !== 8) sizePrefix(rng, ins, bits);
  const digit = rng.pick([0, 1, 2, 3, 4, 5, 7]); // /6 is an undocumented alias of /4
  const form = rng.int(3);
  let count: number;
  if (form === 0) {
    count = 1;
    ins.opcode = [0xd0 | w];
  } else if (form === 1) {
    count = shiftCount(rng);
    ins.opcode = [0xd2 | w];
  } else {
    count = shiftCount(rng);
    ins.opcode = [0xc0 | w];
  }
  if (form === 1) st.set(1, (rng.u64() & ~0xffn) | BigInt(count)); // CL first: the operand may reuse RCX
  rmOperand(rng, ins, st, digit, bits);
  if (form === 1) {
    // The operand may have landed in RCX (or CH); recompute the count from what CL now holds.
    count = Number(st.regs.get(1)! & 0xffn);
  }
  if (form === 2) ins.imm = [count];
  return { code: ins.bytes(), st, count, bits };
};

/** shld/shrd by imm8 (0F A4/AC) and CL (0F A5/AD). 16-bit counts above 16 give undefined results: skipped. */
export const doubleShift: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(WIDE);
  sizePrefix(rng, ins, bits);
  const left = rng.chance(0.5);
  const byCl = rng.chance(0.5);
  let count = shiftCount(rng);
  if (bits === 16) count = (count & 0xe0) | ((count & 31) % 17);
  const reg = pickReg(rng, true);
  setRegOperand(rng, st, reg, bits);
  if (byCl) st.set(1, (rng.u64() & ~0xffn) | BigInt(count));
  ins.opcode = [0x0f, (left ? 0xa4 : 0xac) | (byCl ? 1 : 0)];
  rmOperand(rng, ins, st, reg, bits);
  if (byCl) {
    count = Number(st.regs.get(1)! & 0xffn);
    if (bits === 16 && (count & 31) > 16) st.set(1, (st.regs.get(1)! & ~0x1fn) | BigInt((count & 31) % 17));
    count = Number(st.regs.get(1)! & 0xffn);
  } else {
    ins.imm = [count];
  }
  return { code: ins.bytes(), st, count, bits };
};

/** bt/bts/btr/btc with a register bit offset (0F A3/AB/B3/BB) and with imm8 (0F BA /4–/7). */
export const bitTest: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(WIDE);
  sizePrefix(rng, ins, bits);
  const kind = rng.int(4); // bt, bts, btr, btc
  let isMem: boolean;
  if (rng.chance(0.6)) {
    ins.opcode = [0x0f, [0xa3, 0xab, 0xb3, 0xbb][kind]!];
    const reg = pickReg(rng);
    isMem = rng.chance(0.5);
    if (isMem) {
      // A register offset reaches outside the operand: keep it within the data region around +0x1000.
      const limit = bits === 16 ? 0x8000 : 0x7f00;
      const offset = BigInt(rng.int(2 * limit) - limit);
      st.set(reg, regWithLow(rng, bits, offset & mask(bits)));
      const off = rmMemory(rng, ins, st, reg, bits / 8, { offset: 0x1000, gs: false });
      setMemory(st, off, operandValue(rng, bits), bits / 8);
    } else {
      setRegOperand(rng, st, reg, bits);
      rmOperand(rng, ins, st, reg, bits, { mem: 0 });
    }
  } else {
    ins.opcode = [0x0f, 0xba];
    isMem = rmOperand(rng, ins, st, 4 + kind, bits);
    ins.imm = [rng.int(256)];
  }
  if (kind !== 0 && isMem && rng.chance(0.15)) ins.legacy.push(LOCK);
  return { code: ins.bytes(), st };
};

/** bsf/bsr (0F BC/BD), tzcnt/lzcnt (F3 0F BC/BD), popcnt (F3 0F B8); zero sources often. */
export const bitScan: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(WIDE);
  const [rep, op] = rng.pick([
    [false, 0xbc],
    [false, 0xbd],
    [true, 0xbc],
    [true, 0xbd],
    [true, 0xb8],
  ] as const);
  if (rep) ins.legacy.push(0xf3);
  sizePrefix(rng, ins, bits);
  if (rep && rng.chance(0.3)) ins.legacy.reverse(); // 66 F3 and F3 66 both work
  ins.opcode = [0x0f, op];
  const reg = pickReg(rng);
  setRegOperand(rng, st, reg, bits);
  const zero = rng.chance(0.2);
  rmOperand(rng, ins, st, reg, bits, zero ? { value: 0n } : {});
  const b: Built = { code: ins.bytes(), st };
  // bsf/bsr of zero leave the destination undefined (SDM: "the content of the destination is undefined").
  if (!rep && zero) st.undefRegs |= 1 << reg;
  return b;
};

/** bswap r32/r64 (0F C8+r); the 16-bit form is undefined and not generated. */
export const bswap: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.chance(0.5) ? 32 : 64;
  if (bits === 64) ins.rexW = 1;
  const r = pickReg(rng);
  ins.rexB = r >> 3;
  if (rng.chance(0.15)) ins.forceRex = true;
  setRegOperand(rng, st, r, bits);
  ins.opcode = [0x0f, 0xc8 + (r & 7)];
  return { code: ins.bytes(), st };
};

/** xadd (0F C0/C1) and cmpxchg (0F B0/B1), plain and locked, cmpxchg with both outcomes. */
export const exchangeAdd: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(SIZES);
  const w = bits === 8 ? 0 : 1;
  if (bits !== 8) sizePrefix(rng, ins, bits);
  const cmpxchg = rng.chance(0.5);
  ins.opcode = [0x0f, (cmpxchg ? 0xb0 : 0xc0) | w];
  const reg = pickReg(rng);
  setRegOperand(rng, st, reg, bits);
  const dest = operandValue(rng, bits);
  if (cmpxchg) {
    const acc = rng.chance(0.5) ? dest : operandValue(rng, bits);
    st.set(0, regWithLow(rng, bits, acc));
  }
  const isMem = rmOperand(rng, ins, st, reg, bits, { value: dest });
  let expectUd = false;
  if (rng.chance(0.3)) {
    ins.legacy.push(LOCK);
    expectUd = !isMem;
  }
  return { code: ins.bytes(), st, expectUd };
};

/** cbw/cwde/cdqe (98) and cwd/cdq/cqo (99). */
export const convert: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(WIDE);
  sizePrefix(rng, ins, bits);
  setRegOperand(rng, st, 0, bits);
  st.set(2, rng.u64());
  ins.opcode = [rng.chance(0.5) ? 0x98 : 0x99];
  return { code: ins.bytes(), st };
};

/** cmovcc (0F 40+cc): a false condition still zero-extends a 32-bit destination. */
export const cmov: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(WIDE);
  sizePrefix(rng, ins, bits);
  const reg = pickReg(rng);
  setRegOperand(rng, st, reg, bits);
  ins.opcode = [0x0f, 0x40 + rng.int(16)];
  rmOperand(rng, ins, st, reg, bits, { ripRelative: true });
  return { code: ins.bytes(), st };
};

/** setcc (0F 90+cc) into a byte register or memory; ModRM.reg is ignored. */
export const setcc: Family = (rng) => {
  const { ins, st } = newCase();
  if (rng.chance(0.3)) ins.forceRex = true;
  ins.opcode = [0x0f, 0x90 + rng.int(16)];
  rmOperand(rng, ins, st, rng.int(8), 8);
  return { code: ins.bytes(), st };
};
