/**
 * Two-byte (0F) opcode map handlers for the general-purpose ISA (SDM Vol. 2D Table A-3): CMOVcc,
 * SETcc, MOVZX/MOVSX, BT*, SHLD/SHRD, IMUL r,r/m, CMPXCHG, XADD, BSF/BSR/TZCNT/LZCNT, POPCNT, BSWAP,
 * multi-byte NOPs and ENDBR64. System instructions of the 0F map live in system.ts.
 */
import { ALU_ADD, ALU_CMP, alu, aluOut } from './alu.js';
import { BT_TEST, bitOp, bswap32, highestBit, lowestBit, popcount32, setCfZf } from './bits.js';
import type { Cpu } from './cpu.js';
import { OPS } from './dispatch.js';
import { VEC_UD } from './faults.js';
import { imulTrunc } from './muldiv.js';
import { shiftDouble } from './shifts.js';
import { REG_RAX, TWO_32 } from './state.js';

const X = 0x100;

// Multi-byte NOP (0F 1F /0) and ENDBR64 (F3 0F 1E FA; CET is not enabled, so it is a NOP). The other
// hint-NOP encodings are outside the ISA.
OPS[X + 0x1f] = (c) => {
  c.decodeModrm(0);
  if (c.mOp !== 0) c.raise(VEC_UD);
};
OPS[X + 0x1e] = (c) => {
  if (c.repPrefix !== 0xf3 || c.fetch8() !== 0xfa) c.raise(VEC_UD);
};

for (let cc = 0; cc < 16; cc++) {
  // CMOVcc: the source is read (and may fault) even when the condition is false; a 32-bit
  // destination is zero-extended either way.
  OPS[X + 0x40 + cc] = (c) => {
    c.decodeModrm(0);
    const sz = c.osize;
    const v = c.readRm(sz);
    if (c.cond(cc)) c.writeReg(sz, c.mReg, v, c.hi64);
    else if (sz === 4) c.hi[c.mReg] = 0;
  };
  OPS[X + 0x90 + cc] = (c) => {
    c.decodeModrm(0);
    c.writeRm(1, c.cond(cc) ? 1 : 0, 0);
  };
}

// MOVZX / MOVSX
OPS[X + 0xb6] = (c) => {
  c.decodeModrm(0);
  c.writeReg(c.osize, c.mReg, c.readRm(1), 0);
};
OPS[X + 0xb7] = (c) => {
  c.decodeModrm(0);
  c.writeReg(c.osize, c.mReg, c.readRm(2), 0);
};
OPS[X + 0xbe] = (c) => {
  c.decodeModrm(0);
  const v = (c.readRm(1) << 24) >> 24;
  c.writeReg(c.osize, c.mReg, c.osize === 2 ? v & 0xffff : v, v >> 31);
};
OPS[X + 0xbf] = (c) => {
  c.decodeModrm(0);
  const v = (c.readRm(2) << 16) >> 16;
  c.writeReg(c.osize, c.mReg, c.osize === 2 ? v & 0xffff : v, v >> 31);
};

// IMUL Gv, Ev
OPS[X + 0xaf] = (c) => {
  c.decodeModrm(0);
  const sz = c.osize;
  const v = c.readRm(sz);
  const vh = c.hi64;
  const r = imulTrunc(c, sz, c.readReg(sz, c.mReg), c.hi[c.mReg]!, v, vh);
  c.writeReg(sz, c.mReg, r, aluOut.hi);
};

// ---- BT / BTS / BTR / BTC ----
/** Register bit offset form: a memory operand addresses the bit string relative to ea. */
function btReg(c: Cpu, kind: number): void {
  c.decodeModrm(0);
  const sz = c.osize;
  const bits = sz * 8;
  const oLo = c.lo[c.mReg]!;
  const oHi = c.hi[c.mReg]!;
  if (c.mRm >= 0) {
    const v = c.readReg(sz, c.mRm);
    const r = bitOp(c, kind, v, sz === 8 ? c.hi[c.mRm]! : 0, oLo & (bits - 1));
    if (kind !== BT_TEST) c.writeReg(sz, c.mRm, r, aluOut.hi);
    return;
  }
  // Signed bit offset (sign-extended from the operand size).
  const off = sz === 8 ? oHi * TWO_32 + (oLo >>> 0) : sz === 4 ? oLo : (oLo << 16) >> 16;
  const unit = Math.floor(off / bits);
  const ea = c.ea + unit * sz;
  const bit = off - unit * bits;
  const v = c.readMem(sz, ea);
  const r = bitOp(c, kind, v, c.hi64, bit);
  if (kind !== BT_TEST) c.writeMem(sz, ea, r, aluOut.hi);
}
OPS[X + 0xa3] = (c) => btReg(c, 0);
OPS[X + 0xab] = (c) => btReg(c, 1);
OPS[X + 0xb3] = (c) => btReg(c, 2);
OPS[X + 0xbb] = (c) => btReg(c, 3);
// Group 8: 0F BA /4../7 Ev, Ib
OPS[X + 0xba] = (c) => {
  c.decodeModrm(1);
  const kind = c.mOp - 4;
  if (kind < 0) c.raise(VEC_UD);
  const sz = c.osize;
  const bit = c.fetch8() & (sz * 8 - 1);
  const v = c.readRm(sz);
  const r = bitOp(c, kind, v, sz === 8 ? c.hi64 : 0, bit);
  if (kind !== BT_TEST) c.writeRm(sz, r, aluOut.hi);
};

