// CPU throughput: an 8-instruction integer loop (add/xor/shl/imul/add/xor/dec/jnz on registers) run
// on the emulated CPU for a fixed wall time → guest MIPS, and the SAME machine code run natively
// (assembled from the same bytes by gcc) → native MIPS, and their ratio. Also the heap allocated per
// million emulated instructions, which should be about zero (the hot loop allocates nothing).
//
// Needs `npm run build` (it loads packages/debuggee/dist). Without gcc the native figure is null.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The loop body: position-independent, so the same bytes run anywhere. 8 instructions with the jnz. */
export const LOOP = [
  [0x48, 0x01, 0xd8], //       add  rax, rbx
  [0x48, 0x31, 0xc1], //       xor  rcx, rax
  [0x48, 0xd1, 0xe2], //       shl  rdx, 1
  [0x4c, 0x6b, 0xdf, 0x07], // imul r11, rdi, 7
  [0x49, 0x01, 0xd1], //       add  r9, rdx
  [0x4d, 0x31, 0xda], //       xor  r10, r11
  [0x49, 0xff, 0xc8], //       dec  r8
];
const BODY = LOOP.flat();
const LOOP_BYTES = [...BODY, 0x75, -(BODY.length + 2) & 0xff]; // jnz loop
const INSTRUCTIONS_PER_ITERATION = LOOP.length + 1;
const REG_R8 = 8;

/** Instructions per allocation-measuring run: short enough that most runs see no collection. */
const allocSlice = (minMs) => (minMs < 500 ? 50_000 : 200_000);

async function emulated(minMs) {
  const { SnippetMachine } = await import('../packages/debuggee/dist/cpu/verify/snippet.js');
  const machine = new SnippetMachine();
  machine.load(Uint8Array.from(LOOP_BYTES));
  const { cpu } = machine;
  for (const r of [0, 1, 2, 3, 6, 7]) cpu.setReg(r, BigInt(r + 1) * 0x0123456789n);
  cpu.setReg(REG_R8, 1n << 60n); // the loop never ends within the run
  const slice = minMs < 500 ? 100_000 : 1_000_000;
  // Warm up (a quarter of the timed run) so the optimising compiler has seen the interpreter loop.
  const warm = process.hrtime.bigint();
  do cpu.run(slice);
  while (Number(process.hrtime.bigint() - warm) / 1e6 < minMs / 4);

  const start = process.hrtime.bigint();
  const first = cpu.instructions;
  let elapsed = 0;
  do {
    cpu.run(slice);
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  } while (elapsed < minMs);
  const executed = cpu.instructions - first;
  const mips = executed / elapsed / 1000;

  // Allocation without --expose-gc: heap growth (heapUsed is live: new-space allocation is a
  // pointer bump) across runs of S and of 2S instructions; a run during which a collection happened
  // shows a drop and is left out. The difference of the medians is what S more instructions
  // allocate, free of the fixed cost of a run() call and of reading heapUsed.
  const heapUsed = () => process.memoryUsage().heapUsed;
  const measured = allocSlice(minMs);
  const growth = (n) => {
    const deltas = [];
    for (let i = 0; i < 25; i++) {
      const before = heapUsed();
      cpu.run(n);
      const d = heapUsed() - before;
      if (d >= 0) deltas.push(d);
    }
    deltas.sort((x, y) => x - y);
    return deltas.length ? deltas[deltas.length >> 1] : null;
  };
  const single = growth(measured);
  const double = growth(2 * measured);
  const bytesPerMillion = single === null || double === null ? null : Math.max(0, double - single) / (measured / 1e6);
  const bytesPerRun = single;
  return { mips, executed, bytesPerMillion, bytesPerRun };
}

/** The same loop bytes inside a function gcc assembles; a C driver times it with CLOCK_MONOTONIC. */
export function native(minMs) {
  if (spawnSync('gcc', ['--version']).status !== 0 || process.arch !== 'x64') return null;
  const dir = mkdtempSync(join(tmpdir(), 'hvdbg-bench-'));
  try {
    writeFileSync(
      join(dir, 'loop.S'),
      `.text
.globl hv_loop
hv_loop:
  push %rbx
  mov %rdi, %r8
  mov $0x123456789, %rax
  mov $0x2468acf12, %rbx
  mov $0x369d0369b, %rdx
  mov $0x48d159e24, %rsi
  mov $0x5b05b05ad, %rdi
loop:
  .byte ${LOOP_BYTES.join(',')}
  mov %rsi, %rax
  pop %rbx
  ret
.section .note.GNU-stack,"",@progbits
`,
    );
    writeFileSync(
      join(dir, 'main.c'),
      `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
unsigned long hv_loop(unsigned long iterations);
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
int main(int argc, char **argv) {
  double min_ms = atof(argv[1]);
  unsigned long n = 1000000, sink = 0;
  for (;;) {
    double t0 = now();
    sink += hv_loop(n);
    double ms = now() - t0;
    if (ms >= min_ms) { printf("%lu %.6f %lu\\n", n, ms, sink & 1); return 0; }
    n *= 2;
  }
}
`,
    );
    const bin = join(dir, 'loop');
    const cc = spawnSync('gcc', ['-O2', '-o', bin, join(dir, 'main.c'), join(dir, 'loop.S')], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc failed: ${cc.stderr}`);
    // Median of three runs: the host is shared, single runs are noisy.
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const r = spawnSync(bin, [String(minMs)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`native loop failed: ${r.stderr}`);
      const [n, ms] = r.stdout.trim().split(' ').map(Number);
      runs.push((n * INSTRUCTIONS_PER_ITERATION) / ms / 1000);
    }
    return runs.sort((a, b) => a - b)[1];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const bench = {
  name: 'cpu',
  description: 'guest MIPS on an 8-instruction integer loop vs the same loop run natively',
  async run({ smoke = false } = {}) {
    const minMs = smoke ? 100 : 2000;
    const emu = await emulated(minMs);
    const nativeMips = native(smoke ? 20 : 500);
    const figures = {
      mips: Math.round(emu.mips * 10) / 10,
      nativeMips: nativeMips === null ? null : Math.round(nativeMips),
      ratio: nativeMips === null ? null : Math.round((nativeMips / emu.mips) * 10) / 10,
      bytesPerMillionInstructions: emu.bytesPerMillion === null ? null : Math.round(emu.bytesPerMillion),
      bytesPerRunCall: emu.bytesPerRun,
      targetMet: emu.mips >= 50,
    };
    const notes = [
      `ratio = native MIPS / emulated MIPS (how many times slower the emulator is); ${emu.executed.toLocaleString('en-US')} guest instructions timed`,
    ];
    if (nativeMips === null) notes.push('native loop unavailable (needs gcc on x86-64)');
    if (emu.bytesPerMillion === null) notes.push('allocation not measured: a GC ran in every measurement window');
    return { figures, notes };
  },
};

export default bench;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await bench.run({ smoke: process.argv.includes('--smoke') }));
}
