/**
 * Linear-address data accesses and instruction fetch (SDM Vol. 3A §4.6, §3.3.7.1 canonical
 * addressing). Each access tries the TLB (tag compare + permission bit) and falls back to a slow
 * path that checks canonicality, walks the page tables (raising #PF with CR2), calls the EPT
 * violation exit for trapped frames, handles page-crossing accesses and MMIO.
 *
 * 64-bit values are returned as the low half with the high half left in `hi64`.
 */
import {
  EPT_ACCESS_READ,
  EPT_ACCESS_WRITE,
  EPT_READ_TRAP,
  EPT_WRITE_TRAP,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_SKIP,
  EXIT_WANT_POST,
  EXIT_WANT_PRE,
} from './exits.js';
import { EXIT_SKIP_INSN, VEC_GP, VEC_PF } from './faults.js';
import { ACCESS_EXEC, ACCESS_READ, ACCESS_WRITE, CpuPaging, isCanonical } from './paging.js';
import { TLB_MASK } from './tlb.js';

/** 1/4096: multiplying by a power of two is exact and cheaper than dividing. */
const PAGE_INV = 1 / 4096;

export abstract class CpuAccess extends CpuPaging {
  hi64 = 0;
  /** Forces supervisor access rights for implicit system accesses (IDT, GDT, TSS, interrupt stack). */
  sysAccess = false;

  /** Translates for a data or fetch access, raising #GP (non-canonical) or #PF. */
  translateOrFault(lin: number, access: number): number {
    if (!isCanonical(lin)) this.raise(VEC_GP, 0);
    const user = this.cpl_ === 3 && !this.sysAccess;
    const pa = this.pageWalk(lin, access, user, true);
    if (pa < 0) {
      this.cr2 = lin;
      this.raise(VEC_PF, this.walkError);
    }
    return pa;
  }

  /** Physical address of the second page of the last slow-path access, or -1 if it did not cross. */
  private splitPa = -1;
  /** Access bits (EPT_ACCESS_*) of this instruction's EPT violations owed a `post` call, 0 = none. */
  eptPostQual = 0;
  /** Work is due after the current instruction retires (MTF, TF single-step, EPT violation post). */
  postStep = false;

  /**
   * Translates a slow-path access of `size` bytes at `lin` (both pages of a page-crossing access,
   * before any byte moves, so a fault leaves memory untouched) and makes its one EPT check. Returns
   * the physical address of the first byte; `splitPa` holds the second page's, or -1.
   */
  private slowTranslate(lin: number, size: number, access: number): number {
    if (!isCanonical(lin)) this.raise(VEC_GP, 0);
    const pa = this.translateOrFault(lin, access);
    let pa2 = -1;
    // The second page faults at its first byte (CR2 = page start), as on hardware.
    if ((lin & 0xfff) + size > 4096) pa2 = this.translateOrFault(lin - (lin & 0xfff) + 4096, access);
    this.splitPa = pa2;
    this.eptCheck(pa, pa2, lin, size, access);
    return pa;
  }

  /**
   * One EPT violation exit per architectural access (SDM Vol. 3C §28.3.3.2), whatever its size and
   * even across a page boundary: `exitLinear` is its first byte, `exitSize` its full size, and
   * `exitAddress` the physical address of its first byte in a trapped frame (the start unless only
   * the second page is trapped). EXIT_SKIP retires the instruction before any byte is stored; a
   * requested `post` call is made when the instruction retires.
   */
  eptCheck(pa: number, pa2: number, lin: number, size: number, access: number): void {
    const mask = this.exitMask[EXIT_REASON_EPT_VIOLATION]!;
    if ((mask & EXIT_WANT_PRE) === 0) return;
    const bit = access === ACCESS_WRITE ? EPT_WRITE_TRAP : EPT_READ_TRAP;
    const first = (this.ept[Math.floor(pa / 4096)] ?? 0) & bit;
    if (first === 0 && (pa2 < 0 || ((this.ept[Math.floor(pa2 / 4096)] ?? 0) & bit) === 0)) return;
    const q = access === ACCESS_WRITE ? EPT_ACCESS_WRITE : EPT_ACCESS_READ;
    this.exitAddress = first !== 0 ? pa : pa2;
    this.exitLinear = lin;
    this.exitSize = size;
    this.exitAccess = q;
    if (this.exitPre(EXIT_REASON_EPT_VIOLATION, q) === EXIT_SKIP) throw EXIT_SKIP_INSN;
    if ((mask & EXIT_WANT_POST) !== 0) {
      this.eptPostQual |= q;
      this.postStep = true; // the retirement path makes the post call
    }
  }

  private readSlow(lin: number, size: number): number {
    const pa = this.slowTranslate(lin, size, ACCESS_READ);
    const pa2 = this.splitPa;
    const m = this.memory;
    if (pa2 < 0) return size === 1 ? m.read8(pa) : size === 2 ? m.read16(pa) : m.read32(pa) | 0;
    const n1 = 4096 - (lin & 0xfff);
    let v = 0;
    for (let i = 0; i < size; i++) v |= m.read8(i < n1 ? pa + i : pa2 + i - n1) << (8 * i);
    return size === 4 ? v : v & 0xffff;
  }

