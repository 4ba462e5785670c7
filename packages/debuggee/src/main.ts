#!/usr/bin/env node
/**
 * `hvdbg-debuggee`: the composition root. Reads the configuration, builds the target and the
 * server by hand, prints the bound address as one JSON line on stdout (`{"listening":…}`, for the
 * client and the tests to find a random port), and shuts down cleanly on SIGINT/SIGTERM: clients
 * get `sessionClosed`, the guest is stopped, the exit code is 0.
 */
import { HvdbgError } from '@hvdbg/protocol';
import type { Logger } from 'pino';
import { type DaemonConfig, readConfig } from './config.js';
import { Debuggee } from './debuggee.js';
import { createLogger } from './log.js';
import { gdbControllerHooks } from './server/gdb/controller.js';
import { type GdbStub, startGdbStub } from './server/gdb/stub.js';
import { DAEMON_SLICE_INSTRUCTIONS } from './server/runLoop.js';
import { DebuggeeServer } from './server/server.js';
import type { DebugTarget } from './target.js';

/** Exit codes: 0 clean, 1 failure at run time, 2 bad configuration or guest image. */
const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** A graceful shutdown that hangs (a stuck peer, a wedged target) must not keep the process up. */
const SHUTDOWN_DEADLINE_MS = 5000;

/** The one place the real target is built: machine + hypervisor + events behind DebugTarget. */
function createTarget(config: DaemonConfig, log: Logger): DebugTarget {
  return new Debuggee({
    guestPath: config.guest,
    vcpus: config.vcpus,
    memoryBytes: config.memoryBytes,
    workload: config.workload,
    lossless: config.lossless,
    mode: config.local ? 'local' : 'remote',
    halted: config.halted,
    sliceInstructions: DAEMON_SLICE_INSTRUCTIONS,
    log: log.child({ component: 'target' }),
  });
}

async function main(argv: readonly string[]): Promise<number> {
  let config: DaemonConfig;
  try {
    const result = readConfig(argv);
    if (result.kind === 'exit') return EXIT_OK;
    config = result.config;
  } catch (err) {
    return reportStartupError(err);
  }

  const log = createLogger(config.logLevel);
  let server: DebuggeeServer;
  let gdb: GdbStub | undefined;
  try {
    const target = createTarget(config, log);
    server = new DebuggeeServer(target, {
      host: config.listen.host,
      port: config.listen.port,
      token: config.token,
      mode: target.mode,
      onControllerLoss: config.onControllerLoss,
      allowedHosts: config.allowHosts,
      log,
    });
    const bound = await server.listen();
    if (config.gdb !== undefined) {
      const gdbLog = log.child({ component: 'gdb' });
      const hooks = gdbControllerHooks(server.roles, (byClient, change) => server.announce(byClient, change));
      gdb = await startGdbStub(target, { ...config.gdb, log: gdbLog, forward: server, controller: hooks });
    }
    const gdbAddress = gdb === undefined ? {} : { gdb: { host: gdb.host, port: gdb.port } };
    process.stdout.write(`${JSON.stringify({ listening: { host: bound.host, port: bound.port }, ...gdbAddress })}\n`);
  } catch (err) {
    if (!(err instanceof HvdbgError)) log.fatal({ err }, 'startup failed');
    return reportStartupError(err);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (reason: string, code: number) => {
      if (stopping) return;
      stopping = true;
      void gdb?.close();
      setTimeout(() => {
        log.error('shutdown deadline passed; exiting');
        resolve(EXIT_FAILURE);
      }, SHUTDOWN_DEADLINE_MS).unref();
      server.close(reason).then(
        () => resolve(code),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(EXIT_FAILURE);
        },
      );
    };
    process.once('SIGINT', () => stop('daemon interrupted (SIGINT)', EXIT_OK));
    process.once('SIGTERM', () => stop('daemon terminated (SIGTERM)', EXIT_OK));
    if (config.exitWithStdin) {
      // The launcher holds the other end of our stdin; when it dies (even by SIGKILL) the pipe
      // closes and we leave too, instead of running on as an orphan.
      process.stdin.on('data', () => undefined);
      process.stdin.once('close', () => stop('launcher went away (stdin closed)', EXIT_OK));
    }
    // A bug that escaped every handler: state is suspect, so tell the clients and leave.
    process.on('uncaughtException', (err) => {
      log.fatal({ err }, 'uncaught exception');
      stop('daemon internal error', EXIT_FAILURE);
    });
  });
}

function reportStartupError(err: unknown): number {
  if (err instanceof HvdbgError) {
    process.stderr.write(`hvdbg-debuggee: ${err.code}: ${err.message}\n`);
    return err.code === 'E_CONFIG' || err.code === 'E_BAD_IMAGE' ? EXIT_USAGE : EXIT_FAILURE;
  }
  process.stderr.write(`hvdbg-debuggee: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT_FAILURE;
}

process.exitCode = await main(process.argv.slice(2));
// Sockets and timers are closed by now; anything left (a stuck handle) must not keep us alive.
setTimeout(() => process.exit(), 200).unref();
