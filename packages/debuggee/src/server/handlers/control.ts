/** Connection-level requests: take the controller role, leave politely. */
import type { Handlers } from './types.js';

export const controlHandlers: Handlers<'control.take' | 'disconnect'> = {
  'control.take': (ctx) => ({ role: ctx.roles.take(ctx.client) }),
  disconnect: (ctx) => {
    // Not a detach: a halted guest stays halted (or follows the controller-loss policy).
    ctx.closeAfterResponse('client disconnected');
    return {};
  },
};
