/**
 * The interactive prompt (node:readline). Lines run one at a time through the session; output that
 * arrives meanwhile (logs, halts, guest console) is printed ABOVE the line being typed: clear the
 * line, print, redraw prompt and buffer. Ctrl+C pauses the guest instead of quitting; Enter on an
 * empty line repeats the last repeatable command; history persists in ~/.hvdbg_history.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import { commandNames, findCommand } from './commands/table.js';
import type { DebugSession } from './session.js';
import { SETTING_NAMES } from './settings.js';
import { needsMoreInput } from './tokenize.js';

/** Register names offered after `@` and to `r`. */
export const REGISTER_NAMES = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'rflags', 'eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp', 'ax', 'bx', 'cx', 'dx', 'al', 'bl', 'cl', 'dl',
  'cs', 'ds', 'es', 'fs', 'gs', 'ss', 'cr0', 'cr2', 'cr3', 'cr4', 'cr8', 'dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7',
]; // biome-ignore format: a table

/** Option keywords offered after an event command. */
const EVENT_OPTIONS = ['pid', 'core', 'stage', 'sc', 'imm', 'buffer', 'condition', 'script', 'code'];

/** Lines of history kept in the file and in memory. */
export const HISTORY_SIZE = 1000;

export interface ReplOptions {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  /** Raw-mode line editing (completion, Ctrl+C, redraw); defaults to the output being a TTY. */
  terminal?: boolean;
  /** History file; default $HVDBG_HISTORY or ~/.hvdbg_history. Empty string = no file. */
  historyFile?: string;
}

export function defaultHistoryFile(): string {
  return process.env.HVDBG_HISTORY ?? join(homedir(), '.hvdbg_history');
}

function loadHistory(file: string): string[] {
  if (file === '') return [];
  try {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    // The file grows by appending; keep it bounded by rewriting it when it doubles.
    if (lines.length > 2 * HISTORY_SIZE) writeFileSync(file, `${lines.slice(-HISTORY_SIZE).join('\n')}\n`);
    return lines.slice(-HISTORY_SIZE).reverse();
  } catch {
    return [];
  }
}

/** Completions for the word under the cursor: commands first, then registers, options, symbols. */
export function complete(session: DebugSession, line: string): [string[], string] {
  const match = /(\S*)$/.exec(line)!;
  const word = match[1]!;
  const before = line.slice(0, line.length - word.length);
  const pick = (candidates: Iterable<string>, prefix = '') => {
    const lower = word.slice(prefix.length).toLowerCase();
    const hits = [...new Set(candidates)].filter((c) => c.toLowerCase().startsWith(lower)).map((c) => prefix + c);
    return hits.sort();
  };
  if (before.trim() === '') return [pick(commandNames()), word];
  if (word.startsWith('@')) return [pick(REGISTER_NAMES, '@'), word];
  const first = before.trim().split(/\s+/)[0]!;
  const spec = findCommand(first);
  const candidates: string[] = [];
  if (spec?.name === 'r') candidates.push(...REGISTER_NAMES);
  if (spec?.name === 'help') candidates.push(...commandNames());
  if (spec?.group === 'events' && spec.name !== 'events' && spec.name !== 'flush') candidates.push(...EVENT_OPTIONS);
  if (spec?.name === 'settings') candidates.push(...SETTING_NAMES);
  const symbols = session.loadedSymbols;
  candidates.push(...symbols.modules.map((m) => `${m.name}!`));
  if (word.includes('!') || candidates.length === 0 || symbols.symbols.length < 5000) {
    candidates.push(...symbols.qualifiedNames());
  }
  return [pick(candidates), word];
}

