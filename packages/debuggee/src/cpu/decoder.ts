/**
 * Table-driven instruction-length and mnemonic decoder for 64-bit mode (SDM Vol. 2A ch. 2
 * "Instruction Format", Vol. 2D Appendix A opcode maps), reading only opcodes.ts.
 *
 * It answers what the CPU will do with the bytes: the instruction's length and mnemonic (iced-x86
 * spelling), or `ud` when the CPU raises #UD for them (outside the emulated ISA, invalid encodings,
 * illegal LOCK, more than 15 bytes). Used by the verification cross-check, the disassembly helpers
 * and the interpreter's LOCK validation.
 */
import {
  F_F3,
  F_MEM_ONLY,
  F_MOD_IGNORED,
  F_REX_W,
  groupLockable,
  IMM_B,
  IMM_GROUP3,
  IMM_MOFFS,
  IMM_REL8,
  IMM_REL32,
  IMM_V,
  IMM_W,
  IMM_Z,
  OPCODE_0F01_REG,
  OPCODES,
} from './opcodes.js';

export interface DecodedInstruction {
  length: number;
  mnemonic: string;
  ud: boolean;
}

const MAX_LENGTH = 15;

function ud(length: number): DecodedInstruction {
  return { length, mnemonic: '', ud: true };
}

function bySize(mn: string, osize: number): string {
  if (!mn.includes('|')) return mn;
  const parts = mn.split('|');
  return parts[osize === 2 ? 0 : osize === 4 ? 1 : 2]!;
}

/** Bytes of ModRM + SIB + displacement starting at `p` (which holds the ModRM byte), or -1. */
function modrmLength(bytes: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  const m = bytes[p]!;
  const mod = m >> 6;
  const rm = m & 7;
  if (mod === 3) return 1;
  let n = 1;
  if (rm === 4) {
    if (p + 1 >= end) return -1;
    const base = bytes[p + 1]! & 7;
    n++;
    if (mod === 0 && base === 5) n += 4;
  } else if (mod === 0 && rm === 5) n += 4;
  if (mod === 1) n += 1;
  else if (mod === 2) n += 4;
  return n;
}

