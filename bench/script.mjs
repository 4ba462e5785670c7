// Script engine throughput: verified bytecode run by the VM against an in-memory host whose
// output sink does nothing. Figures are executions per second (targets: a condition-only script
// ≥ 5 M/s, a two-argument printf ≥ 1 M/s) and the heap allocated per condition run, which should
// be about zero (the VM allocates nothing for scripts that build no strings).
//
// Needs `npm run build` (it loads packages/script/dist).
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  compileScript,
  newScriptContext,
  ScriptVM,
  SnapshotHost,
  verifyScript,
} from '../packages/script/dist/index.js';

class QuietHost extends SnapshotHost {
  emit() {}
}

function measure(vm, script, ctx, minMs) {
  // Warm up so the optimising compiler has seen the loop, then time whole batches.
  for (let i = 0; i < 20_000; i++) vm.run(script, ctx);
  const batch = 50_000;
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    for (let i = 0; i < batch; i++) {
      const r = vm.run(script, ctx);
      if (!r.ok) throw new Error(r.error.message);
    }
    runs += batch;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsed < minMs);
  return Math.round((runs / elapsed) * 1000);
}

/**
 * Bytes allocated per run without --expose-gc: heap growth over short slices; a slice during which
 * a collection ran shows a drop and is left out. Returns the median of the remaining slices.
 */
function bytesPerRun(vm, script, ctx, slices) {
  const perSlice = 2000;
  const samples = [];
  for (let s = 0; s < slices; s++) {
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < perSlice; i++) vm.run(script, ctx);
    const delta = process.memoryUsage().heapUsed - before;
    if (delta >= 0) samples.push(delta / perSlice);
  }
  samples.sort((a, b) => a - b);
  return samples.length ? Math.round(samples[samples.length >> 1] * 100) / 100 : null;
}

const bench = {
  name: 'script',
  description: 'script VM executions per second (condition, printf, loop) and bytes allocated per condition run',
  async run({ smoke = false } = {}) {
    const host = new QuietHost({ registers: { rax: 0x3cn, rcx: 0xfffff80000001000n } });
    const vm = new ScriptVM(host);
    const ctx = newScriptContext(0);
    const minMs = smoke ? 50 : 1000;
    const condition = verifyScript(compileScript('@rax == 3c', { mode: 'condition' }));
    const printf = verifyScript(compileScript('printf("%llx %llx\\n", @rax, @rcx);'));
    const loop = verifyScript(compileScript('for (i = 0; i < 0n100; i++) { .sum = .sum + i * 3; }'));
    const conditionRate = measure(vm, condition, ctx, minMs);
    const printfRate = measure(vm, printf, ctx, minMs);
    const loopRate = measure(vm, loop, ctx, minMs);
    return {
      figures: {
        'condition executions/s': conditionRate,
        'printf executions/s': printfRate,
        '100-iteration loop executions/s': loopRate,
        'condition bytes allocated/run': bytesPerRun(vm, condition, ctx, smoke ? 20 : 200),
        'condition target met (≥ 5 M/s)': conditionRate >= 5_000_000,
        'printf target met (≥ 1 M/s)': printfRate >= 1_000_000,
      },
      notes: [`load average ${loadavg()[0].toFixed(2)} during the script bench (shared machine: rates vary)`],
    };
  },
};

export default bench;

// `node bench/script.mjs [--smoke]` runs it directly.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const smoke = process.argv.includes('--smoke');
  console.log(await bench.run({ smoke }));
}
