/**
 * System instructions (SDM Vol. 2 for each; privilege rules Vol. 3A §5.9 "Privileged
 * Instructions", I/O sensitivity §19.5 of Vol. 1): HLT, CLI/STI, CPUID, RDMSR/WRMSR, RDTSC(P),
 * RDPMC, IN/OUT, LGDT/LIDT/SGDT/SIDT, LTR/STR, MOV CR/DR, INVLPG, SWAPGS, VMCALL, XGETBV/XSETBV,
 * CLTS, WBINVD, MOV Sreg, PUSH/POP FS/GS, PUSHF/POPF.
 * (XGETBV/XSETBV execute here but are not yet in the decoder's 0F 01 table, decoder.ts, which the
 * iced-x86 cross-check holds to the ISA list of verify/isa.ts.)
 *
 * Every VM-exit point tests `exitMask[reason]` once: `pre` before any effect (EXIT_SKIP retires the
 * instruction with only RIP advanced; the handler may have written the result registers), `post`
 * after the effect.
 */

import { moveFromCr, moveToCr, validCr } from './control.js';
import type { Cpu } from './cpu.js';
import { OPS } from './dispatch.js';
import {
  CR_ACCESS_FROM,
  CR_ACCESS_TO,
  EXIT_REASON_CPUID,
  EXIT_REASON_DR_ACCESS,
  EXIT_REASON_HLT,
  EXIT_REASON_INVLPG,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_RDPMC,
  EXIT_REASON_RDTSC,
  EXIT_REASON_RDTSCP,
  EXIT_REASON_VMCALL,
  EXIT_REASON_XSETBV,
  EXIT_SKIP,
  EXIT_WANT_POST,
  EXIT_WANT_PRE,
  IO_DIRECTION_IN,
  IO_DIRECTION_OUT,
} from './exits.js';
import { VEC_GP, VEC_UD } from './faults.js';
import { cpuid, readMsr, tsc, writeMsr } from './msr.js';
import {
  CR4_DE,
  CR4_OSXSAVE,
  CR4_PCE,
  CR4_TSD,
  FLAG_AC,
  FLAG_ID,
  FLAG_IF,
  FLAG_IOPL,
  FLAG_RF,
  FLAG_VM,
  FLAGS_WRITABLE,
  REG_RAX,
  REG_RCX,
  REG_RDX,
  SEG_GS,
  SEG_SS,
  TWO_32,
  XCR0_SUPPORTED,
  XCR0_X87,
} from './state.js';

const X = 0x100;

export function requireCpl0(c: Cpu): void {
  if (c.cpl_ !== 0) c.raise(VEC_GP, 0);
}

function iopl(c: Cpu): number {
  return (c.rflags & FLAG_IOPL) >> 12;
}

/** Calls `pre` when wanted; true when the handler said EXIT_SKIP. */
function pre(c: Cpu, reason: number, qual: number): boolean {
  return (c.exitMask[reason]! & EXIT_WANT_PRE) !== 0 && c.exitPre(reason, qual) === EXIT_SKIP;
}

function post(c: Cpu, reason: number, qual: number): void {
  if ((c.exitMask[reason]! & EXIT_WANT_POST) !== 0) c.exitPost(reason, qual);
}

function setEdxEax(c: Cpu, v: bigint): void {
  c.writeReg(4, REG_RAX, Number(v & 0xffffffffn) | 0, 0);
  c.writeReg(4, REG_RDX, Number((v >> 32n) & 0xffffffffn) | 0, 0);
}

// HLT
OPS[0xf4] = (c) => {
  requireCpl0(c);
  if (pre(c, EXIT_REASON_HLT, 0)) return;
  c.halted = true;
  c.eventPending = true;
  post(c, EXIT_REASON_HLT, 0);
};
// CLI / STI
OPS[0xfa] = (c) => {
  if (c.cpl_ > iopl(c)) c.raise(VEC_GP, 0);
  c.rflags &= ~FLAG_IF;
};
OPS[0xfb] = (c) => {
  if (c.cpl_ > iopl(c)) c.raise(VEC_GP, 0);
  if ((c.rflags & FLAG_IF) === 0) c.shadowEnd = c.instructions + 2;
  c.rflags |= FLAG_IF;
  c.eventPending = true;
};
// PUSHF / POPF
OPS[0x9c] = (c) => {
  const f = c.readFlags() & ~(FLAG_VM | FLAG_RF);
  c.pushOp(f, 0);
};
OPS[0x9d] = (c) => {
  const v = c.popOp();
  let mask = FLAGS_WRITABLE;
  if (c.cpl_ > 0) mask &= ~FLAG_IOPL;
  if (c.cpl_ > iopl(c)) mask &= ~FLAG_IF;
  if (c.osize === 2) mask &= 0xffff;
  c.materializeFlags();
  const old = c.rflags;
  c.rflags = (old & ~mask) | (v & mask) | 2;
  c.eventPending = true; // IF or TF may have changed
  void FLAG_AC;
  void FLAG_ID;
};

