/**
 * The CPU's one narrow exit interface: every point where a real hypervisor would take a VM exit
 * (Intel SDM Vol. 3C, ch. 26 "VM Exits" and Appendix C "VMX Basic Exit Reasons") calls out through
 * here, so the emulated hypervisor (src/hv/) hooks the CPU without editing it.
 *
 * Cost when nothing is hooked: the CPU tests one byte of `exitMask[reason]` at each exit point; with
 * the byte at 0 it emulates the instruction directly and never calls the handler.
 *
 * Protocol of a call:
 *  - `pre` runs BEFORE the instruction (or delivery) has any architectural effect. It returns
 *    EXIT_EMULATE (go on), EXIT_SKIP (short-circuit: retire the instruction with no effect except
 *    RIP advancing past it; the handler may have written registers as its "result"), or EXIT_HALT
 *    (abandon the instruction with all state as before it and end the current run; when the CPU is
 *    run again it re-executes the instruction and the handler is called again, so the handler must
 *    remember where its own walk stopped).
 *  - `post` runs AFTER the effect; it returns EXIT_EMULATE (go on) or EXIT_HALT (end the run after
 *    this instruction).
 *  - Details beyond `qual` are in the CPU's exit fields (`exitAddress`, `exitLinear`, `exitSize`,
 *    `exitAccess`, `exitValue`), valid only during the call.
 *  - While a handler runs, the CPU is re-entrant only through `Cpu.runNested` (custom code); memory
 *    accesses made by the hypervisor, scripts and the debugger use the debug accessors and never
 *    cause exits.
 */

// Basic exit reasons, numbered as in the Intel SDM Appendix C.
export const EXIT_REASON_EXCEPTION_NMI = 0;
export const EXIT_REASON_EXTERNAL_INTERRUPT = 1;
export const EXIT_REASON_TRIPLE_FAULT = 2;
export const EXIT_REASON_CPUID = 10;
export const EXIT_REASON_HLT = 12;
export const EXIT_REASON_INVLPG = 14;
export const EXIT_REASON_RDPMC = 15;
export const EXIT_REASON_RDTSC = 16;
export const EXIT_REASON_VMCALL = 18;
export const EXIT_REASON_CR_ACCESS = 28;
export const EXIT_REASON_DR_ACCESS = 29;
export const EXIT_REASON_IO_INSTRUCTION = 30;
export const EXIT_REASON_MSR_READ = 31;
export const EXIT_REASON_MSR_WRITE = 32;
export const EXIT_REASON_MONITOR_TRAP_FLAG = 37;
export const EXIT_REASON_EPT_VIOLATION = 48;
export const EXIT_REASON_RDTSCP = 51;
export const EXIT_REASON_XSETBV = 55;
// Not VM exits on real VT-x (HyperDbg gets them by clearing EFER.SCE and catching #UD, or from
// CR3/segment changes); numbered above the SDM's range.
export const EXIT_REASON_SYSCALL = 70;
export const EXIT_REASON_SYSRET = 71;
/** CPL changed between 0 and 3 (qual = new CPL). Called after the change, as a `pre` of the next instruction. */
export const EXIT_REASON_MODE_CHANGE = 72;
/** An instruction is about to execute at a linear address whose physical page has EPT_EXEC_TRAP. */
export const EXIT_REASON_EPT_EXECUTE = 73;
export const EXIT_REASON_COUNT = 80;

/** Result of an exit handler call. */
export const EXIT_EMULATE = 0;
export const EXIT_SKIP = 1;
export const EXIT_HALT = 2;

/** Bits of `exitMask[reason]`. */
export const EXIT_WANT_PRE = 1;
export const EXIT_WANT_POST = 2;

/** `qual` for EXIT_REASON_CR_ACCESS: CR number | (direction << 4), direction 0 = mov to CR, 1 = from. */
export const CR_ACCESS_TO = 0;
export const CR_ACCESS_FROM = 1;
/** `qual` for EXIT_REASON_DR_ACCESS: DR number | (direction << 4). */
/** `qual` for EXIT_REASON_IO_INSTRUCTION: port | (size << 16) | (direction << 24), direction 1 = IN. */
export const IO_DIRECTION_OUT = 0;
export const IO_DIRECTION_IN = 1;

/**
 * Second-level ("EPT") trap bits per guest-physical 4 KiB page, in `Cpu.ept` (a Uint8Array shared by
 * all vCPUs, one byte per frame). A set bit makes the matching access call EXIT_REASON_EPT_VIOLATION
 * (read/write, qual = EPT_ACCESS_*) or EXIT_REASON_EPT_EXECUTE (execute) before it happens.
 */
export const EPT_READ_TRAP = 1;
export const EPT_WRITE_TRAP = 2;
export const EPT_EXEC_TRAP = 4;
export const EPT_ACCESS_READ = 1;
export const EPT_ACCESS_WRITE = 2;
export const EPT_ACCESS_EXECUTE = 4;

/** Implemented by the hypervisor (src/hv/). `cpu` is the exiting vCPU. */
export interface ExitHandler<C = unknown> {
  pre(cpu: C, reason: number, qual: number): number;
  post(cpu: C, reason: number, qual: number): number;
}
