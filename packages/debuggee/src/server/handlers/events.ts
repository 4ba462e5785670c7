/**
 * Event management (SPEC §2.3): add (validated and registered atomically by the target), list,
 * enable/disable/clear, short-circuit, and reading an event's custom-code buffer.
 */
import type { Handlers } from './types.js';

export const eventHandlers: Handlers<'event.add' | 'event.list' | 'event.modify' | 'event.setSc' | 'event.readBuffer'> =
  {
    'event.add': (ctx, spec) => ctx.target.addEvent(spec),
    'event.list': (ctx) => ({ events: ctx.target.listEvents() }),
    'event.modify': (ctx, args) => ({ affected: ctx.target.modifyEvent(args.id, args.action) }),
    'event.setSc': (ctx, args) => {
      ctx.target.setShortCircuit(args.on);
      ctx.announce({ what: 'shortCircuit', detail: args.on ? 'on' : 'off' });
      return {};
    },
    'event.readBuffer': (ctx, args) => ({ bytes: ctx.target.readEventBuffer(args.id) }),
  };
