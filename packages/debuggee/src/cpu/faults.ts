/**
 * Guest faults are guest state, not host errors (SDM Vol. 3A ch. 6 "Interrupt and Exception
 * Handling"). An instruction that faults stores the vector and error code on the CPU and throws one
 * of the frozen sentinels below; only `Cpu.run` catches them. No Error object, no stack capture.
 */

export const VEC_DE = 0; // divide error
export const VEC_DB = 1; // debug
export const VEC_NMI = 2;
export const VEC_BP = 3; // breakpoint (int3)
export const VEC_OF = 4; // overflow (into)
export const VEC_BR = 5;
export const VEC_UD = 6; // invalid opcode
export const VEC_NM = 7;
export const VEC_DF = 8; // double fault
export const VEC_TS = 10; // invalid TSS
export const VEC_NP = 11; // segment not present
export const VEC_SS = 12; // stack-segment fault
export const VEC_GP = 13; // general protection
export const VEC_PF = 14; // page fault
export const VEC_MF = 16;
export const VEC_AC = 17;
export const VEC_MC = 18;
export const VEC_XM = 19;

/** #PF error code bits (SDM Vol. 3A §4.7). */
export const PF_P = 1;
export const PF_WR = 2;
export const PF_US = 4;
export const PF_RSVD = 8;
export const PF_ID = 16;

/** Vectors that push an error code (SDM Vol. 3A Table 6-1). */
export function hasErrorCode(vector: number): boolean {
  return vector === VEC_DF || (vector >= VEC_TS && vector <= VEC_PF) || vector === VEC_AC || vector === 21;
}

/** Classes for the double-fault rule (SDM Vol. 3A Table 6-4/6-5). */
export function isContributory(vector: number): boolean {
  return vector === VEC_DE || (vector >= VEC_TS && vector <= VEC_GP);
}

/** Thrown for a guest exception; the pending vector/error code are on the CPU. */
export const GUEST_FAULT: { readonly kind: 'fault' } = Object.freeze({ kind: 'fault' as const });
/** Thrown when an exit handler returned EXIT_HALT from a `pre` call: abandon the instruction. */
export const EXIT_ABANDON: { readonly kind: 'halt' } = Object.freeze({ kind: 'halt' as const });
/** Thrown when an EPT-violation handler returned EXIT_SKIP: retire the instruction without effect. */
export const EXIT_SKIP_INSN: { readonly kind: 'skip' } = Object.freeze({ kind: 'skip' as const });
