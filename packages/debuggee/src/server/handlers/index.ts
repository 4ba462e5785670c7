/** The complete request table: one entry per op, assembled from the op families. */
import { bpHandlers } from './bp.js';
import { controlHandlers } from './control.js';
import { eventHandlers } from './events.js';
import { execHandlers } from './exec.js';
import { guestHandlers } from './guest.js';
import { memHandlers } from './mem.js';
import { queueHandlers } from './queue.js';
import { regsHandlers } from './regs.js';
import { scriptHandlers } from './script.js';
import { statusHandlers } from './status.js';
import { symbolHandlers } from './symbols.js';
import type { HandlerTable } from './types.js';

export type { Handler, HandlerTable, RequestContext } from './types.js';

export const HANDLERS: HandlerTable = {
  ...execHandlers,
  ...eventHandlers,
  ...regsHandlers,
  ...memHandlers,
  ...symbolHandlers,
  ...bpHandlers,
  ...scriptHandlers,
  ...statusHandlers,
  ...controlHandlers,
  ...guestHandlers,
  ...queueHandlers,
};
