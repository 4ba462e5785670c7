/** `status`: the daemon's whole state in one answer (any client may ask). */
import type { Handlers } from './types.js';

export const statusHandlers: Handlers<'status'> = {
  status: (ctx) => ctx.status(),
};
