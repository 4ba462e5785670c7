/**
 * A tiny long-mode environment for tests and benchmarks: identity paging of the first 1 GiB with
 * 2 MiB pages (user-accessible, writable), a GDT with the SYSCALL/SYSRET layout, an IDT whose gates
 * all point at one address, and a TSS. Programs are written as bytes into physical memory.
 *
 * Layout (physical = linear): GDT 0x800, PML4 0x1000, PDPT 0x2000, PD 0x3000, IDT 0x4000,
 * TSS 0x5000, code 0x10000, stack top 0x80000, ring-0 interrupt stack top 0x90000.
 */
import { PhysicalMemory } from '../machine/memory.js';
import { Cpu } from './cpu.js';
import { EFER_LMA, EFER_LME, EFER_NXE, EFER_SCE, REG_RSP, SEG_CS, SEG_DS, SEG_ES, SEG_SS } from './state.js';

export const GDT_BASE = 0x800;
export const PML4_BASE = 0x1000;
export const PDPT_BASE = 0x2000;
export const PD_BASE = 0x3000;
export const IDT_BASE = 0x4000;
export const TSS_BASE = 0x5000;
export const CODE_BASE = 0x10000;
export const STACK_TOP = 0x80000;
export const RSP0_TOP = 0x90000;
export const KERNEL_CS = 0x08;
export const KERNEL_SS = 0x10;
export const USER_SS = 0x1b;
export const USER_CS = 0x23;
export const TSS_SEL = 0x28;
/** STAR value matching the GDT: SYSCALL → 0x08/0x10, SYSRETQ → 0x23/0x1b. */
export const STAR_VALUE = (0x10n << 48n) | (0x08n << 32n);

const GDT: bigint[] = [
  0n,
  0x00af9b000000ffffn, // 0x08 kernel code, L=1
  0x00cf93000000ffffn, // 0x10 kernel data
  0x00cff3000000ffffn, // 0x18 user data (DPL 3)
  0x00affb000000ffffn, // 0x20 user code, L=1 (DPL 3)
];

function write64(m: PhysicalMemory, pa: number, v: bigint): void {
  m.write64(pa, v);
}

export interface TestMachine {
  memory: PhysicalMemory;
  ept: Uint8Array;
  cpu: Cpu;
}

/** Builds memory + one vCPU in 64-bit mode at CPL 0 with RIP = CODE_BASE. */
export function makeTestMachine(memBytes = 16 * 1024 * 1024, vcpus = 1): TestMachine & { cpus: Cpu[] } {
  const memory = new PhysicalMemory(memBytes);
  const ept = new Uint8Array(memory.frameCount);
  write64(memory, PML4_BASE, BigInt(PDPT_BASE) | 7n);
  write64(memory, PDPT_BASE, BigInt(PD_BASE) | 7n);
  for (let i = 0; i < 512; i++) write64(memory, PD_BASE + i * 8, (BigInt(i) << 21n) | 0x87n); // P RW US PS
  GDT.forEach((d, i) => {
    write64(memory, GDT_BASE + i * 8, d);
  });
  // 64-bit TSS descriptor (available, limit 0x67) at 0x28.
  const tssLo =
    0x67n | (BigInt(TSS_BASE & 0xffffff) << 16n) | (0x89n << 40n) | (BigInt((TSS_BASE >>> 24) & 0xff) << 56n);
  write64(memory, GDT_BASE + 0x28, tssLo);
  write64(memory, GDT_BASE + 0x30, 0n);
  write64(memory, TSS_BASE + 4, BigInt(RSP0_TOP));
  const cpus: Cpu[] = [];
  for (let i = 0; i < vcpus; i++) {
    const cpu = new Cpu(i, memory, ept);
    cpu.cr3 = PML4_BASE;
    cpu.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
    cpu.setDescriptorTable('gdtr', BigInt(GDT_BASE), 0x37);
    cpu.setDescriptorTable('idtr', BigInt(IDT_BASE), 0xfff);
    cpu.setSegmentSelector(SEG_CS, KERNEL_CS);
    cpu.setSegmentSelector(SEG_SS, KERNEL_SS);
    cpu.setSegmentSelector(SEG_DS, KERNEL_SS);
    cpu.setSegmentSelector(SEG_ES, KERNEL_SS);
    cpu.trSel = TSS_SEL;
    cpu.trBase = TSS_BASE;
    cpu.trLimit = 0x67;
    cpu.setMsr(0xc0000081, STAR_VALUE);
    cpu.setReg(REG_RSP, BigInt(STACK_TOP));
    cpu.setRip(BigInt(CODE_BASE));
    cpus.push(cpu);
  }
  return { memory, ept, cpu: cpus[0]!, cpus };
}

