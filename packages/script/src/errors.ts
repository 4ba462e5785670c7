/**
 * The three ways a script fails, each mapped to one protocol error code (SPEC §4.9):
 * - ScriptSyntaxError (E_SCRIPT_SYNTAX): the client could not compile the source; the message ends
 *   with `(line:column)` so a user finds the spot.
 * - ScriptVerifyError (E_SCRIPT_VERIFY): the daemon refused a buffer when the event was added.
 * - run-time errors (E_SCRIPT_RUNTIME) never throw out of the VM: they come back in ScriptResult.
 */
import { HvdbgError } from '@hvdbg/protocol';

export class ScriptSyntaxError extends HvdbgError {
  readonly line: number;
  readonly column: number;
  /** The message without its `(line:column)` suffix. */
  readonly reason: string;

  constructor(reason: string, line: number, column: number) {
    super('E_SCRIPT_SYNTAX', `${reason} (${line}:${column})`, { line, column });
    this.name = 'ScriptSyntaxError';
    this.reason = reason;
    this.line = line;
    this.column = column;
  }
}

/** Raise a syntax error at a node's position (the compiler's one way to fail). */
export function syntaxError(reason: string, at: { line: number; column: number }): never {
  throw new ScriptSyntaxError(reason, at.line, at.column);
}

export class ScriptVerifyError extends HvdbgError {
  constructor(message: string) {
    super('E_SCRIPT_VERIFY', message);
    this.name = 'ScriptVerifyError';
  }
}
