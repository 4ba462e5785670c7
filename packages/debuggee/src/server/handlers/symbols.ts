/** Guest modules and symbols, for the client's `!`/name resolution (SPEC §6.1.2). */
import { HvdbgError } from '@hvdbg/protocol';
import type { Handlers } from './types.js';

export const symbolHandlers: Handlers<'symbols.get' | 'symbols.lookup'> = {
  'symbols.get': (ctx) => ctx.target.symbols(),
  'symbols.lookup': (ctx, args) => {
    const { symbols } = ctx.target.symbols();
    if (args.name !== undefined) {
      const found = symbols.filter((s) => s.name === args.name);
      if (found.length === 0) throw new HvdbgError('E_UNKNOWN_SYMBOL', `no symbol '${args.name}'`, { name: args.name });
      return { symbols: found };
    }
    if (args.address !== undefined) {
      const a = args.address;
      // The symbol containing the address, else the nearest one below it.
      let best: (typeof symbols)[number] | undefined;
      for (const s of symbols) {
        if (s.address <= a && (best === undefined || s.address > best.address)) best = s;
      }
      return { symbols: best === undefined ? [] : [best] };
    }
    throw new HvdbgError('E_BAD_PARAMETER', 'symbols.lookup needs a name or an address');
  },
};
