/**
 * Starts the real `hvdbg-debuggee` executable (built JavaScript, as a user would run it) on a random
 * loopback port and hands out its address; runs the real `hvdbg` CLI as a process. Every process a
 * test starts is stopped by `stop()` / when the helper returns, so no test leaves a daemon behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DAEMON_MAIN = join(ROOT, 'packages/debuggee/dist/main.js');
export const CLI_MAIN = join(ROOT, 'packages/debugger/dist/cli.js');

export function assertBuilt(): void {
  for (const file of [DAEMON_MAIN, CLI_MAIN]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before the e2e suite`);
  }
}

export interface DaemonOptions {
  local?: boolean;
  token?: string;
  workload?: 'mixed' | 'compute' | 'syscalls';
  vcpus?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
}

export interface RunningDaemon {
  url: string;
  host: string;
  port: number;
  process: ChildProcess;
  /** Everything the daemon wrote to stderr (pino JSON lines), for failure messages. */
  stderr: () => string;
  stop: () => Promise<number | null>;
}

export async function startDaemon(options: DaemonOptions = {}): Promise<RunningDaemon> {
  assertBuilt();
  const args = [DAEMON_MAIN, '--listen', '127.0.0.1:0', '--log-level', 'warn', '--exit-with-stdin'];
  if (options.local) args.push('--local');
  if (options.token) args.push('--token', options.token);
  if (options.workload) args.push('--workload', options.workload);
  if (options.vcpus) args.push('--vcpus', String(options.vcpus));
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, {
    // Our end of its stdin is the daemon's lifeline: a crashed test run leaves no daemon behind.
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not report its address in time\n${stderr}`)), 20_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { listening?: { host: string; port: number } };
        if (parsed.listening) {
          clearTimeout(timer);
          resolve(parsed.listening);
        }
      } catch {
        // Not the address line; the daemon prints nothing else on stdout, but be lenient.
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before listening\n${stderr}`));
    });
  });
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const code = await exited;
    clearTimeout(killer);
    return code;
  };
  return {
    url: `ws://${address.host}:${address.port}`,
    host: address.host,
    port: address.port,
    process: child,
    stderr: () => stderr,
    stop,
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `hvdbg` CLI to completion with the given arguments and optional stdin text. */
export function runCli(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hvdbg ${args.join(' ')} timed out\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
