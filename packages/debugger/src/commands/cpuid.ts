/**
 * `cpuid f [sub]` (raw registers) and `cpu` (vendor, family/model/stepping, brand, address sizes
 * and feature flags), both from the CPUID the daemon's emulated core answers, computed without
 * running an instruction in the guest (SDM Vol. 2A, CPUID).
 */
import { HvdbgError, type RequestResults } from '@hvdbg/protocol';
import { hexPad } from '../numbers.js';
import type { CommandSpec } from './types.js';

export type CpuidRegs = RequestResults['cpu.cpuid'];
export type CpuidQuery = (leaf: number, subleaf: number) => Promise<CpuidRegs>;

const LEAF_EXT = 0x8000_0000;

/** Feature bits by register, as the SDM names them (CPUID.01H, 07H.0, 80000001H). */
const FEATURES_1_EDX: readonly [number, string][] = [
  [0, 'fpu'],
  [1, 'vme'],
  [2, 'de'],
  [3, 'pse'],
  [4, 'tsc'],
  [5, 'msr'],
  [6, 'pae'],
  [7, 'mce'],
  [8, 'cx8'],
  [9, 'apic'],
  [11, 'sep'],
  [12, 'mtrr'],
  [13, 'pge'],
  [14, 'mca'],
  [15, 'cmov'],
  [16, 'pat'],
  [17, 'pse36'],
  [19, 'clflush'],
  [23, 'mmx'],
  [24, 'fxsr'],
  [25, 'sse'],
  [26, 'sse2'],
  [28, 'htt'],
];
const FEATURES_1_ECX: readonly [number, string][] = [
  [0, 'sse3'],
  [1, 'pclmulqdq'],
  [3, 'monitor'],
  [5, 'vmx'],
  [9, 'ssse3'],
  [12, 'fma'],
  [13, 'cx16'],
  [19, 'sse4.1'],
  [20, 'sse4.2'],
  [22, 'movbe'],
  [23, 'popcnt'],
  [25, 'aes'],
  [26, 'xsave'],
  [27, 'osxsave'],
  [28, 'avx'],
  [30, 'rdrand'],
  [31, 'hypervisor'],
];
const FEATURES_7_EBX: readonly [number, string][] = [
  [0, 'fsgsbase'],
  [3, 'bmi1'],
  [5, 'avx2'],
  [7, 'smep'],
  [8, 'bmi2'],
  [9, 'erms'],
  [18, 'rdseed'],
  [20, 'smap'],
];
const FEATURES_EXT1_EDX: readonly [number, string][] = [
  [11, 'syscall'],
  [20, 'nx'],
  [26, 'pdpe1gb'],
  [27, 'rdtscp'],
  [29, 'lm'],
];
const FEATURES_EXT1_ECX: readonly [number, string][] = [
  [0, 'lahf_lm'],
  [5, 'lzcnt'],
];

function flags(value: number, table: readonly [number, string][]): string[] {
  return table.filter(([bit]) => ((value >>> bit) & 1) === 1).map(([, name]) => name);
}

/** Four little-endian ASCII characters of a register; NULs dropped. */
function chars(word: number): string {
  let out = '';
  for (let i = 0; i < 4; i++) {
    const c = (word >>> (i * 8)) & 0xff;
    if (c !== 0) out += String.fromCharCode(c);
  }
  return out;
}

/** Display family and model from CPUID.01H:EAX (SDM Vol. 2A, "Feature Information"). */
export function familyModel(eax: number): { family: number; model: number; stepping: number } {
  const base = (eax >>> 8) & 0xf;
  const family = base === 0xf ? base + ((eax >>> 20) & 0xff) : base;
  const model = base === 0x6 || base === 0xf ? (((eax >>> 16) & 0xf) << 4) | ((eax >>> 4) & 0xf) : (eax >>> 4) & 0xf;
  return { family, model, stepping: eax & 0xf };
}

