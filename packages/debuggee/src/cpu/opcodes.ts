/**
 * The declarative opcode table of the emulated ISA (SDM Vol. 2D Appendix A opcode maps, 64-bit
 * mode). For each one-byte opcode (index 0x00-0xFF) and 0F-map opcode (0x100 + byte) it states the
 * mnemonic (iced-x86 spelling, lower case), whether a ModRM byte follows, the immediate kind, the
 * per-/digit group mnemonics, LOCK legality and special constraints. Opcodes without an entry are
 * outside the ISA and raise #UD.
 *
 * The decoder (decoder.ts) reads only this table; the interpreter's dispatch (OPS) is checked
 * against it by opcodes.test.ts, so the two cannot silently disagree.
 */

export const IMM_NONE = 0;
export const IMM_B = 1; // 8-bit
export const IMM_W = 2; // 16-bit
export const IMM_Z = 3; // 16 or 32 by operand size
export const IMM_V = 4; // 16, 32 or 64 by operand size (B8+r)
export const IMM_MOFFS = 5; // 8 bytes (4 with 67h)
export const IMM_REL8 = 6;
export const IMM_REL32 = 7; // near branches: 66h is ignored in 64-bit mode (Intel)
/** Group entries whose /digit takes an immediate of its own (F6/F7 /0 /1). */
export const IMM_GROUP3 = 8;

export const F_MEM_ONLY = 1; // ModRM must name memory
export const F_REG_ONLY = 2; // ModRM must name a register
export const F_REX_W = 4; // valid only with REX.W (IRETQ, RETFQ, SYSRETQ)
export const F_F3 = 8; // valid only with an F3 prefix (POPCNT)
export const F_MOD_IGNORED = 16; // MOV CR/DR: mod is ignored, r/m is a register

export interface OpInfo {
  /** Mnemonic; 'a|b|c' selects by operand size 16|32|64. Empty = invalid. */
  mn: string;
  modrm: boolean;
  imm: number;
  /** Mnemonic per ModRM reg field; '' = #UD. */
  group: string[] | null;
  /** Group mnemonics for mod = 3 when they differ (0F 01 uses full ModRM bytes instead). */
  lock: boolean;
  flags: number;
}

export const OPCODES: OpInfo[] = Array.from({ length: 512 }, () => ({
  mn: '',
  modrm: false,
  imm: IMM_NONE,
  group: null,
  lock: false,
  flags: 0,
}));

function def(op: number, mn: string, modrm: boolean, imm = IMM_NONE, flags = 0, lock = false): void {
  OPCODES[op] = { mn, modrm, imm, group: null, lock, flags };
}

function grp(op: number, group: string[], imm = IMM_NONE, flags = 0, lock = false): void {
  OPCODES[op] = { mn: 'group', modrm: true, imm, group, lock, flags };
}

const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

ALU.forEach((mn, i) => {
  const b = i * 8;
  const lockable = mn !== 'cmp';
  def(b, mn, true, IMM_NONE, 0, lockable);
  def(b + 1, mn, true, IMM_NONE, 0, lockable);
  def(b + 2, mn, true);
  def(b + 3, mn, true);
  def(b + 4, mn, false, IMM_B);
  def(b + 5, mn, false, IMM_Z);
});
for (let r = 0; r < 8; r++) {
  def(0x50 + r, 'push', false);
  def(0x58 + r, 'pop', false);
  def(0xb0 + r, 'mov', false, IMM_B);
  def(0xb8 + r, 'mov', false, IMM_V);
  def(0x90 + r, 'xchg', false); // 90 itself is special-cased to nop/pause by the decoder
  def(0x1c8 + r, 'bswap', false);
}
def(0x63, 'movsxd', true);
def(0x68, 'push', false, IMM_Z);
def(0x69, 'imul', true, IMM_Z);
def(0x6a, 'push', false, IMM_B);
def(0x6b, 'imul', true, IMM_B);
for (let c = 0; c < 16; c++) {
  def(0x70 + c, `j${CC[c]}`, false, IMM_REL8);
  def(0x180 + c, `j${CC[c]}`, false, IMM_REL32);
  def(0x140 + c, `cmov${CC[c]}`, true);
  def(0x190 + c, `set${CC[c]}`, true);
}
grp(0x80, ALU, IMM_B, 0, true);
grp(0x81, ALU, IMM_Z, 0, true);
grp(0x83, ALU, IMM_B, 0, true);
def(0x84, 'test', true);
def(0x85, 'test', true);
def(0x86, 'xchg', true, IMM_NONE, 0, true);
def(0x87, 'xchg', true, IMM_NONE, 0, true);
def(0x88, 'mov', true);
def(0x89, 'mov', true);
def(0x8a, 'mov', true);
def(0x8b, 'mov', true);
def(0x8c, 'mov', true);
def(0x8d, 'lea', true, IMM_NONE, F_MEM_ONLY);
def(0x8e, 'mov', true);
grp(0x8f, ['pop', '', '', '', '', '', '', '']);
def(0x98, 'cbw|cwde|cdqe', false);
def(0x99, 'cwd|cdq|cqo', false);
def(0x9c, 'pushf|pushfq|pushfq', false);
def(0x9d, 'popf|popfq|popfq', false);
def(0xa0, 'mov', false, IMM_MOFFS);
def(0xa1, 'mov', false, IMM_MOFFS);
def(0xa2, 'mov', false, IMM_MOFFS);
def(0xa3, 'mov', false, IMM_MOFFS);
def(0xa4, 'movsb', false);
def(0xa5, 'movsw|movsd|movsq', false);
def(0xa6, 'cmpsb', false);
def(0xa7, 'cmpsw|cmpsd|cmpsq', false);
def(0xa8, 'test', false, IMM_B);
def(0xa9, 'test', false, IMM_Z);
def(0xaa, 'stosb', false);
def(0xab, 'stosw|stosd|stosq', false);
def(0xac, 'lodsb', false);
def(0xad, 'lodsw|lodsd|lodsq', false);
def(0xae, 'scasb', false);
def(0xaf, 'scasw|scasd|scasq', false);
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', '', 'sar'];
grp(0xc0, SHIFTS, IMM_B);
grp(0xc1, SHIFTS, IMM_B);
def(0xc2, 'ret', false, IMM_W);
def(0xc3, 'ret', false);
grp(0xc6, ['mov', '', '', '', '', '', '', ''], IMM_B);
grp(0xc7, ['mov', '', '', '', '', '', '', ''], IMM_Z);
def(0xc9, 'leave', false);
def(0xca, 'retf', false, IMM_W, F_REX_W);
def(0xcb, 'retf', false, IMM_NONE, F_REX_W);
def(0xcc, 'int3', false);
def(0xcd, 'int', false, IMM_B);
def(0xcf, 'iretq', false, IMM_NONE, F_REX_W);
grp(0xd0, SHIFTS);
grp(0xd1, SHIFTS);
grp(0xd2, SHIFTS);
grp(0xd3, SHIFTS);
def(0xe4, 'in', false, IMM_B);
def(0xe5, 'in', false, IMM_B);
def(0xe6, 'out', false, IMM_B);
def(0xe7, 'out', false, IMM_B);
def(0xe8, 'call', false, IMM_REL32);
def(0xe9, 'jmp', false, IMM_REL32);
def(0xeb, 'jmp', false, IMM_REL8);
def(0xec, 'in', false);
def(0xed, 'in', false);
def(0xee, 'out', false);
def(0xef, 'out', false);
def(0xf4, 'hlt', false);
def(0xf5, 'cmc', false);
const G3 = ['test', 'test', 'not', 'neg', 'mul', 'imul', 'div', 'idiv'];
grp(0xf6, G3, IMM_GROUP3, 0, true);
grp(0xf7, G3, IMM_GROUP3, 0, true);
def(0xf8, 'clc', false);
def(0xf9, 'stc', false);
def(0xfa, 'cli', false);
def(0xfb, 'sti', false);
def(0xfc, 'cld', false);
def(0xfd, 'std', false);
grp(0xfe, ['inc', 'dec', '', '', '', '', '', ''], IMM_NONE, 0, true);
grp(0xff, ['inc', 'dec', 'call', '', 'jmp', '', 'push', ''], IMM_NONE, 0, true);