/** Runs the REPL until `exit` or end of input. */
export function runRepl(session: DebugSession, options: ReplOptions): Promise<void> {
  const output = options.output;
  const terminal = options.terminal ?? (output as NodeJS.WriteStream).isTTY === true;
  const historyFile = options.historyFile ?? defaultHistoryFile();
  const rl: Interface = createInterface({
    input: options.input,
    output,
    terminal,
    history: loadHistory(historyFile),
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: (line: string) => complete(session, line),
    prompt: session.prompt(),
  });
  let busy = false;
  let pendingBlock = '';
  let chain = Promise.resolve();
  let closed = false;

  /** Prints lines above the prompt without disturbing what the user is typing. */
  const printAbove = (lines: string[]) => {
    if (lines.length === 0) return;
    // After end of input, commands still queued keep printing, but there is no prompt to redraw.
    const redraw = terminal && !busy && !closed;
    if (redraw) {
      clearLine(output, 0);
      cursorTo(output, 0);
    }
    output.write(`${lines.join('\n')}\n`);
    if (redraw) rl.prompt(true);
  };

  const onOutput = (o: { lines: string[] }) => printAbove(o.lines);
  const onState = () => {
    if (pendingBlock !== '') return;
    rl.setPrompt(session.prompt());
    if (terminal && !busy && !closed) {
      clearLine(output, 0);
      cursorTo(output, 0);
      rl.prompt(true);
    }
  };
  let exiting = false;
  const onExit = () => {
    exiting = true;
    rl.close();
  };
  session.on('output', onOutput);
  session.on('state', onState);
  session.on('exit', onExit);
  const onClear = () => {
    // Erase the screen and its scrollback, then home the cursor (ECMA-48 ED 2, ED 3, CUP).
    if (terminal) output.write('\x1b[2J\x1b[3J\x1b[H');
  };
  session.on('clear', onClear);

  const remember = (line: string) => {
    if (historyFile === '' || line.trim() === '') return;
    try {
      appendFileSync(historyFile, `${line.replaceAll('\n', ' ')}\n`);
    } catch {
      // History is a convenience: an unwritable file must not break the prompt.
    }
  };

  const run = async (text: string) => {
    // Lines typed (or piped) after `exit` are dropped.
    if (exiting) return;
    busy = true;
    let line = text;
    if (line.trim() === '') {
      if (session.lastRepeatable === undefined) {
        busy = false;
        if (!closed) rl.prompt();
        return;
      }
      line = session.lastRepeatable;
    }
    const outcome = await session.execute(line);
    busy = false;
    if (closed) {
      if (outcome.lines.length > 0) output.write(`${outcome.lines.join('\n')}\n`);
      return;
    }
    if (outcome.lines.length > 0) output.write(`${outcome.lines.join('\n')}\n`);
    rl.setPrompt(session.prompt());
    rl.prompt();
  };

  rl.on('line', (raw) => {
    const text = pendingBlock === '' ? raw : `${pendingBlock}\n${raw}`;
    if (needsMoreInput(text)) {
      // An open `{` continues on the next line, as script blocks often do.
      pendingBlock = text;
      rl.setPrompt('... ');
      rl.prompt();
      return;
    }
    pendingBlock = '';
    remember(text);
    chain = chain.then(() => run(text));
  });

  rl.on('SIGINT', () => {
    if (pendingBlock !== '' || rl.line !== '') {
      // Ctrl+C with text typed abandons the line, as in a shell.
      pendingBlock = '';
      (rl as unknown as { line: string }).line = '';
      output.write('^C\n');
      rl.setPrompt(session.prompt());
      rl.prompt();
      return;
    }
    output.write('^C\n');
    if (!session.connected) printAbove(['not connected (type exit to quit)']);
    else if (session.isLocal) printAbove(['local mode: the guest cannot be paused (type exit to quit)']);
    else if (session.state === 'halted') printAbove(['the guest is already halted (type exit to quit)']);
    else if (session.role === 'observer') printAbove(['observers cannot pause the guest (type exit to quit)']);
    else {
      // Not queued behind the running command: a `.wait halt` or `g` loop must be interruptible.
      void session.execute('pause').then((o) => printAbove(o.lines));
    }
  });

  return new Promise<void>((resolve) => {
    rl.on('close', () => {
      closed = true;
      void chain.then(() => {
        session.off('output', onOutput);
        session.off('state', onState);
        session.off('exit', onExit);
        session.off('clear', onClear);
        resolve();
      });
    });
    rl.prompt();
  });
}