// ---- SHLD / SHRD ----
function shd(c: Cpu, left: boolean, imm: boolean): void {
  c.decodeModrm(imm ? 1 : 0);
  const count = imm ? c.fetch8() : c.lo[1]! & 0xff;
  const sz = c.osize;
  const d = c.readRm(sz);
  const dh = c.hi64;
  const r = shiftDouble(c, left, sz, d, sz === 8 ? dh : 0, c.readReg(sz, c.mReg), c.hi[c.mReg]!, count);
  c.writeRm(sz, r, aluOut.hi);
}
OPS[X + 0xa4] = (c) => shd(c, true, true);
OPS[X + 0xa5] = (c) => shd(c, true, false);
OPS[X + 0xac] = (c) => shd(c, false, true);
OPS[X + 0xad] = (c) => shd(c, false, false);

// ---- CMPXCHG / XADD ----
OPS[X + 0xb0] = (c) => {
  c.decodeModrm(0);
  const d = c.readRm(1);
  const a = c.lo[REG_RAX]! & 0xff;
  alu(c, ALU_CMP, 1, a, 0, d, 0);
  if (a === d) c.writeRm(1, c.readReg(1, c.mReg), 0);
  else {
    if (c.mRm < 0) c.writeRm(1, d, 0);
    c.writeReg(1, REG_RAX, d, 0);
  }
};
OPS[X + 0xb1] = (c) => {
  c.decodeModrm(0);
  const sz = c.osize;
  const d = c.readRm(sz);
  const dh = sz === 8 ? c.hi64 : 0;
  const a = c.readReg(sz, REG_RAX);
  const ah = sz === 8 ? c.hi[REG_RAX]! : 0;
  alu(c, ALU_CMP, sz, a, ah, d, dh);
  if (a === d && ah === dh) c.writeRm(sz, c.readReg(sz, c.mReg), c.hi[c.mReg]!);
  else {
    // Memory is written back with its own value (a locked RMW); a register destination is left alone.
    if (c.mRm < 0) c.writeRm(sz, d, dh);
    c.writeReg(sz, REG_RAX, d, dh);
  }
};
OPS[X + 0xc0] = (c) => {
  c.decodeModrm(0);
  const d = c.readRm(1);
  const s = c.readReg(1, c.mReg);
  const r = alu(c, ALU_ADD, 1, d, 0, s, 0);
  c.writeReg(1, c.mReg, d, 0);
  c.writeRm(1, r, 0);
};
OPS[X + 0xc1] = (c) => {
  c.decodeModrm(0);
  const sz = c.osize;
  const d = c.readRm(sz);
  const dh = c.hi64;
  const s = c.readReg(sz, c.mReg);
  const r = alu(c, ALU_ADD, sz, d, dh, s, c.hi[c.mReg]!);
  const rh = aluOut.hi;
  c.writeReg(sz, c.mReg, d, dh);
  c.writeRm(sz, r, rh);
};

// ---- BSF / BSR / TZCNT / LZCNT / POPCNT ----
/**
 * BSF/BSR and their F3 forms TZCNT/LZCNT share operand handling and flags: `scan` finds the bit
 * index (-1 for a zero source) and `count` turns a found index into the TZCNT/LZCNT result.
 */
function bitScan(
  c: Cpu,
  scan: (sz: number, v: number, vh: number) => number,
  count: (sz: number, i: number) => number,
): void {
  c.decodeModrm(0);
  const sz = c.osize;
  const v = c.readRm(sz);
  const vh = sz === 8 ? c.hi64 : 0;
  const i = scan(sz, sz === 2 ? v & 0xffff : v, vh);
  if (c.repPrefix === 0xf3) {
    const n = i < 0 ? sz * 8 : count(sz, i);
    c.writeReg(sz, c.mReg, n, 0);
    setCfZf(c, i < 0, n === 0, false);
    return;
  }
  // BSF/BSR leave the destination unchanged for a zero source.
  if (i < 0) setCfZf(c, false, true, false);
  else {
    c.writeReg(sz, c.mReg, i, 0);
    setCfZf(c, false, false, false);
  }
}
OPS[X + 0xbc] = (c) => bitScan(c, lowestBit, (_sz, i) => i);
OPS[X + 0xbd] = (c) => bitScan(c, highestBit, (sz, i) => sz * 8 - 1 - i);
OPS[X + 0xb8] = (c) => {
  if (c.repPrefix !== 0xf3) c.raise(VEC_UD);
  c.decodeModrm(0);
  const sz = c.osize;
  const v = c.readRm(sz);
  const n = popcount32(sz === 2 ? v & 0xffff : v) + (sz === 8 ? popcount32(c.hi64) : 0);
  c.writeReg(sz, c.mReg, n, 0);
  setCfZf(c, false, n === 0, false);
};

// ---- BSWAP 0F C8+r ----
for (let r = 0; r < 8; r++) {
  OPS[X + 0xc8 + r] = (c) => {
    const reg = r | ((c.rex & 1) << 3);
    if (c.osize === 8) {
      const l = c.lo[reg]!;
      c.lo[reg] = bswap32(c.hi[reg]!);
      c.hi[reg] = bswap32(l);
    } else if (c.osize === 4) c.writeReg(4, reg, bswap32(c.lo[reg]!), 0);
    else c.writeReg(2, reg, 0, 0); // BSWAP r16 is undefined; Intel and AMD produce 0
  };
}
