/**
 * One-byte opcode map, arithmetic (SDM Vol. 2D Table A-2): ADD/OR/ADC/SBB/AND/SUB/XOR/CMP (00-3D),
 * group 1 (80/81/83), TEST (84/85/A8/A9), group 2 shifts (C0/C1/D0-D3), group 3 (F6/F7: TEST, NOT,
 * NEG, MUL, IMUL, DIV, IDIV), groups 4/5 (FE/FF: INC, DEC, indirect CALL/JMP, PUSH) and IMUL with
 * an immediate (69/6B). Register-form fast paths skip the general ModRM decoder.
 */
import { ALU_CMP, alu, alu32, alu64, aluOut, aluReg64, incDec, neg } from './alu.js';
import type { Cpu } from './cpu.js';
import { fetchIz, izBytes, OPS, signHi } from './dispatch.js';
import { VEC_GP, VEC_UD } from './faults.js';
import { divAcc, imulTrunc, mulAcc } from './muldiv.js';
import { isCanonical } from './paging.js';
import { SH_SHL, shift } from './shifts.js';
import { REG_RAX, TWO_32 } from './state.js';

// ---- ALU 00-3F ----
for (let op = 0; op < 8; op++) {
  const base = op * 8;
  const write = op !== ALU_CMP;
  OPS[base] = (c) => {
    c.decodeModrm(0);
    const s = c.readReg(1, c.mReg);
    const r = alu32(c, op, 1, c.readRm(1), s);
    if (write) c.writeRm(1, r, 0);
  };
  OPS[base + 1] = (c) => {
    const sz = c.osize;
    const m = c.fetch8();
    if (m >= 0xc0 && sz !== 2) {
      // Register-register fast path (no ModRM decoder call): r/m is the destination.
      const rex = c.rex;
      aluRegReg(c, op, sz, (m & 7) | ((rex & 1) << 3), ((m >> 3) & 7) | ((rex & 4) << 1), write);
      return;
    }
    c.ipo--;
    c.decodeModrm(0);
    const s = c.readReg(sz, c.mReg);
    const sh = c.hi[c.mReg]!;
    const d = c.readRm(sz);
    const r = alu(c, op, sz, d, c.hi64, s, sh);
    if (write) c.writeRm(sz, r, aluOut.hi);
  };
  OPS[base + 2] = (c) => {
    c.decodeModrm(0);
    const s = c.readRm(1);
    const r = alu32(c, op, 1, c.readReg(1, c.mReg), s);
    if (write) c.writeReg(1, c.mReg, r, 0);
  };
  OPS[base + 3] = (c) => {
    const sz = c.osize;
    const m = c.fetch8();
    if (m >= 0xc0 && sz !== 2) {
      // Register-register fast path: the reg field is the destination.
      const rex = c.rex;
      aluRegReg(c, op, sz, ((m >> 3) & 7) | ((rex & 4) << 1), (m & 7) | ((rex & 1) << 3), write);
      return;
    }
    c.ipo--;
    c.decodeModrm(0);
    const s = c.readRm(sz);
    const sh = c.hi64;
    const r = alu(c, op, sz, c.readReg(sz, c.mReg), c.hi[c.mReg]!, s, sh);
    if (write) c.writeReg(sz, c.mReg, r, aluOut.hi);
  };
  OPS[base + 4] = (c) => {
    const i = c.fetch8();
    const r = alu32(c, op, 1, c.lo[REG_RAX]! & 0xff, i);
    if (write) c.writeReg(1, REG_RAX, r, 0);
  };
  OPS[base + 5] = (c) => {
    const sz = c.osize;
    const i = fetchIz(c);
    const r = alu(c, op, sz, sz === 2 ? c.lo[REG_RAX]! & 0xffff : c.lo[REG_RAX]!, c.hi[REG_RAX]!, i, signHi(i));
    if (write) c.writeReg(sz, REG_RAX, r, aluOut.hi);
  };
}

