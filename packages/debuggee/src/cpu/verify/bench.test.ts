/**
 * Smoke test of the benchmark harness (bench/run.mjs) and its cpu sub-benchmark: the command-line
 * contract other tools rely on (one JSON object on the last line, exit codes), in smoke mode so it
 * takes a second or two. The bench loads the built packages, so `npm run build` must have run
 * (`npm test` does).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const bench = (...args: string[]) =>
  spawnSync(process.execPath, ['bench/run.mjs', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 50_000 });

describe('bench harness', () => {
  test('cpu --json --smoke prints the figures as one JSON object on the last line', () => {
    const r = bench('cpu', '--json', '--smoke');
    const last = r.stdout.trim().split('\n').at(-1) ?? '';
    const figures = JSON.parse(last) as Record<string, unknown>;
    expect(figures, `${r.stderr} (the bench needs \`npm run build\`)`).not.toHaveProperty('error');
    expect(r.status).toBe(0);
    expect(figures.mips).toBeGreaterThan(0);
    expect(figures.bytesPerMillionInstructions).toBeGreaterThanOrEqual(0);
    if (figures.nativeMips !== null) {
      expect(figures.nativeMips).toBeGreaterThan(figures.mips as number);
      // The figures are rounded for display: the ratio agrees with them to within a few per cent.
      const ratio = (figures.nativeMips as number) / (figures.mips as number);
      expect(Math.abs((figures.ratio as number) - ratio) / ratio).toBeLessThan(0.05);
    }
  }, 60_000);

  test('rejects unknown benchmarks and options with exit code 2 and lists what exists', () => {
    const unknown = bench('nosuchbench');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown benchmark nosuchbench; available: cpu/);
    expect(bench('--frobnicate').status).toBe(2);
    const help = bench('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/npm run build/);
    expect(help.stdout).toMatch(/sub-benchmarks: cpu/);
  });
});
