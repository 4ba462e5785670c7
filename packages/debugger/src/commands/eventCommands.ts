/**
 * The event commands of SPEC §2.1 (one table row each, parsed by eventCommand.ts) and `events`
 * management of §2.3: list, enable / disable / clear by id or all, and `events sc on|off`.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { formatEvents } from '../format.js';
import { hex } from '../numbers.js';
import { PAST, parseIdOrAll } from './breakpoints.js';
import { parseEventCommand } from './eventCommand.js';
import { EVENT_COMMANDS } from './eventKinds.js';
import type { CommandSpec } from './types.js';

const OPTIONS_SYNTAX =
  '[pid p|all] [core c] [stage pre|post|all] [sc on|off] [imm yes|no] [buffer n] [condition {hex}] [script {…}] [code {hex}]';

const OPTIONS_HELP =
  'Options: pid and core filter; stage picks the pre pass (default), post or both; sc on short-circuits the intercepted effect (pre only); imm no batches messages; buffer n gives code and script a shared n-byte buffer ($buffer / RCX); condition {hex} is machine code whose non-zero RAX lets the actions run (ret is appended); script {…} (or script {file:path}) is compiled here; code {hex} is custom code ending in ret. Without script or code the event breaks (refused in local mode).';

const eventCommands: CommandSpec[] = EVENT_COMMANDS.map((info) => ({
  name: `!${info.kind}`,
  aliases: info.aliases,
  syntax: `${info.syntax} ${OPTIONS_SYNTAX}`,
  summary: `event: ${info.summary}`,
  details: `Fires on ${info.summary}${info.preOnly ? ', in the pre stage only' : ''}. $context is ${info.context}; short-circuit: ${info.shortCircuit}. ${OPTIONS_HELP}`,
  local: true,
  group: 'events' as const,
  async run(ctx, line) {
    const s = ctx.session;
    s.requireController();
    await s.symbols().catch(() => undefined);
    const spec = await parseEventCommand(line.text, {
      evaluate: (e) => s.evaluate(e),
      compile: (src) => s.compile(src, 'statements'),
      readFile: (p) => s.readFile(p),
      local: s.isLocal,
    });
    const r = await s.request('event.add', spec);
    ctx.print(`event ${hex(r.id)} registered`);
    for (const w of r.warnings) ctx.print(`warning: ${w}`);
    ctx.setData(r);
  },
}));

const EVENTS_ACTIONS: Record<string, 'enable' | 'disable' | 'clear'> = { e: 'enable', d: 'disable', c: 'clear' };

/** HyperDbg commands that size or arm pools hvdbg does not need (SPEC §5). */
function notNeeded(name: string, why: string): CommandSpec {
  return {
    name,
    aliases: [],
    syntax: `${name} …`,
    summary: 'accepted for compatibility; not needed in hvdbg',
    details: `HyperDbg needs ${name} ${why}; hvdbg allocates on demand, so the command does nothing.`,
    local: true,
    group: 'events',
    async run(ctx) {
      ctx.print(`${name}: not needed in hvdbg, which allocates and arms events on demand`);
    },
  };
}

export const EVENT_MANAGEMENT_COMMANDS: CommandSpec[] = [
  ...eventCommands,
  notNeeded('prealloc', 'to reserve memory for events before adding them'),
  notNeeded('preactivate', 'to arm !mode before its first use'),
  {
    name: 'events',
    aliases: [],
    syntax: 'events [e|d|c id|all] | events sc on|off',
    summary: 'list, enable, disable or clear events',
    details:
      'events lists every event: id, enabled or disabled, the command that created it and its hit count. events e|d|c id enables, disables or clears one event (all for every event); changes apply at once, even while halted. events sc on|off short-circuits (or not) the firing that halted the guest.',
    local: true,
    group: 'events',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const [first, second, third] = line.args;
      if (first === undefined) {
        const r = await s.request('event.list', {});
        for (const l of formatEvents(r.events)) ctx.print(l);
        ctx.setData(r);
        return;
      }
      if (third !== undefined) throw new HvdbgError('E_BAD_PARAMETER', `unexpected '${third.text}'`);
      const verb = first.text.toLowerCase();
      s.requireController();
      if (verb === 'sc') {
        const v = second?.text.toLowerCase();
        if (v !== 'on' && v !== 'off') throw new HvdbgError('E_BAD_PARAMETER', 'usage: events sc on|off');
        await s.request('event.setSc', { on: v === 'on' });
        ctx.print(`short-circuit ${v} for the current firing`);
        return;
      }
      const action = EVENTS_ACTIONS[verb];
      if (action === undefined)
        throw new HvdbgError('E_BAD_PARAMETER', `unknown events action '${first.text}' (e, d, c or sc)`);
      const id = parseIdOrAll(second, 'event');
      const r = await s.request('event.modify', { id, action });
      ctx.print(`${r.affected} event${r.affected === 1 ? '' : 's'} ${PAST[action]}`);
      if (s.settings.autoflush && action !== 'enable') {
        const f = await s.request('queue.flush', {});
        ctx.print(`autoflush: ${f.discarded} queued message${f.discarded === 1 ? '' : 's'} discarded`);
      }
      ctx.setData(r);
    },
  },
];
