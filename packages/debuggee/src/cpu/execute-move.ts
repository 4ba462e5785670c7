/**
 * One-byte opcode map, data movement (SDM Vol. 2D Table A-2): XCHG, MOV (88-8B, A0-A3, B0-BF,
 * C6/C7), LEA, MOVSXD, PUSH/POP (50-5F, 68, 6A, 8F), LEAVE, CBW/CWDE/CDQE, CWD/CDQ/CQO and the flag
 * instructions CMC/CLC/STC/CLD/STD.
 */
import type { Cpu } from './cpu.js';
import { fetchIz, izBytes, OPS, signHi } from './dispatch.js';
import { VEC_UD } from './faults.js';
import { FLAG_CF, FLAG_DF, REG_RAX, REG_RBP, REG_RDX, REG_RSP, TWO_32 } from './state.js';

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
