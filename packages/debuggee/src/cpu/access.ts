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

  /** Calls the EPT violation exit when the frame is trapped for this access. */
  eptCheck(pa: number, lin: number, size: number, access: number): void {
    const e = this.ept[Math.floor(pa / 4096)] ?? 0;
    const bit = access === ACCESS_WRITE ? EPT_WRITE_TRAP : EPT_READ_TRAP;
    if ((e & bit) === 0 || (this.exitMask[EXIT_REASON_EPT_VIOLATION]! & EXIT_WANT_PRE) === 0) return;
    this.exitAddress = pa;
    this.exitLinear = lin;
    this.exitSize = size;
    this.exitAccess = access === ACCESS_WRITE ? EPT_ACCESS_WRITE : EPT_ACCESS_READ;
    const q = this.exitAccess;
    if (this.exitPre(EXIT_REASON_EPT_VIOLATION, q) === EXIT_SKIP) throw EXIT_SKIP_INSN;
  }

  private readSlow(lin: number, size: number): number {
    if (!isCanonical(lin)) this.raise(VEC_GP, 0);
    if ((lin & 0xfff) + size > 4096) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.readSlow(lin + i, 1) << (8 * i);
      return size === 4 ? v : v & 0xffff;
    }
    const pa = this.translateOrFault(lin, ACCESS_READ);
    this.eptCheck(pa, lin, size, ACCESS_READ);
    const m = this.memory;
    return size === 1 ? m.read8(pa) : size === 2 ? m.read16(pa) : m.read32(pa) | 0;
  }

  private writeSlow(lin: number, size: number, v: number): void {
    if (!isCanonical(lin)) this.raise(VEC_GP, 0);
    const m = this.memory;
    if ((lin & 0xfff) + size > 4096) {
      // Both pages must be writable before any byte is stored.
      const n1 = 4096 - (lin & 0xfff);
      const pa1 = this.translateOrFault(lin, ACCESS_WRITE);
      const pa2 = this.translateOrFault(lin + n1, ACCESS_WRITE);
      this.eptCheck(pa1, lin, size, ACCESS_WRITE);
      this.eptCheck(pa2, lin + n1, size, ACCESS_WRITE);
      for (let i = 0; i < size; i++) m.write8(i < n1 ? pa1 + i : pa2 + i - n1, (v >>> (8 * i)) & 0xff);
      this.eventPending = true;
      return;
    }
    const pa = this.translateOrFault(lin, ACCESS_WRITE);
    this.eptCheck(pa, lin, size, ACCESS_WRITE);
    if (size === 1) m.write8(pa, v);
    else if (size === 2) m.write16(pa, v);
    else m.write32(pa, v);
    // An MMIO write may have raised an interrupt line.
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
    // Check the whole quadword before reading (a fault must not leave half a read behind).
    const lo = this.readSlow(lin, 4);
    this.hi64 = this.readSlow(lin + 4, 4);
    return lo;
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
    // Probe both halves for writability first so a fault leaves memory untouched.
    this.probeWrite(lin, 8);
    this.writeSlow(lin, 4, lo);
    this.writeSlow(lin + 4, 4, hi);
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
    const pa = this.translateOrFault(lin, ACCESS_EXEC);
    const pfn = Math.floor(pa / 4096);
    const m = this.memory;
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
