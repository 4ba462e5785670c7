/**
 * The dispatch table shared by all handler files (SDM Vol. 2D Appendix A opcode maps): index =
 * opcode, 0x100 + opcode for the 0F map. Handlers are named after their encoding and registered by
 * the execute*.ts / strings.ts / system.ts / transfer.ts modules; anything left unregistered raises
 * #UD. On entry prefixes are decoded and the decode cursor points after the opcode; a handler
 * leaves it at the next instruction (or a jump target).
 */
import type { Cpu } from './cpu.js';
import { VEC_UD } from './faults.js';

export type Handler = (c: Cpu) => void;

export function opUD(c: Cpu): void {
  c.raise(VEC_UD);
}

export const OPS: Handler[] = new Array<Handler>(512).fill(opUD);

/** Immediate of the operand size (Iz: 16 or 32 bits, sign-extended to 64 by the caller). */
export function fetchIz(c: Cpu): number {
  return c.osize === 2 ? c.fetch16() : c.fetch32();
}

export function izBytes(c: Cpu): number {
  return c.osize === 2 ? 2 : 4;
}

/** Sign-extension of a value of size 1/2/4 for use as the high half / 64-bit operand. */
export function signHi(v: number): number {
  return v >> 31;
}
