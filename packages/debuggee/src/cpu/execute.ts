/**
 * One-byte opcode map handlers (SDM Vol. 2D Appendix A, Table A-2): ALU, MOV, stack, control
 * transfer, group 1-5. Handlers are named after their encoding and registered into the dispatch
 * table `OPS` (index = opcode, 0x100 + opcode for the 0F map). On entry prefixes are decoded and
 * `ip` points after the opcode; a handler leaves `ip` at the next instruction (or jump target).
 */
import { ALU_CMP, alu, alu32, alu64, aluOut, incDec, neg } from './alu.js';
import type { Cpu } from './cpu.js';
import { VEC_BP, VEC_GP, VEC_UD } from './faults.js';
import { divAcc, imulTrunc, mulAcc } from './muldiv.js';
import { isCanonical } from './paging.js';
import { shift } from './shifts.js';
import { FLAG_CF, FLAG_DF, REG_RAX, REG_RBP, REG_RDX, REG_RSP, TWO_32 } from './state.js';

export type Handler = (c: Cpu) => void;

export function opUD(c: Cpu): void {
  c.raise(VEC_UD);
}

export const OPS: Handler[] = new Array<Handler>(512).fill(opUD);

/** Immediate of the operand size (Iz: 16 or 32 bits, sign-extended to 64 by the caller). */
function fetchIz(c: Cpu): number {
  return c.osize === 2 ? c.fetch16() : c.fetch32();
}

function izBytes(c: Cpu): number {
  return c.osize === 2 ? 2 : 4;
}

/** Sign-extension of a value of size 1/2/4 for use as the high half / 64-bit operand. */
function signHi(v: number): number {
  return v >> 31;
}

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
      // Register-register fast path (no ModRM decoder call).
      const rex = c.rex;
      const rm = (m & 7) | ((rex & 1) << 3);
      const g = ((m >> 3) & 7) | ((rex & 4) << 1);
      const lo = c.lo;
      const hi = c.hi;
      if (sz === 8) {
        const r = alu64(c, op, lo[rm]!, hi[rm]!, lo[g]!, hi[g]!);
        if (write) {
          lo[rm] = r;
          hi[rm] = aluOut.hi;
        }
      } else {
        const r = alu32(c, op, 4, lo[rm]!, lo[g]!);
        if (write) {
          lo[rm] = r;
          hi[rm] = 0;
        }
      }
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
      const rex = c.rex;
      const g = ((m >> 3) & 7) | ((rex & 4) << 1);
      const rm = (m & 7) | ((rex & 1) << 3);
      const lo = c.lo;
      const hi = c.hi;
      if (sz === 8) {
        const r = alu64(c, op, lo[g]!, hi[g]!, lo[rm]!, hi[rm]!);
        if (write) {
          lo[g] = r;
          hi[g] = aluOut.hi;
        }
      } else {
        const r = alu32(c, op, 4, lo[g]!, lo[rm]!);
        if (write) {
          lo[g] = r;
          hi[g] = 0;
        }
      }
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
OPS[0x86] = (c) => {
  c.decodeModrm(0);
  const a = c.readRm(1);
  const b = c.readReg(1, c.mReg);
  c.writeRm(1, b, 0);
  c.writeReg(1, c.mReg, a, 0);
};
OPS[0x87] = (c) => {
  c.decodeModrm(0);
  const sz = c.osize;
  const a = c.readRm(sz);
  const ah = c.hi64;
  const b = c.readReg(sz, c.mReg);
  const bh = c.hi[c.mReg]!;
  c.writeRm(sz, b, bh);
  c.writeReg(sz, c.mReg, a, ah);
};
OPS[0x88] = (c) => {
  c.decodeModrm(0);
  c.writeRm(1, c.readReg(1, c.mReg), 0);
};
OPS[0x89] = (c) => {
  const m = c.fetch8();
  const sz = c.osize;
  if (m >= 0xc0 && sz !== 2) {
    const rex = c.rex;
    const rm = (m & 7) | ((rex & 1) << 3);
    const g = ((m >> 3) & 7) | ((rex & 4) << 1);
    c.lo[rm] = c.lo[g]!;
    c.hi[rm] = sz === 8 ? c.hi[g]! : 0;
    return;
  }
  c.ipo--;
  c.decodeModrm(0);
  const r = c.mReg;
  c.writeRm(sz, c.lo[r]!, c.hi[r]!);
};
OPS[0x8a] = (c) => {
  c.decodeModrm(0);
  c.writeReg(1, c.mReg, c.readRm(1), 0);
};
OPS[0x8b] = (c) => {
  const sz = c.osize;
  const m = c.fetch8();
  if (m >= 0xc0 && sz !== 2) {
    const rex = c.rex;
    const rm = (m & 7) | ((rex & 1) << 3);
    const g = ((m >> 3) & 7) | ((rex & 4) << 1);
    c.lo[g] = c.lo[rm]!;
    c.hi[g] = sz === 8 ? c.hi[rm]! : 0;
    return;
  }
  c.ipo--;
  c.decodeModrm(0);
  const v = c.readRm(sz);
  c.writeReg(sz, c.mReg, v, c.hi64);
};
OPS[0x8d] = (c) => {
  c.decodeLea();
  c.writeReg(c.osize, c.mReg, c.eaLo, c.eaHi);
};
OPS[0xc6] = (c) => {
  c.decodeModrm(1);
  if (c.mOp !== 0) c.raise(VEC_UD);
  c.writeRm(1, c.fetch8(), 0);
};
OPS[0xc7] = (c) => {
  c.decodeModrm(izBytes(c));
  if (c.mOp !== 0) c.raise(VEC_UD);
  const i = fetchIz(c);
  c.writeRm(c.osize, i, signHi(i));
};
for (let r = 0; r < 8; r++) {
  OPS[0xb0 + r] = (c) => {
    const i = c.fetch8();
    c.writeReg(1, r | ((c.rex & 1) << 3), i, 0);
  };
  OPS[0xb8 + r] = (c) => {
    const reg = r | ((c.rex & 1) << 3);
    if (c.osize === 8) {
      const lo = c.fetch32();
      c.writeReg(8, reg, lo, c.fetch32());
    } else c.writeReg(c.osize, reg, c.osize === 2 ? c.fetch16() : c.fetch32(), 0);
  };
  OPS[0x50 + r] = (c) => {
    const reg = r | ((c.rex & 1) << 3);
    if (c.osize === 2) c.push16(c.lo[reg]!);
    else c.push64(c.lo[reg]!, c.hi[reg]!);
  };
  OPS[0x58 + r] = (c) => {
    const reg = r | ((c.rex & 1) << 3);
    if (c.osize === 2) c.writeReg(2, reg, c.pop16(), 0);
    else {
      const v = c.pop64();
      c.writeReg(8, reg, v, c.hi64);
    }
  };
  // 90+r: XCHG rAX, r (90 without REX.B is NOP; F3 90 is PAUSE).
  OPS[0x90 + r] = (c) => {
    const reg = r | ((c.rex & 1) << 3);
    if (reg === 0 || (r === 0 && c.repPrefix === 0xf3)) return; // NOP / PAUSE
    const sz = c.osize;
    const a = c.readReg(sz, REG_RAX);
    const ah = c.hi[REG_RAX]!;
    c.writeReg(sz, REG_RAX, c.readReg(sz, reg), c.hi[reg]!);
    c.writeReg(sz, reg, a, ah);
  };
}

