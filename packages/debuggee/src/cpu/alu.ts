/**
 * Two-operand integer arithmetic with lazy flags (SDM Vol. 2: ADD, ADC, SUB, SBB, AND, OR, XOR,
 * CMP, TEST, INC, DEC, NEG). Operation numbers follow the ModRM /digit of opcodes 80-83 (0 ADD,
 * 1 OR, 2 ADC, 3 SBB, 4 AND, 5 SUB, 6 XOR, 7 CMP).
 *
 * Values of size 1/2 are zero-extended, size 4 signed int32, size 8 two halves; the result's high
 * half is returned in `c.aluHi`.
 */
import { LZ_ADC, LZ_ADD, LZ_DEC, LZ_INC, LZ_LOGIC, LZ_SBB, LZ_SUB } from './flags.js';
import type { CpuOperands } from './operands.js';

export const ALU_ADD = 0;
export const ALU_OR = 1;
export const ALU_ADC = 2;
export const ALU_SBB = 3;
export const ALU_AND = 4;
export const ALU_SUB = 5;
export const ALU_XOR = 6;
export const ALU_CMP = 7;

/** Result high half of the last 64-bit ALU operation. */
export const aluOut = { hi: 0 };

function norm(size: number, v: number): number {
  return size === 4 ? v | 0 : size === 1 ? v & 0xff : v & 0xffff;
}

/** dst OP src for sizes 1, 2, 4. */
export function alu32(c: CpuOperands, op: number, size: number, d: number, s: number): number {
  let r: number;
  switch (op) {
    case ALU_ADD:
      r = norm(size, d + s);
      c.setLazy(LZ_ADD, size, d, s, r);
      return r;
    case ALU_OR:
      r = norm(size, d | s);
      c.setLazy(LZ_LOGIC, size, d, s, r);
      return r;
    case ALU_ADC: {
      const cin = c.getCF();
      r = norm(size, d + s + cin);
      c.setLazy(LZ_ADC, size, d, s, r);
      c.lzCin = cin;
      return r;
    }
    case ALU_SBB: {
      const cin = c.getCF();
      r = norm(size, d - s - cin);
      c.setLazy(LZ_SBB, size, d, s, r);
      c.lzCin = cin;
      return r;
    }
    case ALU_AND:
      r = norm(size, d & s);
      c.setLazy(LZ_LOGIC, size, d, s, r);
      return r;
    case ALU_XOR:
      r = norm(size, d ^ s);
      c.setLazy(LZ_LOGIC, size, d, s, r);
      return r;
    default:
      r = norm(size, d - s);
      c.setLazy(LZ_SUB, size, d, s, r);
      return r;
  }
}

/** dst OP src for 64-bit operands; high half of the result in aluOut.hi. */
export function alu64(c: CpuOperands, op: number, dL: number, dH: number, sL: number, sH: number): number {
  let rL: number;
  let rH: number;
  switch (op) {
    case ALU_ADD:
    case ALU_ADC: {
      const cin = op === ALU_ADC ? c.getCF() : 0;
      const l = (dL >>> 0) + (sL >>> 0) + cin;
      rL = l | 0;
      rH = (dH + sH + (l > 0xffffffff ? 1 : 0)) | 0;
      c.setLazy64(op === ALU_ADC ? LZ_ADC : LZ_ADD, dL, dH, sL, sH, rL, rH);
      c.lzCin = cin;
      break;
    }
    case ALU_SUB:
    case ALU_CMP:
    case ALU_SBB: {
      const cin = op === ALU_SBB ? c.getCF() : 0;
      const l = (dL >>> 0) - (sL >>> 0) - cin;
      rL = l | 0;
      rH = (dH - sH - (l < 0 ? 1 : 0)) | 0;
      c.setLazy64(op === ALU_SBB ? LZ_SBB : LZ_SUB, dL, dH, sL, sH, rL, rH);
      c.lzCin = cin;
      break;
    }
    case ALU_OR:
      rL = dL | sL;
      rH = dH | sH;
      c.setLazy64(LZ_LOGIC, dL, dH, sL, sH, rL, rH);
      break;
    case ALU_AND:
      rL = dL & sL;
      rH = dH & sH;
      c.setLazy64(LZ_LOGIC, dL, dH, sL, sH, rL, rH);
      break;
    default:
      rL = dL ^ sL;
      rH = dH ^ sH;
      c.setLazy64(LZ_LOGIC, dL, dH, sL, sH, rL, rH);
      break;
  }
  aluOut.hi = rH;
  return rL;
}