/** Points IDT gate `vector` at `handler` (64-bit interrupt gate, kernel CS, DPL `dpl`, IST `ist`). */
export function setGate(m: PhysicalMemory, vector: number, handler: number, dpl = 0, ist = 0, trap = false): void {
  const h = BigInt(handler);
  const type = trap ? 0xfn : 0xen;
  const lo =
    (h & 0xffffn) |
    (BigInt(KERNEL_CS) << 16n) |
    (BigInt(ist) << 32n) |
    ((0x80n | (BigInt(dpl) << 5n) | type) << 40n) |
    (((h >> 16n) & 0xffffn) << 48n);
  m.write64(IDT_BASE + vector * 16, lo);
  m.write64(IDT_BASE + vector * 16 + 8, (h >> 32n) & 0xffffffffn);
}

/** Writes bytes (array or hex string with optional spaces) at a physical address. */
export function poke(m: PhysicalMemory, pa: number, code: number[] | string): void {
  const bytes =
    typeof code === 'string'
      ? Uint8Array.from((code.replace(/\s+/g, '').match(/../g) ?? []).map((h) => Number.parseInt(h, 16)))
      : Uint8Array.from(code);
  m.writeBytes(pa, bytes);
}

export const PTE_P = 1n;
export const PTE_W = 2n;
export const PTE_U = 4n;
export const PTE_A = 0x20n;
export const PTE_D = 0x40n;
export const PTE_PS = 0x80n;
export const PTE_G = 0x100n;
export const PTE_NX = 1n << 63n;

/** Builds 4-level page tables in physical memory from a bump allocator (tables at `base`..). */
export class PageTableBuilder {
  readonly root: number;
  private next: number;

  constructor(
    private readonly memory: PhysicalMemory,
    base: number,
  ) {
    this.root = base;
    this.next = base + 0x1000;
    memory.writeBytes(base, new Uint8Array(0x1000));
  }

  private table(entryPa: number): number {
    const e = this.memory.read64(entryPa);
    if ((e & PTE_P) !== 0n) return Number(e & 0x000ffffffffff000n);
    const t = this.next;
    this.next += 0x1000;
    this.memory.writeBytes(t, new Uint8Array(0x1000));
    this.memory.write64(entryPa, BigInt(t) | PTE_P | PTE_W | PTE_U);
    return t;
  }

  private index(lin: bigint, shift: bigint): number {
    return Number((lin >> shift) & 511n);
  }

  /** Maps one page of `size` (4 KiB, 2 MiB or 1 GiB) with leaf flags (P is added). */
  map(lin: bigint, pa: number, flags: bigint, size: 4096 | 0x200000 | 0x40000000 = 4096): number {
    const u = BigInt.asUintN(64, lin);
    const pdpt = this.table(this.root + this.index(u, 39n) * 8);
    if (size === 0x40000000) {
      const ea = pdpt + this.index(u, 30n) * 8;
      this.memory.write64(ea, BigInt(pa) | flags | PTE_P | PTE_PS);
      return ea;
    }
    const pd = this.table(pdpt + this.index(u, 30n) * 8);
    if (size === 0x200000) {
      const ea = pd + this.index(u, 21n) * 8;
      this.memory.write64(ea, BigInt(pa) | flags | PTE_P | PTE_PS);
      return ea;
    }
    const pt = this.table(pd + this.index(u, 21n) * 8);
    const ea = pt + this.index(u, 12n) * 8;
    this.memory.write64(ea, BigInt(pa) | flags | PTE_P);
    return ea;
  }
}
