/**
 * Memory commands: dumps (`db dw dd dq dc`, physical `!db …`) and edits (`eb ed eq`, `!eb …`).
 * Argument parsing is a pure function (tested as a table); addresses and values are expressions
 * evaluated when the command runs.
 */
import { HvdbgError, LIMITS, type MemorySpace } from '@hvdbg/protocol';
import { type DumpUnit, formatDump } from '../format.js';
import { hex, writeLE } from '../numbers.js';
import type { Token } from '../tokenize.js';
import type { CommandSpec } from './types.js';

/** HyperDbg's default dump length in bytes. */
export const DEFAULT_DUMP_BYTES = 0x80;

export interface RangeArgs {
  /** Address expression; absent = continue after the previous dump. */
  address?: string;
  /** Length expression after `l`, in bytes. */
  length?: string;
  /** Process filter expression after `pid`. */
  pid?: string;
}

function bad(message: string): never {
  throw new HvdbgError('E_BAD_PARAMETER', message);
}

/** `addr [l len] [pid p]`: the address may span words (`@rsp + 8`); `l` and `pid` end it. */
export function parseRangeArgs(args: readonly Token[], command: string): RangeArgs {
  const out: RangeArgs = {};
  const address: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!;
    if (t.block) bad(`${command} does not take a {…} block`);
    const word = t.text.toLowerCase();
    if (word === 'l' || word === 'pid') {
      const value = args[i + 1];
      if (value === undefined || value.block) bad(`'${word}' needs a value`);
      if (word === 'l') {
        if (out.length !== undefined) bad("'l' is given twice");
        out.length = value.text;
      } else {
        if (out.pid !== undefined) bad("'pid' is given twice");
        out.pid = value.text;
      }
      i++;
    } else if (out.length !== undefined || out.pid !== undefined) bad(`unexpected '${t.text}' after the options`);
    else address.push(t.text);
  }
  if (address.length > 0) out.address = address.join(' ');
  return out;
}

export interface EditArgs {
  address: string;
  values: string[];
  pid?: string;
}

/** `addr v1 v2 … [pid p]`. */
export function parseEditArgs(args: readonly Token[], command: string): EditArgs {
  const words = args.map((t) => {
    if (t.block) bad(`${command} does not take a {…} block`);
    return t.text;
  });
  let pid: string | undefined;
  const pidAt = words.findIndex((w) => w.toLowerCase() === 'pid');
  if (pidAt >= 0) {
    if (pidAt !== words.length - 2) bad("'pid p' must come last");
    pid = words[pidAt + 1];
    words.splice(pidAt, 2);
  }
  if (words.length === 0) bad(`${command} needs an address`);
  if (words.length === 1) bad(`${command} needs at least one value`);
  return { address: words[0]!, values: words.slice(1), ...(pid === undefined ? {} : { pid }) };
}

const UNIT_NAMES: Record<DumpUnit, string> = {
  b: 'bytes',
  w: 'words',
  d: 'dwords',
  q: 'qwords',
  c: 'dwords and characters',
};

function dumpCommand(unit: DumpUnit, physical: boolean): CommandSpec {
  const name = `${physical ? '!' : ''}d${unit}`;
  const space: MemorySpace = physical ? 'physical' : 'virtual';
  return {
    name,
    aliases: [],
    syntax: `${name} [addr] [l len] [pid p]`,
    summary: `dump ${space} memory as ${UNIT_NAMES[unit]}`,
    details: `Shows len bytes (default 0x${DEFAULT_DUMP_BYTES.toString(16)}) of ${space} memory at addr, 16 a line. addr is an expression (\`${name} @rsp+8\`, \`${name} kernel!counter\`); without it the dump continues where the last one ended.${space === 'virtual' ? ' pid p reads in the address space of process p (see .process), whether or not a vCPU is running it.' : ''} Numbers are hex.`,
    local: true,
    group: 'memory',
    repeatable: true,
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const a = parseRangeArgs(line.args, name);
      const address = a.address === undefined ? s.nextDump : await s.evaluate(a.address);
      if (address === undefined) bad(`${name} needs an address`);
      const length = a.length === undefined ? BigInt(DEFAULT_DUMP_BYTES) : await s.evaluate(a.length);
      if (length === 0n || length > BigInt(LIMITS.maxMemoryBytes)) {
        throw new HvdbgError('E_TOO_LARGE', `length must be 1..${hex(LIMITS.maxMemoryBytes)} bytes`);
      }
      const pid = a.pid === undefined ? undefined : Number(await s.evaluate(a.pid));
      const r = await s.request('mem.read', {
        address,
        length: Number(length),
        space,
        vcpu: s.vcpu,
        ...(pid === undefined ? {} : { pid }),
      });
      for (const l of formatDump(address, r.bytes, unit)) ctx.print(l);
      s.nextDump = address + length;
      ctx.setData({ address, bytes: r.bytes });
      // Enter repeats the dump without its address, so it continues.
      s.lastRepeatable = name;
    },
  };
}

const EDIT_SIZE: Record<string, number> = { b: 1, d: 4, q: 8 };

function editCommand(unit: 'b' | 'd' | 'q', physical: boolean): CommandSpec {
  const name = `${physical ? '!' : ''}e${unit}`;
  const size = EDIT_SIZE[unit]!;
  const space: MemorySpace = physical ? 'physical' : 'virtual';
  return {
    name,
    aliases: [],
    syntax: `${name} addr value… [pid p]`,
    summary: `write ${size === 1 ? 'bytes' : size === 4 ? 'dwords' : 'qwords'} to ${space} memory`,
    details: `Writes each value (${size} byte${size === 1 ? '' : 's'}, little-endian) to consecutive ${space} addresses starting at addr. Values are expressions without spaces; numbers are hex.${space === 'virtual' ? ' pid p writes in the address space of process p (see .process).' : ''}`,
    local: true,
    group: 'memory',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireController();
      const a = parseEditArgs(line.args, name);
      const address = await s.evaluate(a.address);
      const bytes = new Uint8Array(a.values.length * size);
      for (let i = 0; i < a.values.length; i++) bytes.set(writeLE(await s.evaluate(a.values[i]!), size), i * size);
      const pid = a.pid === undefined ? undefined : Number(await s.evaluate(a.pid));
      const r = await s.request('mem.write', {
        address,
        bytes,
        space,
        vcpu: s.vcpu,
        ...(pid === undefined ? {} : { pid }),
      });
      ctx.print(`wrote ${r.written} byte${r.written === 1 ? '' : 's'} at ${hex(address)}`);
      ctx.setData({ address, written: r.written });
    },
  };
}

export const MEMORY_COMMANDS: CommandSpec[] = [
  ...(['b', 'w', 'd', 'q', 'c'] as const).map((u) => dumpCommand(u, false)),
  ...(['b', 'w', 'd', 'q', 'c'] as const).map((u) => dumpCommand(u, true)),
  ...(['b', 'd', 'q'] as const).map((u) => editCommand(u, false)),
  ...(['b', 'd', 'q'] as const).map((u) => editCommand(u, true)),
];
