/**
 * ELF64 loader for the guest kernel (System V gABI and the x86-64 psABI): PT_LOAD segments are
 * copied to their physical address (p_paddr), the entry point is a virtual address, and the symbol
 * table becomes the debugger's SymbolInfo list.
 *
 * The whole file is validated before a single byte of guest memory is written, so a bad image
 * leaves memory exactly as it was. Every problem is an HvdbgError('E_BAD_IMAGE').
 */
import { HvdbgError, type SymbolInfo } from '@hvdbg/protocol';
import type { PhysicalMemory } from './memory.js';

const ELF_MAGIC = 0x464c457f; // "\x7fELF" read little-endian
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const EV_CURRENT = 1;
const ET_EXEC = 2;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PF_X = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_SECTION = 3;
const STT_FILE = 4;
const SHN_UNDEF = 0;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const MAX_SEGMENTS = 64;
/** Addresses at or above this are kernel (higher-half) symbols. */
const KERNEL_HALF = 0xffff800000000000n;

export interface ElfSegment {
  /** Physical load address. */
  paddr: number;
  vaddr: bigint;
  offset: number;
  filesz: number;
  memsz: number;
  /** PF_R / PF_W / PF_X bits. */
  flags: number;
}

export interface ElfImage {
  entry: bigint;
  segments: ElfSegment[];
  /** Named functions, objects and labels, sorted by address then name. */
  symbols: SymbolInfo[];
  /** Lowest virtual address of a higher-half segment (0 when there is none). */
  kernelBase: bigint;
  /** End (exclusive) of the highest higher-half segment. */
  kernelEnd: bigint;
}

function bad(message: string): never {
  throw new HvdbgError('E_BAD_IMAGE', message);
}

/** Reads a u64 that must be a safe integer (file offsets, physical addresses, sizes). */
function u64Number(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`${what} 0x${v.toString(16)} is out of range`);
  return Number(v);
}

function hex(v: number | bigint): string {
  return `0x${v.toString(16)}`;
}

