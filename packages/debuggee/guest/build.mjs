#!/usr/bin/env node
/*
 * Builds guest/hvdbg-kernel.elf with gcc and ld. Reproducible: fixed flags, sorted inputs, paths
 * mapped to "guest/", no build IDs or timestamps; a test rebuilds it and compares the bytes with
 * the committed file.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const guest = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(guest, 'hvdbg-kernel.elf'));
// Objects go to a private directory so concurrent builds never collide; ld runs there with bare
// object names, which the linker script's u_*.o pattern matches.
const build = mkdtempSync(join(tmpdir(), 'hvdbg-guest-'));

const common = [
  '-std=gnu11',
  '-O2',
  '-ffreestanding',
  '-fno-pic',
  '-fno-pie',
  '-mno-red-zone',
  '-mgeneral-regs-only',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-fno-unwind-tables',
  '-fno-tree-loop-distribute-patterns',
  '-fno-builtin',
  '-fno-common',
  '-nostdlib',
  '-Wall',
  '-Wextra',
  '-Werror',
  `-ffile-prefix-map=${guest}=guest`,
];
const kernelFlags = [...common, '-mcmodel=kernel'];
const userFlags = [...common, '-mcmodel=small'];

function sorted(dir, ext) {
  return readdirSync(join(guest, dir))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => join(dir, f));
}

function gcc(flags, src, obj, extra = []) {
  execFileSync('gcc', [...flags, ...extra, '-c', join(guest, src), '-o', join(build, obj)], {
    cwd: guest,
    stdio: 'inherit',
  });
  return obj;
}

const objects = [];
for (const src of [...sorted('kernel', '.S'), ...sorted('kernel', '.c')]) {
  objects.push(
    gcc(
      kernelFlags,
      src,
      `k_${src
        .split('/')
        .pop()
        .replace(/\.[cS]$/, '')}.o`,
    ),
  );
}
objects.push(gcc(kernelFlags, 'lib/format.c', 'k_format.o', ['-DFORMAT_NAME=vformat']));
for (const src of sorted('user', '.c')) {
  objects.push(gcc(userFlags, src, `u_${src.split('/').pop().replace(/\.c$/, '')}.o`));
}
objects.push(gcc(userFlags, 'lib/format.c', 'u_format.o', ['-DFORMAT_NAME=uformat']));

mkdirSync(dirname(out), { recursive: true });
const ldFlags = ['-nostdlib', '-static', '--build-id=none', '-z', 'max-page-size=4096', '-z', 'noexecstack'];
execFileSync('ld', [...ldFlags, '-T', join(guest, 'kernel.ld'), '-o', out, ...objects], {
  cwd: build,
  stdio: 'inherit',
});
rmSync(build, { recursive: true, force: true });
console.log(`built ${out}`);
