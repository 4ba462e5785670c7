/**
 * Client housekeeping: `settings` (client-side options), `.cls` (clear the screen), `.sym reload`
 * (fetch the symbol table again), and `flush` (discard the daemon's queued messages, SPEC §3.6).
 */
import { HvdbgError } from '@hvdbg/protocol';
import { SETTING_NAMES, settingName } from '../settings.js';
import type { CommandSpec } from './types.js';

export const CLIENT_COMMANDS: CommandSpec[] = [
  {
    name: 'flush',
    aliases: [],
    syntax: 'flush',
    summary: 'discard queued messages not yet shipped',
    details:
      'Empties the daemon’s message queue: messages produced by events but not yet sent are discarded and reported as dropped (never silently). Prints how many were discarded. Needs the controller role.',
    local: true,
    group: 'events',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireController();
      if (line.args.length > 0) throw new HvdbgError('E_BAD_PARAMETER', 'flush takes no arguments');
      const r = await s.request('queue.flush', {});
      ctx.print(`flushed: ${r.discarded} queued message${r.discarded === 1 ? '' : 's'} discarded`);
      ctx.setData(r);
    },
  },
  {
    name: 'settings',
    aliases: [],
    syntax: 'settings [autoflush|autounpause|syntax|addressconversion [value]]',
    summary: 'show or change client settings',
    details:
      'Without arguments shows every setting; with a name shows one; with a value sets it. autoflush on|off (default off): events d|c also flush the queued messages. autounpause on|off (default on): accepted for HyperDbg scripts; hvdbg never pauses the guest on its own, so it changes nothing. syntax intel (default): disassembly syntax; att and masm are not supported yet. addressconversion on|off (default on): u shows branch targets as symbols.',
    local: true,
    group: 'session',
    async run(ctx, line) {
      const st = ctx.session.settings;
      const words = line.args.map((t) => {
        if (t.block) throw new HvdbgError('E_BAD_PARAMETER', 'settings does not take a {…} block');
        return t.text;
      });
      if (words.length > 2) throw new HvdbgError('E_BAD_PARAMETER', 'usage: settings [name [value]]');
      if (words.length === 0) {
        for (const name of SETTING_NAMES) ctx.print(`${name.padEnd(18)} ${st.show(name)}`);
        ctx.setData(Object.fromEntries(SETTING_NAMES.map((n) => [n, st.show(n)])));
        return;
      }
      const name = settingName(words[0]!);
      const value = words.length === 2 ? st.set(name, words[1]!) : st.show(name);
      ctx.print(`${name} ${words.length === 2 ? 'is now' : 'is'} ${value}`);
      ctx.setData({ [name]: value });
    },
  },
  {
    name: '.cls',
    aliases: [],
    syntax: '.cls',
    summary: 'clear the screen',
    details: 'Clears the terminal (in the interactive prompt; batch output is left as is).',
    local: true,
    group: 'session',
    async run(ctx) {
      ctx.session.emit('clear');
    },
  },
  {
    name: '.sym',
    aliases: [],
    syntax: '.sym reload',
    summary: 'fetch the symbol table again',
    details:
      'Fetches the guest modules and symbols from the daemon again (they come from the guest kernel image, so there is nothing to load or unload by hand). Prints how many were loaded.',
    local: true,
    group: 'symbols',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const sub = line.args[0]?.text.toLowerCase();
      if (sub !== 'reload' || line.args.length > 1) {
        throw new HvdbgError(
          'E_BAD_PARAMETER',
          'usage: .sym reload (symbols come from the guest image: load, unload and table are not needed)',
        );
      }
      const table = await s.reloadSymbols();
      ctx.print(`${table.modules.length} module(s), ${table.symbols.length} symbols loaded`);
      ctx.setData({ modules: table.modules.length, symbols: table.symbols.length });
    },
  },
];