/** Validates and describes an image for a machine with `memoryBytes` of RAM; writes nothing. */
export function parseElf(bytes: Uint8Array, memoryBytes: number): ElfImage {
  if (bytes.length < EHDR_SIZE) bad(`the image is ${bytes.length} bytes, shorter than an ELF header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== ELF_MAGIC) bad('not an ELF file (bad magic)');
  if (bytes[4] !== ELFCLASS64) bad(`ELF class ${bytes[4]} is not ELFCLASS64`);
  if (bytes[5] !== ELFDATA2LSB) bad('the image is not little-endian');
  if (bytes[6] !== EV_CURRENT) bad(`ELF version ${bytes[6]} is not supported`);
  const type = view.getUint16(16, true);
  if (type !== ET_EXEC) bad(`ELF type ${type} is not an executable (ET_EXEC)`);
  const machine = view.getUint16(18, true);
  if (machine !== EM_X86_64) bad(`ELF machine ${machine} is not x86-64 (${EM_X86_64})`);
  const entry = view.getBigUint64(24, true);
  const phoff = u64Number(view, 32, 'program header offset');
  const shoff = u64Number(view, 40, 'section header offset');
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  const shentsize = view.getUint16(58, true);
  const shnum = view.getUint16(60, true);
  if (phnum === 0) bad('the image has no program headers');
  if (phnum > MAX_SEGMENTS) bad(`${phnum} program headers exceed the limit of ${MAX_SEGMENTS}`);
  if (phentsize !== PHDR_SIZE) bad(`program header size ${phentsize} is not ${PHDR_SIZE}`);
  if (phoff + phnum * PHDR_SIZE > bytes.length) bad('the program headers are truncated');

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    if (view.getUint32(at, true) !== PT_LOAD) continue;
    const seg: ElfSegment = {
      flags: view.getUint32(at + 4, true),
      offset: u64Number(view, at + 8, `segment ${i} offset`),
      vaddr: view.getBigUint64(at + 16, true),
      paddr: u64Number(view, at + 24, `segment ${i} physical address`),
      filesz: u64Number(view, at + 32, `segment ${i} file size`),
      memsz: u64Number(view, at + 40, `segment ${i} memory size`),
    };
    if (seg.memsz === 0) continue;
    if (seg.filesz > seg.memsz) bad(`segment ${i}: file size exceeds memory size`);
    if (seg.offset + seg.filesz > bytes.length) bad(`segment ${i}: file bytes are truncated`);
    if (seg.paddr + seg.memsz > memoryBytes) {
      bad(`segment ${i} at ${hex(seg.paddr)}+${hex(seg.memsz)} lies outside RAM (${hex(memoryBytes)} bytes)`);
    }
    segments.push(seg);
  }
  if (segments.length === 0) bad('the image has no loadable segment');
  const entryOk = segments.some((s) => s.flags & PF_X && entry >= s.vaddr && entry < s.vaddr + BigInt(s.memsz));
  if (!entryOk) bad(`the entry point ${hex(entry)} is not in an executable segment`);

  let kernelBase = 0n;
  let kernelEnd = 0n;
  for (const s of segments) {
    if (s.vaddr < KERNEL_HALF) continue;
    if (kernelBase === 0n || s.vaddr < kernelBase) kernelBase = s.vaddr;
    const end = s.vaddr + BigInt(s.memsz);
    if (end > kernelEnd) kernelEnd = end;
  }
  const symbols = shoff === 0 ? [] : readSymbols(bytes, view, shoff, shentsize, shnum);
  return { entry, segments, symbols, kernelBase, kernelEnd };
}

function readSymbols(bytes: Uint8Array, view: DataView, shoff: number, shentsize: number, shnum: number): SymbolInfo[] {
  if (shentsize !== SHDR_SIZE) bad(`section header size ${shentsize} is not ${SHDR_SIZE}`);
  if (shoff + shnum * SHDR_SIZE > bytes.length) bad('the section headers are truncated');
  const section = (i: number) => {
    const at = shoff + i * SHDR_SIZE;
    return {
      type: view.getUint32(at + 4, true),
      offset: u64Number(view, at + 24, `section ${i} offset`),
      size: u64Number(view, at + 32, `section ${i} size`),
      link: view.getUint32(at + 40, true),
      entsize: u64Number(view, at + 56, `section ${i} entry size`),
    };
  };
  const symbols: SymbolInfo[] = [];
  for (let i = 0; i < shnum; i++) {
    const symtab = section(i);
    if (symtab.type !== SHT_SYMTAB) continue;
    if (symtab.entsize !== SYM_SIZE) bad(`symbol entry size ${symtab.entsize} is not ${SYM_SIZE}`);
    if (symtab.offset + symtab.size > bytes.length) bad('the symbol table is truncated');
    if (symtab.link >= shnum) bad('the symbol table links to a missing string table');
    const strtab = section(symtab.link);
    if (strtab.type !== SHT_STRTAB) bad('the symbol table links to a section that is not a string table');
    if (strtab.offset + strtab.size > bytes.length) bad('the string table is truncated');
    for (let at = symtab.offset; at + SYM_SIZE <= symtab.offset + symtab.size; at += SYM_SIZE) {
      const nameOff = view.getUint32(at, true);
      const kindBits = bytes[at + 4]! & 0xf;
      const shndx = view.getUint16(at + 6, true);
      if (nameOff === 0 || shndx === SHN_UNDEF || kindBits === STT_SECTION || kindBits === STT_FILE) continue;
      if (nameOff >= strtab.size) bad('a symbol name lies outside the string table');
      const start = strtab.offset + nameOff;
      const limit = strtab.offset + strtab.size;
      let end = start;
      while (end < limit && bytes[end] !== 0) end++;
      if (end === limit) bad('a symbol name is not terminated');
      const name = new TextDecoder('latin1').decode(bytes.subarray(start, end));
      if (name.startsWith('.L')) continue;
      const address = view.getBigUint64(at + 8, true);
      symbols.push({
        name,
        module: address >= KERNEL_HALF ? 'kernel' : 'user',
        address,
        size: view.getBigUint64(at + 16, true),
        kind: kindBits === STT_FUNC ? 'function' : kindBits === STT_OBJECT ? 'object' : 'other',
      });
    }
  }
  symbols.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.name < b.name ? -1 : 1));
  return symbols;
}

/** Validates the whole image, then copies its segments into guest memory (zero-filling to p_memsz). */
export function loadElf(bytes: Uint8Array, memory: PhysicalMemory): ElfImage {
  const image = parseElf(bytes, memory.size);
  for (const s of image.segments) {
    memory.writeBytes(s.paddr, bytes.subarray(s.offset, s.offset + s.filesz));
    if (s.memsz > s.filesz) memory.writeBytes(s.paddr + s.filesz, new Uint8Array(s.memsz - s.filesz));
  }
  return image;
}
