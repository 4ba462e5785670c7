#!/usr/bin/env node
/*
 * Builds guest/hvdbg-kernel.elf with gcc and GNU ld. Reproducible: fixed flags, sorted inputs,
 * source paths mapped to "guest/", no build IDs or timestamps. The committed ELF goes with
 * toolchain.txt (the gcc and ld that built it); a test rebuilds with the same toolchain and
 * compares the bytes.
 *
 * Usage: node guest/build.mjs [output.elf]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const guest = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUTPUT = join(guest, 'hvdbg-kernel.elf');
export const TOOLCHAIN_FILE = join(guest, 'toolchain.txt');

const COMMON_FLAGS = [
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
const KERNEL_FLAGS = [...COMMON_FLAGS, '-mcmodel=kernel'];
const USER_FLAGS = [...COMMON_FLAGS, '-mcmodel=small'];
const LD_FLAGS = ['-nostdlib', '-static', '--build-id=none', '-z', 'max-page-size=4096', '-z', 'noexecstack'];

/** First line of `tool --version`, or null when the tool is missing. */
function toolVersion(tool) {
  try {
    return execFileSync(tool, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
  } catch {
    return null;
  }
}

/** The toolchain identity recorded next to the committed ELF (other versions emit other bytes); null if missing. */
export function toolchain() {
  const gcc = toolVersion('gcc');
  const ld = toolVersion('ld');
  return gcc === null || ld === null ? null : `${gcc}\n${ld}\n`;
}

function sources(dir, ext) {
  return readdirSync(join(guest, dir))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => join(dir, f));
}

/** Builds the kernel into `out`; objects go to a private directory so concurrent builds never collide. */
export function buildKernel(out) {
  const objdir = mkdtempSync(join(tmpdir(), 'hvdbg-guest-'));
  try {
    const compile = (flags, src, obj, extra = []) => {
      execFileSync('gcc', [...flags, ...extra, '-c', join(guest, src), '-o', join(objdir, obj)], { stdio: 'inherit' });
      return obj;
    };
    const stem = (src) => basename(src).replace(/\.[cS]$/, '');
    // Kernel objects are k_*.o and user objects u_*.o: the linker script places them by that name.
    const objects = [
      ...[...sources('kernel', '.S'), ...sources('kernel', '.c')].map((src) =>
        compile(KERNEL_FLAGS, src, `k_${stem(src)}.o`),
      ),
      compile(KERNEL_FLAGS, 'lib/format.c', 'k_format.o', ['-DFORMAT_NAME=vformat']),
      ...sources('user', '.c').map((src) => compile(USER_FLAGS, src, `u_${stem(src)}.o`)),
      compile(USER_FLAGS, 'lib/format.c', 'u_format.o', ['-DFORMAT_NAME=uformat']),
    ];
    mkdirSync(dirname(out), { recursive: true });
    // ld runs in the object directory with bare object names, which the u_*.o pattern matches.
    execFileSync('ld', [...LD_FLAGS, '-T', join(guest, 'kernel.ld'), '-o', out, ...objects], {
      cwd: objdir,
      stdio: 'inherit',
    });
  } finally {
    rmSync(objdir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const id = toolchain();
  if (id === null) {
    console.error('build:guest needs gcc and GNU ld on PATH');
    process.exit(1);
  }
  const out = resolve(process.argv[2] ?? DEFAULT_OUTPUT);
  buildKernel(out);
  if (out === DEFAULT_OUTPUT) writeFileSync(TOOLCHAIN_FILE, id);
  console.log(`built ${out}`);
}