/**
 * Register-register 64-bit form (`dst` and `src` are register numbers): the hot case, kept small so
 * the optimiser inlines it into the handlers; ADC/SBB take the general path.
 */
export function aluReg64(c: CpuOperands, op: number, dst: number, src: number, write: boolean): void {
  const lo = c.lo;
  const hi = c.hi;
  const dL = lo[dst]!;
  const dH = hi[dst]!;
  const sL = lo[src]!;
  const sH = hi[src]!;
  let rL: number;
  let rH: number;
  let kind: number;
  if (op === ALU_ADD) {
    const l = (dL >>> 0) + (sL >>> 0);
    rL = l | 0;
    rH = (dH + sH + (l > 0xffffffff ? 1 : 0)) | 0;
    kind = LZ_ADD;
    c.lzCin = 0;
  } else if (op === ALU_SUB || op === ALU_CMP) {
    const l = (dL >>> 0) - (sL >>> 0);
    rL = l | 0;
    rH = (dH - sH - (l < 0 ? 1 : 0)) | 0;
    kind = LZ_SUB;
    c.lzCin = 0;
  } else if (op === ALU_XOR) {
    rL = dL ^ sL;
    rH = dH ^ sH;
    kind = LZ_LOGIC;
  } else if (op === ALU_AND) {
    rL = dL & sL;
    rH = dH & sH;
    kind = LZ_LOGIC;
  } else if (op === ALU_OR) {
    rL = dL | sL;
    rH = dH | sH;
    kind = LZ_LOGIC;
  } else {
    rL = alu64(c, op, dL, dH, sL, sH);
    rH = aluOut.hi;
    if (write) {
      lo[dst] = rL;
      hi[dst] = rH;
    }
    return;
  }
  c.setLazy64(kind, dL, dH, sL, sH, rL, rH);
  if (write) {
    lo[dst] = rL;
    hi[dst] = rH;
  }
}

/** Generic: any size; high half in aluOut.hi. */
export function alu(c: CpuOperands, op: number, size: number, dL: number, dH: number, sL: number, sH: number): number {
  if (size === 8) return alu64(c, op, dL, dH, sL, sH);
  aluOut.hi = 0;
  return alu32(c, op, size, dL, sL);
}

/** INC (dec = false) / DEC: CF preserved. */
export function incDec(c: CpuOperands, size: number, dL: number, dH: number, dec: boolean): number {
  const cf = c.getCF();
  let rL: number;
  if (size === 8) {
    const l = (dL >>> 0) + (dec ? -1 : 1);
    rL = l | 0;
    const rH = (dH + (l > 0xffffffff ? 1 : l < 0 ? -1 : 0)) | 0;
    c.setLazy64(dec ? LZ_DEC : LZ_INC, dL, dH, 1, 0, rL, rH);
    aluOut.hi = rH;
  } else {
    rL = norm(size, dec ? dL - 1 : dL + 1);
    c.setLazy(dec ? LZ_DEC : LZ_INC, size, dL, 1, rL);
    aluOut.hi = 0;
  }
  c.lzCin = cf;
  return rL;
}

/** NEG: 0 - dst with SUB flags (CF = dst != 0). */
export function neg(c: CpuOperands, size: number, dL: number, dH: number): number {
  if (size === 8) return alu64(c, ALU_SUB, 0, 0, dL, dH);
  aluOut.hi = 0;
  return alu32(c, ALU_SUB, size, 0, dL);
}
