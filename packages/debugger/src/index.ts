/**
 * The debugger as a library: the same client, session and command table the `hvdbg` CLI uses, so
 * tests and tools can drive a daemon without a terminal.
 */
export {
  type ClientEvents,
  type ConnectOptions,
  DebuggerClient,
  type RequestOptions,
  toWebSocketUrl,
} from './client.js';
export { type EventParseEnv, parseEventCommand } from './commands/eventCommand.js';
export { EVENT_COMMANDS, type EventCommandInfo, eventCommandInfo } from './commands/eventKinds.js';
export {
  COMMANDS,
  commandNames,
  findCommand,
  markdownTable,
  renderCommandReference,
  renderHelp,
} from './commands/table.js';
export type { CommandContext, CommandGroup, CommandSpec, ParsedLine } from './commands/types.js';
export { disassemble, formatInstruction, formatListing } from './disasm.js';
export { type ExprEnv, evaluate, parseExpression } from './expr.js';
export * from './format.js';
export { DAEMON_MAIN, type LocalDaemonOptions, startLocalDaemon } from './localDaemon.js';
export { hex, parseNumber } from './numbers.js';
export { complete, defaultHistoryFile, type ReplOptions, runRepl } from './repl.js';
export { type CompileMode, defaultCompiler, type ScriptCompiler } from './scriptc.js';
export {
  type CommandOutcome,
  DebugSession,
  type LocalDaemon,
  type SessionOptions,
  type SessionOutput,
  type SessionState,
} from './session.js';
export { SymbolTable } from './symbols.js';
export { type Token, tokenize } from './tokenize.js';
