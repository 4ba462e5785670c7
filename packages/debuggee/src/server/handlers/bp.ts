/** `bp` breakpoints: hidden from the guest by the target, filtered by pid/tid/core. */
import type { Handlers } from './types.js';

export const bpHandlers: Handlers<'bp.add' | 'bp.list' | 'bp.modify'> = {
  'bp.add': (ctx, args) => {
    const id = ctx.target.addBreakpoint(args.address, { pid: args.pid, tid: args.tid, core: args.core });
    ctx.announce({ what: 'breakpoints', address: args.address, detail: `added ${id}` });
    return { id };
  },
  'bp.list': (ctx) => ({ breakpoints: ctx.target.listBreakpoints() }),
  'bp.modify': (ctx, args) => {
    const affected = ctx.target.modifyBreakpoint(args.id, args.action);
    // `bc all` with no breakpoints changes nothing, so there is nothing to announce.
    if (affected > 0) ctx.announce({ what: 'breakpoints', detail: `${args.action} ${args.id}` });
    return { affected };
  },
};