/** Decodes the instruction at `offset` in `bytes` (64-bit mode). */
export function decodeInstruction(bytes: Uint8Array, offset: number): DecodedInstruction {
  const end = Math.min(bytes.length, offset + MAX_LENGTH);
  let p = offset;
  let has66 = false;
  let a32 = false;
  let rep = 0;
  let lock = false;
  let rex = 0;
  let b = -1;
  for (;;) {
    if (p >= end) return ud(MAX_LENGTH);
    b = bytes[p++]!;
    if (b === 0x66) has66 = true;
    else if (b === 0x67) a32 = true;
    else if (b === 0xf2 || b === 0xf3) rep = b;
    else if (b === 0xf0) lock = true;
    else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x64 || b === 0x65) {
      // segment override: no effect on length
    } else if ((b & 0xf0) === 0x40) {
      rex = b;
      if (p >= end) return ud(MAX_LENGTH);
      const next = bytes[p]!;
      if ((next & 0xf0) === 0x40) continue; // a later REX replaces this one
      if (isLegacyPrefix(next)) {
        rex = 0;
        continue;
      }
      b = bytes[p++]!;
      break;
    } else break;
    rex = 0;
  }
  let op = b;
  if (b === 0x0f) {
    if (p >= end) return ud(MAX_LENGTH);
    op = 0x100 | bytes[p++]!;
  }
  const info = OPCODES[op]!;
  if (info.mn === '') return ud(p - offset);
  const w = (rex & 8) !== 0;
  const osize = w ? 8 : has66 ? 2 : 4;
  if ((info.flags & F_REX_W) !== 0 && !w) return ud(p - offset);
  if ((info.flags & F_F3) !== 0 && rep !== 0xf3) return ud(p - offset);
  let mn = info.mn;
  let isMem = false;
  let digit = 0;
  let imm = info.imm;
  if (info.modrm) {
    if (p >= end) return ud(MAX_LENGTH);
    const m = bytes[p]!;
    digit = (m >> 3) & 7;
    isMem = m >> 6 !== 3;
    if (op === 0x101 && !isMem) {
      const name = OPCODE_0F01_REG.get(m);
      if (name === undefined || (m === 0xc1 && (has66 || rep !== 0))) return ud(p - offset);
      mn = name;
      p++;
    } else {
      if ((info.flags & F_MOD_IGNORED) !== 0) {
        const reg = digit | ((rex & 4) << 1);
        if (op === 0x120 || op === 0x122) {
          if (reg !== 0 && reg !== 2 && reg !== 3 && reg !== 4 && reg !== 8) return ud(p - offset);
        } else if (reg > 7) return ud(p - offset);
        p++;
        isMem = false;
      } else {
        const n = modrmLength(bytes, p, end);
        if (n < 0) return ud(MAX_LENGTH);
        p += n;
      }
      if ((info.flags & F_MEM_ONLY) !== 0 && !isMem) return ud(p - offset);
      if (info.group !== null) {
        mn = info.group[digit]!;
        if (mn === '') return ud(p - offset);
        if (imm === IMM_GROUP3) imm = digit < 2 ? (op === 0xf6 ? IMM_B : IMM_Z) : 0;
      }
      if (op === 0x8c && digit > 5) return ud(p - offset);
      if (op === 0x8e && (digit > 5 || digit === 1)) return ud(p - offset);
      if (op === 0x11e) {
        if (rep !== 0xf3 || m !== 0xfa) return ud(p - offset);
      }
      if (op === 0x1bc && rep === 0xf3) mn = 'tzcnt';
      if (op === 0x1bd && rep === 0xf3) mn = 'lzcnt';
    }
  }
  if (op === 0x90) mn = rep === 0xf3 ? 'pause' : (rex & 1) !== 0 ? 'xchg' : 'nop';
  if (lock) {
    const ok = info.group !== null ? groupLockable(op, digit) : info.lock;
    if (!ok || !isMem) return ud(p - offset);
  }
  switch (imm) {
    case IMM_B:
    case IMM_REL8:
      p += 1;
      break;
    case IMM_W:
      p += 2;
      break;
    case IMM_Z:
      p += osize === 2 ? 2 : 4;
      break;
    case IMM_V:
      p += osize;
      break;
    case IMM_MOFFS:
      p += a32 ? 4 : 8;
      break;
    case IMM_REL32:
      p += 4;
      break;
  }
  const length = p - offset;
  if (length > MAX_LENGTH || p > bytes.length) return ud(Math.min(length, MAX_LENGTH));
  return { length, mnemonic: bySize(mn, osize), ud: false };
}

function isLegacyPrefix(b: number): boolean {
  return (
    b === 0x66 ||
    b === 0x67 ||
    b === 0xf2 ||
    b === 0xf3 ||
    b === 0xf0 ||
    b === 0x26 ||
    b === 0x2e ||
    b === 0x36 ||
    b === 0x3e ||
    b === 0x64 ||
    b === 0x65
  );
}

/** True when LOCK is legal for opcode `op` with the ModRM byte `modrm` (memory destination). */
export function lockAllowed(op: number, modrm: number): boolean {
  const info = OPCODES[op]!;
  if (modrm >> 6 === 3) return false;
  return info.group !== null ? groupLockable(op, (modrm >> 3) & 7) : info.lock;
}

/**
 * Number of bytes after the opcode (ModRM, SIB, displacement, immediate) of `op`, given the first
 * `have` of them in `bytes`; -1 while more bytes are needed to tell.
 */
export function operandBytes(op: number, bytes: Uint8Array, have: number, osize: number, a32: boolean): number {
  const info = OPCODES[op]!;
  let n = 0;
  let digit = 0;
  if (info.modrm) {
    if (have < 1) return -1;
    digit = (bytes[0]! >> 3) & 7;
    const m = modrmLength(bytes, 0, have);
    if (m < 0) return -1;
    n = m;
  }
  let imm = info.imm;
  if (imm === IMM_GROUP3) imm = digit < 2 ? (op === 0xf6 ? IMM_B : IMM_Z) : 0;
  switch (imm) {
    case IMM_B:
    case IMM_REL8:
      return n + 1;
    case IMM_W:
      return n + 2;
    case IMM_Z:
      return n + (osize === 2 ? 2 : 4);
    case IMM_V:
      return n + osize;
    case IMM_MOFFS:
      return n + (a32 ? 4 : 8);
    case IMM_REL32:
      return n + 4;
    default:
      return n;
  }
}