// ---- Group 1: 80, 81, 83 ----
OPS[0x80] = (c) => {
  c.decodeModrm(1);
  const i = c.fetch8();
  const op = c.mOp;
  const r = alu32(c, op, 1, c.readRm(1), i);
  if (op !== ALU_CMP) c.writeRm(1, r, 0);
};
OPS[0x81] = (c) => {
  c.decodeModrm(izBytes(c));
  const i = fetchIz(c);
  const sz = c.osize;
  const op = c.mOp;
  const d = c.readRm(sz);
  const r = alu(c, op, sz, d, c.hi64, sz === 2 ? i & 0xffff : i, signHi(i));
  if (op !== ALU_CMP) c.writeRm(sz, r, aluOut.hi);
};
OPS[0x83] = (c) => {
  const sz = c.osize;
  const m = c.fetch8();
  if (m >= 0xc0 && sz !== 2) {
    const rm = (m & 7) | ((c.rex & 1) << 3);
    const op = (m >> 3) & 7;
    const i = c.fetchS8();
    const lo = c.lo;
    if (sz === 8) {
      const r = alu64(c, op, lo[rm]!, c.hi[rm]!, i, i >> 31);
      if (op !== ALU_CMP) {
        lo[rm] = r;
        c.hi[rm] = aluOut.hi;
      }
    } else {
      const r = alu32(c, op, 4, lo[rm]!, i);
      if (op !== ALU_CMP) {
        lo[rm] = r;
        c.hi[rm] = 0;
      }
    }
    return;
  }
  c.ipo--;
  c.decodeModrm(1);
  const i = c.fetchS8();
  const op = c.mOp;
  const d = c.readRm(sz);
  const r = alu(c, op, sz, d, c.hi64, sz === 2 ? i & 0xffff : sz === 1 ? i & 0xff : i, signHi(i));
  if (op !== ALU_CMP) c.writeRm(sz, r, aluOut.hi);
};

// ---- TEST / XCHG / MOV ----
OPS[0x84] = (c) => {
  c.decodeModrm(0);
  alu32(c, 4, 1, c.readRm(1), c.readReg(1, c.mReg));
};
OPS[0x85] = (c) => {
  c.decodeModrm(0);
  const sz = c.osize;
  const d = c.readRm(sz);
  alu(c, 4, sz, d, c.hi64, c.readReg(sz, c.mReg), c.hi[c.mReg]!);
};
OPS[0xa8] = (c) => {
  alu32(c, 4, 1, c.lo[REG_RAX]! & 0xff, c.fetch8());
};
OPS[0xa9] = (c) => {
  const sz = c.osize;
  const i = fetchIz(c);
  alu(c, 4, sz, sz === 2 ? c.lo[REG_RAX]! & 0xffff : c.lo[REG_RAX]!, c.hi[REG_RAX]!, i, signHi(i));
};

// ---- Group 2 (shifts): C0, C1, D0-D3 ----
/** Register-register ALU op on 32- or 64-bit registers; small enough for V8 to inline in the handlers. */
function aluRegReg(c: Cpu, op: number, size: number, dst: number, src: number, write: boolean): void {
  if (size === 8) {
    aluReg64(c, op, dst, src, write);
    return;
  }
  const r = alu32(c, op, 4, c.lo[dst]!, c.lo[src]!);
  if (write) {
    c.lo[dst] = r;
    c.hi[dst] = 0;
  }
}

function grp2(c: Cpu, size: number, count: number): void {
  const op = c.mOp;
  if (op === 6) c.raise(VEC_UD); // SAL alias /6 is not an architectural encoding
  const v = c.readRm(size);
  const r = shift(c, op, size, v, c.hi64, count);
  c.writeRm(size, r, aluOut.hi);
}
OPS[0xc0] = (c) => {
  c.decodeModrm(1);
  grp2(c, 1, c.fetch8());
};
/** Group-2 shift of a register operand (ModRM byte `m` with mod = 3), without the ModRM decoder. */
function grp2Reg(c: Cpu, m: number, count: number): void {
  const sz = c.osize;
  const op = (m >> 3) & 7;
  if (op === 6) c.raise(VEC_UD);
  const rm = (m & 7) | ((c.rex & 1) << 3);
  const lo = c.lo;
  const hi = c.hi;
  if (count === 1 && sz === 8 && op === SH_SHL) {
    // SHL r64, 1 (also the compiler's doubling idiom): CF is the bit shifted out, OF = CF ^ new MSB.
    const l = lo[rm]!;
    const h = hi[rm]!;
    const rH = (h << 1) | (l >>> 31);
    const cf = h >>> 31;
    lo[rm] = l << 1;
    hi[rm] = rH;
    c.resultFlags(8, l << 1, rH, cf, ((rH >>> 31) ^ cf) !== 0);
    return;
  }
  const r = shift(c, op, sz, sz === 2 ? lo[rm]! & 0xffff : lo[rm]!, hi[rm]!, count);
  if (sz === 8) {
    lo[rm] = r;
    hi[rm] = aluOut.hi;
  } else if (sz === 4) {
    lo[rm] = r;
    hi[rm] = 0;
  } else lo[rm] = (lo[rm]! & ~0xffff) | (r & 0xffff);
}
OPS[0xc1] = (c) => {
  const m = c.fetch8();
  if (m >= 0xc0) {
    grp2Reg(c, m, c.fetch8());
    return;
  }
  c.ipo--;
  c.decodeModrm(1);
  grp2(c, c.osize, c.fetch8());
};
OPS[0xd0] = (c) => {
  c.decodeModrm(0);
  grp2(c, 1, 1);
};
OPS[0xd1] = (c) => {
  const m = c.fetch8();
  if (m >= 0xc0) {
    grp2Reg(c, m, 1);
    return;
  }
  c.ipo--;
  c.decodeModrm(0);
  grp2(c, c.osize, 1);
};
OPS[0xd2] = (c) => {
  c.decodeModrm(0);
  grp2(c, 1, c.lo[1]! & 0xff);
};
OPS[0xd3] = (c) => {
  const m = c.fetch8();
  if (m >= 0xc0) {
    grp2Reg(c, m, c.lo[1]! & 0xff);
    return;
  }
  c.ipo--;
  c.decodeModrm(0);
  grp2(c, c.osize, c.lo[1]! & 0xff);
};

