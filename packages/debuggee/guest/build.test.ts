import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const guest = dirname(fileURLToPath(import.meta.url));
const committed = join(guest, 'hvdbg-kernel.elf');
const hasToolchain = ['gcc', 'ld'].every((tool) => spawnSync(tool, ['--version']).status === 0);

describe('guest kernel build', () => {
  // Without gcc the committed ELF is all there is; the comparison needs the toolchain.
  it.runIf(hasToolchain)('rebuilds byte-for-byte identical to the committed ELF', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hvdbg-guest-'));
    try {
      const out = join(dir, 'kernel.elf');
      execFileSync(process.execPath, [join(guest, 'build.mjs'), out], { stdio: 'pipe' });
      const rebuilt = readFileSync(out);
      expect(rebuilt.length).toBe(readFileSync(committed).length);
      expect(rebuilt.equals(readFileSync(committed))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('commits an ELF that keeps its symbols', () => {
    const bytes = readFileSync(committed);
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    const text = bytes.toString('latin1');
    for (const name of ['syscall_count', 'jiffies', 'do_open', 'code_checksum', 'prog_sysloop']) {
      expect(text.includes(`\0${name}\0`)).toBe(true);
    }
  });
});
