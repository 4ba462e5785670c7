/** `flush` (SPEC §3.6): the controller discards the messages queued but not yet shipped. */
import type { Handlers } from './types.js';

export const queueHandlers: Handlers<'queue.flush'> = {
  'queue.flush': (ctx) => {
    const discarded = ctx.target.flushQueue();
    ctx.announce({ what: 'queue', detail: `flushed, ${discarded} discarded` });
    return { discarded };
  },
};
