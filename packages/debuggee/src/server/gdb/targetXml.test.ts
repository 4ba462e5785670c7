import { describe, expect, it } from 'vitest';
import { encodeAll, readAll, readOne, writeAll, writeOne } from './registers.js';
import {
  G_PACKET_BYTES,
  GDB_REGISTERS,
  IA32_EFER,
  IA32_FS_BASE,
  REGNUM_RBP,
  REGNUM_RIP,
  REGNUM_RSP,
  TARGET_XML,
} from './targetXml.js';
import { FakeGdbTarget } from './testing/fakeTarget.js';

/** What gdb reads from the XML: features and their registers with sizes, in document order. */
function parseDescription(xml: string) {
  const features: { name: string; regs: { name: string; bits: number; regnum: number }[] }[] = [];
  for (const f of xml.matchAll(/<feature name="([^"]+)">([\s\S]*?)<\/feature>/g)) {
    const regs = [...f[2]!.matchAll(/<reg name="([^"]+)" bitsize="(\d+)"[^>]*regnum="(\d+)"/g)].map((m) => ({
      name: m[1]!,
      bits: Number(m[2]),
      regnum: Number(m[3]),
    }));
    features.push({ name: f[1]!, regs });
  }
  return features;
}

const CORE_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs', 'st0', 'st1', 'st2', 'st3', 'st4', 'st5', 'st6', 'st7',
  'fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop',
]; // biome-ignore format: table

describe('target description', () => {
  const features = parseDescription(TARGET_XML);

  it('describes an x86-64 target with the amd64 core, sse, segments and system features', () => {
    expect(TARGET_XML).toContain('<architecture>i386:x86-64</architecture>');
    expect(features.map((f) => f.name)).toEqual([
      'org.gnu.gdb.i386.core',
      'org.gnu.gdb.i386.sse',
      'org.gnu.gdb.i386.segments',
      'org.hvdbg.x86-64.system',
    ]);
  });

  it('has all 40 core registers in the order gdb numbers them', () => {
    const core = features[0]!.regs;
    expect(core.map((r) => r.name)).toEqual(CORE_NAMES);
    expect(core.filter((r) => r.name.startsWith('st')).every((r) => r.bits === 80)).toBe(true);
  });

  it('has xmm0-15 and mxcsr, fs_base/gs_base and the system registers', () => {
    expect(features[1]!.regs.map((r) => r.name)).toEqual([...Array.from({ length: 16 }, (_, i) => `xmm${i}`), 'mxcsr']);
    expect(features[2]!.regs.map((r) => r.name)).toEqual(['fs_base', 'gs_base']);
    expect(features[3]!.regs.map((r) => r.name)).toEqual(['cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'efer']);
  });

  it('numbers registers consecutively and defines every type it uses', () => {
    const all = features.flatMap((f) => f.regs);
    expect(all.map((r) => r.regnum)).toEqual(all.map((_, i) => i));
    for (const type of ['i386_eflags', 'vec128', 'i386_mxcsr']) expect(TARGET_XML).toContain(`id="${type}"`);
  });

  it('sizes the g packet exactly as the description does', () => {
    const bytes = features.flatMap((f) => f.regs).reduce((sum, r) => sum + r.bits / 8, 0);
    expect(G_PACKET_BYTES).toBe(bytes);
    expect(G_PACKET_BYTES).toBe(600);
    const target = new FakeGdbTarget();
    expect(encodeAll(readAll(target, 0))).toHaveLength(bytes * 2);
  });

  it('numbers the expedited registers as gdb does (rbp 6, rsp 7, rip 16)', () => {
    expect([REGNUM_RBP, REGNUM_RSP, REGNUM_RIP]).toEqual([6, 7, 16]);
  });
});

describe('register file on a target', () => {
  it('reads named registers, MSRs and zeros for absent x87/SSE state', () => {
    const t = new FakeGdbTarget();
    t.regs[0]!.set('rax', 0x1122_3344_5566_7788n);
    t.regs[0]!.set('rflags', 0x1_0000_0246n);
    t.msrs.set(IA32_FS_BASE, 0xabcn);
    const values = readAll(t, 0);
    const at = (name: string) => values[GDB_REGISTERS.findIndex((r) => r.name === name)];
    expect(at('rax')).toBe(0x1122_3344_5566_7788n);
    expect(at('eflags')).toBe(0x246n);
    expect(at('fs_base')).toBe(0xabcn);
    expect(at('gs_base')).toBe(0n); // not implemented by the fake's CPU: zero, not a failed g
    expect(at('efer')).toBe(0x501n);
    expect(at('st0')).toBe(0n);
    expect(readOne(t, 0, 0)).toBe('8877665544332211');
    expect(readOne(t, 0, GDB_REGISTERS.length)).toBeUndefined();
  });

  it('writes single registers and keeps RFLAGS bits above eflags', () => {
    const t = new FakeGdbTarget();
    t.regs[0]!.set('rflags', 0xf_0000_0000n);
    expect(writeOne(t, 0, REGNUM_RIP, '0100000000000000')).toBe('ok');
    expect(t.regs[0]!.get('rip')).toBe(1n);
    expect(writeOne(t, 0, 17, '46020000')).toBe('ok');
    expect(t.regs[0]!.get('rflags')).toBe(0xf_0000_0246n);
    expect(writeOne(t, 0, 17, '4602')).toBe('bad');
    expect(writeOne(t, 0, 999, '00')).toBe('bad');
    const efer = GDB_REGISTERS.findIndex((r) => r.name === 'efer');
    expect(writeOne(t, 0, efer, 'd00d000000000000')).toBe('ok');
    expect(t.msrs.get(IA32_EFER)).toBe(0xdd0n);
  });

  it('G writes only what changed', () => {
    const t = new FakeGdbTarget();
    const writes: string[] = [];
    const orig = t.writeRegister.bind(t);
    t.writeRegister = (vcpu, name, value) => {
      writes.push(name);
      orig(vcpu, name, value);
    };
    const values = readAll(t, 0);
    values[1] = 0x42n; // rbx
    expect(writeAll(t, 0, encodeAll(values))).toBe('ok');
    expect(writes).toEqual(['rbx']);
    expect(t.regs[0]!.get('rbx')).toBe(0x42n);
    expect(writeAll(t, 0, `${encodeAll(values)}00`)).toBe('bad');
    expect(writeAll(t, 0, 'zz')).toBe('bad');
  });
});
