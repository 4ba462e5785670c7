/**
 * The register file gdb sees, and the target description (`target.xml`) that tells gdb about it.
 *
 * gdb numbers registers in the order the description lists them, and `g`/`G` carry every register
 * in that order at exactly its size: one table below drives the XML, the `g` encoding and the
 * register numbers of stop replies, so they cannot disagree (a `g` reply longer than the
 * description is gdb's "Remote 'g' packet reply is too long").
 *
 * Layout, as gdb's amd64 descriptions have it:
 * - org.gnu.gdb.i386.core: 16 GPRs in gdb's order (rax rbx rcx rdx rsi rdi rbp rsp r8–r15), rip,
 *   eflags, cs ss ds es fs gs, st0–st7 and the eight x87 control registers. gdb refuses an amd64
 *   core without the x87 part and silently falls back to i386.
 * - org.gnu.gdb.i386.sse: xmm0–15, mxcsr.
 * - org.gnu.gdb.i386.segments: fs_base, gs_base (the MSRs).
 * - org.hvdbg.x86-64.system: cr0 cr2 cr3 cr4 cr8 efer, shown by `info registers cr3` and
 *   `info all-registers`.
 * The emulated CPU has no x87/SSE state, so those registers read as zero and writes are ignored.
 */

/** IA32_EFER, IA32_FS_BASE, IA32_GS_BASE (SDM Vol. 4, Table 2-2). */
export const IA32_EFER = 0xc000_0080;
export const IA32_FS_BASE = 0xc000_0100;
export const IA32_GS_BASE = 0xc000_0101;

/** Where a gdb register's value lives on the target. */
export type RegisterSource =
  /** A register the target reads by its script-language name. */
  | { kind: 'named'; name: string }
  | { kind: 'msr'; msr: number }
  /** State the emulated CPU does not have (x87, SSE): reads as zero, writes are dropped. */
  | { kind: 'absent' };

export interface GdbRegister {
  name: string;
  /** Size in bits (a multiple of 8). */
  bits: number;
  type: string;
  group?: string;
  feature: string;
  source: RegisterSource;
}

const CORE = 'org.gnu.gdb.i386.core';
const SSE = 'org.gnu.gdb.i386.sse';
const SEGMENTS = 'org.gnu.gdb.i386.segments';
const SYSTEM = 'org.hvdbg.x86-64.system';

function named(name: string, bits: number, type: string, feature = CORE, group?: string): GdbRegister {
  const r: GdbRegister = { name, bits, type, feature, source: { kind: 'named', name } };
  if (group !== undefined) r.group = group;
  return r;
}

function absent(name: string, bits: number, type: string, feature: string, group?: string): GdbRegister {
  const r: GdbRegister = { name, bits, type, feature, source: { kind: 'absent' } };
  if (group !== undefined) r.group = group;
  return r;
}

