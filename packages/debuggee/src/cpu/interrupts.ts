/**
 * Exception and interrupt delivery through the 64-bit IDT (SDM Vol. 3A §6.14 "Exception and
 * Interrupt Handling in 64-bit Mode": 16-byte gates, IST, RSP0 from the TSS on a privilege change,
 * SS:RSP always pushed, stack aligned to 16; §6.15 double-fault rules).
 */
import { VEC_GP, VEC_NP } from './faults.js';
import { CpuSegments } from './segments.js';
import { FLAG_IF, FLAG_NT, FLAG_RF, FLAG_TF, FLAG_VM, REG_RSP, SEG_CS, SEG_SS, TWO_32 } from './state.js';

export abstract class CpuInterrupts extends CpuSegments {
  /** Set by INT n / INT3 / INTO before raising: the gate DPL is checked and RIP points past them. */
  faultSoft = false;
  /** CPL changed: report EXIT_REASON_MODE_CHANGE before the next instruction. */
  modeChanged = false;
  /** External interrupts are blocked until `instructions` reaches this (STI / MOV SS shadow). */
  shadowEnd = 0;

  /** Changes CPL (access masks, mode-change exit). */
  setCpl(cpl: number): void {
    if (cpl === this.cpl_) return;
    this.cpl_ = cpl;
    this.setCplMasks();
    this.modeChanged = true;
    this.eventPending = true;
  }

  rsp(): number {
    return this.hi[REG_RSP]! * TWO_32 + (this.lo[REG_RSP]! >>> 0);
  }

  setRspNumber(v: number): void {
    this.lo[REG_RSP] = (v % TWO_32) | 0;
    this.hi[REG_RSP] = Math.floor(v / TWO_32) | 0;
  }

  /**
   * Delivers `vector` through the IDT. `error` < 0: no error code. `soft`: INT n/INT3/INTO (gate DPL
   * checked against CPL). `ext`: external event (sets EXT in error codes). `returnRip`: the RIP saved
   * in the frame. Faults during delivery propagate as GUEST_FAULT to the caller (double-fault logic).
   */
  deliver(vector: number, error: number, soft: boolean, ext: boolean, returnRip: number): void {
    const extBit = ext ? 1 : 0;
    const gateErr = vector * 8 + 2 + extBit;
    if (vector * 16 + 15 > this.idtrLimit) this.raise(VEC_GP, gateErr);
    this.sysAccess = true;
    try {
      const gate = this.idtrBase + vector * 16;
      const w0 = this.read32(gate);
      const w1 = this.read32(gate + 4);
      const w2 = this.read32(gate + 8);
      const type = (w1 >> 8) & 0x1f;
      if (type !== 0x0e && type !== 0x0f) this.raise(VEC_GP, gateErr);
      if (soft && ((w1 >> 13) & 3) < this.cpl_) this.raise(VEC_GP, gateErr);
      if ((w1 & 0x8000) === 0) this.raise(VEC_NP, gateErr);
      const target = w2 * TWO_32 + (((w1 & 0xffff0000) | (w0 & 0xffff)) >>> 0);
      const sel = w0 >>> 16;
      const ist = w1 & 7;
      if ((sel & 0xfffc) === 0) this.raise(VEC_GP, extBit);
      this.readDescriptor(sel);
      const csLo = this.descLo;
      const csHi = this.descHi;
      const csAttr = CpuSegments.attrOf(csHi);
      if ((csAttr & 0x18) !== 0x18 || (csAttr & (1 << 9)) === 0) this.raise(VEC_GP, (sel & 0xfffc) + extBit);
      if ((csAttr & 0x80) === 0) this.raise(VEC_NP, (sel & 0xfffc) + extBit);
      const dpl = (csAttr >> 5) & 3;
      const newCpl = (csAttr & 4) !== 0 ? this.cpl_ : dpl; // conforming code keeps CPL
      if (newCpl > this.cpl_) this.raise(VEC_GP, (sel & 0xfffc) + extBit);
      const oldRsp = this.rsp();
      let rsp = oldRsp;
      if (ist !== 0) rsp = this.readTss64(0x24 + (ist - 1) * 8);
      else if (newCpl < this.cpl_) rsp = this.readTss64(4 + newCpl * 8);
      rsp -= rsp % 16 === 0 ? 0 : ((rsp % 16) + 16) % 16;
      const flags = this.readFlags();
      // Build the frame (SS, RSP, RFLAGS, CS, RIP[, error]) before touching any register.
      this.writeStack(rsp - 8, this.segSel[SEG_SS]!, 0);
      this.writeStack(rsp - 16, (oldRsp % TWO_32) | 0, Math.floor(oldRsp / TWO_32) | 0);
      this.writeStack(rsp - 24, flags, 0);
      this.writeStack(rsp - 32, this.segSel[SEG_CS]!, 0);
      this.writeStack(rsp - 40, (returnRip % TWO_32) | 0, Math.floor(returnRip / TWO_32) | 0);
      rsp -= 40;
      if (error >= 0) {
        rsp -= 8;
        this.writeStack(rsp, error, 0);
      }
      // Commit.
      if (newCpl !== this.cpl_) this.nullSegment(SEG_SS, newCpl);
      this.descLo = csLo;
      this.descHi = csHi;
      this.cacheSegment(SEG_CS, (sel & 0xfffc) | newCpl);
      this.setRspNumber(rsp);
      let f = this.rflags & ~(FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM);
      if (type === 0x0e) f &= ~FLAG_IF;
      this.rflags = f;
      this.rip = target;
      this.halted = false;
      this.setCpl(newCpl);
    } finally {
      this.sysAccess = false;
    }
  }

  private writeStack(lin: number, lo: number, hi: number): void {
    this.write64(lin, lo, hi);
  }

  /** Reads a 64-bit field of the current TSS (RSPn / ISTn). */
  readTss64(offset: number): number {
    if (offset + 7 > this.trLimit) this.raise(10, this.trSel & 0xfffc);
    const lo = this.read32(this.trBase + offset);
    const hi = this.read32(this.trBase + offset + 4);
    return hi * TWO_32 + (lo >>> 0);
  }
}
