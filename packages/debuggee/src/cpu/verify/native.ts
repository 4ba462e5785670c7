/**
 * Builds the native oracle with gcc (into verify/.build/, ignored by git) and runs cases through it.
 * Everything here is optional at test time: without gcc the comparison runs from the fixtures alone.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type CaseInput,
  type CaseResult,
  diffRuns,
  FLAGS_COMPARED,
  hexToBytes,
  initialData,
  inputRegs,
} from './layout.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SOURCE = `${HERE}oracle/oracle.c`;
export const BUILD_DIR = `${HERE}.build`;
/** Cases per oracle process: keeps each pipe transfer a few MB. */
const BATCH = 20_000;

export function hasGcc(): boolean {
  const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * Compiles the oracle when the source changed (keyed by its hash); returns the binary's path, or
 * null when gcc is missing or this is not an x86-64 Linux host.
 */
export function buildOracle(): string | null {
  if (process.arch !== 'x64' || process.platform !== 'linux' || !hasGcc()) return null;
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const binary = `${BUILD_DIR}/oracle-${hash}`;
  if (existsSync(binary)) return binary;
  mkdirSync(BUILD_DIR, { recursive: true });
  const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-o', binary, SOURCE], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`oracle build failed:\n${r.stderr}`);
  writeFileSync(`${BUILD_DIR}/.gitignore`, '*\n');
  return binary;
}

/** The line oracle.c reads for a case. */
export function oracleLine(c: CaseInput): string {
  const regs = inputRegs(c).map((v) => v.toString(16));
  const patches = c.p.map(([off, hex]) => `${off.toString(16)}:${hex}`);
  const offset = c.o ? [`@${c.o.toString(16)}`] : [];
  return [c.c, ...regs, c.f.toString(16), c.s.toString(16), ...patches, ...offset].join(' ');
}

/** Turns an oracle output line into a result relative to the case's inputs. */
export function parseResult(c: CaseInput, line: string): CaseResult {
  const tok = line.trim().split(' ');
  if (tok[0] === 'E' || tok.length < 21) throw new Error(`oracle rejected case ${c.c}: ${line}`);
  const before = inputRegs(c);
  const r: Record<string, string> = {};
  for (let i = 0; i < 16; i++) {
    const v = BigInt(`0x${tok[5 + i]}`);
    if (v !== before[i]) r[i] = v.toString(16);
  }
  const after = initialData(c);
  for (const t of tok.slice(21)) {
    const [off, hex] = t.split(':') as [string, string];
    after.set(hexToBytes(hex), Number.parseInt(off, 16));
  }
  const trapno = Number.parseInt(tok[0]!, 16);
  return {
    t: trapno,
    e: Number.parseInt(tok[1]!, 16),
    a: trapno === 14 ? tok[2]! : '0',
    i: tok[3]!,
    f: Number.parseInt(tok[4]!, 16) & FLAGS_COMPARED,
    r,
    d: diffRuns(initialData(c), after),
  };
}

/** Runs cases on the real CPU. */
export function runNative(binary: string, cases: CaseInput[]): CaseResult[] {
  const results: CaseResult[] = [];
  for (let start = 0; start < cases.length; start += BATCH) {
    const batch = cases.slice(start, start + BATCH);
    const input = `${batch.map(oracleLine).join('\n')}\n`;
    const r = spawnSync(binary, [], { input, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`oracle exited with ${r.status ?? r.signal}: ${r.stderr}`);
    const lines = r.stdout.split('\n');
    for (let i = 0; i < batch.length; i++) results.push(parseResult(batch[i]!, lines[i] ?? 'E missing'));
  }
  return results;
}

/** "vendor|model name|family f model m stepping s" of the machine the oracle runs on. */
export function nativeCpuId(binary: string): string {
  const r = spawnSync(binary, [], { input: 'V\n', encoding: 'utf8' });
  return r.stdout.trim().replace(/^V /, '');
}
