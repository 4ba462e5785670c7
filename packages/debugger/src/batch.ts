/**
 * Batch mode (`hvdbg run -x file.hds`): runs a file of commands and prints a transcript — each
 * command echoed with its output, and halts, logs and guest console lines as they arrive — or, with
 * `--json`, one JSON object per command result, halt, log message and console line. The result says
 * whether every command succeeded, which becomes the exit status.
 */
import { formatLog, jsonReplacer } from './format.js';
import type { DebugSession, SessionOutput } from './session.js';
import { needsMoreInput } from './tokenize.js';

export interface BatchOptions {
  json?: boolean;
  /** Receives every output line (without newline). */
  write: (line: string) => void;
}

/** Splits a batch file into commands: blank lines and `#`/`//` comments dropped, `{` blocks joined. */
export function splitBatch(text: string): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = pending === '' ? raw.trim() : raw;
    if (pending === '' && (line === '' || line.startsWith('#') || line.startsWith('//'))) continue;
    const joined = pending === '' ? line : `${pending}\n${line}`;
    if (needsMoreInput(joined)) {
      pending = joined;
      continue;
    }
    pending = '';
    commands.push(joined.trim());
  }
  if (pending !== '') commands.push(pending.trim());
  return commands;
}

function outputToJson(o: SessionOutput): unknown[] {
  switch (o.kind) {
    case 'halt':
      return [{ type: 'halt', ...o.halt, ...(o.symbol === undefined ? {} : { symbol: o.symbol }) }];
    case 'log':
      return o.records.map((r) => ({ type: 'log', ...r, line: formatLog(r) }));
    case 'console':
      return o.lines.map((l) => ({ type: 'console', text: l.replace(/^\[guest\] /, '') }));
    case 'info':
      return o.lines.map((l) => ({ type: 'info', text: l }));
  }
}

/** Runs the commands; resolves true when every command succeeded. Stops after `exit`. */
export async function runBatch(
  session: DebugSession,
  commands: readonly string[],
  options: BatchOptions,
): Promise<boolean> {
  const json = options.json ?? false;
  const emit = (value: unknown) => options.write(JSON.stringify(value, jsonReplacer));
  const onOutput = (o: SessionOutput) => {
    if (json) for (const v of outputToJson(o)) emit(v);
    else for (const l of o.lines) options.write(l);
  };
  let exited = false;
  const onExit = () => {
    exited = true;
  };
  session.on('output', onOutput);
  session.on('exit', onExit);
  let ok = true;
  try {
    for (const command of commands) {
      if (!json) options.write(`hvdbg> ${command}`);
      const outcome = await session.execute(command);
      if (!outcome.ok) ok = false;
      if (json) {
        emit({
          type: 'command',
          command: outcome.command,
          ok: outcome.ok,
          output: outcome.lines,
          ...(outcome.data === undefined ? {} : { data: outcome.data }),
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
        });
      } else for (const l of outcome.lines) options.write(l);
      if (exited) break;
    }
  } finally {
    session.off('output', onOutput);
    session.off('exit', onExit);
  }
  return ok;
}
