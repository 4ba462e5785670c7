/** Where the committed guest kernel lives (guest/hvdbg-kernel.elf, built by guest/build.mjs). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Resolves from src/machine/ and dist/machine/ alike. */
export const DEFAULT_IMAGE_PATH = fileURLToPath(new URL('../../guest/hvdbg-kernel.elf', import.meta.url));

export function readDefaultImage(): Uint8Array {
  return new Uint8Array(readFileSync(DEFAULT_IMAGE_PATH));
}
