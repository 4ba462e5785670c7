/**
 * The shape every command shares: one row of the command table and the context its handler runs
 * in. Handlers print through the context and may attach structured data for `--json`.
 */

import type { DebugSession } from '../session.js';
import type { Token } from '../tokenize.js';

/** Where a command sits in `help` and the README reference (SPEC §5 order). */
export type CommandGroup =
  | 'execution'
  | 'breakpoints'
  | 'registers and evaluation'
  | 'memory'
  | 'disassembly and stack'
  | 'symbols'
  | 'processes'
  | 'events'
  | 'session'
  | 'cpu'
  | 'batch';

export interface ParsedLine {
  /** The whole line as typed. */
  text: string;
  /** The command word as typed (case kept), e.g. `!DB`. */
  word: string;
  /** Arguments after the command word. */
  args: Token[];
  /** The raw text after the command word, trimmed (for expressions with spaces). */
  rest: string;
}

export interface CommandContext {
  readonly session: DebugSession;
  /** Appends a line of output. */
  print(line: string): void;
  /** Attaches the command's structured result (shown by `--json`). */
  setData(data: unknown): void;
}

export interface CommandSpec {
  name: string;
  aliases: readonly string[];
  /** Syntax line, e.g. `db addr [l len] [pid p]`. */
  syntax: string;
  /** One line for `help`. */
  summary: string;
  /** A paragraph or two for `help <cmd>` and the README. */
  details: string;
  /** Usable in local mode (SPEC §5 column L). */
  local: boolean;
  group: CommandGroup;
  /** Enter on an empty line repeats it (SPEC §5). */
  repeatable?: boolean;
  run(ctx: CommandContext, line: ParsedLine): Promise<void>;
}