  /** Low half returned, high half in `hi64`. */
  private read64Slow(lin: number): number {
    const pa = this.slowTranslate(lin, 8, ACCESS_READ);
    const pa2 = this.splitPa;
    const m = this.memory;
    if (pa2 < 0) {
      const lo = m.read32(pa) | 0;
      this.hi64 = m.read32(pa + 4) | 0;
      return lo;
    }
    const n1 = 4096 - (lin & 0xfff);
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 8; i++) {
      const b = m.read8(i < n1 ? pa + i : pa2 + i - n1);
      if (i < 4) lo |= b << (8 * i);
      else hi |= b << (8 * (i - 4));
    }
    this.hi64 = hi;
    return lo;
  }

  private writeSlow(lin: number, size: number, v: number): void {
    const pa = this.slowTranslate(lin, size, ACCESS_WRITE);
    const pa2 = this.splitPa;
    const m = this.memory;
    if (pa2 >= 0) {
      const n1 = 4096 - (lin & 0xfff);
      for (let i = 0; i < size; i++) m.write8(i < n1 ? pa + i : pa2 + i - n1, (v >>> (8 * i)) & 0xff);
      this.eventPending = true;
      return;
    }
    if (size === 1) m.write8(pa, v);
    else if (size === 2) m.write16(pa, v);
    else m.write32(pa, v);
    // An MMIO write may have raised an interrupt line.
    if (!m.isRamFrame(Math.floor(pa / 4096))) this.eventPending = true;
  }

  private write64Slow(lin: number, lo: number, hi: number): void {
    const pa = this.slowTranslate(lin, 8, ACCESS_WRITE);
    const pa2 = this.splitPa;
    const m = this.memory;
    if (pa2 >= 0) {
      const n1 = 4096 - (lin & 0xfff);
      for (let i = 0; i < 8; i++) {
        const b = i < 4 ? lo >>> (8 * i) : hi >>> (8 * (i - 4));
        m.write8(i < n1 ? pa + i : pa2 + i - n1, b & 0xff);
      }
      this.eventPending = true;
      return;
    }
    m.write32(pa, lo);
    m.write32(pa + 4, hi);
    if (!m.isRamFrame(Math.floor(pa / 4096))) this.eventPending = true;
  }

  read8(lin: number): number {
    const off = lin & 0xfff;
    const vpn = (lin - off) * PAGE_INV;
    const i = vpn & TLB_MASK;
    if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.readMask) !== 0) return this.tlbView[i]!.getUint8(off);
    return this.readSlow(lin, 1);
  }

  read16(lin: number): number {
    const off = lin & 0xfff;
    if (off <= 0xffe) {
      const vpn = (lin - off) * PAGE_INV;
      const i = vpn & TLB_MASK;
      if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.readMask) !== 0)
        return this.tlbView[i]!.getUint16(off, true);
    }
    return this.readSlow(lin, 2);
  }

  /** Signed 32-bit result. */
  read32(lin: number): number {
    const off = lin & 0xfff;
    if (off <= 0xffc) {
      const vpn = (lin - off) * PAGE_INV;
      const i = vpn & TLB_MASK;
      if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.readMask) !== 0)
        return this.tlbView[i]!.getInt32(off, true);
    }
    return this.readSlow(lin, 4);
  }

  /** Returns the low half; the high half is in `hi64`. */
  read64(lin: number): number {
    const off = lin & 0xfff;
    if (off <= 0xff8) {
      const vpn = (lin - off) * PAGE_INV;
      const i = vpn & TLB_MASK;
      if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.readMask) !== 0) {
        const v = this.tlbView[i]!;
        this.hi64 = v.getInt32(off + 4, true);
        return v.getInt32(off, true);
      }
    }
    return this.read64Slow(lin);
  }

  write8(lin: number, v: number): void {
    const off = lin & 0xfff;
    const vpn = (lin - off) * PAGE_INV;
    const i = vpn & TLB_MASK;
    if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.writeMask) !== 0) {
      this.tlbView[i]!.setUint8(off, v);
      this.gen[this.tlbPfn[i]!]!++;
      return;
    }
    this.writeSlow(lin, 1, v & 0xff);
  }

  write16(lin: number, v: number): void {
    const off = lin & 0xfff;
    if (off <= 0xffe) {
      const vpn = (lin - off) * PAGE_INV;
      const i = vpn & TLB_MASK;
      if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.writeMask) !== 0) {
        this.tlbView[i]!.setUint16(off, v, true);
        this.gen[this.tlbPfn[i]!]!++;
        return;
      }
    }
    this.writeSlow(lin, 2, v & 0xffff);
  }

  write32(lin: number, v: number): void {
    const off = lin & 0xfff;
    if (off <= 0xffc) {
      const vpn = (lin - off) * PAGE_INV;
      const i = vpn & TLB_MASK;
      if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.writeMask) !== 0) {
        this.tlbView[i]!.setInt32(off, v, true);
        this.gen[this.tlbPfn[i]!]!++;
        return;
      }
    }
    this.writeSlow(lin, 4, v);
  }

  write64(lin: number, lo: number, hi: number): void {
    const off = lin & 0xfff;
    if (off <= 0xff8) {
      const vpn = (lin - off) * PAGE_INV;
      const i = vpn & TLB_MASK;
      if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.writeMask) !== 0) {
        const v = this.tlbView[i]!;
        v.setInt32(off, lo, true);
        v.setInt32(off + 4, hi, true);
        this.gen[this.tlbPfn[i]!]!++;
        return;
      }
    }
    this.write64Slow(lin, lo, hi);
  }

  /** Raises the fault a write of `size` bytes at `lin` would raise, without writing. */
  probeWrite(lin: number, size: number): void {
    this.translateOrFault(lin, ACCESS_WRITE);
    const next = lin - (lin & 0xfff) + 4096;
    // The second page faults at its first byte (CR2 = page start), as on hardware.
    if (lin + size > next) this.translateOrFault(next, ACCESS_WRITE);
  }

  // ---- Instruction fetch ----

  /** Makes the page containing `lin` the fetch page (raises #GP / #PF with I/D). */
  refillFetch(lin: number): void {
    const m = this.memory;
    const off = lin & 0xfff;
    const vpn = (lin - off) * PAGE_INV;
    const i = vpn & TLB_MASK;
    if (this.tlbTag[i] === vpn && (this.tlbPerm[i]! & this.execMask) !== 0) {
      // TLB hit: code moving between pages (calls, returns, loops across a page boundary) must not
      // re-walk the tables each time. Entries are RAM-only and lack execute rights on frames with
      // EPT_EXEC_TRAP, so a hit is an untrapped RAM frame.
      const pfn = this.tlbPfn[i]!;
      this.fetchBytes = m.frame(pfn);
      this.fetchView = m.view(pfn);
      this.fetchTrap = 0;
      this.fetchBase = lin - off;
      this.ipo = off;
      this.fetchLimit = 4096;
      this.baseMoved = true;
      return;
    }
    const pa = this.translateOrFault(lin, ACCESS_EXEC);
    const pfn = Math.floor(pa / 4096);
    if (m.isRamFrame(pfn)) {
      this.fetchBytes = m.frame(pfn);
      this.fetchView = m.view(pfn);
    } else {
      const b = m.readBytes(pfn * 4096, 4096);
      this.fetchBytes = b;
      this.fetchView = new DataView(b.buffer);
    }
    this.fetchTrap = (this.ept[pfn] ?? 0) & 4;
    this.fetchBase = lin - (lin & 0xfff);
    this.ipo = lin & 0xfff;
    this.fetchLimit = 4096;
    this.baseMoved = true;
  }

  commitRip(): void {
    this.rip = this.ip;
  }

  /** RIP of the current instruction (canonical, signed number). */
  get rip(): number {
    return this.ripBase + this.startOff;
  }

  /** Sets RIP and restarts decoding there. */
  set rip(v: number) {
    this.ip = v;
    this.ripBase = this.fetchBase;
    this.startOff = this.ipo;
    this.baseMoved = false;
  }

  /** Decode cursor: linear address of the next byte to fetch; becomes RIP when the instruction retires. */
  get ip(): number {
    return this.fetchBase + this.ipo;
  }

  set ip(v: number) {
    const o = v - this.fetchBase;
    if (o >= 0 && o < 4096) this.ipo = o | 0;
    else {
      // Elsewhere: rebase on the target's page and refill on the next fetch.
      const off = v & 0xfff;
      this.fetchBase = v - off;
      this.ipo = off;
      this.fetchLimit = 0;
      this.baseMoved = true;
    }
  }

  fetch8(): number {
    const o = this.ipo;
    if (o < this.fetchLimit) {
      this.ipo = o + 1;
      return this.fetchBytes[o]!;
    }
    this.refillFetch(this.fetchBase + o);
    const p = this.ipo;
    this.ipo = p + 1;
    return this.fetchBytes[p]!;
  }

  /** Sign-extended 8-bit immediate. */
  fetchS8(): number {
    return (this.fetch8() << 24) >> 24;
  }

  fetch16(): number {
    const o = this.ipo;
    if (o <= this.fetchLimit - 2) {
      this.ipo = o + 2;
      return this.fetchView.getUint16(o, true);
    }
    return this.fetch8() | (this.fetch8() << 8);
  }

  /** Signed 32-bit immediate. */
  fetch32(): number {
    const o = this.ipo;
    if (o <= this.fetchLimit - 4) {
      this.ipo = o + 4;
      return this.fetchView.getInt32(o, true);
    }
    return this.fetch8() | (this.fetch8() << 8) | (this.fetch8() << 16) | (this.fetch8() << 24);
  }
}
