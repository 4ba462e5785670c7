/**
 * 4-level paging walker (SDM Vol. 3A §4.5 "4-Level Paging", §4.6 access rights, §4.7 page-fault
 * exceptions, §4.8 accessed and dirty flags).
 *
 * `pageWalk` returns the physical address or -1 and leaves the #PF error code in `walkError`; with
 * `commit` it sets accessed/dirty bits and fills the TLB. The debug accessors use it without commit.
 */
import { PF_ID, PF_P, PF_RSVD, PF_US, PF_WR } from './faults.js';
import { CR0_PG, CR0_WP, CR4_PGE, EFER_NXE, TWO_32 } from './state.js';
import { CpuTlb, PERM_RS, PERM_RU, PERM_WS, PERM_WU, PERM_XS, PERM_XU } from './tlb.js';

export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_EXEC = 2;

/** MAXPHYADDR reported by CPUID 0x80000008 and enforced as reserved bits in paging entries. */
export const MAXPHYADDR = 46;
const PTE_P = 1;
const PTE_A = 0x20;
const PTE_D = 0x40;
const PTE_PS = 0x80;
const PTE_G = 0x100;
/** Reserved physical-address bits 46..51 in the high half of an entry. */
const HI_RSVD = 0x000fc000;
const TWO_48 = 281474976710656;

export function isCanonical(lin: number): boolean {
  return lin >= -140737488355328 && lin < 140737488355328;
}

export abstract class CpuPaging extends CpuTlb {
  walkError = 0;
  /** Entries seen by the last walk when `walkRecord` is set (debug `walk`). */
  walkRecord: bigint[] | null = null;
  private readonly walkAddrs = new Float64Array(4);

