/**
 * What the CPU sees of the machine besides memory: the I/O port space (IN/OUT, SDM Vol. 1 ch. 19)
 * and the external interrupt line (INTR, SDM Vol. 3A §6.3.1). Implemented by machine/.
 */
import type { Cpu } from './cpu.js';

export interface IoBus {
  in(port: number, size: 1 | 2 | 4): number;
  out(port: number, size: 1 | 2 | 4, value: number): void;
}

/**
 * The interrupt controller as seen from one vCPU. `pending` is polled when the CPU can take an
 * interrupt (RFLAGS.IF=1, no STI/MOV SS shadow) at the start of each run and after events that may
 * change the answer (port/MMIO writes, STI, POPF, IRETQ, writes to CR8); `acknowledge` returns the
 * vector (the INTA cycle).
 */
export interface InterruptSource {
  pending(cpu: Cpu): boolean;
  acknowledge(cpu: Cpu): number;
}
