/**
 * The loader's half of the boot protocol (guest/BOOT.md): the structures it leaves in low memory
 * (page tables, GDT, boot info) and the vCPU state at the kernel's entry. START_CPU reuses the same
 * state for every further vCPU, with its own RIP/RSP/RDI.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { type Cpu, REG_RDI, REG_RSP } from '../cpu/cpu.js';
import {
  CR0_ET,
  CR0_MP,
  CR0_NE,
  CR0_PE,
  CR0_PG,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  MSR_EFER,
} from '../cpu/state.js';
import type { PhysicalMemory } from './memory.js';

export const BOOT_PML4 = 0x1000;
export const BOOT_PDPT_LOW = 0x2000;
export const BOOT_PDPT_HIGH = 0x3000;
export const BOOT_PD = 0x4000;
export const BOOT_GDT = 0x5000;
export const BOOT_INFO = 0x6000;
export const KERNEL_VMA = 0xffffffff80000000n;
export const BOOT_STACK_TOP = KERNEL_VMA + 0x10000n;

export const BOOT_INFO_MAGIC = 0x544f4f4247424448n; // "HDBGBOOT"
export const BOOT_INFO_VERSION = 1;
export const BOOT_CMDLINE_MAX = 128;
const BOOT_INFO_CMDLINE = 0x20;

const PTE_P = 1n;
const PTE_W = 2n;
const PTE_PS = 0x80n;
const LARGE_PAGE = 0x200000;
/** The loader maps at most 1 GiB (one page directory) both identity and at KERNEL_VMA. */
const BOOT_MAP_LIMIT = 0x40000000;
const SEL_CODE = 0x08;
const SEL_DATA = 0x10;
const GDT_ENTRIES = [0n, 0x00af9a000000ffffn, 0x00cf92000000ffffn];
const RFLAGS_RESERVED = 2n;

export interface BootParams {
  memoryBytes: number;
  vcpus: number;
  cmdline: string;
  /** Local-APIC timer period in instructions (0 = the kernel's default). */
  timerPeriod: number;
}

function write64(memory: PhysicalMemory, pa: number, v: bigint): void {
  memory.write32(pa, Number(v & 0xffffffffn));
  memory.write32(pa + 4, Number(v >> 32n));
}

/** Writes the boot page tables, GDT and boot info into low memory. */
export function writeBootStructures(memory: PhysicalMemory, p: BootParams): void {
  const cmdline = new TextEncoder().encode(p.cmdline);
  if (cmdline.length >= BOOT_CMDLINE_MAX) {
    throw new HvdbgError('E_CONFIG', `the command line is longer than ${BOOT_CMDLINE_MAX - 1} bytes`);
  }
  write64(memory, BOOT_PML4, BigInt(BOOT_PDPT_LOW) | PTE_P | PTE_W);
  write64(memory, BOOT_PML4 + 511 * 8, BigInt(BOOT_PDPT_HIGH) | PTE_P | PTE_W);
  write64(memory, BOOT_PDPT_LOW, BigInt(BOOT_PD) | PTE_P | PTE_W);
  write64(memory, BOOT_PDPT_HIGH + 510 * 8, BigInt(BOOT_PD) | PTE_P | PTE_W);
  const mapped = Math.min(p.memoryBytes, BOOT_MAP_LIMIT);
  for (let i = 0; i * LARGE_PAGE < mapped; i++) {
    write64(memory, BOOT_PD + i * 8, BigInt(i * LARGE_PAGE) | PTE_P | PTE_W | PTE_PS);
  }
  for (let i = 0; i < GDT_ENTRIES.length; i++) write64(memory, BOOT_GDT + i * 8, GDT_ENTRIES[i]!);

  write64(memory, BOOT_INFO, BOOT_INFO_MAGIC);
  memory.write32(BOOT_INFO + 0x08, BOOT_INFO_VERSION);
  memory.write32(BOOT_INFO + 0x0c, p.vcpus);
  write64(memory, BOOT_INFO + 0x10, BigInt(p.memoryBytes));
  write64(memory, BOOT_INFO + 0x18, BigInt(p.timerPeriod));
  memory.writeBytes(BOOT_INFO + BOOT_INFO_CMDLINE, cmdline);
  memory.write8(BOOT_INFO + BOOT_INFO_CMDLINE + cmdline.length, 0);
}

/** Puts a vCPU in the boot state: 64-bit mode, CPL 0, the boot page tables and GDT, IF=0. */
export function applyBootState(cpu: Cpu, rip: bigint, rsp: bigint, rdi: bigint): void {
  cpu.setMsr(MSR_EFER, BigInt(EFER_LME | EFER_LMA | EFER_NXE));
  cpu.setCr(4, BigInt(CR4_PAE));
  cpu.setCr(0, BigInt((CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG) >>> 0));
  cpu.setCr(3, BigInt(BOOT_PML4));
  cpu.setDescriptorTable('gdtr', BigInt(BOOT_GDT), GDT_ENTRIES.length * 8 - 1);
  cpu.setDescriptorTable('idtr', 0n, 0);
  cpu.setSegmentSelector(1, SEL_CODE);
  for (const seg of [0, 2, 3]) cpu.setSegmentSelector(seg, SEL_DATA);
  for (let r = 0; r < 16; r++) cpu.setReg(r, 0n);
  cpu.setReg(REG_RSP, rsp);
  cpu.setReg(REG_RDI, rdi);
  cpu.setRflags(RFLAGS_RESERVED);
  cpu.setRip(rip);
}
