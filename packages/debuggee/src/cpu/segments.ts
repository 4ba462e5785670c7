/**
 * Segment registers in 64-bit mode (SDM Vol. 3A §3.4 "Segment Selectors", §3.4.5 descriptors,
 * §5.8 privilege checks for data/stack segment loads, §7.2.3 TSS descriptor in 64-bit mode).
 *
 * Only the parts long mode uses are cached: selector, base (FS/GS; others read as zero for
 * addressing), limit and attributes (type, S, DPL, P, AVL, L, D/B, G packed as in the VMCS
 * access-rights format). Segment limits are not checked in 64-bit mode.
 */

import { CpuAccess } from './access.js';
import { VEC_GP, VEC_NP, VEC_SS } from './faults.js';
import { SEG_CS, SEG_FS, SEG_GS, SEG_SS, TWO_32 } from './state.js';

export interface SegmentInfo {
  selector: number;
  base: bigint;
  limit: number;
  attributes: number;
}

export abstract class CpuSegments extends CpuAccess {
  /** Descriptor words of the last `readDescriptor` call. */
  descLo = 0;
  descHi = 0;

  /** Reads the 8-byte GDT descriptor for `sel` (LDT unsupported → #GP). */
  readDescriptor(sel: number, vector = VEC_GP): void {
    const off = sel & ~7;
    if ((sel & 4) !== 0 || off + 7 > this.gdtrLimit) this.raise(vector, sel & 0xfffc);
    const save = this.sysAccess;
    this.sysAccess = true;
    try {
      this.descLo = this.read32(this.gdtrBase + off);
      this.descHi = this.read32(this.gdtrBase + off + 4);
    } finally {
      this.sysAccess = save;
    }
  }

  static attrOf(hi: number): number {
    return ((hi >>> 8) & 0xff) | (((hi >>> 20) & 0xf) << 8);
  }

  static baseOf(lo: number, hi: number): number {
    return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  }

  static limitOf(lo: number, hi: number): number {
    const l = (lo & 0xffff) | (hi & 0xf0000);
    return (hi & (1 << 23)) !== 0 ? ((l << 12) | 0xfff) >>> 0 : l;
  }

  /** Loads the cached parts from the descriptor just read. */
  cacheSegment(seg: number, sel: number): void {
    const lo = this.descLo;
    const hi = this.descHi;
    this.segSel[seg] = sel;
    this.segAttr[seg] = CpuSegments.attrOf(hi);
    this.segLimit[seg] = CpuSegments.limitOf(lo, hi);
    if (seg === SEG_FS || seg === SEG_GS) this.segBase[seg] = CpuSegments.baseOf(lo, hi);
    else this.segBase[seg] = 0;
  }

  /** Makes `seg` a null (unusable) segment with the given selector. */
  nullSegment(seg: number, sel: number): void {
    this.segSel[seg] = sel;
    this.segAttr[seg] = 0;
    this.segLimit[seg] = 0;
    if (seg !== SEG_FS && seg !== SEG_GS) this.segBase[seg] = 0;
    else this.segBase[seg] = 0;
  }

  /** MOV/POP to a data segment register or SS, with the protected-mode checks. */
  loadDataSegment(seg: number, sel: number): void {
    const rpl = sel & 3;
    if ((sel & 0xfffc) === 0) {
      if (seg === SEG_SS && (this.cpl_ === 3 || rpl !== this.cpl_)) this.raise(VEC_GP, 0);
      this.nullSegment(seg, sel);
      return;
    }
    this.readDescriptor(sel);
    const attr = CpuSegments.attrOf(this.descHi);
    const type = attr & 0xf;
    const dpl = (attr >> 5) & 3;
    const isCode = (type & 8) !== 0;
    if ((attr & 0x10) === 0) this.raise(VEC_GP, sel & 0xfffc);
    if (seg === SEG_SS) {
      if (isCode || (type & 2) === 0 || rpl !== this.cpl_ || dpl !== this.cpl_) this.raise(VEC_GP, sel & 0xfffc);
      if ((attr & 0x80) === 0) this.raise(VEC_SS, sel & 0xfffc);
    } else {
      if (isCode && (type & 2) === 0) this.raise(VEC_GP, sel & 0xfffc);
      // Non-conforming: DPL must be >= max(CPL, RPL).
      if ((!isCode || (type & 4) === 0) && dpl < Math.max(this.cpl_, rpl)) this.raise(VEC_GP, sel & 0xfffc);
      if ((attr & 0x80) === 0) this.raise(VEC_NP, sel & 0xfffc);
    }
    this.cacheSegment(seg, sel);
  }

  /** Loads CS for a far transfer to privilege `cpl` (checks type and presence only). */
  loadCodeSegment(sel: number, cpl: number): void {
    if ((sel & 0xfffc) === 0) this.raise(VEC_GP, 0);
    this.readDescriptor(sel);
    const attr = CpuSegments.attrOf(this.descHi);
    if ((attr & 0x18) !== 0x18) this.raise(VEC_GP, sel & 0xfffc);
    if ((attr & 0x80) === 0) this.raise(VEC_NP, sel & 0xfffc);
    this.cacheSegment(SEG_CS, (sel & 0xfffc) | cpl);
  }

  /** Sets CS/SS to the flat values SYSCALL/SYSRET load, without reading the GDT (SDM SYSCALL). */
  flatCodeStack(csSel: number, ssSel: number, dpl: number): void {
    this.segSel[SEG_CS] = csSel;
    this.segBase[SEG_CS] = 0;
    this.segLimit[SEG_CS] = 0xffffffff;
    this.segAttr[SEG_CS] = 0x9b | (dpl << 5) | (1 << 9) | (1 << 11);
    this.segSel[SEG_SS] = ssSel;
    this.segBase[SEG_SS] = 0;
    this.segLimit[SEG_SS] = 0xffffffff;
    this.segAttr[SEG_SS] = 0x93 | (dpl << 5) | (1 << 10) | (1 << 11);
  }

  /** LTR: load the task register from a 16-byte available 64-bit TSS descriptor and mark it busy. */
  loadTaskRegister(sel: number): void {
    if ((sel & 0xfffc) === 0) this.raise(VEC_GP, 0);
    this.readDescriptor(sel);
    const lo = this.descLo;
    const hi = this.descHi;
    const attr = CpuSegments.attrOf(hi);
    if ((attr & 0x1f) !== 0x09) this.raise(VEC_GP, sel & 0xfffc);
    if ((attr & 0x80) === 0) this.raise(VEC_NP, sel & 0xfffc);
    const save = this.sysAccess;
    this.sysAccess = true;
    try {
      const upper = this.read32(this.gdtrBase + (sel & ~7) + 8);
      this.trBase = upper * TWO_32 + CpuSegments.baseOf(lo, hi);
      this.trLimit = CpuSegments.limitOf(lo, hi);
      this.trAttr = attr | 2;
      this.trSel = sel;
      this.write32(this.gdtrBase + (sel & ~7) + 4, hi | 0x200);
    } finally {
      this.sysAccess = save;
    }
  }

  getSegment(i: number): SegmentInfo {
    return {
      selector: this.segSel[i]!,
      base: BigInt(this.segBase[i]!),
      limit: this.segLimit[i]!,
      attributes: this.segAttr[i]!,
    };
  }
}
