/**
 * Software breakpoints (`bp bl be bd bc`): the daemon plants and hides the 0xCC; ids start at 1.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { formatBreakpoints } from '../format.js';
import { expectSmall, hex } from '../numbers.js';
import type { Token } from '../tokenize.js';
import type { CommandSpec } from './types.js';

/** Past tense of the modify actions, for confirmations. */
export const PAST = { enable: 'enabled', disable: 'disabled', clear: 'cleared' } as const;

export interface BreakpointArgs {
  address: string;
  pid?: string;
  tid?: string;
  core?: string;
}

/** `bp addr [pid p] [tid t] [core c]`; the address may span words until the first filter. */
export function parseBreakpointArgs(args: readonly Token[]): BreakpointArgs {
  const address: string[] = [];
  const out: Partial<BreakpointArgs> = {};
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!;
    if (t.block) throw new HvdbgError('E_BAD_PARAMETER', 'bp does not take a {…} block');
    const key = t.text.toLowerCase();
    if (key === 'pid' || key === 'tid' || key === 'core') {
      const v = args[i + 1];
      if (v === undefined || v.block) throw new HvdbgError('E_BAD_PARAMETER', `'${key}' needs a value`);
      if (out[key] !== undefined) throw new HvdbgError('E_BAD_PARAMETER', `'${key}' is given twice`);
      out[key] = v.text;
      i++;
    } else if (out.pid !== undefined || out.tid !== undefined || out.core !== undefined) {
      throw new HvdbgError('E_BAD_PARAMETER', `unexpected '${t.text}' after the filters`);
    } else address.push(t.text);
  }
  if (address.length === 0) throw new HvdbgError('E_BAD_PARAMETER', 'bp needs an address');
  return { ...out, address: address.join(' ') };
}

/** `id` or `all` for be/bd/bc and events e/d/c. */
export function parseIdOrAll(token: Token | undefined, what: string): number | 'all' {
  if (token === undefined || token.block) throw new HvdbgError('E_BAD_PARAMETER', `missing ${what} id (or all)`);
  if (token.text.toLowerCase() === 'all') return 'all';
  return expectSmall(token.text, `${what} id`);
}

function modifyCommand(name: string, action: 'enable' | 'disable' | 'clear'): CommandSpec {
  return {
    name,
    aliases: [],
    syntax: `${name} id|all`,
    summary: `${action} a breakpoint`,
    details: `${action[0]!.toUpperCase()}${action.slice(1)}s the breakpoint with that id (see bl), or every breakpoint with all.`,
    local: false,
    group: 'breakpoints',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireController();
      if (line.args.length > 1) throw new HvdbgError('E_BAD_PARAMETER', `${name} takes one id or all`);
      const id = parseIdOrAll(line.args[0], 'breakpoint');
      const r = await s.request('bp.modify', { id, action });
      ctx.print(`${r.affected} breakpoint${r.affected === 1 ? '' : 's'} ${PAST[action]}`);
      ctx.setData(r);
    },
  };
}

export const BREAKPOINT_COMMANDS: CommandSpec[] = [
  {
    name: 'bp',
    aliases: [],
    syntax: 'bp addr [pid p] [tid t] [core c]',
    summary: 'set a breakpoint',
    details:
      'Plants a hidden 0xCC breakpoint at addr (an expression, e.g. bp kernel!schedule+4). When any filtered core executes it, every core halts and `breakpoint 0x<id> hit` is shown. Ids start at 1.',
    local: false,
    group: 'breakpoints',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireController();
      const a = parseBreakpointArgs(line.args);
      const address = await s.evaluate(a.address);
      const num = async (v: string | undefined) => (v === undefined ? undefined : Number(await s.evaluate(v)));
      const [pid, tid, core] = [await num(a.pid), await num(a.tid), await num(a.core)];
      const r = await s.request('bp.add', {
        address,
        ...(pid === undefined ? {} : { pid }),
        ...(tid === undefined ? {} : { tid }),
        ...(core === undefined ? {} : { core }),
      });
      const sym = s.symbolize(address);
      ctx.print(`breakpoint ${hex(r.id)} set at ${hex(address)}${sym ? ` (${sym})` : ''}`);
      ctx.setData({ id: r.id, address });
    },
  },
  {
    name: 'bl',
    aliases: [],
    syntax: 'bl',
    summary: 'list breakpoints',
    details: 'Lists breakpoints: id, e(nabled)/d(isabled), address, symbol, filters and hit count.',
    local: false,
    group: 'breakpoints',
    async run(ctx) {
      const s = ctx.session;
      s.requireConnection();
      const r = await s.request('bp.list', {});
      for (const l of formatBreakpoints(r.breakpoints, (a) => s.symbolize(a))) ctx.print(l);
      ctx.setData(r);
    },
  },
  modifyCommand('be', 'enable'),
  modifyCommand('bd', 'disable'),
  modifyCommand('bc', 'clear'),
];
