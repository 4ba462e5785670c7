/**
 * The client's bridge to the script compiler (`@hvdbg/script`): scripts of events and `?` are
 * compiled here, with `mod!name` resolved from the session's symbol table, so the daemon only ever
 * receives bytecode. A syntax error keeps its source so the caller can draw a caret under it.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { compileScript } from '@hvdbg/script';
import type { SymbolTable } from './symbols.js';

/** `statements` for actions and `?`; `expression` for a single value; `condition` allows comparisons. */
export type CompileMode = 'statements' | 'expression' | 'condition';

export type ScriptCompiler = (source: string, mode: CompileMode, symbols: SymbolTable) => Uint8Array;

/** Compiles with `@hvdbg/script`; errors become E_SCRIPT_SYNTAX carrying source, line and column. */
export const defaultCompiler: ScriptCompiler = (source, mode, symbols) => {
  try {
    return compileScript(source, { symbols: (name: string) => symbols.resolve(name), mode });
  } catch (err) {
    if (err instanceof HvdbgError && err.code === 'E_SCRIPT_SYNTAX') {
      throw new HvdbgError('E_SCRIPT_SYNTAX', err.message, { ...err.data, source });
    }
    throw err;
  }
};
