/**
 * Matching one exit against one event (SPEC §2.1): the `$context` each exit reason carries and the
 * per-kind parameter tests (syscall number, port and direction, CR mask semantics, hooked address,
 * monitor range overlap, mode direction). Pure functions of the exit fields; nothing allocates.
 */
import {
  EXIT_REASON_CPUID,
  EXIT_REASON_CR_ACCESS,
  EXIT_REASON_EPT_EXECUTE,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MODE_CHANGE,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_RDTSCP,
  EXIT_REASON_SYSCALL,
  EXIT_REASON_SYSRET,
  EXIT_REASON_XSETBV,
  IO_DIRECTION_IN,
} from '../cpu/exits.js';
import { KIND_CODE, MONITOR_EXECUTE, type RegisteredEvent } from '../events/registry.js';
import { ANY_FILTER } from './filters.js';
import type { HvCpu } from './vcpu.js';

const K = KIND_CODE;
const TWO_32 = 4294967296;

/** matchContext's answer for an event that does not match (test with Number.isNaN). */
export const NO_MATCH = Number.NaN;

/**
 * The CPU calls `post` from inside the instruction, before it commits the next RIP (it keeps it in
 * `ip`); the post stage must show the state after the instruction (SPEC §2.1: `!syscall` post = the
 * first kernel instruction), so commit it early. The CPU commits the same value right after.
 */
export function syncRipForPost(cpu: HvCpu): void {
  const c = cpu as HvCpu & { ip?: number; rip?: number };
  if (typeof c.ip === 'number' && typeof c.rip === 'number') c.rip = c.ip;
}

/** RIP as a canonical signed number (the CPU keeps it that way; the fake cores in tests too). */
export function ripOf(cpu: HvCpu): number {
  const c = cpu as HvCpu & { rip?: number };
  return typeof c.rip === 'number' ? c.rip : Number(BigInt.asIntN(64, cpu.getRip()));
}

/** Register as a number: exact for values below 2^53 (all parameters are). */
export function regOf(cpu: HvCpu, r: number): number {
  const c = cpu as HvCpu & { lo?: Int32Array; hi?: Int32Array };
  if (c.lo !== undefined && c.hi !== undefined) return (c.hi[r]! >>> 0) * TWO_32 + (c.lo[r]! >>> 0);
  return Number(BigInt.asUintN(64, cpu.getReg(r)));
}

export function reg32(cpu: HvCpu, r: number): number {
  const c = cpu as HvCpu & { lo?: Int32Array };
  if (c.lo !== undefined) return c.lo[r]! >>> 0;
  return Number(BigInt.asUintN(32, cpu.getReg(r)));
}

/** The `$context` value of SPEC §2.1 that depends only on the exit (per-event ones are refined in matchContext). */
export function contextOf(cpu: HvCpu, reason: number, qual: number): number {
  switch (reason) {
    case EXIT_REASON_SYSCALL:
      return regOf(cpu, 0);
    case EXIT_REASON_SYSRET:
      return ripOf(cpu);
    case EXIT_REASON_CPUID:
      return reg32(cpu, 0);
    case EXIT_REASON_MSR_READ:
    case EXIT_REASON_MSR_WRITE:
    case EXIT_REASON_XSETBV:
      return reg32(cpu, 1);
    case EXIT_REASON_RDTSCP:
      return 1;
    case EXIT_REASON_IO_INSTRUCTION:
      return qual & 0xffff;
    case EXIT_REASON_EXCEPTION_NMI:
    case EXIT_REASON_EXTERNAL_INTERRUPT:
      return qual & 0xff;
    case EXIT_REASON_CR_ACCESS:
      return qual & 0xf;
    case EXIT_REASON_MODE_CHANGE:
      return qual;
    default:
      return 0;
  }
}

/** Parameter / filter match of one event against one exit; returns the firing's context or NO_MATCH. */
export function matchContext(ev: RegisteredEvent, cpu: HvCpu, reason: number, qual: number, base: number): number {
  switch (ev.code) {
    case K.ioin:
    case K.ioout: {
      const dirIn = ((qual >>> 24) & 1) === IO_DIRECTION_IN;
      if (dirIn !== (ev.code === K.ioin)) return NO_MATCH;
      return ev.param === ANY_FILTER || ev.param === base ? base : NO_MATCH;
    }
    case K.crwrite: {
      if (((qual >>> 4) & 1) !== 0 || (qual & 0xf) !== ev.param) return NO_MATCH;
      const old = cpu.getCr(ev.param);
      return ((old ^ cpu.exitValue) & ev.mask) !== 0n ? base : NO_MATCH;
    }
    case K.epthook:
      return cpu.exitLinear === ev.param ? ev.param : NO_MATCH;
    case K.epthook2:
      return cpu.exitAddress === ev.physical ? ev.param : NO_MATCH;
    case K.monitor: {
      const access =
        reason === EXIT_REASON_EPT_VIOLATION ? qual & 3 : reason === EXIT_REASON_EPT_EXECUTE ? MONITOR_EXECUTE : 0;
      if ((access & ev.access) === 0) return NO_MATCH;
      const addr = ev.physicalSpace ? cpu.exitAddress : cpu.exitLinear;
      const size = reason === EXIT_REASON_EPT_VIOLATION ? Math.max(1, cpu.exitSize) : 1;
      return addr <= ev.rangeEnd && addr + size - 1 >= ev.rangeStart ? addr : NO_MATCH;
    }
    case K.mode:
      return ev.param === ANY_FILTER || ev.param === qual ? qual : NO_MATCH;
    case K.trace:
      return ev.param;
    case K.tsc:
    case K.pmc:
    case K.vmcall:
    case K.dr:
    case K.sysret:
      return base;
    default:
      return ev.param === ANY_FILTER || ev.param === base ? base : NO_MATCH;
  }
}
