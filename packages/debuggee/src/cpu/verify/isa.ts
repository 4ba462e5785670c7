/**
 * The emulated ISA in iced-x86's terms: which decoded instructions the CPU must execute, and
 * therefore which it must answer with #UD (everything else). Built from the instruction list of the
 * CPU's specification: the integer instructions gcc emits for a freestanding kernel, the system
 * instructions a kernel needs, and every nop form.
 *
 * Mnemonics alone are not precise enough in a few places, so some forms are excluded by iced-x86's
 * Code name: SSE movsd/cmpsd share the string instructions' mnemonics, far jmp/call share the near
 * ones, 16/32-bit iret/retf/sysret frames are not the 64-bit forms the kernel uses, and push/pop of
 * FS/GS are not part of the list.
 */
import { Code, Mnemonic } from 'iced-x86';
import { Rng } from './encode.js';

const CONDITIONS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

const MNEMONICS = [
  // data movement
  'mov',
  'movzx',
  'movsx',
  'movsxd',
  'lea',
  'xchg',
  'push',
  'pop',
  'cbw',
  'cwde',
  'cdqe',
  'cwd',
  'cdq',
  'cqo',
  'bswap',
  ...CONDITIONS.map((c) => `cmov${c}`),
  ...CONDITIONS.map((c) => `set${c}`),
  // arithmetic and logic
  'add',
  'sub',
  'adc',
  'sbb',
  'and',
  'or',
  'xor',
  'cmp',
  'test',
  'inc',
  'dec',
  'neg',
  'not',
  'shl',
  'shr',
  'sar',
  'rol',
  'ror',
  'rcl',
  'rcr',
  'shld',
  'shrd',
  'imul',
  'mul',
  'div',
  'idiv',
  'bt',
  'bts',
  'btr',
  'btc',
  'bsf',
  'bsr',
  'popcnt',
  'tzcnt',
  'lzcnt',
  'xadd',
  'cmpxchg',
  // control transfer
  'jmp',
  ...CONDITIONS.map((c) => `j${c}`),
  'call',
  'ret',
  'leave',
  'retf',
  'iretq',
  'int3',
  'int',
  'ud2',
  // strings
  ...['movs', 'stos', 'cmps', 'scas', 'lods'].flatMap((s) => ['b', 'w', 'd', 'q'].map((z) => s + z)),
  // flag instructions: not in the original list, but kernels save/restore IF with pushf/popf and
  // the CPU implements the whole group
  'pushf',
  'pushfq',
  'popf',
  'popfq',
  'clc',
  'stc',
  'cmc',
  'cld',
  'std',
  // nops
  'nop',
  'pause',
  'endbr64',
  // system
  'cli',
  'sti',
  'hlt',
  'cpuid',
  'rdmsr',
  'wrmsr',
  'rdtsc',
  'rdtscp',
  'rdpmc',
  'in',
  'out',
  'lgdt',
  'lidt',
  'ltr',
  'sgdt',
  'sidt',
  'invlpg',
  'swapgs',
  'syscall',
  'sysretq',
  'vmcall',
];

/** Code-name patterns excluded although their mnemonic is listed. */
const EXCLUDED_CODES = [
  /^Movsd_(?!m32_m32)/, // SSE movsd
  /^Cmpsd_(?!m32_m32)/, // SSE cmpsd
  /^(Jmp|Call)_m16\d\d/, // far indirect
  /^Retf[wd]/, // 16/32-bit far return frames
  /^(Push|Pop)[wdq]_(FS|GS)$/,
];

const allowedMnemonics = new Set<number>();
for (const name of MNEMONICS) {
  const key = name.charAt(0).toUpperCase() + name.slice(1);
  const value = (Mnemonic as unknown as Record<string, number>)[key];
  if (value === undefined) throw new Error(`iced-x86 has no mnemonic ${key}`);
  allowedMnemonics.add(value);
}

const codeCache = new Map<number, boolean>();

