/**
 * The committed oracle fixtures: generated cases with the real CPU's results, gzip'd JSON lines in
 * fixtures/, so the comparison runs where gcc (or an x86-64 host) is absent. Each file starts with a
 * metadata line naming the generator seed and the CPU the results came from.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { FixtureCase } from './layout.js';

export const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** Generator seed of the committed fixtures. */
export const FIXTURE_SEED = 0x5eed_0003;
export const FIXTURE_CASES = 120_000;
const CASES_PER_FILE = 30_000;

export interface FixtureMeta {
  /** "vendor|model name|family f model m stepping s" from /proc/cpuinfo of the machine that ran them. */
  cpu: string;
  seed: number;
  /** Index of the file's first case in the generated sequence. */
  first: number;
  count: number;
  generated: string;
}

export interface FixtureFile {
  meta: FixtureMeta;
  cases: FixtureCase[];
}

export function writeFixtures(cases: FixtureCase[], cpu: string, seed: number): string[] {
  const names: string[] = [];
  const generated = new Date().toISOString().slice(0, 10);
  for (let first = 0; first < cases.length; first += CASES_PER_FILE) {
    const chunk = cases.slice(first, first + CASES_PER_FILE);
    const meta: FixtureMeta = { cpu, seed, first, count: chunk.length, generated };
    const text = [JSON.stringify({ meta }), ...chunk.map((c) => JSON.stringify(c))].join('\n');
    const name = `oracle-${String(first / CASES_PER_FILE).padStart(2, '0')}.jsonl.gz`;
    writeFileSync(FIXTURE_DIR + name, gzipSync(text, { level: 9 }));
    names.push(name);
  }
  return names;
}

export function readFixtures(): FixtureFile[] {
  const files = readdirSync(FIXTURE_DIR)
    .filter((n) => /^oracle-\d+\.jsonl\.gz$/.test(n))
    .sort();
  return files.map((name) => {
    const lines = gunzipSync(readFileSync(FIXTURE_DIR + name))
      .toString('utf8')
      .split('\n');
    const meta = (JSON.parse(lines[0]!) as { meta: FixtureMeta }).meta;
    const cases = lines.slice(1).map((l) => JSON.parse(l) as FixtureCase);
    return { meta, cases };
  });
}
