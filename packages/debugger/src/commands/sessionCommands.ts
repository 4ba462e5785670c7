/**
 * Session housekeeping: connecting, roles, status (client and daemon), leaving, `.logopen`, and the
 * batch commands: `.script` (run a file), `.sleep` (let the guest run while output arrives) and
 * `.wait halt` (block until a halt, failing on timeout).
 */
import { HvdbgError, type Role } from '@hvdbg/protocol';
import { splitBatch } from '../batch.js';
import { expectSmall, hex } from '../numbers.js';
import type { CommandSpec } from './types.js';

/** How deep `.script` files may include each other. */
const MAX_SCRIPT_DEPTH = 8;
let scriptDepth = 0;

/** `.script` substitutes `$arg0` (the path) and `$arg1`… as text before running (SPEC §4.1). */
export function substituteArgs(text: string, args: readonly string[]): string {
  return text.replace(/\$arg(\d+)/g, (whole, n: string) => args[Number(n)] ?? whole);
}

/** Default for `.wait halt` without a timeout. */
export const DEFAULT_WAIT_MS = 10_000;

export interface ConnectArgs {
  target: string;
  role: Role;
  token?: string;
}

/** `.connect local` | `.connect host:port|host port|ws://… [controller|observer] [token T]`. */
export function parseConnectArgs(words: readonly string[]): ConnectArgs | 'local' {
  if (words.length === 0)
    throw new HvdbgError('E_BAD_PARAMETER', 'usage: .connect local | .connect host:port [observer] [token T]');
  if (words[0]!.toLowerCase() === 'local') {
    if (words.length > 1) throw new HvdbgError('E_BAD_PARAMETER', `unexpected '${words[1]}' after .connect local`);
    return 'local';
  }
  let target = words[0]!;
  let i = 1;
  if (words[1] !== undefined && /^\d+$/.test(words[1])) {
    target = `${target}:${words[1]}`;
    i = 2;
  }
  let role: Role = 'controller';
  let token: string | undefined;
  for (; i < words.length; i++) {
    const w = words[i]!.toLowerCase();
    if (w === 'controller' || w === 'observer') role = w;
    else if (w === 'token') {
      token = words[++i];
      if (token === undefined) throw new HvdbgError('E_BAD_PARAMETER', "'token' needs a value");
    } else throw new HvdbgError('E_BAD_PARAMETER', `unexpected '${words[i]}' (controller, observer or token T)`);
  }
  return { target, role, ...(token === undefined ? {} : { token }) };
}

