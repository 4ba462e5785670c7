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
import { FULL_REGISTERS } from '@hvdbg/script';
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

/** Where a register name lives: full register id, lowest bit, width (SPEC §4.5 views). */
interface View {
  base: number;
  shift: number;
  width: number;
}

const FLAG_BITS: Record<string, [number, number]> = {
  cf: [0, 1], pf: [2, 1], af: [4, 1], zf: [6, 1], sf: [7, 1], tf: [8, 1], if: [9, 1], df: [10, 1], of: [11, 1],
  iopl: [12, 2], nt: [14, 1], rf: [16, 1], vm: [17, 1], ac: [18, 1], vif: [19, 1], vip: [20, 1], id: [21, 1],
}; // biome-ignore format: table

function buildViews(): Map<string, View> {
  const views = new Map<string, View>();
  FULL_REGISTERS.forEach((name, base) => {
    views.set(name, { base, shift: 0, width: 64 });
  });
  const full = (n: string) => FULL_REGISTERS.indexOf(n as (typeof FULL_REGISTERS)[number]);
  for (const x of ['a', 'b', 'c', 'd']) {
    const base = full(`r${x}x`);
    views.set(`e${x}x`, { base, shift: 0, width: 32 });
    views.set(`${x}x`, { base, shift: 0, width: 16 });
    views.set(`${x}h`, { base, shift: 8, width: 8 });
    views.set(`${x}l`, { base, shift: 0, width: 8 });
  }
  for (const x of ['si', 'di', 'sp', 'bp']) {
    const base = full(`r${x}`);
    views.set(`e${x}`, { base, shift: 0, width: 32 });
    views.set(x, { base, shift: 0, width: 16 });
    views.set(`${x}l`, { base, shift: 0, width: 8 });
  }
  for (let n = 8; n <= 15; n++) {
    const base = full(`r${n}`);
    views.set(`r${n}d`, { base, shift: 0, width: 32 });
    views.set(`r${n}w`, { base, shift: 0, width: 16 });
    views.set(`r${n}h`, { base, shift: 8, width: 8 });
    views.set(`r${n}l`, { base, shift: 0, width: 8 });
  }
  views.set('eip', { base: full('rip'), shift: 0, width: 32 });
  views.set('ip', { base: full('rip'), shift: 0, width: 16 });
  views.set('eflags', { base: full('rflags'), shift: 0, width: 32 });
  views.set('flags', { base: full('rflags'), shift: 0, width: 16 });
  for (const [name, [shift, width]] of Object.entries(FLAG_BITS))
    views.set(name, { base: full('rflags'), shift, width });
  return views;
}

const VIEWS = buildViews();

function viewOf(name: string): View {
  const v = VIEWS.get(name.toLowerCase().replace(/^@/, ''));
  if (v === undefined) throw new HvdbgError('E_BAD_REGISTER', `no register named '${name}'`);
  return v;
}

/** Reads a register by name (full register or a view such as eax, al, zf). */
export function readNamed(cpu: DebugCpu, name: string): bigint {
  const v = viewOf(name);
  const full = readFull(cpu, v.base);
  return (full >> BigInt(v.shift)) & ((1n << BigInt(v.width)) - 1n);
}

/** Writes a register by name; a view changes only its bits (SPEC §4.5). */
export function writeNamed(cpu: DebugCpu, name: string, value: bigint): void {
  const v = viewOf(name);
  if (v.width === 64) {
    writeFull(cpu, v.base, value);
    return;
  }
  const shift = BigInt(v.shift);
  const mask = ((1n << BigInt(v.width)) - 1n) << shift;
  const full = readFull(cpu, v.base);
  writeFull(cpu, v.base, (full & ~mask) | ((BigInt.asUintN(v.width, value) << shift) & mask));
}

/** Names `r` shows by default: the full registers. */
export const DEFAULT_REGISTER_NAMES: readonly string[] = FULL_REGISTERS;
