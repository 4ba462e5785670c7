/**
 * The emulator against the real CPU: every committed fixture case, plus (when gcc is present) a
 * fresh sample generated with a new seed and run natively right now, so the fixtures cannot go stale.
 * Zero mismatches allowed; on failure the summary groups them by mnemonic with one example each.
 * HVDBG_WRITE_MISMATCHES=1 also rewrites MISMATCHES.md (the running list for the CPU's authors).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { compareResults, type Mismatch, summarise } from './compare.js';
import { readFixtures } from './fixtures.js';
import { generateCases } from './generate.js';
import { type CaseInput, type CaseResult, inputRegs } from './layout.js';
import { buildOracle, hasGcc, runNative } from './native.js';
import { SnippetMachine } from './snippet.js';

const FRESH_SAMPLE = 2_000;
const REPORT = fileURLToPath(new URL('./MISMATCHES.md', import.meta.url));

function check(cases: CaseInput[], expected: CaseResult[]): { mismatches: Mismatch[]; totals: Map<string, number> } {
  const machine = new SnippetMachine();
  const mismatches: Mismatch[] = [];
  const totals = new Map<string, number>();
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i]!;
    totals.set(c.m, (totals.get(c.m) ?? 0) + 1);
    let diffs: string[];
    try {
      diffs = compareResults(c, expected[i]!, machine.run(c));
    } catch (e) {
      diffs = [`host exception: ${(e as Error).message}`];
    }
    if (diffs.length) mismatches.push({ c, diffs });
  }
  return { mismatches, totals };
}

function report(title: string, mismatches: Mismatch[], totals: Map<string, number>, cases: number): string {
  return `${title}: ${mismatches.length} of ${cases} cases mismatch\n${summarise(mismatches, totals)}`;
}

describe('the comparison', () => {
  test('notices any wrong register, defined flag, byte of memory, RIP or trap', () => {
    const cases = readFixtures()[0]!
      .cases.filter((c) => c.x.t === 3 && c.x.d.length > 0 && c.uf !== 0x8d5)
      .slice(0, 50);
    expect(cases.length).toBe(50);
    for (const c of cases) {
      const x = c.x;
      expect(compareResults(c, x, x)).toEqual([]);
      const reg = [...Array(16).keys()].find((r) => (c.ur & (1 << r)) === 0)!;
      const value = ((x.r[reg] !== undefined ? BigInt(`0x${x.r[reg]}`) : inputRegs(c)[reg]!) ^ 1n).toString(16);
      expect(compareResults(c, x, { ...x, r: { ...x.r, [reg]: value } })).not.toEqual([]);
      const definedFlag = [0x1, 0x4, 0x10, 0x40, 0x80, 0x400, 0x800].find((f) => (c.uf & f) === 0)!;
      expect(compareResults(c, x, { ...x, f: x.f ^ definedFlag })).not.toEqual([]);
      const [off, hex] = x.d[0]!;
      const flipped = (Number.parseInt(hex.slice(0, 2), 16) ^ 0x80).toString(16).padStart(2, '0') + hex.slice(2);
      expect(compareResults(c, x, { ...x, d: [[off, flipped], ...x.d.slice(1)] })).not.toEqual([]);
      expect(compareResults(c, x, { ...x, i: (BigInt(`0x${x.i}`) + 1n).toString(16) })).not.toEqual([]);
      expect(compareResults(c, x, { ...x, t: 13 })).not.toEqual([]);
    }
  });
});

describe('emulator vs the real CPU', () => {
  test('every fixture case gives the real CPU result', () => {
    const files = readFixtures();
    const cases = files.flatMap((f) => f.cases);
    const { mismatches, totals } = check(
      cases,
      cases.map((c) => c.x),
    );
    if (process.env.HVDBG_WRITE_MISMATCHES === '1')
      writeMismatchReport(mismatches, totals, cases.length, files[0]!.meta.cpu);
    if (mismatches.length) console.log(report('fixtures', mismatches, totals, cases.length));
    expect(mismatches.length).toBe(0);
  }, 120_000);

  test('a fresh sample run natively now gives the same results (needs gcc)', () => {
    const binary = buildOracle();
    if (!binary) {
      // Without gcc (or off x86-64 Linux) the fixtures above are the whole comparison.
      expect(hasGcc() && process.arch === 'x64' && process.platform === 'linux').toBe(false);
      return;
    }
    const seed = Number(process.env.HVDBG_ORACLE_SEED ?? Date.now() >>> 0);
    const cases = generateCases(seed, FRESH_SAMPLE);
    const { mismatches, totals } = check(cases, runNative(binary, cases));
    if (mismatches.length) console.log(report(`fresh sample, seed ${seed}`, mismatches, totals, cases.length));
    expect(mismatches.length, `seed ${seed} (HVDBG_ORACLE_SEED reproduces it)`).toBe(0);
  }, 60_000);
});

function writeMismatchReport(mismatches: Mismatch[], totals: Map<string, number>, cases: number, cpu: string): void {
  const byMnemonic = new Map<string, Mismatch[]>();
  for (const m of mismatches) byMnemonic.set(m.c.m, [...(byMnemonic.get(m.c.m) ?? []), m]);
  // Hand-written analysis between the notes markers survives regeneration.
  const previous = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : '';
  const notes =
    /<!-- notes:begin -->[\s\S]*<!-- notes:end -->/.exec(previous)?.[0] ?? '<!-- notes:begin -->\n<!-- notes:end -->';
  const lines = [
    '# Emulator vs real CPU: current mismatches',
    '',
    notes,
    '',
    `Generated by \`HVDBG_WRITE_MISMATCHES=1 npx vitest run --project debuggee src/cpu/verify/oracle\` on ${new Date().toISOString().slice(0, 16)}Z.`,
    `Fixture cases: ${cases} (real CPU: ${cpu}); mismatching: ${mismatches.length}.`,
    '',
    'Each line: bytes (hex) — differences as expected (real CPU) vs got (emulator). Undefined flags are already masked.',
    '',
    ...markdownTable(
      ['mnemonic', 'mismatches / cases'],
      [...byMnemonic]
        .sort((a, b) => b[1].length - a[1].length)
        .map(([m, list]) => [m, `${list.length} / ${totals.get(m)}`]),
    ),
    '',
  ];
  for (const [m, list] of [...byMnemonic].sort((a, b) => b[1].length - a[1].length)) {
    lines.push(`## ${m}`, '');
    for (const x of list.slice(0, 5)) {
      lines.push(`- \`${x.c.c}\` regs ${JSON.stringify(x.c.r)} flags 0x${x.c.f.toString(16)} — ${x.diffs.join('; ')}`);
    }
    lines.push('');
  }
  writeFileSync(REPORT, lines.join('\n'));
}

/** A table laid out the way the formatter wants it (padded cells), so the file stays lint-clean. */
function markdownTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
