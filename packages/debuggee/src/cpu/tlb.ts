/**
 * Software TLB (SDM Vol. 3A §4.10 "Caching Translation Information").
 *
 * Direct-mapped, parallel typed arrays indexed by the low bits of the linear page number. A hit is
 * a tag compare plus a permission-bit test; the permission byte already folds in U/S, R/W (with
 * CR0.WP), NX, the dirty state (write permission is granted only once D is set, so the first write
 * goes through the walker and sets D) and the EPT trap bits (a trapped access never hits, so it
 * reaches the slow path which calls the exit). MMIO frames are never entered.
 * Global entries (PTE.G with CR4.PGE) survive CR3 writes; INVLPG drops one page.
 *
 * Beyond what the hardware flushes on (CR0/CR3/CR4/EFER writes, INVLPG, restoreState), the TLB is
 * dropped when `memory.translationEpoch` moved: the EPT trap bits changed, or the debugger, the
 * hypervisor or a device wrote a frame some vCPU walked as a paging structure. The epoch is
 * compared at run entry and after each exit-handler call, the only points where such a change can
 * appear, so an exit that changes nothing costs no refill.
 */
import { CpuExitCalls } from './exitcall.js';

export const TLB_BITS = 10;
export const TLB_SIZE = 1 << TLB_BITS;
export const TLB_MASK = TLB_SIZE - 1;

export const PERM_RS = 1; // supervisor read
export const PERM_WS = 2; // supervisor write
export const PERM_RU = 4; // user read
export const PERM_WU = 8; // user write
export const PERM_XS = 16; // supervisor execute
export const PERM_XU = 32; // user execute

const EMPTY_VIEW = new DataView(new ArrayBuffer(8));

export abstract class CpuTlb extends CpuExitCalls {
  readonly tlbTag = new Float64Array(TLB_SIZE).fill(Number.NaN);
  readonly tlbPerm = new Uint8Array(TLB_SIZE);
  readonly tlbPfn = new Int32Array(TLB_SIZE);
  readonly tlbGlobal = new Uint8Array(TLB_SIZE);
  readonly tlbView: DataView[] = new Array<DataView>(TLB_SIZE).fill(EMPTY_VIEW);
  /** Per-frame write generations of the shared memory (bumped by every guest write). */
  readonly gen: Uint32Array = this.memory.generation;
  /** Permission bits required for a data read / write at the current CPL. */
  readMask = PERM_RS;
  writeMask = PERM_WS;
  execMask = PERM_XS;

  // Single-entry instruction-fetch cache: the page RIP is executing from.
  fetchBase = 0;
  /** 4096 while fetchBytes holds the page at fetchBase, 0 when it must be refilled. */
  fetchLimit = 0;
  /** Decode cursor as an offset from fetchBase (an int; may reach 4096+ while crossing a page). */
  ipo = 0;
  /** RIP of the current instruction = ripBase + startOff (kept apart so the hot loop stays in ints). */
  ripBase = 0;
  startOff = 0;
  /** fetchBase changed since ripBase was last synchronised. */
  baseMoved = false;
  fetchBytes: Uint8Array = new Uint8Array(4096);
  fetchView: DataView = new DataView(this.fetchBytes.buffer);
  /** EPT_EXEC_TRAP bit of the fetch page's frame. */
  fetchTrap = 0;

  /** Updates the access masks after a CPL change. */
  setCplMasks(): void {
    const user = this.cpl_ === 3;
    this.readMask = user ? PERM_RU : PERM_RS;
    this.writeMask = user ? PERM_WU : PERM_WS;
    this.execMask = user ? PERM_XU : PERM_XS;
    this.fetchLimit = 0;
  }

  /** `memory.translationEpoch` this TLB is consistent with. */
  private tlbEpoch = -1;

  /** Flushes when translations may be stale (see the file comment); one compare otherwise. */
  syncTranslations(): void {
    const e = this.memory.translationEpoch;
    if (e !== this.tlbEpoch) {
      this.tlbEpoch = e;
      this.flushTlb();
    }
  }

  flushTlb(): void {
    this.tlbTag.fill(Number.NaN);
    this.fetchLimit = 0;
  }

  /** CR3 write: drop everything except global pages. */
  flushNonGlobal(): void {
    const tag = this.tlbTag;
    const g = this.tlbGlobal;
    for (let i = 0; i < TLB_SIZE; i++) if (g[i] === 0) tag[i] = Number.NaN;
    this.fetchLimit = 0;
  }

  /** INVLPG: drop one linear page (global or not). */
  flushPage(lin: number): void {
    const vpn = Math.floor(lin / 4096);
    const i = vpn & TLB_MASK;
    if (this.tlbTag[i] === vpn) this.tlbTag[i] = Number.NaN;
    if (this.fetchBase === vpn * 4096) this.fetchLimit = 0;
  }

  tlbInsert(vpn: number, pfn: number, perm: number, global: boolean): void {
    if (!this.memory.isRamFrame(pfn)) return;
    const e = this.ept[pfn] ?? 0;
    if (e !== 0) {
      if (e & 1) perm &= ~(PERM_RS | PERM_RU);
      if (e & 2) perm &= ~(PERM_WS | PERM_WU);
      if (e & 4) perm &= ~(PERM_XS | PERM_XU);
    }
    const i = vpn & TLB_MASK;
    this.tlbTag[i] = vpn;
    this.tlbPerm[i] = perm;
    this.tlbPfn[i] = pfn;
    this.tlbGlobal[i] = global ? 1 : 0;
    this.tlbView[i] = this.memory.view(pfn);
  }
}
