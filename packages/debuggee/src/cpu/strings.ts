/**
 * String instructions MOVS/CMPS/STOS/LODS/SCAS (SDM Vol. 2: each instruction; REP/REPE/REPNE in
 * Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ"). The source is DS:rSI (FS/GS overrides apply), the
 * destination ES:rDI (no override); RFLAGS.DF selects the direction. The address size (67h) picks
 * rSI/rDI/rCX or their 32-bit halves.
 *
 * A repeated instruction runs to completion inside one step; after every iteration the registers
 * are up to date, so a fault in the middle restarts the instruction with the remaining count, as on
 * hardware.
 */
import { ALU_CMP, alu } from './alu.js';
import type { Cpu } from './cpu.js';
import { OPS } from './dispatch.js';
import { FLAG_DF, REG_RAX, REG_RCX, REG_RDI, REG_RSI } from './state.js';

const KIND_MOVS = 0;
const KIND_CMPS = 1;
const KIND_STOS = 2;
const KIND_LODS = 3;
const KIND_SCAS = 4;

function addrOf(c: Cpu, r: number): number {
  return c.asize === 8 ? c.regNumber(r) : c.lo[r]! >>> 0;
}

function advance(c: Cpu, r: number, delta: number): void {
  if (c.asize === 8) c.addReg64(r, delta);
  else c.writeReg(4, r, (c.lo[r]! + delta) | 0, 0);
}

function countZero(c: Cpu): boolean {
  return c.asize === 8 ? (c.lo[REG_RCX]! | c.hi[REG_RCX]!) === 0 : c.lo[REG_RCX] === 0;
}

/** One iteration; returns false when a REPE/REPNE condition ends the loop. */
function once(c: Cpu, kind: number, size: number, delta: number): void {
  switch (kind) {
    case KIND_MOVS: {
      const v = c.readMem(size, addrOf(c, REG_RSI) + c.segOverrideBase);
      c.writeMem(size, addrOf(c, REG_RDI), v, c.hi64);
      advance(c, REG_RSI, delta);
      advance(c, REG_RDI, delta);
      return;
    }
    case KIND_STOS:
      c.writeMem(size, addrOf(c, REG_RDI), c.lo[REG_RAX]!, c.hi[REG_RAX]!);
      advance(c, REG_RDI, delta);
      return;
    case KIND_LODS: {
      const v = c.readMem(size, addrOf(c, REG_RSI) + c.segOverrideBase);
      c.writeReg(size, REG_RAX, v, c.hi64);
      advance(c, REG_RSI, delta);
      return;
    }
    case KIND_CMPS: {
      const a = c.readMem(size, addrOf(c, REG_RSI) + c.segOverrideBase);
      const ah = c.hi64;
      const b = c.readMem(size, addrOf(c, REG_RDI));
      alu(c, ALU_CMP, size, a, ah, b, c.hi64);
      advance(c, REG_RSI, delta);
      advance(c, REG_RDI, delta);
      return;
    }
    default: {
      const b = c.readMem(size, addrOf(c, REG_RDI));
      const acc = size === 1 ? c.lo[REG_RAX]! & 0xff : size === 2 ? c.lo[REG_RAX]! & 0xffff : c.lo[REG_RAX]!;
      alu(c, ALU_CMP, size, acc, c.hi[REG_RAX]!, b, c.hi64);
      advance(c, REG_RDI, delta);
    }
  }
}

function stringOp(c: Cpu, kind: number, size: number): void {
  const delta = (c.rflags & FLAG_DF) !== 0 ? -size : size;
  const rep = c.repPrefix;
  if (rep === 0) {
    once(c, kind, size, delta);
    return;
  }
  const conditional = kind === KIND_CMPS || kind === KIND_SCAS;
  if (!conditional) {
    while (!countZero(c)) {
      once(c, kind, size, delta);
      advance(c, REG_RCX, -1);
    }
    return;
  }
  // A fault in the middle of REPE/REPNE CMPS/SCAS reports the flags as they were before the
  // instruction (observed on Intel hardware); registers keep their per-iteration progress.
  const flags = c.readFlags();
  try {
    while (!countZero(c)) {
      once(c, kind, size, delta);
      advance(c, REG_RCX, -1);
      if (rep === 0xf3 ? !c.getZF() : c.getZF()) break;
    }
  } catch (e) {
    c.lzOp = 0;
    c.rflags = flags;
    throw e;
  }
}

const KINDS: [number, number][] = [
  [0xa4, KIND_MOVS],
  [0xa6, KIND_CMPS],
  [0xaa, KIND_STOS],
  [0xac, KIND_LODS],
  [0xae, KIND_SCAS],
];
for (const [op, kind] of KINDS) {
  OPS[op] = (c) => stringOp(c, kind, 1);
  OPS[op + 1] = (c) => stringOp(c, kind, c.osize);
}
