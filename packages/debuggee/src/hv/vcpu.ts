/**
 * The slice of the CPU the hypervisor layer uses (notes: the CPU's public API). Declared
 * structurally so the dispatch can be exercised with a scripted fake core in unit tests; the real
 * `Cpu` satisfies it as is.
 */
import type { ExitHandler } from '../cpu/exits.js';

export interface HvCpu {
  readonly index: number;
  exitHandler: ExitHandler<never> | ExitHandler<HvCpu> | null;
  exitMask: Uint8Array;
  exitAddress: number;
  exitLinear: number;
  exitSize: number;
  exitAccess: number;
  exitValue: bigint;
  mtf: boolean;
  interruptsMasked: boolean;
  readonly cpl: number;
  readonly instructions: number;
  getReg(r: number): bigint;
  setReg(r: number, v: bigint): void;
  getRip(): bigint;
  setRip(v: bigint): void;
  getRflags(): bigint;
  setRflags(v: bigint): void;
  getCr(n: number): bigint;
  setCr(n: number, v: bigint): void;
  translate(linear: bigint, access: 'r' | 'w' | 'x', user?: boolean): number;
  readVirtual(linear: bigint, length: number): Uint8Array | null;
  writeVirtual(linear: bigint, bytes: Uint8Array): boolean;
}

/** The debugger's and scripts' view of a vCPU: everything the register and memory requests need. */
export interface DebugCpu extends HvCpu {
  halted: boolean;
  tscOffset: bigint;
  getSegment(i: number): { selector: number; base: bigint; limit: number; attributes: number };
  setSegmentSelector(i: number, selector: number): void;
  getDescriptorTable(which: 'gdtr' | 'idtr'): { base: bigint; limit: number };
  getDr(n: number): bigint;
  setDr(n: number, v: bigint): void;
  getMsr(index: number): bigint;
  setMsr(index: number, v: bigint): void;
  injectException(vector: number, errorCode?: number): void;
  walk(linear: bigint): { physical: number; entries: bigint[] } | null;
}

export const REG_RAX = 0;
export const REG_RCX = 1;
export const REG_RDX = 2;
export const REG_RBX = 3;
export const REG_RSP = 4;
export const REG_R8 = 8;

/** Guest-process awareness the machine provides for `pid` filters and log records. */
export interface Awareness {
  pid(cpu: number): number;
  tid(cpu: number): number;
}

/** Canonical signed form of a 64-bit linear address, as the CPU reports `exitLinear`. */
export function linearNumber(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}
