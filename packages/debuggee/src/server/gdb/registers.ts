/**
 * Reads and writes gdb's register file (targetXml.ts) on a DebugTarget vCPU: `g`/`G`/`p`/`P`.
 *
 * Named registers come from one readRegisters call; MSR-backed ones from readMsr (an MSR the CPU
 * does not implement reads as zero rather than failing the whole `g`). Writes touch only what
 * changed, so a `G` that echoes the register file back does not rewrite segment selectors or
 * control registers (a selector write reloads the hidden descriptor part).
 */
import type { DebugTarget } from '../../target.js';
import { leHex, parseLeHex } from './packets.js';
import { G_OFFSETS, G_PACKET_BYTES, GDB_REGISTERS, type GdbRegister } from './targetXml.js';

const NAMED_SOURCES: string[] = GDB_REGISTERS.flatMap((r) => (r.source.kind === 'named' ? [r.source.name] : []));

/** Every register's value, in regnum order (zero for absent state). */
export function readAll(target: DebugTarget, vcpu: number): bigint[] {
  const named = target.readRegisters(vcpu, NAMED_SOURCES);
  return GDB_REGISTERS.map((r) => registerValue(target, vcpu, r, named));
}

function registerValue(target: DebugTarget, vcpu: number, r: GdbRegister, named?: Record<string, bigint>): bigint {
  const s = r.source;
  if (s.kind === 'named') {
    const v = named?.[s.name] ?? target.readRegisters(vcpu, [s.name])[s.name] ?? 0n;
    return BigInt.asUintN(r.bits, v);
  }
  if (s.kind === 'msr') {
    try {
      return target.readMsr(vcpu, s.msr);
    } catch {
      return 0n;
    }
  }
  return 0n;
}

/** The `g` reply. */
export function encodeAll(values: readonly bigint[]): string {
  let out = '';
  for (let i = 0; i < GDB_REGISTERS.length; i++) out += leHex(values[i] ?? 0n, GDB_REGISTERS[i]!.bits / 8);
  return out;
}

/** One register as `p` returns it; undefined for a number gdb's description does not have. */
export function readOne(target: DebugTarget, vcpu: number, regnum: number): string | undefined {
  const r = GDB_REGISTERS[regnum];
  if (r === undefined) return undefined;
  return leHex(registerValue(target, vcpu, r), r.bits / 8);
}

/** `P`: writes one register from its little-endian hex. Throws HvdbgError from the target. */
export function writeOne(target: DebugTarget, vcpu: number, regnum: number, hex: string): 'ok' | 'bad' {
  const r = GDB_REGISTERS[regnum];
  if (r === undefined || hex.length !== r.bits / 4) return 'bad';
  const value = parseLeHex(hex);
  if (value === undefined) return 'bad';
  store(target, vcpu, r, value);
  return 'ok';
}

/**
 * `G`: writes every register whose value differs from the current one. gdb may send fewer bytes
 * than the full file (older gdbs cut at the registers they know); the rest stay as they are.
 */
export function writeAll(target: DebugTarget, vcpu: number, hex: string): 'ok' | 'bad' {
  if (hex.length % 2 !== 0 || hex.length > G_PACKET_BYTES * 2 || !/^[0-9a-fA-F]*$/.test(hex)) return 'bad';
  const current = readAll(target, vcpu);
  for (let i = 0; i < GDB_REGISTERS.length; i++) {
    const r = GDB_REGISTERS[i]!;
    const start = G_OFFSETS[i]! * 2;
    const end = start + r.bits / 4;
    if (end > hex.length) break;
    const value = parseLeHex(hex.slice(start, end))!;
    if (value !== current[i]) store(target, vcpu, r, value);
  }
  return 'ok';
}

function store(target: DebugTarget, vcpu: number, r: GdbRegister, value: bigint): void {
  const s = r.source;
  if (s.kind === 'named') {
    if (r.bits < 64) {
      // eflags: keep RFLAGS bits above 31 (reserved, zero) as the CPU has them.
      const full = target.readRegisters(vcpu, [s.name])[s.name] ?? 0n;
      const mask = (1n << BigInt(r.bits)) - 1n;
      value = (full & ~mask) | (value & mask);
    }
    target.writeRegister(vcpu, s.name, value);
  } else if (s.kind === 'msr') {
    target.writeMsr(vcpu, s.msr, value);
  }
  // Absent x87/SSE state: nothing to write.
}
