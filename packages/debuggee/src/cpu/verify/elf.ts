/**
 * Just enough ELF64 to pull the .text section out of a binary (ELF spec: section header table at
 * e_shoff, e_shnum entries of e_shentsize bytes, names in section e_shstrndx).
 */
import { readFileSync } from 'node:fs';

export function elfText(path: string): Uint8Array | null {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return null;
  }
  if (file.length < 64 || file.readUInt32BE(0) !== 0x7f454c46 || file[4] !== 2 || file[5] !== 1) return null;
  const shoff = Number(file.readBigUInt64LE(0x28));
  const shentsize = file.readUInt16LE(0x3a);
  const shnum = file.readUInt16LE(0x3c);
  const shstrndx = file.readUInt16LE(0x3e);
  if (shoff === 0 || shoff + shnum * shentsize > file.length || shstrndx >= shnum) return null;
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: file.readUInt32LE(at),
      offset: Number(file.readBigUInt64LE(at + 0x18)),
      size: Number(file.readBigUInt64LE(at + 0x20)),
    };
  };
  const strtab = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameAt = strtab.offset + s.name;
    const end = file.indexOf(0, nameAt);
    if (file.toString('latin1', nameAt, end) === '.text' && s.offset + s.size <= file.length) {
      return new Uint8Array(file.buffer, file.byteOffset + s.offset, s.size);
    }
  }
  return null;
}
