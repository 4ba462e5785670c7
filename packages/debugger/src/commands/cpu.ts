/**
 * CPU and translation views: `rdmsr` / `wrmsr` on a core and `!va2pa` / `!pte` through the main
 * core's page tables (the daemon walks them; the client only names the levels).
 */
import { HvdbgError } from '@hvdbg/protocol';
import { hex, hexPad } from '../numbers.js';
import type { Token } from '../tokenize.js';
import type { CommandSpec } from './types.js';

/** Page-table levels from the top, as the daemon returns their entries (PML4 first). */
const LEVELS = ['PML4E', 'PDPTE', 'PDE', 'PTE'];

/** Present, writable, user, accessed, dirty, large page and no-execute bits of an entry. */
function entryFlags(entry: bigint): string {
  const bits: [bigint, string][] = [
    [0n, 'P'],
    [1n, 'W'],
    [2n, 'U'],
    [5n, 'A'],
    [6n, 'D'],
    [7n, 'PS'],
    [63n, 'NX'],
  ];
  return bits
    .filter(([b]) => (entry >> b) & 1n)
    .map(([, n]) => n)
    .join(' ');
}

/** `m [core c]` → the words before `core`, and the core. */
function splitCore(args: readonly Token[], command: string): { words: string[]; core?: string } {
  const words = args.map((t) => {
    if (t.block) throw new HvdbgError('E_BAD_PARAMETER', `${command} does not take a {…} block`);
    return t.text;
  });
  const at = words.findIndex((w) => w.toLowerCase() === 'core');
  if (at < 0) return { words };
  if (at !== words.length - 2) throw new HvdbgError('E_BAD_PARAMETER', "'core c' must come last");
  return { words: words.slice(0, at), core: words[at + 1]! };
}

export const CPU_COMMANDS: CommandSpec[] = [
  {
    name: 'rdmsr',
    aliases: [],
    syntax: 'rdmsr msr [core c]',
    summary: 'read a model-specific register',
    details: 'Reads the MSR on the main core (or core c) without triggering !msrread events.',
    local: true,
    group: 'cpu',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const { words, core } = splitCore(line.args, 'rdmsr');
      if (words.length !== 1) throw new HvdbgError('E_BAD_PARAMETER', 'usage: rdmsr msr [core c]');
      const msr = Number(await s.evaluate(words[0]!));
      const vcpu = core === undefined ? s.vcpu : Number(await s.evaluate(core));
      const r = await s.request('cpu.rdmsr', { msr, vcpu });
      ctx.print(`msr[${msr.toString(16)}] = ${hexPad(r.value, 16)}`);
      ctx.setData({ msr, vcpu, value: r.value });
    },
  },
  {
    name: 'wrmsr',
    aliases: [],
    syntax: 'wrmsr msr value [core c]',
    summary: 'write a model-specific register',
    details: 'Writes the MSR on the main core (or core c) without triggering !msrwrite events.',
    local: true,
    group: 'cpu',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireController();
      const { words, core } = splitCore(line.args, 'wrmsr');
      if (words.length !== 2) throw new HvdbgError('E_BAD_PARAMETER', 'usage: wrmsr msr value [core c]');
      const msr = Number(await s.evaluate(words[0]!));
      const value = await s.evaluate(words[1]!);
      const vcpu = core === undefined ? s.vcpu : Number(await s.evaluate(core));
      await s.request('cpu.wrmsr', { msr, value, vcpu });
      ctx.print(`msr[${msr.toString(16)}] <- ${hexPad(value, 16)}`);
    },
  },
  {
    name: '!va2pa',
    aliases: [],
    syntax: '!va2pa va [pid p]',
    summary: 'translate a virtual address',
    details:
      "Translates va to a physical address through the main core's page tables, or those of process p (see .process), whether or not a vCPU is running it.",
    local: true,
    group: 'memory',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const { address, pid } = await translateArgs(ctx.session, line.args, '!va2pa');
      const r = await s.request('mem.translate', { address, vcpu: s.vcpu, ...(pid === undefined ? {} : { pid }) });
      ctx.print(`${hex(address)} -> ${hex(r.physical)}`);
      ctx.setData(r);
    },
  },
  {
    name: '!pte',
    aliases: [],
    syntax: '!pte va [pid p]',
    summary: 'show the page-table walk of an address',
    details:
      'Shows every paging-structure entry used to translate va (PML4E, PDPTE, PDE, PTE) with its flags, then the physical address.',
    local: true,
    group: 'memory',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const { address, pid } = await translateArgs(ctx.session, line.args, '!pte');
      const r = await s.request('mem.translate', { address, vcpu: s.vcpu, ...(pid === undefined ? {} : { pid }) });
      r.entries.forEach((e, i) => {
        ctx.print(`${(LEVELS[i] ?? `L${i}`).padEnd(6)} ${hexPad(e, 16)}  ${entryFlags(e)}`);
      });
      ctx.print(`${hex(address)} -> ${hex(r.physical)}`);
      ctx.setData(r);
    },
  },
];

async function translateArgs(
  session: { evaluate(e: string): Promise<bigint> },
  args: readonly Token[],
  command: string,
): Promise<{ address: bigint; pid?: number }> {
  const words = args.map((t) => t.text);
  const at = words.findIndex((w) => w.toLowerCase() === 'pid');
  const exprWords = at < 0 ? words : words.slice(0, at);
  if (exprWords.length === 0) throw new HvdbgError('E_BAD_PARAMETER', `${command} needs an address`);
  if (at >= 0 && at !== words.length - 2) throw new HvdbgError('E_BAD_PARAMETER', "'pid p' must come last");
  const address = await session.evaluate(exprWords.join(' '));
  return at < 0 ? { address } : { address, pid: Number(await session.evaluate(words[at + 1]!)) };
}
