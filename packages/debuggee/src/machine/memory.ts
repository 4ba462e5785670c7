/**
 * Guest physical memory: a sparse array of 4 KiB frames plus memory-mapped I/O windows.
 *
 * Frames are allocated on first write (or when a vCPU maps them for its TLB); an untouched frame
 * reads as zero, so a 256 MiB guest costs only what it touches. Addresses outside RAM and outside
 * every MMIO window behave like an open bus: reads return all ones, writes are dropped.
 *
 * Every write through this object bumps the frame's write generation (`generation`), which decoded
 * instruction caches of all vCPUs compare against to notice self-modifying or debugger-patched code.
 * The vCPUs write through their TLB fast path and bump the same counters.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_MASK = 0xfff;

export interface MmioHandler {
  read(offset: number, size: number): number;
  write(offset: number, size: number, value: number): void;
}

interface MmioRegion {
  base: number;
  size: number;
  handler: MmioHandler;
}

export class PhysicalMemory {
  readonly size: number;
  readonly frameCount: number;
  /** Byte view of each allocated RAM frame (undefined = never touched, reads as zero). */
  readonly frames: (Uint8Array | undefined)[];
  /** DataView over the same bytes, for little-endian multi-byte access. */
  readonly views: (DataView | undefined)[];
  /** Write generation per RAM frame; bumped by every write. */
  readonly generation: Uint32Array;
  /**
   * 1 for frames a vCPU has walked as a paging structure (set by the CPU's page walker when it
   * fills its TLB). A write through this object to such a frame may make cached translations stale.
   */
  readonly tableFrames: Uint8Array;
  /**
   * Bumped whenever translations cached by the vCPUs (TLBs) may be stale: a write through this
   * object to a paging-structure frame, or a change of the EPT trap bits (`invalidateTranslations`).
   * Each vCPU compares it at run entry and after every exit-handler call and flushes on a change,
   * so nobody has to flush every vCPU by hand and nothing flushes when nothing changed.
   */
  translationEpoch = 0;
  private readonly mmio: MmioRegion[] = [];
  /** 1 for frames that overlap an MMIO window: never mapped directly into a TLB. */
  private readonly mmioFrames = new Map<number, MmioRegion>();

  constructor(sizeBytes: number) {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new RangeError('bad memory size');
    this.size = sizeBytes;
    this.frameCount = Math.ceil(sizeBytes / PAGE_SIZE);
    this.frames = new Array(this.frameCount).fill(undefined);
    this.views = new Array(this.frameCount).fill(undefined);
    this.generation = new Uint32Array(this.frameCount);
    this.tableFrames = new Uint8Array(this.frameCount);
  }

  /** Makes every vCPU drop its cached translations before it next executes (EPT bits changed). */
  invalidateTranslations(): void {
    this.translationEpoch++;
  }

  isRam(pa: number): boolean {
    return pa >= 0 && pa < this.size && !this.mmioFrames.has(Math.floor(pa / PAGE_SIZE));
  }

  /** True when the frame may be mapped straight into a TLB (RAM, no MMIO overlap). */
  isRamFrame(pfn: number): boolean {
    return pfn >= 0 && pfn < this.frameCount && !this.mmioFrames.has(pfn);
  }

  registerMmio(base: number, size: number, handler: MmioHandler): void {
    const region = { base, size, handler };
    this.mmio.push(region);
    const first = Math.floor(base / PAGE_SIZE);
    const last = Math.floor((base + size - 1) / PAGE_SIZE);
    for (let f = first; f <= last; f++) this.mmioFrames.set(f, region);
  }

  /** The byte array of a RAM frame, allocating it. Caller guarantees isRamFrame(pfn). */
  frame(pfn: number): Uint8Array {
    let f = this.frames[pfn];
    if (f === undefined) {
      f = new Uint8Array(PAGE_SIZE);
      this.frames[pfn] = f;
      this.views[pfn] = new DataView(f.buffer);
    }
    return f;
  }

  /** The DataView of a RAM frame, allocating it. Caller guarantees isRamFrame(pfn). */
  view(pfn: number): DataView {
    if (this.views[pfn] === undefined) this.frame(pfn);
    return this.views[pfn]!;
  }

  private region(pa: number): MmioRegion | undefined {
    const r = this.mmioFrames.get(Math.floor(pa / PAGE_SIZE));
    if (r !== undefined && pa >= r.base && pa < r.base + r.size) return r;
    return undefined;
  }

  /** Reads `size` (1, 2 or 4) bytes little-endian; the access must not cross a frame. Unsigned result. */
  private readSmall(pa: number, size: number): number {
    const pfn = Math.floor(pa / PAGE_SIZE);
    if (pa >= 0 && pa < this.size && !this.mmioFrames.has(pfn)) {
      const v = this.views[pfn];
      if (v === undefined) return 0;
      const off = pa & PAGE_MASK;
      return size === 1 ? v.getUint8(off) : size === 2 ? v.getUint16(off, true) : v.getUint32(off, true);
    }
    const r = this.region(pa);
    if (r !== undefined) return r.handler.read(pa - r.base, size) >>> 0;
    return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  }

  private writeSmall(pa: number, size: number, value: number): void {
    const pfn = Math.floor(pa / PAGE_SIZE);
    if (pa >= 0 && pa < this.size && !this.mmioFrames.has(pfn)) {
      const v = this.view(pfn);
      const off = pa & PAGE_MASK;
      if (size === 1) v.setUint8(off, value);
      else if (size === 2) v.setUint16(off, value, true);
      else v.setUint32(off, value >>> 0, true);
      this.generation[pfn]++;
      if (this.tableFrames[pfn] !== 0) this.translationEpoch++;
      return;
    }
    const r = this.region(pa);
    if (r !== undefined)
      r.handler.write(pa - r.base, size, size === 4 ? value >>> 0 : value & (size === 1 ? 0xff : 0xffff));
  }

  private split(pa: number, size: number): boolean {
    return (pa & PAGE_MASK) + size > PAGE_SIZE;
  }

  read8(pa: number): number {
    return this.readSmall(pa, 1);
  }
  read16(pa: number): number {
    if (this.split(pa, 2)) return this.readSmall(pa, 1) | (this.readSmall(pa + 1, 1) << 8);
    return this.readSmall(pa, 2);
  }
  read32(pa: number): number {
    if (this.split(pa, 4)) return (this.read16(pa) | (this.read16(pa + 2) << 16)) >>> 0;
    return this.readSmall(pa, 4);
  }
  /** 64-bit read as a bigint (cold paths: page-table dumps, debugger). */
  read64(pa: number): bigint {
    return BigInt(this.read32(pa)) | (BigInt(this.read32(pa + 4)) << 32n);
  }
  write8(pa: number, v: number): void {
    this.writeSmall(pa, 1, v & 0xff);
  }
  write16(pa: number, v: number): void {
    if (this.split(pa, 2)) {
      this.writeSmall(pa, 1, v & 0xff);
      this.writeSmall(pa + 1, 1, (v >>> 8) & 0xff);
    } else this.writeSmall(pa, 2, v & 0xffff);
  }
  write32(pa: number, v: number): void {
    if (this.split(pa, 4)) {
      this.write16(pa, v & 0xffff);
      this.write16(pa + 2, (v >>> 16) & 0xffff);
    } else this.writeSmall(pa, 4, v);
  }
  write64(pa: number, v: bigint): void {
    this.write32(pa, Number(v & 0xffffffffn));
    this.write32(pa + 4, Number((v >> 32n) & 0xffffffffn));
  }

  readBytes(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let i = 0;
    while (i < len) {
      const a = pa + i;
      const pfn = Math.floor(a / PAGE_SIZE);
      const off = a & PAGE_MASK;
      const n = Math.min(len - i, PAGE_SIZE - off);
      if (a >= 0 && a < this.size && !this.mmioFrames.has(pfn)) {
        const f = this.frames[pfn];
        if (f !== undefined) out.set(f.subarray(off, off + n), i);
      } else {
        for (let k = 0; k < n; k++) out[i + k] = this.readSmall(a + k, 1);
      }
      i += n;
    }
    return out;
  }

  writeBytes(pa: number, bytes: Uint8Array): void {
    let i = 0;
    const len = bytes.length;
    while (i < len) {
      const a = pa + i;
      const pfn = Math.floor(a / PAGE_SIZE);
      const off = a & PAGE_MASK;
      const n = Math.min(len - i, PAGE_SIZE - off);
      if (a >= 0 && a < this.size && !this.mmioFrames.has(pfn)) {
        this.frame(pfn).set(bytes.subarray(i, i + n), off);
        this.generation[pfn]++;
        if (this.tableFrames[pfn] !== 0) this.translationEpoch++;
      } else {
        for (let k = 0; k < n; k++) this.writeSmall(a + k, 1, bytes[i + k]!);
      }
      i += n;
    }
  }
}
