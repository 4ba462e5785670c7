/**
 * Privilege-changing control transfers in 64-bit mode: SYSCALL/SYSRET (SDM Vol. 2B, driven by
 * IA32_STAR/LSTAR/FMASK), IRETQ (SDM Vol. 2A "IRET/IRETD/IRETQ", 64-bit mode path) and far RET
 * (RETFQ). Only 64-bit code segments are supported: a return to a compatibility-mode segment #GPs.
 */
import type { Cpu } from './cpu.js';
import { OPS } from './dispatch.js';
import { EXIT_REASON_SYSCALL, EXIT_REASON_SYSRET, EXIT_SKIP, EXIT_WANT_POST, EXIT_WANT_PRE } from './exits.js';
import { VEC_GP, VEC_NP, VEC_UD } from './faults.js';
import { isCanonical } from './paging.js';
import { CpuSegments } from './segments.js';
import {
  EFER_SCE,
  FLAG_IF,
  FLAG_IOPL,
  FLAG_RF,
  FLAGS_WRITABLE,
  REG_R11,
  REG_RCX,
  REG_RSP,
  SEG_ATTR_L,
  SEG_CS,
  SEG_SS,
  TWO_32,
} from './state.js';

const X = 0x100;

// SYSCALL
OPS[X + 0x05] = (c) => {
  if ((c.efer & EFER_SCE) === 0) c.raise(VEC_UD);
  if ((c.exitMask[EXIT_REASON_SYSCALL]! & EXIT_WANT_PRE) !== 0 && c.exitPre(EXIT_REASON_SYSCALL, 0) === EXIT_SKIP)
    return;
  const flags = c.readFlags() & ~FLAG_RF;
  c.setRegNumber(REG_RCX, c.ip);
  c.writeReg(8, REG_R11, flags, 0);
  c.rflags = (flags & ~c.fmask) | 2;
  const sel = Number((c.star >> 32n) & 0xffffn);
  c.flatCodeStack(sel & 0xfffc, (sel + 8) & 0xfffc, 0);
  c.ip = c.lstar;
  c.setCpl(0);
  if ((c.exitMask[EXIT_REASON_SYSCALL]! & EXIT_WANT_POST) !== 0) c.exitPost(EXIT_REASON_SYSCALL, 0);
};

// SYSRET (64-bit form only, REX.W)
OPS[X + 0x07] = (c) => {
  if (c.osize !== 8) c.raise(VEC_UD); // SYSRETD (to compatibility mode) is outside the ISA
  if ((c.efer & EFER_SCE) === 0) c.raise(VEC_UD);
  if (c.cpl_ !== 0) c.raise(VEC_GP, 0);
  const target = c.regNumber(REG_RCX);
  if (!isCanonical(target)) c.raise(VEC_GP, 0);
  if ((c.exitMask[EXIT_REASON_SYSRET]! & EXIT_WANT_PRE) !== 0 && c.exitPre(EXIT_REASON_SYSRET, 0) === EXIT_SKIP) return;
  const sel = Number((c.star >> 48n) & 0xffffn);
  c.materializeFlags();
  c.rflags = (c.lo[REG_R11]! & 0x3c7fd7) | 2;
  c.flatCodeStack(((sel + 16) & 0xfffc) | 3, ((sel + 8) & 0xfffc) | 3, 3);
  c.ip = target;
  c.setCpl(3);
  c.eventPending = true;
  if ((c.exitMask[EXIT_REASON_SYSRET]! & EXIT_WANT_POST) !== 0) c.exitPost(EXIT_REASON_SYSRET, 0);
};

/** Checks and caches the code segment for a return to privilege `rpl` (from the selector). */
function returnCs(c: Cpu, sel: number): void {
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0 || rpl < c.cpl_) c.raise(VEC_GP, sel & 0xfffc);
  c.readDescriptor(sel);
  const attr = CpuSegments.attrOf(c.descHi);
  if ((attr & 0x18) !== 0x18 || (attr & SEG_ATTR_L) === 0) c.raise(VEC_GP, sel & 0xfffc);
  const dpl = (attr >> 5) & 3;
  if ((attr & 4) === 0 ? dpl !== rpl : dpl > rpl) c.raise(VEC_GP, sel & 0xfffc);
  if ((attr & 0x80) === 0) c.raise(VEC_NP, sel & 0xfffc);
}