// 0F map
grp(0x100, ['', '', '', 'ltr', '', '', '', '']);
grp(0x101, ['sgdt', 'sidt', 'lgdt', 'lidt', '', '', '', 'invlpg'], IMM_NONE, F_MEM_ONLY);
def(0x105, 'syscall', false);
def(0x107, 'sysretq', false, IMM_NONE, F_REX_W);
def(0x10b, 'ud2', false);
grp(0x11f, ['nop', '', '', '', '', '', '', '']);
def(0x11e, 'endbr64', true); // only F3 0F 1E FA; checked by the decoder
def(0x120, 'mov', true, IMM_NONE, F_MOD_IGNORED);
def(0x121, 'mov', true, IMM_NONE, F_MOD_IGNORED);
def(0x122, 'mov', true, IMM_NONE, F_MOD_IGNORED);
def(0x123, 'mov', true, IMM_NONE, F_MOD_IGNORED);
def(0x130, 'wrmsr', false);
def(0x131, 'rdtsc', false);
def(0x132, 'rdmsr', false);
def(0x133, 'rdpmc', false);
def(0x1a2, 'cpuid', false);
def(0x1a3, 'bt', true);
def(0x1a4, 'shld', true, IMM_B);
def(0x1a5, 'shld', true);
def(0x1ab, 'bts', true, IMM_NONE, 0, true);
def(0x1ac, 'shrd', true, IMM_B);
def(0x1ad, 'shrd', true);
def(0x1af, 'imul', true);
def(0x1b0, 'cmpxchg', true, IMM_NONE, 0, true);
def(0x1b1, 'cmpxchg', true, IMM_NONE, 0, true);
def(0x1b3, 'btr', true, IMM_NONE, 0, true);
def(0x1b6, 'movzx', true);
def(0x1b7, 'movzx', true);
def(0x1b8, 'popcnt', true, IMM_NONE, F_F3);
grp(0x1ba, ['', '', '', '', 'bt', 'bts', 'btr', 'btc'], IMM_B, 0, true);
def(0x1bb, 'btc', true, IMM_NONE, 0, true);
def(0x1bc, 'bsf', true); // F3: tzcnt
def(0x1bd, 'bsr', true); // F3: lzcnt
def(0x1be, 'movsx', true);
def(0x1bf, 'movsx', true);
def(0x1c0, 'xadd', true, IMM_NONE, 0, true);
def(0x1c1, 'xadd', true, IMM_NONE, 0, true);

/** Full ModRM bytes of 0F 01 with mod = 3 that are valid, with their mnemonics. */
export const OPCODE_0F01_REG: ReadonlyMap<number, string> = new Map([
  [0xc1, 'vmcall'],
  [0xf8, 'swapgs'],
  [0xf9, 'rdtscp'],
]);

/** Group digits that are lockable (the group itself says lock = true for at least one digit). */
export function groupLockable(op: number, digit: number): boolean {
  switch (op) {
    case 0x80:
    case 0x81:
    case 0x83:
      return digit !== 7;
    case 0xf6:
    case 0xf7:
      return digit === 2 || digit === 3;
    case 0xfe:
    case 0xff:
      return digit < 2;
    case 0x1ba:
      return digit >= 5;
    default:
      return false;
  }
}
