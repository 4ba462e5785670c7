/**
 * The guest kernel's process and thread tables as the debugger sees them (guest/BOOT.md, "Kernel
 * objects"): `.process list`, `.thread list`, and memory access in the address space of a process
 * that is not running on any vCPU — its page tables are walked from the CR3 stored in its object.
 */
import type { SymbolInfo } from '@hvdbg/protocol';
import type { Cpu } from '../cpu/cpu.js';
import type { PhysicalMemory } from './memory.js';

const PROCESS_SIZE = 0x78;
const THREAD_SIZE = 0x30;
const PROCESS_NAME = 0x14;
const PROCESS_PML4 = 0x28;
const THREAD_PROC = 0x10;
const NAME_MAX = 16;
const PROCESS_STATES = ['free', 'live', 'dying'] as const;
const THREAD_STATES = ['free', 'runnable', 'running', 'sleeping'] as const;

const PTE_P = 1n;
const PTE_PS = 0x80n;
const PTE_ADDR = 0x000ffffffffff000n;

export interface GuestProcess {
  pid: number;
  name: string;
  state: (typeof PROCESS_STATES)[number];
  /** Kernel address of the process object ($proc). */
  address: bigint;
  /** Physical address of its PML4 (its CR3). */
  cr3: number;
}

export interface GuestThread {
  tid: number;
  pid: number;
  state: (typeof THREAD_STATES)[number];
  /** Kernel address of the thread object ($thread). */
  address: bigint;
}

/** What the tables are read through: kernel symbols and a vCPU (every address space maps the kernel). */
export interface KernelView {
  readonly symbols: readonly SymbolInfo[];
  readonly cpus: readonly Cpu[];
  readonly memory: PhysicalMemory;
}

function table(view: KernelView, name: string, entrySize: number): { base: bigint; bytes: DataView } | null {
  const sym = view.symbols.find((s) => s.name === name && s.module === 'kernel');
  if (sym === undefined || sym.size === 0n || sym.size % BigInt(entrySize) !== 0n) return null;
  const bytes = view.cpus[0]?.readVirtual(sym.address, Number(sym.size));
  return bytes ? { base: sym.address, bytes: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) } : null;
}

function u64(v: DataView, at: number): number {
  return Number(v.getBigUint64(at, true));
}

/** Live and dying processes, in table order. Empty when the image has no such table. */
export function guestProcesses(view: KernelView): GuestProcess[] {
  const t = table(view, 'procs', PROCESS_SIZE);
  if (t === null) return [];
  const out: GuestProcess[] = [];
  for (let at = 0; at < t.bytes.byteLength; at += PROCESS_SIZE) {
    const state = PROCESS_STATES[t.bytes.getUint32(at + 8, true)] ?? 'free';
    if (state === 'free') continue;
    let name = '';
    for (let i = 0; i < NAME_MAX; i++) {
      const c = t.bytes.getUint8(at + PROCESS_NAME + i);
      if (c === 0) break;
      name += String.fromCharCode(c);
    }
    out.push({
      pid: u64(t.bytes, at),
      name,
      state,
      address: t.base + BigInt(at),
      cr3: u64(t.bytes, at + PROCESS_PML4),
    });
  }
  return out;
}

/** Threads that exist (not free), in table order. */
export function guestThreads(view: KernelView): GuestThread[] {
  const t = table(view, 'threads', THREAD_SIZE);
  if (t === null) return [];
  const byAddress = new Map(guestProcesses(view).map((p) => [p.address, p.pid]));
  const out: GuestThread[] = [];
  for (let at = 0; at < t.bytes.byteLength; at += THREAD_SIZE) {
    const state = THREAD_STATES[t.bytes.getUint32(at + 8, true)] ?? 'free';
    if (state === 'free') continue;
    const proc = t.bytes.getBigUint64(at + THREAD_PROC, true);
    out.push({ tid: u64(t.bytes, at), pid: byAddress.get(proc) ?? 0, state, address: t.base + BigInt(at) });
  }
  return out;
}

/**
 * Walks `linear` through the 4-level page tables at `cr3` (read-only: no A/D updates), recording
 * each paging-structure entry used, top level first; null if unmapped.
 */
export function walkWithCr3(
  memory: PhysicalMemory,
  cr3: number,
  linear: bigint,
): { physical: number; entries: bigint[] } | null {
  const entries: bigint[] = [];
  let table = BigInt(cr3) & PTE_ADDR;
  for (let shift = 39n; shift >= 12n; shift -= 9n) {
    const index = (linear >> shift) & 511n;
    const pa = Number(table + index * 8n);
    const entry = BigInt(memory.read32(pa)) | (BigInt(memory.read32(pa + 4)) << 32n);
    entries.push(entry);
    if ((entry & PTE_P) === 0n) return null;
    if (shift === 12n || (shift <= 30n && (entry & PTE_PS) !== 0n)) {
      const pageMask = (1n << shift) - 1n;
      return { physical: Number((entry & PTE_ADDR & ~pageMask) | (linear & pageMask)), entries };
    }
    table = entry & PTE_ADDR;
  }
  return null;
}

/** Translates `linear` through the 4-level page tables at `cr3` (read-only walk); -1 if unmapped. */
export function translateWithCr3(memory: PhysicalMemory, cr3: number, linear: bigint): number {
  return walkWithCr3(memory, cr3, linear)?.physical ?? -1;
}

/** Reads `length` bytes at `linear` in process `pid`'s address space; null if the process or a page is missing. */
export function readProcessMemory(view: KernelView, pid: number, linear: bigint, length: number): Uint8Array | null {
  const process = guestProcesses(view).find((p) => p.pid === pid);
  if (process === undefined) return null;
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const va = linear + BigInt(done);
    const pa = translateWithCr3(view.memory, process.cr3, va);
    if (pa < 0) return null;
    const n = Math.min(length - done, 4096 - (pa & 0xfff));
    out.set(view.memory.readBytes(pa, n), done);
    done += n;
  }
  return out;
}