/** The `cpu` report, asking only for the leaves the core says it has. */
export async function describeCpu(query: CpuidQuery): Promise<string[]> {
  const l0 = await query(0, 0);
  const vendor = chars(l0.ebx) + chars(l0.edx) + chars(l0.ecx);
  const lines = [`vendor:    ${vendor}`];
  const features: string[] = [];
  if (l0.eax >= 1) {
    const l1 = await query(1, 0);
    const { family, model, stepping } = familyModel(l1.eax);
    lines.push(
      `family:    0x${family.toString(16)}  model: 0x${model.toString(16)}  stepping: 0x${stepping.toString(16)}`,
    );
    features.push(...flags(l1.edx, FEATURES_1_EDX), ...flags(l1.ecx, FEATURES_1_ECX));
  }
  if (l0.eax >= 7) features.push(...flags((await query(7, 0)).ebx, FEATURES_7_EBX));
  const maxExt = (await query(LEAF_EXT, 0)).eax >>> 0;
  if (maxExt >= LEAF_EXT + 1) {
    const e1 = await query(LEAF_EXT + 1, 0);
    features.push(...flags(e1.edx, FEATURES_EXT1_EDX), ...flags(e1.ecx, FEATURES_EXT1_ECX));
  }
  if (maxExt >= LEAF_EXT + 4) {
    let brand = '';
    for (let leaf = LEAF_EXT + 2; leaf <= LEAF_EXT + 4; leaf++) {
      const r = await query(leaf, 0);
      brand += chars(r.eax) + chars(r.ebx) + chars(r.ecx) + chars(r.edx);
    }
    lines.push(`brand:     ${brand.trim()}`);
  }
  if (maxExt >= LEAF_EXT + 8) {
    const a = (await query(LEAF_EXT + 8, 0)).eax;
    lines.push(`addresses: ${a & 0xff} bits physical, ${(a >>> 8) & 0xff} bits virtual`);
  }
  lines.push(`features:  ${features.length > 0 ? features.join(' ') : '-'}`);
  return lines;
}

export function formatCpuid(r: CpuidRegs): string {
  return `eax=${hexPad(r.eax, 8)} ebx=${hexPad(r.ebx, 8)} ecx=${hexPad(r.ecx, 8)} edx=${hexPad(r.edx, 8)}`;
}

export const CPUID_COMMANDS: CommandSpec[] = [
  {
    name: 'cpuid',
    aliases: [],
    syntax: 'cpuid leaf [subleaf]',
    summary: 'show what CPUID returns',
    details:
      'Shows EAX, EBX, ECX and EDX of CPUID for the leaf (and subleaf, default 0) on the main core, computed by the emulated core without running an instruction: no !cpuid event fires and the guest is not disturbed.',
    local: true,
    group: 'cpu',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireController();
      if (line.args.length < 1 || line.args.length > 2 || line.args.some((t) => t.block)) {
        throw new HvdbgError('E_BAD_PARAMETER', 'usage: cpuid leaf [subleaf]');
      }
      const [leaf, subleaf] = await Promise.all(line.args.map((t) => s.evaluate(t.text)));
      if (leaf! > 0xffff_ffffn || (subleaf ?? 0n) > 0xffff_ffffn) {
        throw new HvdbgError('E_BAD_VALUE', 'leaf and subleaf are 32-bit values');
      }
      const r = await s.request('cpu.cpuid', { leaf: Number(leaf), subleaf: Number(subleaf ?? 0n), vcpu: s.vcpu });
      ctx.print(formatCpuid(r));
      ctx.setData(r);
    },
  },
  {
    name: 'cpu',
    aliases: [],
    syntax: 'cpu',
    summary: 'describe the emulated CPU',
    details:
      "Shows the main core's CPU as its CPUID describes it: vendor, family, model and stepping, brand string, physical and virtual address widths, and the feature flags it reports.",
    local: true,
    group: 'cpu',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireController();
      if (line.args.length > 0) throw new HvdbgError('E_BAD_PARAMETER', 'cpu takes no arguments');
      const vcpu = s.vcpu;
      const lines = await describeCpu((leaf, subleaf) => s.request('cpu.cpuid', { leaf, subleaf, vcpu }));
      for (const l of lines) ctx.print(l);
      ctx.setData({ vcpu, lines });
    },
  },
];