/** Loads SS for a return to CPL `rpl` (null allowed at CPL 0 only). */
function returnSs(c: Cpu, sel: number, rpl: number): void {
  if ((sel & 0xfffc) === 0) {
    if (rpl === 3) c.raise(VEC_GP, 0);
    c.nullSegment(SEG_SS, sel);
    return;
  }
  if ((sel & 3) !== rpl) c.raise(VEC_GP, sel & 0xfffc);
  c.readDescriptor(sel);
  const attr = CpuSegments.attrOf(c.descHi);
  if ((attr & 0x1a) !== 0x12 || ((attr >> 5) & 3) !== rpl) c.raise(VEC_GP, sel & 0xfffc);
  if ((attr & 0x80) === 0) c.raise(VEC_NP, sel & 0xfffc);
  c.cacheSegment(SEG_SS, sel);
}

function readQ(c: Cpu, lin: number): number {
  const lo = c.read64(lin);
  return c.hi64 * TWO_32 + (lo >>> 0);
}

// IRETQ (REX.W CF). 64-bit mode always pops SS:RSP.
OPS[0xcf] = (c) => {
  if (c.osize !== 8) c.raise(VEC_UD); // 16/32-bit IRET forms are not supported
  const sp = c.rsp();
  const rip = readQ(c, sp);
  const cs = c.read16(sp + 8);
  const flags = c.read32(sp + 16);
  const rsp = readQ(c, sp + 24);
  const ss = c.read16(sp + 32);
  if (!isCanonical(rip)) c.raise(VEC_GP, 0);
  const rpl = cs & 3;
  returnCs(c, cs);
  const csLo = c.descLo;
  const csHi = c.descHi;
  const oldCpl = c.cpl_;
  returnSs(c, ss, rpl);
  c.descLo = csLo;
  c.descHi = csHi;
  c.cacheSegment(SEG_CS, cs);
  let mask = FLAGS_WRITABLE | FLAG_RF;
  if (oldCpl > 0) mask &= ~FLAG_IOPL;
  if (oldCpl > (c.rflags & FLAG_IOPL) >> 12) mask &= ~FLAG_IF;
  c.materializeFlags();
  c.rflags = (c.rflags & ~mask) | (flags & mask) | 2;
  c.setRegNumber(REG_RSP, rsp);
  c.ip = rip;
  c.setCpl(rpl);
  c.eventPending = true;
};

// RETF / RETF imm16 (REX.W: 64-bit offset)
function retf(c: Cpu, extra: number): void {
  if (c.osize !== 8) c.raise(VEC_UD); // only the 64-bit frame (RETFQ) is supported
  const w = 8;
  const sp = c.rsp();
  const rip = w === 8 ? readQ(c, sp) : c.read32(sp) >>> 0;
  const cs = c.read16(sp + w);
  if (!isCanonical(rip)) c.raise(VEC_GP, 0);
  const rpl = cs & 3;
  returnCs(c, cs);
  const csLo = c.descLo;
  const csHi = c.descHi;
  let newRsp = sp + 2 * w + extra;
  if (rpl > c.cpl_) {
    const rsp = w === 8 ? readQ(c, newRsp) : c.read32(newRsp) >>> 0;
    const ss = c.read16(newRsp + w);
    returnSs(c, ss, rpl);
    newRsp = rsp + extra;
  }
  c.descLo = csLo;
  c.descHi = csHi;
  c.cacheSegment(SEG_CS, cs);
  c.setRegNumber(REG_RSP, newRsp);
  c.ip = rip;
  c.setCpl(rpl);
}
OPS[0xcb] = (c) => retf(c, 0);
OPS[0xca] = (c) => retf(c, c.fetch16());
