/**
 * The hvdbg script bytecode format, version 1 (hvdbg's own; HyperDbg ships flat 24-byte records).
 *
 * Layout, all little-endian:
 *
 *   header (24 bytes)
 *     0  u32 magic 'HVSC'          4  u16 version (1)        6  u16 flags (bit 0: expression)
 *     8  u16 function count (≥ 1) 10  u16 constant count    12  u16 string count
 *    14  u16 global count         16  u32 code bytes        20  u32 reserved (0)
 *   functions  count × { u32 entry (code offset), u16 params, u16 locals (params included) }
 *   constants  count × { u32 low, u32 high }
 *   strings    count × { u8 kind (0 ASCII, 1 UTF-16LE), u16 byte length, bytes }
 *   globals    count × { u8 name length, ASCII name }   — resolved by name in the VM, so scripts share `.x`
 *   code       code bytes: instructions `u8 opcode` + operands as the OPCODES table says
 *
 * Function 0 is the entry point. Functions are laid out in order: function i owns the code from its
 * entry to the next function's entry. Jump operands are code offsets and must stay in the function.
 * The buffer must end exactly after the code.
 */

export const MAGIC = 0x43535648; // 'HVSC' read as little-endian u32
export const VERSION = 1;
export const HEADER_BYTES = 24;
export const FLAG_EXPRESSION = 1;
export const STRING_ASCII = 0;
export const STRING_WIDE = 1;
/** Longest string literal in bytes (SPEC: strings ≤ 4096 bytes). */
export const MAX_STRING_BYTES = 4096;
export const MAX_GLOBAL_NAME = 64;

/** Operand kinds: u8, u16, i32 (jump targets are i32 code offsets). */
export type Operand = 'u8' | 'u16' | 'i32';

export enum Op {
  NOP,
  PUSH_I32, // i32 sign-extended to 64 bits
  PUSH_CONST, // u16 constant index
  PUSH_STR, // u16 string index: pushes the string's address in the script's string window
  POP,
  DUP,
  LOAD_LOCAL, // u16 slot
  STORE_LOCAL, // u16 slot (pops)
  ADDR_LOCAL, // u16 slot
  LOAD_GLOBAL, // u16 script global index
  STORE_GLOBAL,
  ADDR_GLOBAL,
  LOAD_REG, // u16 register id (registers.ts)
  STORE_REG,
  LOAD_PSEUDO, // u16 pseudo-register id (host.ts)
  ADD,
  SUB,
  MUL,
  DIVU,
  MODU,
  DIVS,
  MODS,
  SHL,
  SHRU,
  SHRS,
  AND,
  OR,
  XOR,
  LTS,
  GTS,
  LES,
  GES,
  LTU,
  GTU,
  LEU,
  GEU,
  EQ,
  NE,
  NEG,
  NOT,
  LNOT,
  EXT, // u8 width in bytes (1/2/4), u8 signed: truncate then sign- or zero-extend (typed values)
  LOAD_MEM, // u8 size (1/2/4/8), u8 signed: (addr) → value read from virtual memory (`*p`, `a[i]`)
  STORE_MEM, // u8 size: (addr, value) → write the low `size` bytes
  CHECK, // u8 kind, u8 bits: run-time check of the top values, which stay (see CHECK_* below)
  BOUND, // u16 count: the top value (an array index) must be below count; it stays
  FOP, // u8 kind (FOP_*): binary operation on two doubles (IEEE-754 bits in the 64-bit slots)
  FNEG, // negate a double
  CVT, // u8 kind (CVT_*): conversion between integers, doubles and float bits
  JMP, // i32 target
  JZ, // i32 target, pops
  JNZ, // i32 target, pops
  CALL, // u16 function index: pops params, pushes the return value
  CALL_BUILTIN, // u16 built-in id, u8 argc: pops argc, pushes a value if the built-in has one
  PRINTF, // u16 format string index, u8 argc: pops argc
  RET, // pops the return value
}

interface OpInfo {
  readonly name: string;
  readonly operands: readonly Operand[];
  /** Values popped and pushed; undefined = depends on operands (CALL, CALL_BUILTIN, PRINTF). */
  readonly pop?: number;
  readonly push?: number;
}

