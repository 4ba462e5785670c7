#!/usr/bin/env node
// The benchmark harness: every `bench/<name>.mjs` (except this file and files starting with `_`)
// is a sub-benchmark exporting by default
//
//   { name: string, description?: string, run({ smoke }): Promise<Result> }
//
// where Result is either `{ figures: Record<string, number|boolean|string|null>, notes?: string[] }`
// or the figures record itself. Figures are named as they should appear in the table and in
// `--json` output; ratios measured in the same run are figures too (e.g. `ratio`).
//
// Benchmarks import the BUILT packages (packages/*/dist), so run `npm run build` first.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** Display order for the known sub-benchmarks; any others follow alphabetically. */
const ORDER = ['cpu', 'script', 'events', 'net'];

const USAGE = `usage: npm run bench -- [NAME...] [--json] [--smoke]

Runs the sub-benchmarks (all of them by default) and prints one table; writes bench/results.json.
  NAME     one or more of the sub-benchmarks found in bench/ (see below)
  --json   print the results of the (single) named benchmark as one JSON object on the last line
  --smoke  a very short run, for CI: checks the harness and the benchmarks work, not their speed

The benchmarks load the built packages: run \`npm run build\` first.`;

async function discover() {
  const files = readdirSync(HERE).filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && !f.startsWith('_'));
  const benches = [];
  for (const f of files) {
    const name = f.slice(0, -4);
    benches.push({ name, file: f, load: async () => (await import(pathToFileURL(HERE + f).href)).default });
  }
  const rank = (n) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return benches.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

function parseArgs(argv) {
  const opts = { names: [], json: false, smoke: false, help: false };
  for (const a of argv) {
    if (a === '--json') opts.json = true;
    else if (a === '--smoke') opts.smoke = true;
    else if (a === '--help' || a === '-h') opts.help = true;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else opts.names.push(a);
  }
  return opts;
}

/** Normalises a sub-benchmark's return value to { figures, notes }. */
function normalise(result) {
  if (result && typeof result === 'object' && result.figures && typeof result.figures === 'object') {
    return { figures: result.figures, notes: result.notes ?? [] };
  }
  return { figures: result ?? {}, notes: [] };
}

function formatValue(v) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
  }
  if (v === null || v === undefined) return 'n/a';
  return String(v);
}

function printTable(results) {
  const rows = [['benchmark', 'figure', 'value']];
  for (const [name, r] of Object.entries(results)) {
    if (r.error) rows.push([name, 'error', r.error]);
    for (const [k, v] of Object.entries(r.figures ?? {})) rows.push([name, k, formatValue(v)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  let last = '';
  for (const row of rows.slice(1)) {
    console.log(line([row[0] === last ? '' : row[0], row[1], row[2]]));
    last = row[0];
  }
  for (const [name, r] of Object.entries(results)) for (const n of r.notes ?? []) console.log(`note (${name}): ${n}`);
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${e.message}\n\n${USAGE}`);
    return 2;
  }
  const all = await discover();
  if (opts.help) {
    console.log(`${USAGE}\n\nsub-benchmarks: ${all.map((b) => b.name).join(', ')}`);
    return 0;
  }
  const unknown = opts.names.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; available: ${all.map((b) => b.name).join(', ')}`);
    return 2;
  }
  if (opts.json && opts.names.length !== 1) {
    console.error('--json needs exactly one benchmark name');
    return 2;
  }
  const selected = opts.names.length ? all.filter((b) => opts.names.includes(b.name)) : all;
  const results = {};
  let failed = false;
  for (const b of selected) {
    if (!opts.json) console.error(`running ${b.name}${opts.smoke ? ' (smoke)' : ''}…`);
    try {
      const mod = await b.load();
      if (!mod || typeof mod.run !== 'function') throw new Error(`bench/${b.file} has no default export with run()`);
      results[b.name] = normalise(await mod.run({ smoke: opts.smoke }));
    } catch (e) {
      failed = true;
      const missingBuild = e?.code === 'ERR_MODULE_NOT_FOUND' && /dist/.test(String(e.message));
      const message = missingBuild ? `${e.message} (run \`npm run build\` first)` : String(e?.message ?? e);
      results[b.name] = { figures: {}, notes: [], error: message };
    }
  }
  // results.json keeps the latest figures of every sub-benchmark: a run of one updates its entry.
  const file = `${HERE}results.json`;
  let previous = {};
  try {
    if (existsSync(file)) previous = JSON.parse(readFileSync(file, 'utf8')).results ?? {};
  } catch {
    previous = {};
  }
  const stamped = {};
  for (const [name, r] of Object.entries(results)) {
    stamped[name] = { ...r, date: new Date().toISOString(), smoke: opts.smoke };
  }
  const report = {
    node: process.version,
    host: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
    results: { ...previous, ...stamped },
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  if (opts.json) {
    const r = results[selected[0].name];
    if (r.error) console.error(r.error);
    console.log(JSON.stringify(r.error ? { error: r.error } : r.figures));
  } else {
    printTable(results);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
