import { readFileSync } from 'node:fs';
import { HvdbgError } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE_PATH } from './image.js';
import { loadElf, parseElf } from './loader.js';
import { PhysicalMemory } from './memory.js';

const MIB = 1024 * 1024;
const kernel = new Uint8Array(readFileSync(DEFAULT_IMAGE_PATH));
const PHOFF = 64;
const PHDR = 56;

function patched(edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = kernel.slice();
  edit(bytes, new DataView(bytes.buffer));
  return bytes;
}

function touchedFrames(memory: PhysicalMemory): number {
  return memory.frames.filter((f) => f !== undefined).length;
}

function expectBadImage(bytes: Uint8Array, message: RegExp, memoryBytes = 16 * MIB): void {
  const memory = new PhysicalMemory(memoryBytes);
  let error: unknown;
  try {
    loadElf(bytes, memory);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HvdbgError);
  expect((error as HvdbgError).code).toBe('E_BAD_IMAGE');
  expect((error as HvdbgError).message).toMatch(message);
  // Validation happens before any write: nothing was half-loaded.
  expect(touchedFrames(memory)).toBe(0);
}

describe('ELF loader', () => {
  it('loads the guest kernel: segments at their physical addresses, entry and symbols', () => {
    const memory = new PhysicalMemory(16 * MIB);
    const image = loadElf(kernel, memory);
    expect(image.entry).toBe(0xffffffff80100000n);
    expect(image.kernelBase).toBe(0xffffffff80100000n);
    const text = image.segments[0]!;
    expect(text.paddr).toBe(0x100000);
    expect(memory.readBytes(text.paddr, 16)).toEqual(kernel.subarray(text.offset, text.offset + 16));
    const byName = new Map(image.symbols.map((s) => [s.name, s]));
    expect(byName.get('_start')).toMatchObject({ module: 'kernel', address: 0xffffffff80100000n });
    expect(byName.get('syscall_count')).toMatchObject({ module: 'kernel', kind: 'object', size: 8n });
    expect(byName.get('jiffies')).toMatchObject({ module: 'kernel', kind: 'object' });
    expect(byName.get('do_open')).toMatchObject({ module: 'kernel', kind: 'function' });
    expect(byName.get('prog_sysloop')).toMatchObject({ module: 'user', kind: 'function' });
    const addresses = image.symbols.map((s) => s.address);
    expect(addresses).toEqual([...addresses].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('zero-fills each segment up to p_memsz', () => {
    const memory = new PhysicalMemory(16 * MIB);
    memory.writeBytes(0x105000 + 0x100, new Uint8Array([1, 2, 3]));
    const image = loadElf(kernel, memory);
    const data = image.segments.find((s) => s.memsz > s.filesz)!;
    expect(memory.readBytes(data.paddr + data.filesz, 0x200).every((b) => b === 0)).toBe(true);
  });

  it('rejects what is not ELF', () => {
    expectBadImage(new TextEncoder().encode('#!/bin/sh\necho not a kernel\n'.repeat(4)), /not an ELF file/);
    expectBadImage(new Uint8Array(10), /shorter than an ELF header/);
  });

  it('rejects the wrong class, byte order, type and machine', () => {
    expectBadImage(
      patched((b) => (b[4] = 1)),
      /ELFCLASS64/,
    );
    expectBadImage(
      patched((b) => (b[5] = 2)),
      /little-endian/,
    );
    expectBadImage(
      patched((_, v) => v.setUint16(16, 3, true)),
      /not an executable/,
    );
    expectBadImage(
      patched((_, v) => v.setUint16(18, 183, true)),
      /machine 183 is not x86-64/,
    );
  });

  it('rejects segments outside RAM, leaving memory untouched', () => {
    // The last segment (user image) moved beyond RAM; the earlier, valid ones must not be written.
    const last = PHOFF + 2 * PHDR;
    expectBadImage(
      patched((_, v) => v.setBigUint64(last + 24, 0x2000000n, true)),
      /outside RAM/,
    );
    expectBadImage(kernel, /outside RAM/, 1 * MIB);
  });

  it('rejects truncated files and inconsistent headers', () => {
    expectBadImage(kernel.slice(0, 200), /truncated/);
    expectBadImage(kernel.slice(0, 0x5000), /truncated/);
    expectBadImage(
      patched((_, v) => v.setUint16(56, 0, true)),
      /no program headers/,
    );
    expectBadImage(
      patched((_, v) => v.setBigUint64(PHOFF + 32, 1n << 40n, true)),
      /truncated|exceeds memory size/,
    );
    expectBadImage(
      patched((_, v) => v.setBigUint64(24, 0x1234n, true)),
      /entry point 0x1234/,
    );
    expectBadImage(
      patched((_, v) => v.setBigUint64(PHOFF + 24, 1n << 60n, true)),
      /out of range/,
    );
  });

  it('rejects a corrupt symbol table', () => {
    const view = new DataView(kernel.buffer, kernel.byteOffset);
    const shoff = Number(view.getBigUint64(40, true));
    const shnum = view.getUint16(60, true);
    let symtab = -1;
    for (let i = 0; i < shnum; i++) if (view.getUint32(shoff + i * 64 + 4, true) === 2) symtab = shoff + i * 64;
    expect(symtab).toBeGreaterThan(0);
    expectBadImage(
      patched((_, v) => v.setUint32(symtab + 40, 999, true)),
      /missing string table/,
    );
    expectBadImage(
      patched((_, v) => v.setBigUint64(symtab + 32, 1n << 30n, true)),
      /symbol table is truncated/,
    );
  });

  it('parses without a memory object and never throws anything but HvdbgError on random bytes', () => {
    expect(parseElf(kernel, 16 * MIB).segments.length).toBe(3);
    let seed = 12345;
    for (let round = 0; round < 200; round++) {
      const bytes = kernel.slice(0, 4096);
      for (let k = 0; k < 8; k++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        bytes[seed % 256] = seed >>> 24;
      }
      try {
        parseElf(bytes, 16 * MIB);
      } catch (e) {
        expect(e).toBeInstanceOf(HvdbgError);
      }
    }
  });
});
