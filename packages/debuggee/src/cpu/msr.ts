/**
 * Model-specific registers and CPUID (SDM Vol. 4 "Model-Specific Registers"; Vol. 2A "CPUID").
 * Shared by the guest instructions (RDMSR/WRMSR/CPUID in system.ts) and the debugger accessors.
 * CPUID is a fixed, deterministic table describing exactly the ISA this core implements.
 */
import type { CpuOperands } from './operands.js';
import { isCanonical, MAXPHYADDR } from './paging.js';
import {
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  EFER_SCE,
  MSR_CSTAR,
  MSR_EFER,
  MSR_FMASK,
  MSR_FS_BASE,
  MSR_GS_BASE,
  MSR_IA32_APIC_BASE,
  MSR_IA32_MISC_ENABLE,
  MSR_IA32_PAT,
  MSR_IA32_SYSENTER_CS,
  MSR_IA32_SYSENTER_EIP,
  MSR_IA32_SYSENTER_ESP,
  MSR_IA32_TSC,
  MSR_KERNEL_GS_BASE,
  MSR_LSTAR,
  MSR_STAR,
  MSR_TSC_AUX,
  SEG_FS,
  SEG_GS,
} from './state.js';

/** MSRs kept verbatim in the generic map (readable and writable). */
const PLAIN_MSRS = [
  MSR_IA32_PAT,
  MSR_IA32_SYSENTER_CS,
  MSR_IA32_SYSENTER_ESP,
  MSR_IA32_SYSENTER_EIP,
  MSR_IA32_MISC_ENABLE,
];
export const MSR_IA32_APIC_BASE_DEFAULT = 0xfee00000n;

function fromNum(v: number): bigint {
  return BigInt.asUintN(64, BigInt(v));
}

/** Current TSC: deterministic, one tick per retired instruction plus the offset. */
export function tsc(c: CpuOperands): bigint {
  return BigInt.asUintN(64, BigInt(c.instructions) + c.tscOffset);
}

/** Reads an MSR; undefined for MSRs this CPU does not implement (guest: #GP). */
export function readMsr(c: CpuOperands, index: number): bigint | undefined {
  switch (index) {
    case MSR_EFER:
      return BigInt(c.efer);
    case MSR_STAR:
      return c.star;
    case MSR_LSTAR:
      return fromNum(c.lstar);
    case MSR_CSTAR:
      return fromNum(c.cstar);
    case MSR_FMASK:
      return BigInt(c.fmask >>> 0);
    case MSR_FS_BASE:
      return fromNum(c.segBase[SEG_FS]!);
    case MSR_GS_BASE:
      return fromNum(c.segBase[SEG_GS]!);
    case MSR_KERNEL_GS_BASE:
      return fromNum(c.kernelGsBase);
    case MSR_TSC_AUX:
      return BigInt(c.tscAux >>> 0);
    case MSR_IA32_TSC:
      return tsc(c);
    case MSR_IA32_APIC_BASE:
      return c.msrs.get(index) ?? MSR_IA32_APIC_BASE_DEFAULT | 0x800n | (c.index === 0 ? 0x100n : 0n);
  }
  if (PLAIN_MSRS.includes(index)) return c.msrs.get(index) ?? (index === MSR_IA32_PAT ? 0x0007040600070406n : 0n);
  return undefined;
}

/** Writes an MSR; false when the guest write must raise #GP (unknown MSR or bad value). */
export function writeMsr(c: CpuOperands, index: number, value: bigint): boolean {
  const v = BigInt.asUintN(64, value);
  const asAddr = Number(BigInt.asIntN(64, v));
  switch (index) {
    case MSR_EFER: {
      const allowed = BigInt(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
      if ((v & ~allowed) !== 0n) return false;
      // LMA is read-only and long mode cannot be left in this core.
      const nv = (Number(v) & (EFER_SCE | EFER_NXE)) | EFER_LME | EFER_LMA;
      if (nv !== c.efer) {
        c.efer = nv;
        c.flushTlb();
      }
      return true;
    }
    case MSR_STAR:
      c.star = v;
      return true;
    case MSR_LSTAR:
    case MSR_CSTAR:
    case MSR_FS_BASE:
    case MSR_GS_BASE:
    case MSR_KERNEL_GS_BASE:
      if (!isCanonical(asAddr)) return false;
      if (index === MSR_LSTAR) c.lstar = asAddr;
      else if (index === MSR_CSTAR) c.cstar = asAddr;
      else if (index === MSR_FS_BASE) c.segBase[SEG_FS] = asAddr;
      else if (index === MSR_GS_BASE) c.segBase[SEG_GS] = asAddr;
      else c.kernelGsBase = asAddr;
      return true;
    case MSR_FMASK:
      c.fmask = Number(v & 0xffffffffn) | 0;
      return true;
    case MSR_TSC_AUX:
      if (v >> 32n !== 0n) return false;
      c.tscAux = Number(v);
      return true;
    case MSR_IA32_TSC:
      c.tscOffset = v - BigInt(c.instructions);
      return true;
    case MSR_IA32_APIC_BASE:
      c.msrs.set(index, v);
      return true;
  }
  if (PLAIN_MSRS.includes(index)) {
    c.msrs.set(index, v);
    return true;
  }
  return false;
}

const BRAND = 'hvdbg virtual x86-64 CPU\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0';
function brandWord(i: number): number {
  return (
    BRAND.charCodeAt(i) |
    (BRAND.charCodeAt(i + 1) << 8) |
    (BRAND.charCodeAt(i + 2) << 16) |
    (BRAND.charCodeAt(i + 3) << 24) |
    0
  );
}

/** CPUID result for (leaf, subleaf) into out[0..3] = eax, ebx, ecx, edx. */
export function cpuid(c: CpuOperands, leaf: number, subleaf: number, out: Int32Array): void {
  let a = 0;
  let b = 0;
  let cx = 0;
  let d = 0;
  switch (leaf >>> 0) {
    case 0:
      a = 7;
      b = 0x756e6547; // "Genu"
      d = 0x49656e69; // "ineI"
      cx = 0x6c65746e; // "ntel"
      break;
    case 1:
      a = 0x000506e3;
      b = (c.index << 24) | (1 << 16) | (8 << 8);
      cx = 1 << 23; // POPCNT
      // TSC, MSR, PAE, APIC, PGE, CMOV, PAT
      d = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 9) | (1 << 13) | (1 << 15) | (1 << 16);
      break;
    case 7:
      break;
    case 0x80000000:
      a = 0x80000008 | 0;
      break;
    case 0x80000001:
      // LZCNT only: LAHF/SAHF (bit 0) are outside the emulated ISA and raise #UD, so not advertised.
      cx = 1 << 5;
      d = (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29); // SYSCALL, NX, 1 GiB pages, RDTSCP, LM
      break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      const base = ((leaf >>> 0) - 0x80000002) * 16;
      a = brandWord(base);
      b = brandWord(base + 4);
      cx = brandWord(base + 8);
      d = brandWord(base + 12);
      break;
    }
    case 0x80000008:
      a = (48 << 8) | MAXPHYADDR;
      break;
  }
  void subleaf;
  out[0] = a;
  out[1] = b;
  out[2] = cx;
  out[3] = d;
}
