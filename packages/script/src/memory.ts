/**
 * Memory as a script sees it: guest-virtual and guest-physical memory through the host, plus the
 * VM's own storage, which scripts reach through addresses (`&x`, string literals, `$date`).
 *
 * VM storage lives at NON-CANONICAL virtual addresses (bits 63:48 = 0x8000), which no guest mapping
 * can ever use, so `dq(&.counter)`, `interlocked_increment(&x)` or `strlen("abc")` can never be
 * confused with guest memory:
 *   0x80000000_xxxxxxxx  globals   (byte offset = slot × 8)
 *   0x80000001_xxxxxxxx  the stack (locals; byte offset = slot × 8)
 *   0x80000002_xxxxxxxx  the running script's string literals (read-only)
 *   0x80000003_xxxxxxxx  VM text ($date, $time; read-only)
 */
import type { ScriptHost } from './host.js';

export const WINDOW_GLOBALS = 0x80000000 | 0;
export const WINDOW_STACK = 0x80000001 | 0;
export const WINDOW_STRINGS = 0x80000002 | 0;
export const WINDOW_TEXT = 0x80000003 | 0;

/** Bytes one host call moves at most; longer copies go in chunks. */
export const CHUNK = 4096;

/** A block of u64 slots stored as two Int32Arrays, readable byte-wise (little-endian). */
export interface SlotStore {
  lo: Int32Array;
  hi: Int32Array;
}

function slotByte(s: SlotStore, a: number): number {
  const slot = a >>> 3;
  const off = a & 7;
  return off < 4 ? (s.lo[slot] >>> (8 * off)) & 0xff : (s.hi[slot] >>> (8 * (off - 4))) & 0xff;
}

function setSlotByte(s: SlotStore, a: number, v: number): void {
  const slot = a >>> 3;
  const off = a & 7;
  if (off < 4) s.lo[slot] = (s.lo[slot] & ~(0xff << (8 * off))) | (v << (8 * off));
  else s.hi[slot] = (s.hi[slot] & ~(0xff << (8 * (off - 4)))) | (v << (8 * (off - 4)));
}

export class ScriptMemory {
  /** Scratch buffer every access goes through. */
  readonly buf = new Uint8Array(CHUNK);
  vcpu = 0;
  strings: Uint8Array = new Uint8Array(0);
  readonly text = new Uint8Array(64);

  constructor(
    private readonly host: ScriptHost,
    private readonly globals: SlotStore,
    private readonly stack: SlotStore,
  ) {}

  /** Read `size` (≤ CHUNK) bytes at hi:lo into `buf`. False if any byte is unreadable. */
  read(lo: number, hi: number, size: number, physical: boolean): boolean {
    if (!physical && (hi | 0) >= WINDOW_GLOBALS && (hi | 0) <= WINDOW_TEXT)
      return this.readWindow(lo >>> 0, hi | 0, size);
    return physical
      ? this.host.readPhysical(this.vcpu, lo, hi, size, this.buf)
      : this.host.readVirtual(this.vcpu, lo, hi, size, this.buf);
  }

  /** Write `size` bytes of `buf` to hi:lo. False (nothing written) if any byte is unwritable. */
  write(lo: number, hi: number, size: number, physical: boolean): boolean {
    if (!physical && (hi | 0) >= WINDOW_GLOBALS && (hi | 0) <= WINDOW_TEXT) {
      const store = (hi | 0) === WINDOW_GLOBALS ? this.globals : (hi | 0) === WINDOW_STACK ? this.stack : undefined;
      const a = lo >>> 0;
      if (!store || a + size > store.lo.length * 8) return false;
      for (let i = 0; i < size; i++) setSlotByte(store, a + i, this.buf[i]);
      return true;
    }
    return physical
      ? this.host.writePhysical(this.vcpu, lo, hi, size, this.buf)
      : this.host.writeVirtual(this.vcpu, lo, hi, size, this.buf);
  }

  private readWindow(a: number, hi: number, size: number): boolean {
    if (hi === WINDOW_STRINGS || hi === WINDOW_TEXT) {
      const src = hi === WINDOW_STRINGS ? this.strings : this.text;
      if (a + size > src.length) return false;
      this.buf.set(src.subarray(a, a + size));
      return true;
    }
    const store = hi === WINDOW_GLOBALS ? this.globals : this.stack;
    if (a + size > store.lo.length * 8) return false;
    for (let i = 0; i < size; i++) this.buf[i] = slotByte(store, a + i);
    return true;
  }

  /** True if the virtual address is readable (VM windows included). */
  check(lo: number, hi: number): boolean {
    if ((hi | 0) >= WINDOW_GLOBALS && (hi | 0) <= WINDOW_TEXT) return this.readWindow(lo >>> 0, hi | 0, 1);
    return this.host.checkAddress(this.vcpu, lo, hi);
  }

  /**
   * Read a NUL-terminated ASCII (or UTF-16 with `wide`) string of at most `max` characters.
   * Reads page by page, so a string ending just before an unmapped page is fine. Returns undefined
   * if a byte before the terminator is unreadable; a string longer than `max` is cut there.
   */
  readString(lo: number, hi: number, wide: boolean, max: number): string | undefined {
    let out = '';
    let a = lo >>> 0;
    let h = hi | 0;
    const unit = wide ? 2 : 1;
    while (out.length < max) {
      let n = Math.min(CHUNK - (a & 0xfff), (max - out.length) * unit);
      n -= n % unit;
      if (n === 0) n = unit;
      if (!this.read(a, h, n, false)) {
        // The page may be partly readable: retry one unit at a time up to the bad byte.
        if (!this.read(a, h, unit, false)) return undefined;
        n = unit;
      }
      for (let i = 0; i < n; i += unit) {
        const c = wide ? this.buf[i] | (this.buf[i + 1] << 8) : this.buf[i];
        if (c === 0) return out;
        out += String.fromCharCode(c);
      }
      a += n;
      if (a >= 0x100000000) {
        a -= 0x100000000;
        h = (h + 1) | 0;
      }
    }
    return out;
  }
}