  /** Translates `lin` for `access`; -1 on a fault with the #PF error code in walkError. */
  pageWalk(lin: number, access: number, user: boolean, commit: boolean): number {
    if ((this.cr0 & CR0_PG) === 0) return lin;
    const mem = this.memory;
    const nxe = (this.efer & EFER_NXE) !== 0;
    const u = lin < 0 ? lin + TWO_48 : lin;
    let table = Math.floor(this.cr3 / 4096) * 4096;
    let rw = 1;
    let us = 1;
    let nx = 0;
    let shift = 39;
    let lo = 0;
    let hi = 0;
    let level = 4;
    let pageSize = 4096;
    let baseErr =
      (access === ACCESS_WRITE ? PF_WR : 0) | (user ? PF_US : 0) | (access === ACCESS_EXEC && nxe ? PF_ID : 0);
    const tables = commit ? mem.tableFrames : null;
    for (;;) {
      // A TLB fill depends on this table: writes to it from outside the vCPUs must flush TLBs.
      if (tables !== null) tables[Math.floor(table / 4096)] = 1;
      const idx = Math.floor(u / 2 ** shift) & 511;
      const ea = table + idx * 8;
      this.walkAddrs[4 - level] = ea;
      lo = mem.read32(ea) | 0;
      hi = mem.read32(ea + 4) | 0;
      if (this.walkRecord !== null) this.walkRecord.push((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
      if ((lo & PTE_P) === 0) {
        this.walkError = baseErr;
        return -1;
      }
      let rsvd = (hi & HI_RSVD) !== 0 || (!nxe && hi < 0);
      const ps = (lo & PTE_PS) !== 0 && level > 1;
      if (ps) {
        if (level === 4) rsvd = true;
        else if (level === 3 && (lo & 0x3fffe000) !== 0) rsvd = true;
        else if (level === 2 && (lo & 0x001fe000) !== 0) rsvd = true;
      }
      if (rsvd) {
        this.walkError = baseErr | PF_P | PF_RSVD;
        return -1;
      }
      rw &= (lo >> 1) & 1;
      us &= (lo >> 2) & 1;
      if (nxe && hi < 0) nx = 1;
      const addr = (hi & 0xfffff) * TWO_32 + ((lo & ~0xfff) >>> 0);
      if (ps || level === 1) {
        pageSize = level === 3 ? 1 << 30 : level === 2 ? 1 << 21 : 4096;
        table = Math.floor(addr / pageSize) * pageSize;
        break;
      }
      table = addr;
      level--;
      shift -= 9;
    }
    baseErr |= PF_P;
    if (user && !us) {
      this.walkError = baseErr;
      return -1;
    }
    if (access === ACCESS_WRITE && !rw && (user || (this.cr0 & CR0_WP) !== 0)) {
      this.walkError = baseErr;
      return -1;
    }
    if (access === ACCESS_EXEC && nx) {
      this.walkError = baseErr;
      return -1;
    }
    const pa = table + (u % pageSize);
    if (!commit) return pa;
    // Accessed flags on every level used, dirty on the leaf for writes.
    const levels = 5 - level;
    for (let i = 0; i < levels; i++) {
      const ea = this.walkAddrs[i]!;
      const e = mem.read32(ea);
      const leaf = i === levels - 1;
      const want = PTE_A | (leaf && access === ACCESS_WRITE ? PTE_D : 0);
      if ((e & want) !== want) this.setTableBits(ea, e | want);
    }
    const dirty = (access === ACCESS_WRITE || (lo & PTE_D) !== 0) && true;
    let perm = PERM_RS | (us ? PERM_RU : 0);
    if (!nx) perm |= PERM_XS | (us ? PERM_XU : 0);
    if (dirty) {
      if (rw || (this.cr0 & CR0_WP) === 0) perm |= PERM_WS;
      if (rw && us) perm |= PERM_WU;
    }
    const global = (lo & PTE_G) !== 0 && (this.cr4 & CR4_PGE) !== 0;
    this.tlbInsert(Math.floor(lin / 4096), Math.floor(pa / 4096), perm, global);
    return pa;
  }

  /**
   * Stores an accessed/dirty update. Written straight into the frame so the processor's own update
   * does not move `translationEpoch` (that would flush every vCPU for no reason).
   */
  private setTableBits(ea: number, v: number): void {
    const mem = this.memory;
    const pfn = Math.floor(ea / 4096);
    if (mem.isRamFrame(pfn)) {
      mem.view(pfn).setUint32(ea & 0xfff, v >>> 0, true);
      mem.generation[pfn]!++;
    } else mem.write32(ea, v);
  }

  // ---- Debug accessors (no exits, no A/D updates, no TLB fill) ----

  translate(linear: bigint, access: 'r' | 'w' | 'x', user = false): number {
    const lin = Number(BigInt.asIntN(64, linear));
    if (!isCanonical(lin)) return -1;
    return this.pageWalk(lin, access === 'w' ? ACCESS_WRITE : access === 'x' ? ACCESS_EXEC : ACCESS_READ, user, false);
  }

  walk(linear: bigint): { physical: number; entries: bigint[] } | null {
    const lin = Number(BigInt.asIntN(64, linear));
    if (!isCanonical(lin)) return null;
    const entries: bigint[] = [];
    this.walkRecord = entries;
    try {
      const pa = this.pageWalk(lin, ACCESS_READ, false, false);
      return pa < 0 ? null : { physical: pa, entries };
    } finally {
      this.walkRecord = null;
    }
  }

  readVirtual(linear: bigint, length: number): Uint8Array | null {
    const out = new Uint8Array(length);
    let lin = Number(BigInt.asIntN(64, linear));
    let i = 0;
    while (i < length) {
      if (!isCanonical(lin)) return null;
      const pa = this.pageWalk(lin, ACCESS_READ, false, false);
      if (pa < 0) return null;
      const n = Math.min(length - i, 4096 - (pa % 4096));
      out.set(this.memory.readBytes(pa, n), i);
      i += n;
      lin += n;
    }
    return out;
  }

  writeVirtual(linear: bigint, bytes: Uint8Array): boolean {
    const start = Number(BigInt.asIntN(64, linear));
    // Translate everything first so a partial write never happens.
    const parts: number[] = [];
    let lin = start;
    let i = 0;
    while (i < bytes.length) {
      if (!isCanonical(lin)) return false;
      const pa = this.pageWalk(lin, ACCESS_READ, false, false);
      if (pa < 0) return false;
      const n = Math.min(bytes.length - i, 4096 - (pa % 4096));
      parts.push(pa, i, n);
      i += n;
      lin += n;
    }
    for (let k = 0; k < parts.length; k += 3) {
      this.memory.writeBytes(parts[k]!, bytes.subarray(parts[k + 1]!, parts[k + 1]! + parts[k + 2]!));
    }
    this.fetchLimit = 0;
    return true;
  }
}