/** MOVSXD (63): sign-extends a doubleword; without REX.W a plain 32/16-bit move. */
OPS[0x63] = (c) => {
  c.decodeModrm(0);
  const sz = c.osize;
  if (sz === 8) {
    const v = c.readRm(4);
    c.writeReg(8, c.mReg, v, v >> 31);
  } else c.writeReg(sz, c.mReg, c.readRm(sz), 0);
};

// moffs forms A0-A3 (64-bit absolute address).
function moffs(c: Cpu): number {
  if (c.asize === 4) return (c.fetch32() >>> 0) + c.segOverrideBase;
  const lo = c.fetch32() >>> 0;
  return c.fetch32() * TWO_32 + lo + c.segOverrideBase;
}
OPS[0xa0] = (c) => c.writeReg(1, REG_RAX, c.read8(moffs(c)), 0);
OPS[0xa1] = (c) => {
  const v = c.readMem(c.osize, moffs(c));
  c.writeReg(c.osize, REG_RAX, v, c.hi64);
};
OPS[0xa2] = (c) => c.write8(moffs(c), c.lo[REG_RAX]!);
OPS[0xa3] = (c) => c.writeMem(c.osize, moffs(c), c.lo[REG_RAX]!, c.hi[REG_RAX]!);

// ---- Stack ----
OPS[0x68] = (c) => {
  const i = fetchIz(c);
  c.pushOp(i, signHi(i));
};
OPS[0x6a] = (c) => {
  const i = c.fetchS8();
  c.pushOp(i, signHi(i));
};
OPS[0x8f] = (c) => {
  // POP r/m: an RSP-based destination address is computed after RSP has been incremented (SDM POP).
  const sz = c.osize === 2 ? 2 : 8;
  const v = c.readMem(sz, c.rsp());
  const vh = c.hi64;
  const oldLo = c.lo[REG_RSP]!;
  const oldHi = c.hi[REG_RSP]!;
  c.addRsp(sz);
  try {
    c.decodeModrm(0);
    if (c.mOp !== 0) c.raise(VEC_UD);
    c.writeRm(sz, v, vh);
  } catch (e) {
    c.lo[REG_RSP] = oldLo;
    c.hi[REG_RSP] = oldHi;
    throw e;
  }
};
OPS[0xc9] = (c) => {
  // LEAVE: RSP = RBP; RBP = pop.
  const v = c.read64(c.regNumber(REG_RBP));
  const h = c.hi64;
  c.lo[REG_RSP] = c.lo[REG_RBP]!;
  c.hi[REG_RSP] = c.hi[REG_RBP]!;
  c.addRsp(8);
  c.lo[REG_RBP] = v;
  c.hi[REG_RBP] = h;
};

