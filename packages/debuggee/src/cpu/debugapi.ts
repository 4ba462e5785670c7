/**
 * The cold-path register API used by the debugger, the hypervisor and the loader (BigInt only
 * here): general registers, RIP, RFLAGS (lazy flags materialised), control/debug registers,
 * segments, descriptor tables and MSRs. No exits, no guest faults: invalid values are rejected or
 * stored as given, never thrown at the guest.
 */
import { applyCr, crValue } from './control.js';
import { GUEST_FAULT } from './faults.js';
import { readMsr, writeMsr } from './msr.js';
import { CpuOperands } from './operands.js';
import { isCanonical } from './paging.js';
import { SEG_FS, SEG_GS } from './state.js';

export abstract class CpuDebugApi extends CpuOperands {
  getReg(r: number): bigint {
    return (BigInt(this.hi[r]! >>> 0) << 32n) | BigInt(this.lo[r]! >>> 0);
  }

  setReg(r: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.lo[r] = Number(u & 0xffffffffn) | 0;
    this.hi[r] = Number(u >> 32n) | 0;
  }

  getRip(): bigint {
    return BigInt.asUintN(64, BigInt(this.rip));
  }

  setRip(v: bigint): void {
    this.rip = Number(BigInt.asIntN(64, v));
  }

  getRflags(): bigint {
    return BigInt(this.readFlags() >>> 0);
  }

  setRflags(v: bigint): void {
    this.lzOp = 0;
    this.rflags = (Number(v & 0x3f7fd7n) | 2) >>> 0;
    this.eventPending = true;
  }

  getCr(n: number): bigint {
    const [lo, hi] = crValue(this, n);
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  /** Debug write of a control register (validity checked; no exits). Returns false when rejected. */
  setCr(n: number, v: bigint): boolean {
    const u = BigInt.asUintN(64, v);
    const ok = applyCr(this, n, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
    this.flushTlb();
    return ok;
  }

  getDr(n: number): bigint {
    return this.dr[n & 7]!;
  }

  setDr(n: number, v: bigint): void {
    this.dr[n & 7] = BigInt.asUintN(64, v);
  }

  setSegmentSelector(i: number, sel: number): void {
    if ((sel & 0xfffc) === 0) {
      this.nullSegment(i, sel);
      return;
    }
    try {
      this.readDescriptor(sel);
      const base = this.segBase[i]!;
      this.cacheSegment(i, sel);
      // FS/GS bases set through MSRs are 64-bit; keep them unless the descriptor says otherwise.
      if (i === SEG_FS || i === SEG_GS) this.segBase[i] = base === 0 ? this.segBase[i]! : base;
      if (i === 1) this.setCpl(sel & 3);
    } catch (e) {
      if (e !== GUEST_FAULT) throw e;
      this.segSel[i] = sel;
    }
  }

  getDescriptorTable(which: 'gdtr' | 'idtr'): { base: bigint; limit: number } {
    const base = which === 'gdtr' ? this.gdtrBase : this.idtrBase;
    return { base: BigInt.asUintN(64, BigInt(base)), limit: which === 'gdtr' ? this.gdtrLimit : this.idtrLimit };
  }

  setDescriptorTable(which: 'gdtr' | 'idtr', base: bigint, limit: number): void {
    const b = Number(BigInt.asIntN(64, base));
    if (which === 'gdtr') {
      this.gdtrBase = b;
      this.gdtrLimit = limit & 0xffff;
    } else {
      this.idtrBase = b;
      this.idtrLimit = limit & 0xffff;
    }
  }

  getMsr(index: number): bigint {
    return readMsr(this, index >>> 0) ?? this.msrs.get(index >>> 0) ?? 0n;
  }

  setMsr(index: number, v: bigint): void {
    if (!writeMsr(this, index >>> 0, v)) this.msrs.set(index >>> 0, BigInt.asUintN(64, v));
  }

  getEfer(): bigint {
    return BigInt(this.efer);
  }

  /** Sets CPL directly (loader / tests); also adjusts the CS/SS RPL bits. */
  setCplForLoader(cpl: number): void {
    this.setCpl(cpl);
  }

  /** RIP as a JS number (hot-path friendly; canonical). */
  get ripNumber(): number {
    return this.rip;
  }

  static isCanonical(lin: number): boolean {
    return isCanonical(lin);
  }
}
