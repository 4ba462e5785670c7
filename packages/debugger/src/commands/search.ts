/**
 * Bulk memory commands done in the client over `mem.read`: `sb sd sq` search a range for a
 * pattern (at most 0x1000 hits, SPEC §5) and `.dump` saves a range to a local file. Ranges are read
 * in chunks no larger than the protocol's memory limit.
 */
import { writeFileSync } from 'node:fs';
import { HvdbgError, LIMITS, type MemorySpace } from '@hvdbg/protocol';
import { hex, hexPad, writeLE } from '../numbers.js';
import type { DebugSession } from '../session.js';
import type { CommandSpec } from './types.js';

/** SPEC §5: a search reports at most this many hits. */
export const MAX_SEARCH_HITS = 0x1000;

/** The longest range `.dump` or a search reads in one command. */
export const MAX_RANGE_BYTES = 64 * 1024 * 1024;

export interface SearchArgs {
  start: string;
  length: string;
  pattern: string[];
  pid?: string;
}

/** `start l len pattern… [pid p]`. */
export function parseSearchArgs(words: readonly string[], command: string): SearchArgs {
  const w = [...words];
  let pid: string | undefined;
  const at = w.findIndex((x) => x.toLowerCase() === 'pid');
  if (at >= 0) {
    if (at !== w.length - 2) throw new HvdbgError('E_BAD_PARAMETER', "'pid p' must come last");
    pid = w[at + 1];
    w.splice(at, 2);
  }
  if (w.length < 4 || w[1]!.toLowerCase() !== 'l') {
    throw new HvdbgError('E_BAD_PARAMETER', `usage: ${command} start l len pattern… [pid p]`);
  }
  return { start: w[0]!, length: w[2]!, pattern: w.slice(3), ...(pid === undefined ? {} : { pid }) };
}

/** Reads [address, address + length) in protocol-sized chunks. */
async function readRange(
  s: DebugSession,
  address: bigint,
  length: number,
  space: MemorySpace,
  pid: number | undefined,
): Promise<Uint8Array> {
  if (length <= 0 || length > MAX_RANGE_BYTES)
    throw new HvdbgError('E_TOO_LARGE', `length must be 1..${hex(MAX_RANGE_BYTES)}`);
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += LIMITS.maxMemoryBytes) {
    const n = Math.min(LIMITS.maxMemoryBytes, length - off);
    const r = await s.request('mem.read', {
      address: address + BigInt(off),
      length: n,
      space,
      vcpu: s.vcpu,
      ...(pid === undefined ? {} : { pid }),
    });
    out.set(r.bytes, off);
  }
  return out;
}

/** Offsets where `needle` occurs at multiples of `align` (WinDbg searches unaligned for bytes only). */
export function findAll(haystack: Uint8Array, needle: Uint8Array, align: number, max: number): number[] {
  const hits: number[] = [];
  outer: for (let i = 0; i + needle.length <= haystack.length && hits.length < max; i += align) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    hits.push(i);
  }
  return hits;
}

function searchCommand(unit: 1 | 4 | 8, physical: boolean): CommandSpec {
  const letter = unit === 1 ? 'b' : unit === 4 ? 'd' : 'q';
  const name = `${physical ? '!' : ''}s${letter}`;
  const space: MemorySpace = physical ? 'physical' : 'virtual';
  return {
    name,
    aliases: [],
    syntax: `${name} start l len value… [pid p]`,
    summary: `search ${space} memory for ${unit === 1 ? 'bytes' : unit === 4 ? 'dwords' : 'qwords'}`,
    details: `Searches len bytes of ${space} memory from start for the sequence of ${unit}-byte values and lists the addresses where it starts (at most 0x${MAX_SEARCH_HITS.toString(16)}).`,
    local: true,
    group: 'memory',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const a = parseSearchArgs(
        line.args.map((t) => t.text),
        name,
      );
      const start = await s.evaluate(a.start);
      const length = Number(await s.evaluate(a.length));
      const needle = new Uint8Array(a.pattern.length * unit);
      for (let i = 0; i < a.pattern.length; i++) needle.set(writeLE(await s.evaluate(a.pattern[i]!), unit), i * unit);
      const pid = a.pid === undefined ? undefined : Number(await s.evaluate(a.pid));
      const bytes = await readRange(s, start, length, space, pid);
      const hits = findAll(bytes, needle, unit === 1 ? 1 : unit, MAX_SEARCH_HITS).map((off) => start + BigInt(off));
      for (const h of hits) ctx.print(`${hexPad(h, 16)}${s.symbolize(h) ? `  ${s.symbolize(h)}` : ''}`);
      if (hits.length === 0) ctx.print('not found');
      ctx.setData({ hits });
    },
  };
}

function dumpToFileCommand(physical: boolean): CommandSpec {
  const name = physical ? '!dump' : '.dump';
  const space: MemorySpace = physical ? 'physical' : 'virtual';
  const syntax = `${name} from to [pid p] path file`;
  return {
    name,
    aliases: [],
    syntax,
    summary: `save ${space} memory to a file`,
    details: `Writes the ${space} bytes from 'from' to 'to' (exclusive) into a file on this machine.`,
    local: true,
    group: 'memory',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const words = line.args.map((t) => t.text);
      const pathAt = words.findIndex((w) => w.toLowerCase() === 'path');
      if (pathAt < 2 || pathAt !== words.length - 2) throw new HvdbgError('E_BAD_PARAMETER', `usage: ${syntax}`);
      const file = words[pathAt + 1]!;
      const rest = words.slice(0, pathAt);
      let pid: number | undefined;
      if (rest.length === 4 && rest[2]!.toLowerCase() === 'pid') pid = Number(await s.evaluate(rest[3]!));
      else if (rest.length !== 2) throw new HvdbgError('E_BAD_PARAMETER', `usage: ${syntax}`);
      const from = await s.evaluate(rest[0]!);
      const to = await s.evaluate(rest[1]!);
      if (to <= from) throw new HvdbgError('E_BAD_PARAMETER', `'to' must be above 'from'`);
      const bytes = await readRange(s, from, Number(to - from), space, pid);
      try {
        writeFileSync(file, bytes);
      } catch (err) {
        throw new HvdbgError('E_BAD_PARAMETER', `cannot write ${file}: ${(err as Error).message}`);
      }
      ctx.print(`saved ${hex(bytes.length)} bytes to ${file}`);
      ctx.setData({ from, to, file });
    },
  };
}

export const SEARCH_COMMANDS: CommandSpec[] = [
  ...([1, 4, 8] as const).map((u) => searchCommand(u, false)),
  ...([1, 4, 8] as const).map((u) => searchCommand(u, true)),
  dumpToFileCommand(false),
  dumpToFileCommand(true),
];