// ---- Control transfer ----
function jumpTo(c: Cpu, target: number): void {
  if (!isCanonical(target)) c.raise(VEC_GP, 0);
  c.ip = target;
}

/** Relative jump: stays in integer arithmetic when the target is on the current fetch page. */
function jumpRel(c: Cpu, d: number): void {
  const t = c.ipo + d;
  if (t >= 0 && t < 4096) c.ipo = t;
  else jumpTo(c, c.ip + d);
}
for (let cc = 0; cc < 16; cc++) {
  OPS[0x70 + cc] = (c) => {
    const d = c.fetchS8();
    if (c.cond(cc)) jumpRel(c, d);
  };
  OPS[0x180 + cc] = (c) => {
    const d = c.fetch32();
    if (c.cond(cc)) jumpRel(c, d);
  };
}
OPS[0xeb] = (c) => {
  jumpRel(c, c.fetchS8());
};
OPS[0xe9] = (c) => {
  jumpRel(c, c.fetch32());
};
OPS[0xe8] = (c) => {
  const d = c.fetch32();
  const ret = c.ip;
  const t = ret + d;
  if (!isCanonical(t)) c.raise(VEC_GP, 0);
  c.push64((ret % TWO_32) | 0, Math.floor(ret / TWO_32));
  c.ip = t;
};
function ret(c: Cpu, extra: number): void {
  const lo = c.read64(c.rsp());
  const t = c.hi64 * TWO_32 + (lo >>> 0);
  if (!isCanonical(t)) c.raise(VEC_GP, 0);
  c.addRsp(8 + extra);
  c.ip = t;
}
OPS[0xc3] = (c) => ret(c, 0);
OPS[0xc2] = (c) => ret(c, c.fetch16());
// ---- Flags ----
OPS[0xf5] = (c) => {
  c.materializeFlags();
  c.rflags ^= FLAG_CF;
};
OPS[0xf8] = (c) => {
  c.materializeFlags();
  c.rflags &= ~FLAG_CF;
};
OPS[0xf9] = (c) => {
  c.materializeFlags();
  c.rflags |= FLAG_CF;
};
OPS[0xfc] = (c) => {
  c.rflags &= ~FLAG_DF;
};
OPS[0xfd] = (c) => {
  c.rflags |= FLAG_DF;
};
OPS[0x98] = (c) => {
  const a = c.lo[REG_RAX]!;
  if (c.osize === 2) c.writeReg(2, REG_RAX, (a << 24) >> 24, 0);
  else if (c.osize === 4) c.writeReg(4, REG_RAX, (a << 16) >> 16, 0);
  else c.hi[REG_RAX] = a >> 31;
};
OPS[0x99] = (c) => {
  const a = c.lo[REG_RAX]!;
  if (c.osize === 2) c.writeReg(2, REG_RDX, (a << 16) >> 31, 0);
  else if (c.osize === 4) c.writeReg(4, REG_RDX, a >> 31, 0);
  else {
    const s = c.hi[REG_RAX]! >> 31;
    c.writeReg(8, REG_RDX, s, s);
  }
};

// ---- Group 2 (shifts): C0, C1, D0-D3 ----
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
OPS[0xc1] = (c) => {
  c.decodeModrm(1);
  grp2(c, c.osize, c.fetch8());
};
OPS[0xd0] = (c) => {
  c.decodeModrm(0);
  grp2(c, 1, 1);
};
OPS[0xd1] = (c) => {
  c.decodeModrm(0);
  grp2(c, c.osize, 1);
};
OPS[0xd2] = (c) => {
  c.decodeModrm(0);
  grp2(c, 1, c.lo[1]! & 0xff);
};
OPS[0xd3] = (c) => {
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
  c.decodeModrm(1);
  const i = c.fetchS8();
  const sz = c.osize;
  const v = c.readRm(sz);
  const r = imulTrunc(c, sz, v, c.hi64, i, signHi(i));
  c.writeReg(sz, c.mReg, r, aluOut.hi);
};

// ---- Software interrupts ----
OPS[0xcc] = (c) => {
  c.faultSoft = true;
  c.raise(VEC_BP);
};
OPS[0xcd] = (c) => {
  const v = c.fetch8();
  c.faultSoft = true;
  c.raise(v);
};