export const SESSION_COMMANDS: CommandSpec[] = [
  {
    name: '.connect',
    aliases: [],
    syntax: '.connect local | .connect host:port [controller|observer] [token T]',
    summary: 'connect to a daemon',
    details:
      '.connect local starts a daemon on loopback in local mode and attaches to it. .connect host:port (or host port, or a ws:// URL) attaches to a running daemon as controller, or as observer (read-only, sees every halt and log line).',
    local: true,
    group: 'session',
    async run(ctx, line) {
      const s = ctx.session;
      const a = parseConnectArgs(line.args.map((t) => t.text));
      const welcome =
        a === 'local'
          ? await s.connectLocal()
          : await s.connect(a.target, { role: a.role, ...(a.token ? { token: a.token } : {}) });
      ctx.print(
        `connected to ${welcome.guest.name} (${welcome.mode} mode, ${welcome.guest.vcpus} vCPU${welcome.guest.vcpus === 1 ? '' : 's'}) as ${welcome.role}, guest ${welcome.state}`,
      );
      ctx.setData({ welcome });
    },
  },
  {
    name: '.disconnect',
    aliases: [],
    syntax: '.disconnect',
    summary: 'leave the daemon (it keeps running)',
    details:
      'Leaves the daemon without changing the guest: a halted guest stays halted for the next controller (use .detach to resume it). The daemon and its events keep running. A daemon started by .connect local is stopped.',
    local: true,
    group: 'session',
    async run(ctx) {
      ctx.session.requireConnection();
      await ctx.session.disconnect();
      ctx.print('disconnected');
    },
  },
  {
    name: '.detach',
    aliases: [],
    syntax: '.detach',
    summary: 'resume the guest and leave',
    details: 'Resumes a halted guest at once, as gdb detach does, and leaves the daemon. Needs the controller role.',
    local: true,
    group: 'session',
    async run(ctx) {
      const s = ctx.session;
      s.requireController();
      await s.request('exec.detach', {});
      await s.disconnect();
      ctx.print('detached');
    },
  },
  {
    name: '.take',
    aliases: [],
    syntax: '.take',
    summary: 'become the controller',
    details:
      'Asks the daemon to make this client the controller (for an observer, once no other client controls the guest). The new role shows in the prompt.',
    local: true,
    group: 'session',
    async run(ctx) {
      const s = ctx.session;
      s.requireConnection();
      const r = await s.request('control.take', {});
      if (s.welcome !== undefined) s.welcome.role = r.role;
      s.emit('state');
      ctx.print(`this client is now ${r.role}`);
    },
  },
  {
    name: '.status',
    aliases: [],
    syntax: '.status',
    summary: 'client state',
    details: 'Shows this client: connection, role, mode, run state, main core and how many symbols are loaded.',
    local: true,
    group: 'session',
    async run(ctx) {
      const s = ctx.session;
      const w = s.welcome;
      if (w === undefined || !s.connected) {
        ctx.print('not connected');
        ctx.setData({ connected: false });
        return;
      }
      ctx.print(
        `connected to ${w.guest.name} (daemon ${w.serverVersion}, protocol ${w.protocolVersion}), session ${w.sessionId}`,
      );
      ctx.print(`role ${w.role}, ${w.mode} mode, guest ${s.state}, main core ${s.vcpu} of ${w.guest.vcpus}`);
      ctx.print(`${s.loadedSymbols.symbols.length} symbols in ${s.loadedSymbols.modules.length} modules`);
      ctx.setData({
        connected: true,
        sessionId: w.sessionId,
        role: w.role,
        mode: w.mode,
        state: s.state,
        vcpu: s.vcpu,
      });
    },
  },
  {
    name: 'status',
    aliases: [],
    syntax: 'status',
    summary: 'daemon state',
    details:
      'Asks the daemon for its state: run state, instructions executed, clients and roles, events, dropped messages and queue depth.',
    local: true,
    group: 'session',
    async run(ctx) {
      const s = ctx.session;
      s.requireConnection();
      const st = await s.request('status', {});
      ctx.print(`guest ${st.state} (${st.mode} mode), ${st.vcpus} vCPUs, ${st.instructions.toString()} instructions`);
      if (st.halt !== undefined)
        ctx.print(`halted on vcpu ${st.halt.vcpu} at ${s.symbolize(st.halt.rip) ?? hex(st.halt.rip)}`);
      ctx.print(
        `${st.events} events, ${st.drops.toString()} messages dropped, queue depth ${st.queueDepth}${st.lossless ? ', lossless' : ''}`,
      );
      for (const c of st.clients) {
        ctx.print(
          `client ${c.id} ${c.name} (${c.role})${c.id === st.controllerId ? ' controller' : ''}${c.id === s.welcome?.sessionId ? ' (this client)' : ''}`,
        );
      }
      ctx.setData(st);
    },
  },
  {
    name: 'exit',
    aliases: ['q', 'quit'],
    syntax: 'exit',
    summary: 'leave the debugger',
    details: 'Disconnects and quits. A daemon started by hvdbg local is stopped.',
    local: true,
    group: 'session',
    async run(ctx) {
      ctx.session.emit('exit');
    },
  },
  {
    name: '.script',
    aliases: [],
    syntax: '.script file [args…]',
    summary: 'run the commands in a file',
    details:
      'Runs each command of the file as if typed ($arg0 is the path, $arg1… the arguments), echoing it with its output. Blank lines and # or // comments are skipped; a { block may span lines. Stops at the first failing command.',
    local: true,
    group: 'batch',
    async run(ctx, line) {
      const words = line.args.map((t) => t.text);
      if (words.length === 0) throw new HvdbgError('E_BAD_PARAMETER', 'usage: .script file [args…]');
      if (scriptDepth >= MAX_SCRIPT_DEPTH) throw new HvdbgError('E_BAD_PARAMETER', '.script files nest too deeply');
      const commands = splitBatch(substituteArgs(ctx.session.readFile(words[0]!), words));
      scriptDepth++;
      try {
        for (const command of commands) {
          ctx.print(`hvdbg> ${command}`);
          const outcome = await ctx.session.execute(command);
          for (const l of outcome.lines) ctx.print(l);
          if (!outcome.ok) throw new HvdbgError('E_BAD_PARAMETER', `${words[0]} stopped at: ${command}`);
        }
      } finally {
        scriptDepth--;
      }
    },
  },
  {
    name: '.logopen',
    aliases: [],
    syntax: '.logopen file',
    summary: 'copy the session to a file',
    details:
      'Appends every command, its output, and every halt, log message and guest console line to the file until .logclose.',
    local: true,
    group: 'session',
    async run(ctx, line) {
      if (line.args.length !== 1) throw new HvdbgError('E_BAD_PARAMETER', 'usage: .logopen file');
      ctx.session.transcript.open(line.args[0]!.text);
      ctx.print(`logging to ${line.args[0]!.text}`);
    },
  },
  {
    name: '.logclose',
    aliases: [],
    syntax: '.logclose',
    summary: 'stop copying the session to a file',
    details: 'Stops the logging started by .logopen.',
    local: true,
    group: 'session',
    async run(ctx) {
      const path = ctx.session.transcript.close();
      ctx.print(path === undefined ? 'no log file is open' : `closed ${path}`);
    },
  },
  {
    name: '.sleep',
    aliases: ['sleep'],
    syntax: '.sleep ms',
    summary: 'wait, collecting output',
    details:
      'Waits ms milliseconds (decimal with 0n, hex by default like every number) while the guest runs and logs arrive. Meant for batch files.',
    local: true,
    group: 'batch',
    async run(_ctx, line) {
      if (line.args.length !== 1) throw new HvdbgError('E_BAD_PARAMETER', 'usage: .sleep ms');
      const ms = expectSmall(line.args[0]!.text, 'milliseconds', 3_600_000);
      await new Promise((r) => setTimeout(r, ms));
    },
  },
  {
    name: '.wait',
    aliases: [],
    syntax: '.wait halt [ms]',
    summary: 'wait for the guest to halt',
    details: `Returns at once if the guest is halted, otherwise waits for the next halt; fails after ms milliseconds (default 0n${DEFAULT_WAIT_MS}). Meant for batch files: \`g\` then \`.wait halt\`.`,
    local: false,
    group: 'batch',
    async run(ctx, line) {
      const s = ctx.session;
      if (line.args[0]?.text.toLowerCase() !== 'halt' || line.args.length > 2) {
        throw new HvdbgError('E_BAD_PARAMETER', 'usage: .wait halt [ms]');
      }
      s.requireConnection();
      const ms =
        line.args[1] === undefined ? DEFAULT_WAIT_MS : expectSmall(line.args[1].text, 'milliseconds', 3_600_000);
      if (s.state === 'halted') return;
      const halt = await s.waitForHalt(ms);
      ctx.setData({ halt });
    },
  },
];
