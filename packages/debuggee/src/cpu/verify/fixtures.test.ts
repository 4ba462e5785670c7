/**
 * The committed fixtures must be exactly what the generator produces from their seed, so a change
 * to the generator cannot leave stale expectations behind. HVDBG_WRITE_FIXTURES=1 regenerates them
 * (needs gcc on x86-64 Linux): the cases are generated, run on the real CPU and written with the
 * CPU's identification.
 */
import { describe, expect, test } from 'vitest';
import { FIXTURE_CASES, FIXTURE_SEED, readFixtures, writeFixtures } from './fixtures.js';
import { generateCases } from './generate.js';
import type { CaseInput, FixtureCase } from './layout.js';
import { buildOracle, nativeCpuId, runNative } from './native.js';

const inputOf = (c: FixtureCase): CaseInput => {
  const { x: _result, ...input } = c;
  return input;
};

describe('oracle fixtures', () => {
  if (process.env.HVDBG_WRITE_FIXTURES === '1') {
    test('regenerate from the real CPU', () => {
      const binary = buildOracle();
      if (!binary) throw new Error('HVDBG_WRITE_FIXTURES needs gcc on an x86-64 Linux host');
      const cases = generateCases(FIXTURE_SEED, FIXTURE_CASES);
      const results = runNative(binary, cases);
      const fixtures: FixtureCase[] = cases.map((c, i) => ({ ...c, x: results[i]! }));
      writeFixtures(fixtures, nativeCpuId(binary), FIXTURE_SEED);
    }, 300_000);
  }

  test('hold at least 100,000 cases whose inputs the generator reproduces from the seed', () => {
    const files = readFixtures();
    const stored = files.flatMap((f) => f.cases);
    expect(stored.length).toBe(FIXTURE_CASES);
    expect(stored.length).toBeGreaterThanOrEqual(100_000);
    for (const f of files) {
      expect(f.meta.seed).toBe(FIXTURE_SEED);
      expect(f.meta.cpu).toMatch(/\|/);
    }
    const fresh = generateCases(FIXTURE_SEED, FIXTURE_CASES);
    for (let i = 0; i < fresh.length; i++) {
      // One assertion per mismatch would be noise: report the first stale case.
      if (JSON.stringify(inputOf(stored[i]!)) !== JSON.stringify(fresh[i])) {
        expect(inputOf(stored[i]!), `case ${i} is stale: rerun with HVDBG_WRITE_FIXTURES=1`).toEqual(fresh[i]);
      }
    }
  }, 60_000);

  test('cover every instruction family with both completions and faults', () => {
    const stored = readFixtures().flatMap((f) => f.cases);
    const mnemonics = new Set(stored.map((c) => c.m));
    for (const m of [
      'add',
      'adc',
      'sbb',
      'imul',
      'idiv',
      'div',
      'rcl',
      'shrd',
      'btc',
      'lzcnt',
      'cmpxchg',
      'xadd',
      'cqo',
      'movsxd',
      'rep movsq',
      'repne scasb',
      'repe cmpsw',
      'iretq',
      'retf',
      'leave',
      'sequence',
    ]) {
      expect(mnemonics.has(m), m).toBe(true);
    }
    const traps = new Set(stored.map((c) => c.x.t));
    for (const t of [0, 3, 6, 13, 14]) expect(traps.has(t), `trap ${t}`).toBe(true);
  });
});
