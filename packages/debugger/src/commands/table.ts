/**
 * THE command table: every command the debugger knows, in SPEC §5 order. The REPL dispatches from
 * it, `help` prints it, tab completion offers its names and the README's command reference is
 * rendered from it (`renderCommandReference`), so none of them can disagree.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { BREAKPOINT_COMMANDS } from './breakpoints.js';
import { CLIENT_COMMANDS } from './clientCommands.js';
import { CODE_COMMANDS } from './code.js';
import { CPU_COMMANDS } from './cpu.js';
import { CPUID_COMMANDS } from './cpuid.js';
import { EVENT_MANAGEMENT_COMMANDS } from './eventCommands.js';
import { EXECUTION_COMMANDS } from './execution.js';
import { GUEST_COMMANDS } from './guestCommands.js';
import { MEMORY_COMMANDS } from './memory.js';
import { REGISTER_COMMANDS } from './registers.js';
import { SEARCH_COMMANDS } from './search.js';
import { SESSION_COMMANDS } from './sessionCommands.js';
import { SYMBOL_COMMANDS } from './symbolCommands.js';
import type { CommandGroup, CommandSpec } from './types.js';

const HELP_COMMAND: CommandSpec = {
  name: 'help',
  aliases: ['.help', '.hh'],
  syntax: 'help [command]',
  summary: 'list commands or explain one',
  details:
    'Without an argument lists every command with a one-line summary; help <command> shows its syntax and details.',
  local: true,
  group: 'session',
  async run(ctx, line) {
    if (line.args.length === 0) {
      for (const l of renderHelp()) ctx.print(l);
      return;
    }
    const spec = findCommand(line.args[0]!.text);
    if (spec === undefined) throw new HvdbgError('E_BAD_PARAMETER', `no command '${line.args[0]!.text}' (try help)`);
    for (const l of renderCommandHelp(spec)) ctx.print(l);
  },
};

export const COMMANDS: readonly CommandSpec[] = [
  ...EXECUTION_COMMANDS,
  ...BREAKPOINT_COMMANDS,
  ...REGISTER_COMMANDS,
  ...MEMORY_COMMANDS,
  ...SEARCH_COMMANDS,
  ...CPU_COMMANDS.filter((c) => c.group === 'memory'),
  ...CODE_COMMANDS,
  ...SYMBOL_COMMANDS,
  ...CLIENT_COMMANDS.filter((c) => c.group === 'symbols'),
  ...GUEST_COMMANDS,
  ...EVENT_MANAGEMENT_COMMANDS,
  ...CLIENT_COMMANDS.filter((c) => c.group === 'events'),
  ...SESSION_COMMANDS.filter((c) => c.group === 'session'),
  ...CLIENT_COMMANDS.filter((c) => c.group === 'session'),
  HELP_COMMAND,
  ...CPU_COMMANDS.filter((c) => c.group === 'cpu'),
  ...CPUID_COMMANDS,
  ...SESSION_COMMANDS.filter((c) => c.group === 'batch'),
];

export const GROUP_ORDER: readonly CommandGroup[] = [
  'execution',
  'breakpoints',
  'registers and evaluation',
  'memory',
  'disassembly and stack',
  'symbols',
  'processes',
  'events',
  'session',
  'cpu',
  'batch',
];

const BY_NAME = new Map<string, CommandSpec>();
for (const spec of COMMANDS) {
  for (const name of [spec.name, ...spec.aliases]) {
    const key = name.toLowerCase();
    if (BY_NAME.has(key)) throw new Error(`command table: '${name}' is defined twice`);
    BY_NAME.set(key, spec);
  }
}

/** Looks a command word up by name or alias, case-insensitively. */
export function findCommand(word: string): CommandSpec | undefined {
  return BY_NAME.get(word.toLowerCase());
}

/** Every name and alias, for completion. */
export function commandNames(): string[] {
  return [...BY_NAME.keys()].sort();
}

function namesOf(spec: CommandSpec): string {
  return [spec.name, ...spec.aliases].join(', ');
}

export function renderHelp(): string[] {
  const lines: string[] = [];
  for (const group of GROUP_ORDER) {
    lines.push(`${group}:`);
    for (const spec of COMMANDS.filter((c) => c.group === group)) {
      lines.push(`  ${namesOf(spec).padEnd(22)} ${spec.summary}`);
    }
  }
  lines.push('Numbers are hex by default (0n10 is decimal). help <command> for details.');
  return lines;
}

export function renderCommandHelp(spec: CommandSpec): string[] {
  const lines = [`${spec.syntax}`, `  ${spec.summary}${spec.local ? '' : ' (not in local mode)'}`];
  if (spec.aliases.length > 0) lines.push(`  aliases: ${spec.aliases.join(', ')}`);
  lines.push('', ...wrap(spec.details, 96).map((l) => `  ${l}`));
  return lines;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** A markdown table with its columns padded to one width, so the raw text reads as a table too. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(3, h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/**
 * The README's command reference, as markdown: one table per group with syntax, aliases, local
 * mode and summary. The README embeds this text verbatim and a test compares the two.
 */
export function renderCommandReference(): string {
  const parts: string[] = [];
  for (const group of GROUP_ORDER) {
    const rows = COMMANDS.filter((c) => c.group === group).map((c) => [
      `\`${escapeCell(c.syntax)}\``,
      escapeCell(c.aliases.map((a) => `\`${a}\``).join(' ')),
      c.local ? 'yes' : 'no',
      escapeCell(c.summary),
    ]);
    parts.push(`### ${group[0]!.toUpperCase()}${group.slice(1)}`, '');
    parts.push(...markdownTable(['command', 'aliases', 'local mode', 'meaning'], rows), '');
  }
  return parts.join('\n');
}