// CPUID
const cpuidOut = new Int32Array(4);
OPS[X + 0xa2] = (c) => {
  if (pre(c, EXIT_REASON_CPUID, 0)) return;
  cpuid(c, c.lo[REG_RAX]!, c.lo[REG_RCX]!, cpuidOut);
  c.writeReg(4, REG_RAX, cpuidOut[0]!, 0);
  c.writeReg(4, 3, cpuidOut[1]!, 0);
  c.writeReg(4, REG_RCX, cpuidOut[2]!, 0);
  c.writeReg(4, REG_RDX, cpuidOut[3]!, 0);
  post(c, EXIT_REASON_CPUID, 0);
};

// RDMSR / WRMSR
OPS[X + 0x32] = (c) => {
  requireCpl0(c);
  const idx = c.lo[REG_RCX]! >>> 0;
  if (pre(c, EXIT_REASON_MSR_READ, idx)) return;
  const v = readMsr(c, idx);
  if (v === undefined) return c.raise(VEC_GP, 0);
  setEdxEax(c, v);
  post(c, EXIT_REASON_MSR_READ, idx);
};
OPS[X + 0x30] = (c) => {
  requireCpl0(c);
  const idx = c.lo[REG_RCX]! >>> 0;
  const v = (BigInt(c.lo[REG_RDX]! >>> 0) << 32n) | BigInt(c.lo[REG_RAX]! >>> 0);
  c.exitValue = v;
  if (pre(c, EXIT_REASON_MSR_WRITE, idx)) return;
  if (!writeMsr(c, idx, v)) c.raise(VEC_GP, 0);
  c.eventPending = true;
  c.exitValue = v;
  post(c, EXIT_REASON_MSR_WRITE, idx);
};

// RDTSC / RDTSCP / RDPMC
OPS[X + 0x31] = (c) => {
  if ((c.cr4 & CR4_TSD) !== 0 && c.cpl_ !== 0) c.raise(VEC_GP, 0);
  if (pre(c, EXIT_REASON_RDTSC, 0)) return;
  setEdxEax(c, tsc(c));
  post(c, EXIT_REASON_RDTSC, 0);
};
function rdtscp(c: Cpu): void {
  if ((c.cr4 & CR4_TSD) !== 0 && c.cpl_ !== 0) c.raise(VEC_GP, 0);
  if (pre(c, EXIT_REASON_RDTSCP, 0)) return;
  setEdxEax(c, tsc(c));
  c.writeReg(4, REG_RCX, c.tscAux, 0);
  post(c, EXIT_REASON_RDTSCP, 0);
}
OPS[X + 0x33] = (c) => {
  if ((c.cr4 & CR4_PCE) === 0 && c.cpl_ !== 0) c.raise(VEC_GP, 0);
  const idx = c.lo[REG_RCX]! >>> 0;
  if (idx > 3 && (idx < 0x40000000 || idx > 0x40000002)) c.raise(VEC_GP, 0);
  if (pre(c, EXIT_REASON_RDPMC, idx)) return;
  setEdxEax(c, 0n); // no performance counters are counting
  post(c, EXIT_REASON_RDPMC, idx);
};

