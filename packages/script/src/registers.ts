/**
 * Register names of the script language (SPEC §4.5) and how each maps onto a full register.
 *
 * The host only ever reads or writes FULL registers (ids below FULL_REGISTER_COUNT). Every other
 * name is a *view*: a bit field of a full register. The VM extracts views on read and merges them on
 * write, so `@eax = 1` leaves bits 63:32 intact (HyperDbg's behaviour, unlike hardware) and `@zf = 1`
 * sets a single RFLAGS bit.
 */

/** Full registers, in id order. The host implements get/set for exactly these. */
export const FULL_REGISTERS = [
  'rax',
  'rcx',
  'rdx',
  'rbx',
  'rsp',
  'rbp',
  'rsi',
  'rdi',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rip',
  'rflags',
  'es',
  'cs',
  'ss',
  'ds',
  'fs',
  'gs',
  'cr0',
  'cr2',
  'cr3',
  'cr4',
  'cr8',
  'gdtr',
  'ldtr',
  'tr',
  'idtr',
  'dr0',
  'dr1',
  'dr2',
  'dr3',
  'dr6',
  'dr7',
] as const;

export type FullRegisterName = (typeof FULL_REGISTERS)[number];
export const FULL_REGISTER_COUNT = FULL_REGISTERS.length;

/** RFLAGS bits with a script name (Intel SDM Vol. 1, 3.4.3). IOPL is two bits wide. */
const RFLAGS_BITS: ReadonlyArray<readonly [string, number, number]> = [
  ['cf', 0, 1],
  ['pf', 2, 1],
  ['af', 4, 1],
  ['zf', 6, 1],
  ['sf', 7, 1],
  ['tf', 8, 1],
  ['if', 9, 1],
  ['df', 10, 1],
  ['of', 11, 1],
  ['iopl', 12, 2],
  ['nt', 14, 1],
  ['rf', 16, 1],
  ['vm', 17, 1],
  ['ac', 18, 1],
  ['vif', 19, 1],
  ['vip', 20, 1],
  ['id', 21, 1],
];

interface View {
  name: string;
  base: number;
  shift: number;
  width: number;
}

function buildViews(): View[] {
  const views: View[] = FULL_REGISTERS.map((name, base) => ({ name, base, shift: 0, width: 64 }));
  const id = (name: string) => FULL_REGISTERS.indexOf(name as FullRegisterName);
  for (const x of ['a', 'b', 'c', 'd']) {
    const base = id(`r${x}x`);
    views.push({ name: `e${x}x`, base, shift: 0, width: 32 });
    views.push({ name: `${x}x`, base, shift: 0, width: 16 });
    views.push({ name: `${x}h`, base, shift: 8, width: 8 });
    views.push({ name: `${x}l`, base, shift: 0, width: 8 });
  }
  for (const x of ['si', 'di', 'sp', 'bp']) {
    const base = id(`r${x}`);
    views.push({ name: `e${x}`, base, shift: 0, width: 32 });
    views.push({ name: x, base, shift: 0, width: 16 });
    views.push({ name: `${x}l`, base, shift: 0, width: 8 });
  }
  for (let n = 8; n <= 15; n++) {
    const base = id(`r${n}`);
    views.push({ name: `r${n}d`, base, shift: 0, width: 32 });
    views.push({ name: `r${n}w`, base, shift: 0, width: 16 });
    views.push({ name: `r${n}h`, base, shift: 8, width: 8 });
    views.push({ name: `r${n}l`, base, shift: 0, width: 8 });
  }
  views.push({ name: 'eip', base: id('rip'), shift: 0, width: 32 });
  views.push({ name: 'ip', base: id('rip'), shift: 0, width: 16 });
  views.push({ name: 'eflags', base: id('rflags'), shift: 0, width: 32 });
  views.push({ name: 'flags', base: id('rflags'), shift: 0, width: 16 });
  for (const [name, shift, width] of RFLAGS_BITS) views.push({ name, base: id('rflags'), shift, width });
  return views;
}

const VIEWS = buildViews();

/** Every register name the language knows → its id (the operand of LOAD_REG / STORE_REG). */
export const REGISTERS: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(VIEWS.map((v, i) => [v.name, i])),
);
export const REGISTER_COUNT = VIEWS.length;
export const REGISTER_NAMES: readonly string[] = VIEWS.map((v) => v.name);

/** Per id: the full register it lives in, its lowest bit and its width (parallel typed arrays). */
export const REGISTER_BASE = Uint8Array.from(VIEWS, (v) => v.base);
export const REGISTER_SHIFT = Uint8Array.from(VIEWS, (v) => v.shift);
export const REGISTER_WIDTH = Uint8Array.from(VIEWS, (v) => v.width);

export function registerId(name: string): number | undefined {
  return Object.hasOwn(REGISTERS, name) ? REGISTERS[name] : undefined;
}