function buildRegisters(): GdbRegister[] {
  const regs: GdbRegister[] = [];
  for (const n of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi']) regs.push(named(n, 64, 'int64'));
  regs.push(named('rbp', 64, 'data_ptr'), named('rsp', 64, 'data_ptr'));
  for (let i = 8; i <= 15; i++) regs.push(named(`r${i}`, 64, 'int64'));
  regs.push(named('rip', 64, 'code_ptr'));
  // eflags is 32 bits in gdb's layout: the upper half of RFLAGS is reserved (zero).
  regs.push({
    name: 'eflags',
    bits: 32,
    type: 'i386_eflags',
    feature: CORE,
    source: { kind: 'named', name: 'rflags' },
  });
  for (const s of ['cs', 'ss', 'ds', 'es', 'fs', 'gs']) regs.push(named(s, 32, 'int32'));
  for (let i = 0; i < 8; i++) regs.push(absent(`st${i}`, 80, 'i387_ext', CORE));
  for (const n of ['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop']) {
    regs.push(absent(n, 32, 'int', CORE, 'float'));
  }
  for (let i = 0; i < 16; i++) regs.push(absent(`xmm${i}`, 128, 'vec128', SSE));
  regs.push(absent('mxcsr', 32, 'i386_mxcsr', SSE, 'vector'));
  regs.push({ name: 'fs_base', bits: 64, type: 'int', feature: SEGMENTS, source: { kind: 'msr', msr: IA32_FS_BASE } });
  regs.push({ name: 'gs_base', bits: 64, type: 'int', feature: SEGMENTS, source: { kind: 'msr', msr: IA32_GS_BASE } });
  for (const n of ['cr0', 'cr2', 'cr3', 'cr4', 'cr8']) regs.push(named(n, 64, 'int64', SYSTEM, 'system'));
  regs.push({
    name: 'efer',
    bits: 64,
    type: 'int64',
    group: 'system',
    feature: SYSTEM,
    source: { kind: 'msr', msr: IA32_EFER },
  });
  return regs;
}

/** Every register, in gdb's numbering (index = regnum). */
export const GDB_REGISTERS: readonly GdbRegister[] = Object.freeze(buildRegisters());

/** Register numbers gdb wants expedited in stop replies. */
export const REGNUM_RBP = GDB_REGISTERS.findIndex((r) => r.name === 'rbp');
export const REGNUM_RSP = GDB_REGISTERS.findIndex((r) => r.name === 'rsp');
export const REGNUM_RIP = GDB_REGISTERS.findIndex((r) => r.name === 'rip');

/** Bytes of a full `g` reply (twice as many hex digits). */
export const G_PACKET_BYTES = GDB_REGISTERS.reduce((sum, r) => sum + r.bits / 8, 0);

/** Byte offset of each register inside the `g` data. */
export const G_OFFSETS: readonly number[] = (() => {
  const out: number[] = [];
  let off = 0;
  for (const r of GDB_REGISTERS) {
    out.push(off);
    off += r.bits / 8;
  }
  return out;
})();

// Types referenced by the core and sse features, as gdb's own i386 descriptions define them.
const CORE_TYPES = `  <flags id="i386_eflags" size="4">
    <field name="CF" start="0" end="0"/>
    <field name="" start="1" end="1"/>
    <field name="PF" start="2" end="2"/>
    <field name="AF" start="4" end="4"/>
    <field name="ZF" start="6" end="6"/>
    <field name="SF" start="7" end="7"/>
    <field name="TF" start="8" end="8"/>
    <field name="IF" start="9" end="9"/>
    <field name="DF" start="10" end="10"/>
    <field name="OF" start="11" end="11"/>
    <field name="NT" start="14" end="14"/>
    <field name="RF" start="16" end="16"/>
    <field name="VM" start="17" end="17"/>
    <field name="AC" start="18" end="18"/>
    <field name="VIF" start="19" end="19"/>
    <field name="VIP" start="20" end="20"/>
    <field name="ID" start="21" end="21"/>
  </flags>
`;

const SSE_TYPES = `  <vector id="v4f" type="ieee_single" count="4"/>
  <vector id="v2d" type="ieee_double" count="2"/>
  <vector id="v16i8" type="int8" count="16"/>
  <vector id="v8i16" type="int16" count="8"/>
  <vector id="v4i32" type="int32" count="4"/>
  <vector id="v2i64" type="int64" count="2"/>
  <union id="vec128">
    <field name="v4_float" type="v4f"/>
    <field name="v2_double" type="v2d"/>
    <field name="v16_int8" type="v16i8"/>
    <field name="v8_int16" type="v8i16"/>
    <field name="v4_int32" type="v4i32"/>
    <field name="v2_int64" type="v2i64"/>
    <field name="uint128" type="uint128"/>
  </union>
  <flags id="i386_mxcsr" size="4">
    <field name="IE" start="0" end="0"/>
    <field name="DE" start="1" end="1"/>
    <field name="ZE" start="2" end="2"/>
    <field name="OE" start="3" end="3"/>
    <field name="UE" start="4" end="4"/>
    <field name="PE" start="5" end="5"/>
    <field name="DAZ" start="6" end="6"/>
    <field name="IM" start="7" end="7"/>
    <field name="DM" start="8" end="8"/>
    <field name="ZM" start="9" end="9"/>
    <field name="OM" start="10" end="10"/>
    <field name="UM" start="11" end="11"/>
    <field name="PM" start="12" end="12"/>
    <field name="FZ" start="15" end="15"/>
  </flags>
`;

const FEATURE_TYPES: Record<string, string> = { [CORE]: CORE_TYPES, [SSE]: SSE_TYPES };

function buildXml(): string {
  const features: string[] = [];
  let current: string | undefined;
  let body = '';
  const close = () => {
    if (current !== undefined) features.push(`<feature name="${current}">\n${body}</feature>`);
  };
  GDB_REGISTERS.forEach((r, regnum) => {
    if (r.feature !== current) {
      close();
      current = r.feature;
      body = FEATURE_TYPES[r.feature] ?? '';
    }
    const group = r.group === undefined ? '' : ` group="${r.group}"`;
    body += `  <reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${regnum}"${group}/>\n`;
  });
  close();
  return [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    '<target version="1.0">',
    '<architecture>i386:x86-64</architecture>',
    ...features,
    '</target>',
    '',
  ].join('\n');
}

export const TARGET_XML: string = buildXml();

/** The annexes `qXfer:features:read` serves. */
export const FEATURE_FILES: ReadonlyMap<string, string> = new Map([['target.xml', TARGET_XML]]);

/**
 * `qXfer:features:read:ANNEX:OFFSET,LENGTH` (the part after the colon): `m…` when more follows,
 * `l…` for the last part, E00 for an unknown annex, E01 for a malformed request.
 */
export function featuresReply(args: string, maxLength: number): string {
  const m = /^([^:]+):([0-9a-fA-F]{1,8}),([0-9a-fA-F]{1,8})$/.exec(args);
  if (m === null) return 'E01';
  const file = FEATURE_FILES.get(m[1]!);
  if (file === undefined) return 'E00';
  const offset = Number.parseInt(m[2]!, 16);
  const length = Math.min(Number.parseInt(m[3]!, 16), maxLength);
  if (offset > file.length) return 'E01';
  const part = file.slice(offset, offset + length);
  return `${offset + length >= file.length ? 'l' : 'm'}${part}`;
}
