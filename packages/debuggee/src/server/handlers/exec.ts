/**
 * Execution control (SPEC §6.1.4–7): continue, pause, step, core switch, detach. The target halts
 * and resumes; the halted/resumed notifications it reports carry the id of the client that asked.
 */
import { HvdbgError } from '@hvdbg/protocol';
import type { Handlers } from './types.js';

const EMPTY = {} as Record<string, never>;

export const execHandlers: Handlers<'exec.continue' | 'exec.pause' | 'exec.step' | 'exec.switchCore' | 'exec.detach'> =
  {
    'exec.continue': (ctx) => {
      ctx.target.resume(ctx.client.id);
      return EMPTY;
    },
    'exec.pause': (ctx) => {
      // The debugger shares the machine in local mode: halting it would halt the debugger too.
      if (ctx.target.mode === 'local') throw new HvdbgError('E_LOCAL_MODE');
      ctx.target.pause(ctx.client.id);
      return EMPTY;
    },
    'exec.step': (ctx, args) => {
      if (ctx.target.mode === 'local') throw new HvdbgError('E_LOCAL_MODE');
      ctx.target.step(args.kind, args.count, args.vcpu, ctx.client.id);
      return EMPTY;
    },
    'exec.switchCore': (ctx, args) => {
      const halt = ctx.target.switchCore(args.vcpu);
      ctx.announce({ what: 'core', vcpu: args.vcpu });
      return { halt };
    },
    'exec.detach': (ctx) => {
      // As gdb's detach: the guest runs on at once, and the client lets go of it.
      if (ctx.target.state() === 'halted') ctx.target.resume(ctx.client.id);
      ctx.roles.release(ctx.client);
      ctx.closeAfterResponse('detached');
      return EMPTY;
    },
  };
