#!/usr/bin/env node
/**
 * `hvdbg`: the debugger's command line. `local` starts a loopback daemon in local mode and opens
 * the REPL on it; `connect` attaches to a running daemon; `run -x file` executes a batch file and
 * exits 0 only if every command succeeded. Composition only: the work lives in session, repl and
 * batch.
 */
import { readFileSync } from 'node:fs';
import { SERVER_VERSION } from '@hvdbg/protocol';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runBatch, splitBatch } from './batch.js';
import { renderCommandReference } from './commands/table.js';
import { formatError } from './format.js';
import { type LocalDaemonOptions, startLocalDaemon } from './localDaemon.js';
import { runRepl } from './repl.js';
import { DebugSession, type LocalDaemon } from './session.js';

interface Common {
  workload?: string;
  vcpus?: number;
}

function newSession(daemonOptions: LocalDaemonOptions, color: boolean): DebugSession {
  return new DebugSession({ color, clientName: 'hvdbg', spawnLocal: () => startLocalDaemon(daemonOptions) });
}

function daemonOptions(argv: Common): LocalDaemonOptions {
  return {
    ...(argv.workload === undefined ? {} : { workload: argv.workload }),
    ...(argv.vcpus === undefined ? {} : { vcpus: argv.vcpus }),
  };
}

/** Interactive session on a fresh local daemon or a remote one; resolves with the exit code. */
async function interactive(session: DebugSession, attach: () => Promise<void>): Promise<number> {
  // Killed or hung up: leave cleanly so a daemon `hvdbg local` started does not outlive us.
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void session.disconnect().finally(() => exitAfterFlush(1));
    });
  }
  try {
    await attach();
  } catch (err) {
    process.stderr.write(`${formatError(err)}\n`);
    await session.disconnect();
    return 1;
  }
  const w = session.welcome!;
  process.stdout.write(
    `hvdbg ${SERVER_VERSION}: ${w.guest.name}, ${w.guest.vcpus} vCPU${w.guest.vcpus === 1 ? '' : 's'}, ${w.mode} mode, ${w.role}. help lists the commands.\n`,
  );
  await runRepl(session, { input: process.stdin, output: process.stdout });
  await session.disconnect();
  return 0;
}

async function batch(argv: {
  x: string;
  local?: boolean;
  connect?: string;
  token?: string;
  json?: boolean;
  workload?: string;
  vcpus?: number;
}): Promise<number> {
  const write = (line: string) => process.stdout.write(`${line}\n`);
  let text: string;
  try {
    text = readFileSync(argv.x, 'utf8');
  } catch (err) {
    process.stderr.write(`error: cannot read ${argv.x}: ${(err as Error).message}\n`);
    return 2;
  }
  const session = new DebugSession({ clientName: 'hvdbg-batch' });
  let daemon: LocalDaemon | undefined;
  // Interrupted, even while the daemon is still starting: leave cleanly; exiting also stops a
  // daemon this run started (localDaemon kills it on exit).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void session
        .disconnect()
        .then(() => daemon?.stop())
        .finally(() => exitAfterFlush(130));
    });
  }
  try {
    if (argv.connect !== undefined) {
      await session.connect(argv.connect, { role: 'controller', ...(argv.token ? { token: argv.token } : {}) });
    } else {
      daemon = await startLocalDaemon(daemonOptions(argv));
      await session.connect(daemon.url, { role: 'controller' });
    }
  } catch (err) {
    const line = formatError(err);
    if (argv.json) write(JSON.stringify({ type: 'error', message: line }));
    else process.stderr.write(`${line}\n`);
    await daemon?.stop();
    return 1;
  }
  let ok = false;
  try {
    ok = await runBatch(session, splitBatch(text), { json: argv.json ?? false, write });
  } finally {
    await session.disconnect();
    await daemon?.stop();
  }
  return ok ? 0 : 1;
}

async function main(): Promise<number> {
  let code = 0;
  const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
  await yargs(hideBin(process.argv))
    .scriptName('hvdbg')
    .version(SERVER_VERSION)
    .strict()
    .command(
      'local',
      'start a local daemon (local mode) and attach to it',
      (y) =>
        y
          .option('workload', {
            type: 'string',
            describe: 'what the built-in guest kernel runs (mixed, compute, syscalls)',
          })
          .option('vcpus', { type: 'number', describe: 'number of virtual CPUs' }),
      async (argv) => {
        const opts = daemonOptions(argv);
        const session = newSession(opts, color);
        code = await interactive(session, async () => {
          await session.connectLocal();
        });
      },
    )
    .command(
      'connect <target>',
      'attach to a running daemon (host:port or ws:// URL)',
      (y) =>
        y
          .positional('target', { type: 'string', demandOption: true })
          .option('token', { type: 'string', describe: 'the daemon token (default: $HVDBG_TOKEN)' })
          .option('observe', { type: 'boolean', describe: 'attach as a read-only observer' }),
      async (argv) => {
        const session = newSession({}, color);
        const token = argv.token ?? process.env.HVDBG_TOKEN;
        code = await interactive(session, async () => {
          await session.connect(argv.target, {
            role: argv.observe ? 'observer' : 'controller',
            ...(token ? { token } : {}),
          });
        });
      },
    )
    .command(
      'run',
      'run a batch file of commands and exit (0 = every command succeeded)',
      (y) =>
        y
          .option('x', { type: 'string', demandOption: true, describe: 'the batch file (.hds)' })
          .option('local', { type: 'boolean', describe: 'run against a fresh local daemon (the default)' })
          .option('connect', { type: 'string', describe: 'run against a running daemon at host:port' })
          .option('token', { type: 'string', describe: 'the daemon token (default: $HVDBG_TOKEN)' })
          .option('json', {
            type: 'boolean',
            describe: 'one JSON object per result, halt, log message and console line',
          })
          .option('workload', { type: 'string', describe: 'workload of the local daemon' })
          .option('vcpus', { type: 'number', describe: 'vCPUs of the local daemon' })
          .conflicts('local', 'connect'),
      async (argv) => {
        const token = argv.token ?? process.env.HVDBG_TOKEN;
        code = await batch({ ...argv, ...(token ? { token } : {}) });
      },
    )
    .command(
      'reference',
      'print the command reference as markdown (the README embeds it)',
      (y) => y,
      () => {
        process.stdout.write(renderCommandReference());
      },
    )
    .demandCommand(1, 'choose a command: local, connect or run')
    .help()
    .parseAsync();
  return code;
}

/** Exits once everything written to stdout has been flushed (pipes are asynchronous in Node). */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

main().then(exitAfterFlush, (err: unknown) => {
  process.stderr.write(`${formatError(err)}\n`);
  exitAfterFlush(1);
});
