/** `bp` breakpoints: hidden from the guest by the target, filtered by pid/tid/core. */
import type { Handlers } from './types.js';

export const bpHandlers: Handlers<'bp.add' | 'bp.list' | 'bp.modify'> = {
  'bp.add': (ctx, args) => ({
    id: ctx.target.addBreakpoint(args.address, { pid: args.pid, tid: args.tid, core: args.core }),
  }),
  'bp.list': (ctx) => ({ breakpoints: ctx.target.listBreakpoints() }),
  'bp.modify': (ctx, args) => ({ affected: ctx.target.modifyBreakpoint(args.id, args.action) }),
};
