/**
 * Register access by the script language's names (SPEC §4.5), shared by the script host and the
 * debugger's register requests: the script package's table says which full register a name lives
 * in (and which bits), this file reads and writes the full registers on a vCPU.
 *
 * Full register ids follow FULL_REGISTERS: 0–15 GPRs (Intel order), 16 rip, 17 rflags, 18–23
 * es cs ss ds fs gs (selectors), 24–28 cr0 cr2 cr3 cr4 cr8, 29 gdtr 30 ldtr 31 tr 32 idtr (bases /
 * selectors), 33–38 dr0 dr1 dr2 dr3 dr6 dr7.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { FULL_REGISTERS, REGISTER_BASE, REGISTER_SHIFT, REGISTER_WIDTH, registerId } from '@hvdbg/script';
import type { DebugCpu } from './vcpu.js';

const CR_OF = [0, 2, 3, 4, 8];
const DR_OF = [0, 1, 2, 3, 6, 7];

/** Reads full register `id` as an unsigned 64-bit value. */
export function readFull(cpu: DebugCpu, id: number): bigint {
  if (id < 16) return BigInt.asUintN(64, cpu.getReg(id));
  if (id === 16) return BigInt.asUintN(64, cpu.getRip());
  if (id === 17) return cpu.getRflags();
  if (id < 24) return BigInt(cpu.getSegment(id - 18).selector);
  if (id < 29) return BigInt.asUintN(64, cpu.getCr(CR_OF[id - 24]!));
  if (id === 29) return BigInt.asUintN(64, cpu.getDescriptorTable('gdtr').base);
  if (id === 32) return BigInt.asUintN(64, cpu.getDescriptorTable('idtr').base);
  if (id === 30 || id === 31) {
    const c = cpu as DebugCpu & { ldtrSel?: number; trSel?: number };
    return BigInt((id === 30 ? c.ldtrSel : c.trSel) ?? 0);
  }
  if (id < 39) return cpu.getDr(DR_OF[id - 33]!);
  throw new HvdbgError('E_BAD_REGISTER', `no register with id ${id}`);
}

/** Writes full register `id`; descriptor-table registers are read-only here. */
export function writeFull(cpu: DebugCpu, id: number, v: bigint): void {
  v = BigInt.asUintN(64, v);
  if (id < 16) cpu.setReg(id, v);
  else if (id === 16) cpu.setRip(v);
  else if (id === 17) cpu.setRflags(v);
  else if (id < 24) cpu.setSegmentSelector(id - 18, Number(v & 0xffffn));
  else if (id < 29) cpu.setCr(CR_OF[id - 24]!, v);
  else if (id < 33) throw new HvdbgError('E_BAD_REGISTER', `${FULL_REGISTERS[id]} cannot be written`);
  else if (id < 39) cpu.setDr(DR_OF[id - 33]!, v);
  else throw new HvdbgError('E_BAD_REGISTER', `no register with id ${id}`);
}

function idOf(name: string): number {
  const id = registerId(name.toLowerCase().replace(/^@/, ''));
  if (id === undefined) throw new HvdbgError('E_BAD_REGISTER', `no register named '${name}'`);
  return id;
}

/** Reads a register by name (full register or a view such as eax, al, zf). */
export function readNamed(cpu: DebugCpu, name: string): bigint {
  const id = idOf(name);
  const full = readFull(cpu, REGISTER_BASE[id]!);
  const width = BigInt(REGISTER_WIDTH[id]!);
  return (full >> BigInt(REGISTER_SHIFT[id]!)) & ((1n << width) - 1n);
}

/** Writes a register by name; a view changes only its bits (SPEC §4.5). */
export function writeNamed(cpu: DebugCpu, name: string, value: bigint): void {
  const id = idOf(name);
  const base = REGISTER_BASE[id]!;
  const width = BigInt(REGISTER_WIDTH[id]!);
  const shift = BigInt(REGISTER_SHIFT[id]!);
  if (width === 64n) return writeFull(cpu, base, value);
  const mask = ((1n << width) - 1n) << shift;
  const full = readFull(cpu, base);
  writeFull(cpu, base, (full & ~mask) | ((BigInt.asUintN(Number(width), value) << shift) & mask));
}

/** Names `r` shows by default: the full registers. */
export const DEFAULT_REGISTER_NAMES: readonly string[] = FULL_REGISTERS;