// IN / OUT
function ioIn(c: Cpu, port: number, size: 1 | 2 | 4): void {
  if (c.cpl_ > iopl(c)) c.raise(VEC_GP, 0);
  const qual = port | (size << 16) | (IO_DIRECTION_IN << 24);
  if (pre(c, EXIT_REASON_IO_INSTRUCTION, qual)) return;
  const v = c.io !== null ? c.io.in(port, size) : size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  c.writeReg(size, REG_RAX, v | 0, 0);
  c.exitValue = BigInt(size === 4 ? v >>> 0 : v & (size === 1 ? 0xff : 0xffff));
  post(c, EXIT_REASON_IO_INSTRUCTION, qual);
}
function ioOut(c: Cpu, port: number, size: 1 | 2 | 4): void {
  if (c.cpl_ > iopl(c)) c.raise(VEC_GP, 0);
  const a = c.lo[REG_RAX]!;
  const v = size === 1 ? a & 0xff : size === 2 ? a & 0xffff : a >>> 0;
  const qual = port | (size << 16) | (IO_DIRECTION_OUT << 24);
  c.exitValue = BigInt(v);
  if (pre(c, EXIT_REASON_IO_INSTRUCTION, qual)) return;
  c.io?.out(port, size, v);
  c.eventPending = true; // a device may have raised or cleared an interrupt line
  post(c, EXIT_REASON_IO_INSTRUCTION, qual);
}
const ioSize = (c: Cpu): 2 | 4 => (c.osize === 2 ? 2 : 4);
OPS[0xe4] = (c) => ioIn(c, c.fetch8(), 1);
OPS[0xe5] = (c) => ioIn(c, c.fetch8(), ioSize(c));
OPS[0xe6] = (c) => ioOut(c, c.fetch8(), 1);
OPS[0xe7] = (c) => ioOut(c, c.fetch8(), ioSize(c));
OPS[0xec] = (c) => ioIn(c, c.lo[REG_RDX]! & 0xffff, 1);
OPS[0xed] = (c) => ioIn(c, c.lo[REG_RDX]! & 0xffff, ioSize(c));
OPS[0xee] = (c) => ioOut(c, c.lo[REG_RDX]! & 0xffff, 1);
OPS[0xef] = (c) => ioOut(c, c.lo[REG_RDX]! & 0xffff, ioSize(c));

/** XGETBV/XSETBV are NP (no 66/F2/F3) and need CR4.OSXSAVE (SDM Vol. 2 "XSETBV", "XGETBV"). */
function requireXsave(c: Cpu): void {
  if (c.has66 || c.repPrefix !== 0 || (c.cr4 & CR4_OSXSAVE) === 0) c.raise(VEC_UD);
}

/** XGETBV: EDX:EAX = XCR[ECX]; only XCR0 exists (ECX = 1 needs XINUSE support, not reported). */
function xgetbv(c: Cpu): void {
  requireXsave(c);
  if (c.lo[REG_RCX]! !== 0) c.raise(VEC_GP, 0);
  c.writeReg(4, REG_RAX, c.xcr0 | 0, 0);
  c.writeReg(4, REG_RDX, 0, 0);
}

/**
 * XSETBV: XCR[ECX] = EDX:EAX. #UD and the CPL check come before the VM exit (SDM Vol. 3C §26.1.1:
 * invalid-opcode and privilege faults have priority); the value is checked after it, so a
 * hypervisor may take or refuse any value. Exit qual = ECX, `exitValue` = EDX:EAX.
 */
function xsetbv(c: Cpu): void {
  requireXsave(c);
  requireCpl0(c);
  const ecx = c.lo[REG_RCX]! >>> 0;
  const lo = c.lo[REG_RAX]! >>> 0;
  const hi = c.lo[REG_RDX]! >>> 0;
  c.exitValue = (BigInt(hi) << 32n) | BigInt(lo);
  if (pre(c, EXIT_REASON_XSETBV, ecx)) return;
  // Only XCR0; x87 must stay enabled; nothing beyond the supported bits; AVX needs SSE.
  if (ecx !== 0 || hi !== 0 || (lo & ~XCR0_SUPPORTED) !== 0 || (lo & XCR0_X87) === 0 || (lo & 6) === 4) {
    c.raise(VEC_GP, 0);
  }
  c.xcr0 = lo;
  post(c, EXIT_REASON_XSETBV, ecx);
}

// 0F 01: group 7
OPS[X + 0x01] = (c) => {
  const b = c.fetch8();
  c.ip--;
  if (b >= 0xc0) {
    c.ip++;
    switch (b) {
      case 0xf8: // SWAPGS
        requireCpl0(c);
        {
          const t = c.segBase[SEG_GS]!;
          c.segBase[SEG_GS] = c.kernelGsBase;
          c.kernelGsBase = t;
        }
        return;
      case 0xf9:
        rdtscp(c);
        return;
      case 0xd0:
        xgetbv(c);
        return;
      case 0xd1:
        xsetbv(c);
        return;
      case 0xc1: // VMCALL: without a handler there is no VMX root to take it
        if (c.has66 || c.repPrefix !== 0) c.raise(VEC_UD);
        if ((c.exitMask[EXIT_REASON_VMCALL]! & EXIT_WANT_PRE) === 0 || c.exitHandler === null) c.raise(VEC_UD);
        c.exitPre(EXIT_REASON_VMCALL, 0);
        post(c, EXIT_REASON_VMCALL, 0);
        return;
      default:
        c.raise(VEC_UD);
    }
  }
  c.decodeModrm(0);
  const op = c.mOp;
  if (c.mRm >= 0) c.raise(VEC_UD);
  switch (op) {
    case 0:
    case 1: {
      // SGDT / SIDT: 2-byte limit + 8-byte base.
      const base = op === 0 ? c.gdtrBase : c.idtrBase;
      const limit = op === 0 ? c.gdtrLimit : c.idtrLimit;
      c.probeWrite(c.ea, 10);
      c.write16(c.ea, limit);
      c.write64(c.ea + 2, (base % TWO_32) | 0, Math.floor(base / TWO_32));
      return;
    }
    case 2:
    case 3: {
      requireCpl0(c);
      const limit = c.read16(c.ea);
      const lo = c.read64(c.ea + 2);
      const base = c.hi64 * TWO_32 + (lo >>> 0);
      if (op === 2) {
        c.gdtrBase = base;
        c.gdtrLimit = limit;
      } else {
        c.idtrBase = base;
        c.idtrLimit = limit;
      }
      return;
    }
    case 7: {
      requireCpl0(c);
      c.exitLinear = c.ea;
      if (pre(c, EXIT_REASON_INVLPG, 0)) return;
      c.flushPage(c.ea);
      post(c, EXIT_REASON_INVLPG, 0);
      return;
    }
    default:
      c.raise(VEC_UD);
  }
};

