/**
 * The daemon's root logger. pino writes JSON lines to stderr (stdout carries only the one
 * machine-readable `{"listening":…}` line); every client session logs through a child carrying its
 * `sessionId`, so one connection's story can be filtered out of a busy log.
 *
 * Nothing on a hot path logs: the CPU loop, event dispatch and script VM report through return
 * values, because even a disabled pino level evaluates its arguments.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function isLogLevel(value: string): value is LevelWithSilent {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** The root logger; `destination` defaults to stderr (fd 2), written synchronously so a crash loses nothing. */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    { name: 'hvdbg-debuggee', level, base: { pid: process.pid } },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** The per-connection child logger. */
export function sessionLogger(root: Logger, sessionId: number): Logger {
  return root.child({ sessionId });
}