/** True when an instruction iced-x86 decoded (its Code and Mnemonic) is one the CPU must execute. */
export function inEmulatedIsa(code: number, mnemonic: number): boolean {
  if (!allowedMnemonics.has(mnemonic)) return false;
  let ok = codeCache.get(code);
  if (ok === undefined) {
    const name = Code[code] ?? '';
    ok = !EXCLUDED_CODES.some((re) => re.test(name));
    codeCache.set(code, ok);
  }
  return ok;
}

/** Opcodes (with their escape bytes) of the emulated ISA, to bias random decoder input toward them. */
export const ISA_OPCODES: readonly number[][] = [
  ...[0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38].flatMap((b) => [0, 1, 2, 3, 4, 5].map((i) => [b + i])),
  ...range(0x50, 0x5f).map((b) => [b]),
  [0x63],
  [0x68],
  [0x69],
  [0x6a],
  [0x6b],
  ...range(0x70, 0x7f).map((b) => [b]),
  ...range(0x80, 0x8b).map((b) => [b]),
  [0x8d],
  [0x8f],
  ...range(0x90, 0x99).map((b) => [b]),
  ...range(0xa0, 0xaf).map((b) => [b]),
  ...range(0xb0, 0xbf).map((b) => [b]),
  [0xc0],
  [0xc1],
  [0xc2],
  [0xc3],
  [0xc6],
  [0xc7],
  [0xc9],
  [0xcb],
  [0xcc],
  [0xcd],
  [0xcf],
  ...range(0xd0, 0xd3).map((b) => [b]),
  ...range(0xe4, 0xef).map((b) => [b]),
  [0xf4],
  [0xf6],
  [0xf7],
  [0xfa],
  [0xfb],
  [0xfe],
  [0xff],
  ...[0x00, 0x01, 0x05, 0x07, 0x0b, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x30, 0x31, 0x32, 0x33, 0xa2].map((b) => [
    0x0f,
    b,
  ]),
  ...range(0x40, 0x4f).map((b) => [0x0f, b]),
  ...range(0x80, 0x9f).map((b) => [0x0f, b]),
  ...[
    0xa3, 0xa4, 0xa5, 0xab, 0xac, 0xad, 0xaf, 0xb0, 0xb1, 0xb3, 0xb6, 0xb7, 0xb8, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
  ].map((b) => [0x0f, b]),
  [0x0f, 0xc0],
  [0x0f, 0xc1],
  ...range(0xc8, 0xcf).map((b) => [0x0f, b]),
  [0x0f, 0x01, 0xf8],
  [0x0f, 0x01, 0xf9],
  [0x0f, 0x01, 0xc1],
  [0x9c],
  [0x9d],
  [0xf5],
  ...range(0xf8, 0xfd).map((b) => [b]),
];

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Bytes per random instruction string: more than the 15-byte maximum, so any instruction fits. */
export const SLOT = 16;
const PREFIXES = [0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65];

/**
 * Random instruction-shaped byte strings, one per SLOT bytes: 0–3 legacy prefixes, an optional
 * REX, an opcode from our table (or any byte now and then), then random ModRM/SIB/disp/imm bytes.
 */
export function randomSlots(seed: number, count: number): Uint8Array {
  const rng = new Rng(seed);
  const buf = new Uint8Array(count * SLOT);
  for (let s = 0; s < count; s++) {
    let p = s * SLOT;
    const end = p + SLOT;
    for (let n = rng.int(4); n > 0; n--) buf[p++] = rng.pick(PREFIXES);
    if (rng.chance(0.4)) buf[p++] = 0x40 | rng.int(16);
    const opcode = rng.chance(0.85) ? rng.pick(ISA_OPCODES) : rng.chance(0.5) ? [rng.int(256)] : [0x0f, rng.int(256)];
    for (const b of opcode) buf[p++] = b;
    while (p < end) buf[p++] = rng.int(256);
  }
  return buf;
}