// 0F 00 /3: LTR (the other group-6 forms are outside the ISA)
OPS[X + 0x00] = (c) => {
  c.decodeModrm(0);
  if (c.mOp !== 3) c.raise(VEC_UD);
  requireCpl0(c);
  c.loadTaskRegister(c.readRm(2));
};

// MOV r64, CRn / MOV CRn, r64 (mod field ignored: always registers)
OPS[X + 0x20] = (c) => {
  c.decodeModrmRegOnly();
  if (!validCr(c.mReg)) c.raise(VEC_UD); // decode-time #UD wins over the privilege #GP
  requireCpl0(c);
  moveFromCr(c, c.mReg, c.mRm, CR_ACCESS_FROM);
};
OPS[X + 0x22] = (c) => {
  c.decodeModrmRegOnly();
  if (!validCr(c.mReg)) c.raise(VEC_UD);
  requireCpl0(c);
  moveToCr(c, c.mReg, c.mRm, CR_ACCESS_TO);
};
// MOV r64, DRn / MOV DRn, r64
function drIndex(c: Cpu): number {
  let n = c.mReg;
  if (n > 7) c.raise(VEC_UD);
  if (n === 4 || n === 5) {
    if ((c.cr4 & CR4_DE) !== 0) c.raise(VEC_UD);
    n += 2;
  }
  return n;
}
OPS[X + 0x21] = (c) => {
  c.decodeModrmRegOnly();
  if (c.mReg > 7) c.raise(VEC_UD);
  requireCpl0(c);
  const n = drIndex(c);
  if (pre(c, EXIT_REASON_DR_ACCESS, n | (CR_ACCESS_FROM << 4))) return;
  const v = c.dr[n]!;
  c.writeReg(8, c.mRm, Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0);
  post(c, EXIT_REASON_DR_ACCESS, n | (CR_ACCESS_FROM << 4));
};
OPS[X + 0x23] = (c) => {
  c.decodeModrmRegOnly();
  if (c.mReg > 7) c.raise(VEC_UD);
  requireCpl0(c);
  const n = drIndex(c);
  const v = (BigInt(c.hi[c.mRm]! >>> 0) << 32n) | BigInt(c.lo[c.mRm]! >>> 0);
  if ((n === 6 || n === 7) && v >> 32n !== 0n) c.raise(VEC_GP, 0);
  c.exitValue = v;
  if (pre(c, EXIT_REASON_DR_ACCESS, n | (CR_ACCESS_TO << 4))) return;
  c.dr[n] = n === 6 ? v | 0xffff0ff0n : n === 7 ? (v & ~0xd800n) | 0x400n : v;
  post(c, EXIT_REASON_DR_ACCESS, n | (CR_ACCESS_TO << 4));
};
// UD2
OPS[X + 0x0b] = (c) => c.raise(VEC_UD);

// MOV Sreg: 8C (store), 8E (load; CS cannot be loaded; MOV SS blocks interrupts for one instruction)
OPS[0x8c] = (c) => {
  c.decodeModrm(0);
  const s = c.mOp;
  if (s > 5) c.raise(VEC_UD);
  c.writeRm(c.mRm >= 0 ? c.osize : 2, c.segSel[s]!, 0);
};
OPS[0x8e] = (c) => {
  c.decodeModrm(0);
  const s = c.mOp;
  if (s > 5 || s === 1) c.raise(VEC_UD);
  c.loadDataSegment(s, c.readRm(2));
  if (s === SEG_SS) {
    c.shadowEnd = c.instructions + 2;
    c.eventPending = true;
  }
};
