/**
 * Library-side helpers for the e2e scenarios: a DebugSession connected to a real daemon, with the
 * notifications it receives recorded in arrival order.
 */

import { type CommandOutcome, DebugSession } from '@hvdbg/debugger';
import type { HaltInfo, LogRecord } from '@hvdbg/protocol';
import { afterAll, beforeAll, expect } from 'vitest';
import { type DaemonOptions, type RunningDaemon, startDaemon } from './harness.js';

export interface Recorder {
  session: DebugSession;
  /** Every log record, in arrival order. */
  logs: LogRecord[];
  /** Guest console text received so far. */
  console: () => string;
  /** Everything in arrival order: 'log:<seq>', 'halt:<reason>', 'resumed'. */
  stream: string[];
  halts: HaltInfo[];
  /** Runs a command and fails the test with its output when it did not succeed. */
  run: (line: string) => Promise<CommandOutcome>;
  close: () => Promise<void>;
}

export async function connect(
  url: string,
  role: 'controller' | 'observer' = 'controller',
  clientName = 'e2e',
): Promise<Recorder> {
  const session = new DebugSession({ clientName });
  const logs: LogRecord[] = [];
  const stream: string[] = [];
  const halts: HaltInfo[] = [];
  let consoleText = '';
  session.client.on('log', (batch) => {
    for (const record of batch) {
      logs.push(record);
      stream.push(`log:${record.seq}`);
    }
  });
  session.client.on('halted', (halt) => {
    halts.push(halt);
    stream.push(`halt:${halt.reason}`);
  });
  session.client.on('resumed', () => stream.push('resumed'));
  session.client.on('console', (text) => {
    consoleText += text;
  });
  await session.connect(url, { role });
  const run = async (line: string): Promise<CommandOutcome> => {
    const outcome = await session.execute(line);
    expect(
      outcome.ok,
      `${line} failed: ${outcome.error?.code} ${outcome.error?.message}\n${outcome.lines.join('\n')}`,
    ).toBe(true);
    return outcome;
  };
  return { session, logs, console: () => consoleText, stream, halts, run, close: () => session.disconnect() };
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads a little-endian u64 from guest virtual memory through the daemon. */
export async function readU64(session: DebugSession, address: bigint): Promise<bigint> {
  const { bytes } = await session.request('mem.read', { address, length: 8, space: 'virtual' });
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

export async function symbolAddress(session: DebugSession, name: string): Promise<bigint> {
  const { symbols } = await session.request('symbols.lookup', { name });
  const found = symbols.find((s) => s.name === name || `${s.module}!${s.name}` === name);
  if (found === undefined) throw new Error(`no symbol ${name}`);
  return found.address;
}

/**
 * Registers the usual lifecycle for a describe block: one daemon started with `options` and one
 * controller connected to it before the tests, both stopped after. Read the fields inside tests.
 */
export function useDaemonWithController(options: DaemonOptions = {}): { daemon: RunningDaemon; ctl: Recorder } {
  const fixture = {} as { daemon: RunningDaemon; ctl: Recorder };
  beforeAll(async () => {
    fixture.daemon = await startDaemon(options);
    fixture.ctl = await connect(fixture.daemon.url);
  });
  afterAll(async () => {
    await fixture.ctl?.close();
    await fixture.daemon?.stop();
  });
  return fixture;
}
