/**
 * Starts `hvdbg-debuggee` on loopback for `hvdbg local`, `.connect local` and `run --local`: the
 * daemon is this repository's sibling package, found relative to this file, and reports its port
 * as one JSON line on stdout. Its stderr log is kept (bounded) to explain an early exit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HvdbgError } from '@hvdbg/protocol';
import type { LocalDaemon } from './session.js';

/** packages/debugger/{dist,src}/ → packages/debuggee/dist/main.js */
export const DAEMON_MAIN = fileURLToPath(new URL('../../debuggee/dist/main.js', import.meta.url));

export interface LocalDaemonOptions {
  workload?: string;
  vcpus?: number;
  /** Local mode (breaks refused). `run --local` uses it; default true. */
  local?: boolean;
  extraArgs?: string[];
  /** Milliseconds to wait for the listening line (default 20000). */
  startTimeoutMs?: number;
}

/** Bytes of daemon stderr kept for error messages. */
const STDERR_KEEP = 8192;

export async function startLocalDaemon(
  options: LocalDaemonOptions = {},
): Promise<LocalDaemon & { process: ChildProcess }> {
  if (!existsSync(DAEMON_MAIN)) {
    throw new HvdbgError('E_CONFIG', `the daemon is not built (${DAEMON_MAIN} is missing): run npm run build`);
  }
  // --exit-with-stdin: the daemon leaves when this process does, however it ends.
  const args = [DAEMON_MAIN, '--listen', '127.0.0.1:0', '--log-level', 'warn', '--exit-with-stdin'];
  if (options.local ?? true) args.push('--local');
  if (options.workload !== undefined) args.push('--workload', options.workload);
  if (options.vcpus !== undefined) args.push('--vcpus', String(options.vcpus));
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  // If this process exits for any reason (exit(), an uncaught error, a signal handled by exiting),
  // the daemon it started must not be left running on its own.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  try {
    const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new HvdbgError('E_TIMEOUT', `the daemon did not start in time\n${stderr}`)),
        options.startTimeoutMs ?? 20_000,
      );
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        try {
          const parsed = JSON.parse(line) as { listening?: { host: string; port: number } };
          if (parsed.listening !== undefined) {
            clearTimeout(timer);
            resolve(parsed.listening);
          }
        } catch {
          // Only the listening line matters; anything else on stdout is ignored.
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new HvdbgError('E_CONFIG', `cannot start the daemon: ${err.message}`));
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new HvdbgError('E_CONFIG', `the daemon exited (${code}) before listening\n${stderr.trim()}`));
      });
    });
    return { url: `ws://${address.host}:${address.port}`, stop, process: child };
  } catch (err) {
    await stop();
    throw err;
  }
}
