/**
 * Symbol commands: `x mod!pat*` searches the table fetched from the daemon; `lm` lists modules.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { hexPad } from '../numbers.js';
import { globToRegExp } from '../symbols.js';
import type { CommandSpec } from './types.js';

export const SYMBOL_COMMANDS: CommandSpec[] = [
  {
    name: 'x',
    aliases: [],
    syntax: 'x [mod!]pattern',
    summary: 'search symbols',
    details:
      'Lists symbols matching the pattern, * for any run of characters and ? for one: x kernel!sys_*, x *lock*. The module part is case-insensitive.',
    local: true,
    group: 'symbols',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      if (line.args.length !== 1 || line.args[0]!.block)
        throw new HvdbgError('E_BAD_PARAMETER', 'x needs one pattern, e.g. x kernel!sys_*');
      const table = await s.symbols();
      const found = table.search(line.args[0]!.text);
      if (found.length === 0) ctx.print('no matching symbols');
      for (const sym of found) {
        ctx.print(
          `${hexPad(sym.address, 16)}  ${sym.module}!${sym.name}${sym.size > 0n ? `  (size 0x${sym.size.toString(16)})` : ''}`,
        );
      }
      ctx.setData({ symbols: found });
    },
  },
  {
    name: 'lm',
    aliases: [],
    syntax: 'lm [m pattern]',
    summary: 'list modules',
    details:
      'Lists the guest modules with their start and end addresses; lm m pat shows only modules whose name matches.',
    local: true,
    group: 'symbols',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      let pattern: RegExp | undefined;
      if (line.args.length > 0) {
        if (line.args[0]!.text.toLowerCase() !== 'm' || line.args.length !== 2) {
          throw new HvdbgError('E_BAD_PARAMETER', 'usage: lm [m pattern]');
        }
        pattern = globToRegExp(line.args[1]!.text, 'i');
      }
      const table = await s.symbols();
      const modules = table.modules.filter((m) => pattern === undefined || pattern.test(m.name));
      ctx.print('start             end               module');
      for (const m of modules) ctx.print(`${hexPad(m.base, 16)}  ${hexPad(m.base + m.size, 16)}  ${m.name}`);
      ctx.setData({ modules });
    },
  },
];
