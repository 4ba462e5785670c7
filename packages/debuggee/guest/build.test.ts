import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without type declarations
import { DEFAULT_OUTPUT, TOOLCHAIN_FILE, toolchain } from './build.mjs';

const local: string | null = toolchain();
const recorded = existsSync(TOOLCHAIN_FILE) ? readFileSync(TOOLCHAIN_FILE, 'utf8') : null;

describe('guest kernel build', () => {
  it('records the toolchain that built the committed ELF', () => {
    expect(recorded).toMatch(/^gcc .*\n.*ld.*\n$/);
  });

  // Other gcc/ld versions emit other bytes, and without gcc there is nothing to rebuild with.
  it.runIf(local !== null && local === recorded)('rebuilds byte-for-byte identical to the committed ELF', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvdbg-guest-test-'));
    try {
      const out = join(dir, 'kernel.elf');
      execFileSync(process.execPath, [fileURLToPath(new URL('./build.mjs', import.meta.url)), out], { stdio: 'pipe' });
      expect(readFileSync(out).equals(readFileSync(DEFAULT_OUTPUT))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('commits an ELF that keeps its symbols', () => {
    const text = readFileSync(DEFAULT_OUTPUT).toString('latin1');
    expect(text.startsWith('\x7fELF')).toBe(true);
    for (const name of ['syscall_count', 'jiffies', 'do_open', 'code_checksum', 'prog_sysloop', 'procs', 'threads']) {
      expect(text.includes(`\0${name}\0`)).toBe(true);
    }
  });
});