const simple = (name: string, pop: number, push: number, operands: Operand[] = []): OpInfo => ({
  name,
  operands,
  pop,
  push,
});
const binary = (name: string) => simple(name, 2, 1);

/** Indexed by opcode. The verifier, the disassembler and the compiler's encoder read this table. */
export const OPCODES: readonly OpInfo[] = [
  simple('NOP', 0, 0),
  simple('PUSH_I32', 0, 1, ['i32']),
  simple('PUSH_CONST', 0, 1, ['u16']),
  simple('PUSH_STR', 0, 1, ['u16']),
  simple('POP', 1, 0),
  simple('DUP', 1, 2),
  simple('LOAD_LOCAL', 0, 1, ['u16']),
  simple('STORE_LOCAL', 1, 0, ['u16']),
  simple('ADDR_LOCAL', 0, 1, ['u16']),
  simple('LOAD_GLOBAL', 0, 1, ['u16']),
  simple('STORE_GLOBAL', 1, 0, ['u16']),
  simple('ADDR_GLOBAL', 0, 1, ['u16']),
  simple('LOAD_REG', 0, 1, ['u16']),
  simple('STORE_REG', 1, 0, ['u16']),
  simple('LOAD_PSEUDO', 0, 1, ['u16']),
  ...['ADD', 'SUB', 'MUL', 'DIVU', 'MODU', 'DIVS', 'MODS', 'SHL', 'SHRU', 'SHRS', 'AND', 'OR', 'XOR'].map(binary),
  ...['LTS', 'GTS', 'LES', 'GES', 'LTU', 'GTU', 'LEU', 'GEU', 'EQ', 'NE'].map(binary),
  simple('NEG', 1, 1),
  simple('NOT', 1, 1),
  simple('LNOT', 1, 1),
  simple('EXT', 1, 1, ['u8', 'u8']),
  simple('LOAD_MEM', 1, 1, ['u8', 'u8']),
  simple('STORE_MEM', 2, 0, ['u8']),
  simple('CHECK', 2, 2, ['u8', 'u8']),
  simple('BOUND', 1, 1, ['u16']),
  simple('FOP', 2, 1, ['u8']),
  simple('FNEG', 1, 1),
  simple('CVT', 1, 1, ['u8']),
  simple('JMP', 0, 0, ['i32']),
  simple('JZ', 1, 0, ['i32']),
  simple('JNZ', 1, 0, ['i32']),
  { name: 'CALL', operands: ['u16'] },
  { name: 'CALL_BUILTIN', operands: ['u16', 'u8'] },
  { name: 'PRINTF', operands: ['u16', 'u8'] },
  simple('RET', 1, 0),
];

/** CHECK kinds. Stack (a, b) is left as is. */
/** Typed shift: b (the count) must be below `bits`. */
export const CHECK_SHIFT = 0;
/** Typed signed division: a = -2^(bits-1) with b = -1 overflows. */
export const CHECK_DIVIDE = 1;
export const CHECK_KINDS = 2;

/** FOP kinds: arithmetic gives a double, comparisons 0/1. */
export const FOP_ADD = 0;
export const FOP_SUB = 1;
export const FOP_MUL = 2;
export const FOP_DIV = 3;
export const FOP_LT = 4;
export const FOP_GT = 5;
export const FOP_LE = 6;
export const FOP_GE = 7;
export const FOP_EQ = 8;
export const FOP_NE = 9;
export const FOP_KINDS = 10;

/** CVT kinds. Doubles live in slots as their 64-bit pattern; `float` values as rounded doubles,
 * and as 32-bit patterns only in memory (arrays, pointers). */
export const CVT_I64_TO_F64 = 0;
export const CVT_U64_TO_F64 = 1;
export const CVT_F64_TO_I64 = 2;
export const CVT_ROUND_F32 = 3;
export const CVT_F64_TO_F32_BITS = 4;
export const CVT_F32_BITS_TO_F64 = 5;
export const CVT_KINDS = 6;

export const OPERAND_BYTES: Record<Operand, number> = { u8: 1, u16: 2, i32: 4 };

/** Encoded length of an instruction with this opcode (1 + operands). */
export function instructionBytes(op: number): number {
  let n = 1;
  for (const o of OPCODES[op].operands) n += OPERAND_BYTES[o];
  return n;
}
