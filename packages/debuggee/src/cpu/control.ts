/**
 * Control registers (SDM Vol. 3A §2.5 "Control Registers", MOV to/from CRn in Vol. 2B; TLB effects
 * §4.10.4.1: a CR3 write flushes non-global translations, toggling CR4.PGE or paging-related CR0/CR4
 * bits flushes everything).
 *
 * This core only runs in long mode, so writes that would leave it (clearing CR0.PG/PE, CR4.PAE)
 * raise #GP like other invalid combinations.
 */
import type { Cpu } from './cpu.js';
import { EXIT_REASON_CR_ACCESS, EXIT_SKIP, EXIT_WANT_POST, EXIT_WANT_PRE } from './exits.js';
import { VEC_GP, VEC_UD } from './faults.js';
import type { CpuOperands } from './operands.js';
import { MAXPHYADDR } from './paging.js';
import { CR0_CD, CR0_NW, CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, CR4_SMAP, CR4_SMEP, TWO_32 } from './state.js';

/** CR0 bits this core accepts (PE MP EM TS ET NE WP AM NW CD PG). */
const CR0_VALID = 0x0000003f | (1 << 16) | (1 << 18) | (1 << 29) | (1 << 30) | (1 << 31);
/** CR4 bits this core accepts (VME..OSXMMEXCPT, UMIP, FSGSBASE, SMEP, SMAP). */
const CR4_VALID = 0x7ff | (1 << 11) | (1 << 16) | (1 << 18) | (1 << 20) | (1 << 21);

/** Validates and applies a CR write (no exits). False = #GP. */
export function applyCr(c: CpuOperands, n: number, lo: number, hi: number): boolean {
  switch (n) {
    case 0: {
      if (hi !== 0 || (lo & ~CR0_VALID) !== 0) return false;
      if ((lo & CR0_PG) === 0 || (lo & CR0_PE) === 0) return false;
      if ((lo & CR0_NW) !== 0 && (lo & CR0_CD) === 0) return false;
      const changed = (c.cr0 ^ lo) & (CR0_PG | CR0_WP | CR0_PE);
      c.cr0 = lo | 0x10;
      if (changed) c.flushTlb();
      return true;
    }
    case 2:
      c.cr2 = hi * TWO_32 + (lo >>> 0);
      return true;
    case 3: {
      const v = (hi >>> 0) * TWO_32 + (lo >>> 0);
      if (v >= 2 ** MAXPHYADDR) return false;
      c.cr3 = v;
      c.flushNonGlobal();
      return true;
    }
    case 4: {
      if (hi !== 0 || (lo & ~CR4_VALID) !== 0) return false;
      if ((lo & CR4_PAE) === 0) return false;
      const changed = (c.cr4 ^ lo) & (CR4_PGE | CR4_PAE | CR4_SMEP | CR4_SMAP);
      c.cr4 = lo;
      if (changed) c.flushTlb();
      return true;
    }
    case 8:
      if (hi !== 0 || (lo & ~0xf) !== 0) return false;
      c.cr8 = lo;
      c.eventPending = true;
      return true;
  }
  return false;
}

/** Reads CRn as halves into out. */
export function crValue(c: CpuOperands, n: number): [number, number] {
  switch (n) {
    case 0:
      return [c.cr0, 0];
    case 2:
      return [(c.cr2 % TWO_32) | 0, Math.floor(c.cr2 / TWO_32) | 0];
    case 3:
      return [(c.cr3 % TWO_32) | 0, Math.floor(c.cr3 / TWO_32) | 0];
    case 4:
      return [c.cr4, 0];
    default:
      return [c.cr8, 0];
  }
}

export function validCr(n: number): boolean {
  return n === 0 || n === 2 || n === 3 || n === 4 || n === 8;
}

export function moveFromCr(c: Cpu, n: number, reg: number, dir: number): void {
  if (!validCr(n)) c.raise(VEC_UD);
  const qual = n | (dir << 4);
  if (
    (c.exitMask[EXIT_REASON_CR_ACCESS]! & EXIT_WANT_PRE) !== 0 &&
    c.exitPre(EXIT_REASON_CR_ACCESS, qual) === EXIT_SKIP
  )
    return;
  const [lo, hi] = crValue(c, n);
  c.writeReg(8, reg, lo, hi);
  if ((c.exitMask[EXIT_REASON_CR_ACCESS]! & EXIT_WANT_POST) !== 0) c.exitPost(EXIT_REASON_CR_ACCESS, qual);
}

export function moveToCr(c: Cpu, n: number, reg: number, dir: number): void {
  if (!validCr(n)) c.raise(VEC_UD);
  const lo = c.lo[reg]!;
  const hi = c.hi[reg]!;
  const qual = n | (dir << 4);
  c.exitValue = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  if (
    (c.exitMask[EXIT_REASON_CR_ACCESS]! & EXIT_WANT_PRE) !== 0 &&
    c.exitPre(EXIT_REASON_CR_ACCESS, qual) === EXIT_SKIP
  )
    return;
  if (!applyCr(c, n, lo, hi)) c.raise(VEC_GP, 0);
  if ((c.exitMask[EXIT_REASON_CR_ACCESS]! & EXIT_WANT_POST) !== 0) c.exitPost(EXIT_REASON_CR_ACCESS, qual);
}