// ---- Group 3: F6, F7 ----
function grp3(c: Cpu, size: number): void {
  const op = c.mOp;
  if (op < 2) {
    const i = size === 1 ? c.fetch8() : size === 2 ? c.fetch16() : c.fetch32();
    const d = c.readRm(size);
    alu(c, 4, size, d, c.hi64, i, signHi(i));
    return;
  }
  const v = c.readRm(size);
  const vh = size === 8 ? c.hi64 : 0;
  switch (op) {
    case 2:
      c.writeRm(size, ~v, ~vh);
      return;
    case 3: {
      const r = neg(c, size, v, vh);
      c.writeRm(size, r, aluOut.hi);
      return;
    }
    case 4:
    case 5:
      mulAcc(c, op === 5, size, v, vh);
      return;
    default:
      divAcc(c, op === 7, size, v, vh);
  }
}
OPS[0xf6] = (c) => {
  c.decodeModrm(c.peekModrmOp() < 2 ? 1 : 0);
  grp3(c, 1);
};
OPS[0xf7] = (c) => {
  c.decodeModrm(c.peekModrmOp() < 2 ? izBytes(c) : 0);
  grp3(c, c.osize);
};

// ---- Group 4/5: FE, FF ----
OPS[0xfe] = (c) => {
  c.decodeModrm(0);
  if (c.mOp > 1) c.raise(VEC_UD);
  const r = incDec(c, 1, c.readRm(1), 0, c.mOp === 1);
  c.writeRm(1, r, 0);
};
OPS[0xff] = (c) => {
  const m = c.fetch8();
  if (m >= 0xc0 && m < 0xd0 && c.osize !== 2) {
    // INC/DEC of a register.
    const rm = (m & 7) | ((c.rex & 1) << 3);
    const sz = c.osize;
    const r = incDec(c, sz, c.lo[rm]!, c.hi[rm]!, m >= 0xc8);
    c.lo[rm] = r;
    c.hi[rm] = sz === 8 ? aluOut.hi : 0;
    return;
  }
  c.ipo--;
  c.decodeModrm(0);
  const op = c.mOp;
  if (op < 2) {
    const sz = c.osize;
    const v = c.readRm(sz);
    const r = incDec(c, sz, v, c.hi64, op === 1);
    c.writeRm(sz, r, aluOut.hi);
  } else if (op === 2 || op === 4) {
    const lo = c.readRm(8);
    const t = c.hi64 * TWO_32 + (lo >>> 0);
    if (!isCanonical(t)) c.raise(VEC_GP, 0);
    if (op === 2) c.push64((c.ip % TWO_32) | 0, Math.floor(c.ip / TWO_32));
    c.ip = t;
  } else if (op === 6) {
    const sz = c.osize === 2 ? 2 : 8;
    const v = c.readRm(sz);
    c.pushOp(v, c.hi64);
  } else c.raise(VEC_UD);
};

// ---- IMUL with immediate: 69, 6B ----
OPS[0x69] = (c) => {
  c.decodeModrm(izBytes(c));
  const i = fetchIz(c);
  const sz = c.osize;
  const v = c.readRm(sz);
  const r = imulTrunc(c, sz, v, c.hi64, i, signHi(i));
  c.writeReg(sz, c.mReg, r, aluOut.hi);
};
OPS[0x6b] = (c) => {
  const sz = c.osize;
  const m = c.fetch8();
  if (m >= 0xc0 && sz !== 2) {
    // Register source: no ModRM decoder call.
    const rex = c.rex;
    const rm = (m & 7) | ((rex & 1) << 3);
    const g = ((m >> 3) & 7) | ((rex & 4) << 1);
    const i = c.fetchS8();
    const r = imulTrunc(c, sz, c.lo[rm]!, c.hi[rm]!, i, signHi(i));
    c.lo[g] = r;
    c.hi[g] = sz === 8 ? aluOut.hi : 0;
    return;
  }
  c.ipo--;
  c.decodeModrm(1);
  const i = c.fetchS8();
  const v = c.readRm(sz);
  const r = imulTrunc(c, sz, v, c.hi64, i, signHi(i));
  c.writeReg(sz, c.mReg, r, aluOut.hi);
};
