/**
 * The daemon's configuration: command-line options (and HVDBG_TOKEN) → one typed, validated
 * object. Every problem is an E_CONFIG error naming the option, raised before anything starts.
 */
import { HvdbgError, SERVER_VERSION } from '@hvdbg/protocol';
import type { LevelWithSilent } from 'pino';
import yargs from 'yargs';
import { isLogLevel, LOG_LEVELS } from './log.js';

export type Workload = 'mixed' | 'compute' | 'syscalls';
export const WORKLOADS: readonly Workload[] = ['mixed', 'compute', 'syscalls'];

/** What happens to a halted guest when its controller goes away without detaching. */
export type ControllerLossPolicy = 'stay' | { resumeAfterMs: number };

export interface HostPort {
  host: string;
  port: number;
}

export interface DaemonConfig {
  /** Address the WebSocket server binds; port 0 picks a free one (printed on stdout). */
  listen: HostPort;
  /** Shared secret clients must present in hello; required for any non-loopback bind. */
  token: string | undefined;
  /** Guest ELF image; undefined = the built-in kernel. */
  guest: string | undefined;
  /** Number of virtual CPUs. */
  vcpus: number;
  /** Guest physical memory in bytes. */
  memoryBytes: bigint;
  /** What the built-in kernel runs. */
  workload: Workload;
  /** Throttle the guest instead of dropping log messages when the controller lags. */
  lossless: boolean;
  /** Halted guest on controller loss: stays halted, or resumes after a grace period. */
  onControllerLoss: ControllerLossPolicy;
  /** pino level for the JSON log on stderr. */
  logLevel: LevelWithSilent;
  /** Local mode: break actions and pause are refused (the debugger shares the machine). */
  local: boolean;
  /** Optional GDB remote-protocol listener (served by the gdb stub). */
  gdb: HostPort | undefined;
  /** Start with every vCPU halted (reason 'startup'), waiting for a controller. */
  halted: boolean;
  /** Extra names clients may use in the Host header (e.g. a container's service name). */
  allowHosts: string[];
  /** Shut down when standard input closes: a launcher's lifeline, so its daemon never outlives it. */
  exitWithStdin: boolean;
}

/** Default daemon port; clients use it when none is given. */
export const DEFAULT_PORT = 9871;

export const DEFAULTS: DaemonConfig = {
  // Loopback only: exposing a debugger is an explicit decision (and needs a token).
  listen: { host: '127.0.0.1', port: DEFAULT_PORT },
  // No token: fine on loopback, refused elsewhere.
  token: undefined,
  // The kernel shipped with the package.
  guest: undefined,
  // Two vCPUs show multi-core halting without slowing the emulator much.
  vcpus: 2,
  // 256 MiB, as a small Linux-like guest would have.
  memoryBytes: 256n * 1024n * 1024n,
  // A mix of compute and system calls, so every event kind has something to catch.
  workload: 'mixed',
  // Default mode drops (and reports) instead of slowing the guest, like HyperDbg.
  lossless: false,
  // A debugger that dropped off a flaky link must not find its target moved on (SPEC §6.1.9).
  onControllerLoss: 'stay',
  // Lifecycle and connection events; per-request detail at debug.
  logLevel: 'info',
  // Remote mode: the debugger runs elsewhere, breaks are allowed.
  local: false,
  // No gdb port unless asked for: it has no authentication.
  gdb: undefined,
  // The guest boots and runs at once.
  halted: false,
  // Loopback names, the bound address and (wildcard binds) interface addresses are always allowed.
  allowHosts: [],
  // A daemon started by hand or by a service manager ignores its standard input.
  exitWithStdin: false,
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** True for addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return LOOPBACK_HOSTS.has(bare.toLowerCase()) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

function configError(option: string, message: string): HvdbgError {
  return new HvdbgError('E_CONFIG', `--${option}: ${message}`, { option });
}

/** `host:port`, `[v6]:port`, or `:port`/`port` (loopback host). */
export function parseHostPort(text: string, option: string, defaultHost = DEFAULTS.listen.host): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (m === null) throw configError(option, `expected host:port, got '${text}'`);
  const host = m[1] || m[2] || defaultHost;
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw configError(option, `port out of range in '${text}'`);
  return { host, port };
}

const MEMORY_UNITS: Record<string, bigint> = { '': 1n, K: 1n << 10n, M: 1n << 20n, G: 1n << 30n };
const MIN_MEMORY = 1n << 20n;
const MAX_MEMORY = 4n << 30n;

/** `256M`, `1G`, `65536K` or a byte count. */
export function parseMemory(text: string): bigint {
  const m = /^(\d+)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (m === null) throw configError('memory', `expected a size such as 256M, got '${text}'`);
  const bytes = BigInt(m[1]!) * MEMORY_UNITS[m[2]!.toUpperCase()]!;
  if (bytes < MIN_MEMORY || bytes > MAX_MEMORY) throw configError('memory', 'must be between 1M and 4G');
  return bytes;
}

/** `stay` or `resume=SECONDS`. */
export function parseControllerLoss(text: string): ControllerLossPolicy {
  if (text === 'stay') return 'stay';
  const m = /^resume=(\d+(?:\.\d+)?)$/.exec(text);
  if (m === null) throw configError('on-controller-loss', `expected stay or resume=SECONDS, got '${text}'`);
  const seconds = Number(m[1]);
  if (seconds > 86_400) throw configError('on-controller-loss', 'grace period longer than a day');
  return { resumeAfterMs: Math.round(seconds * 1000) };
}

export type ConfigResult = { kind: 'run'; config: DaemonConfig } | { kind: 'exit' };

/**
 * Reads argv (without the node and script entries) and the environment. Returns `exit` when yargs
 * already printed help or the version; throws E_CONFIG for anything invalid.
 */
export function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ConfigResult {
  const parsed = yargs([...argv])
    .scriptName('hvdbg-debuggee')
    .usage('$0 [options]\n\nRuns the emulated guest and serves debugger clients over WebSocket.')
    .exitProcess(false)
    .strict()
    .option('listen', {
      type: 'string',
      describe: 'host:port to serve clients on (port 0 = any free port)',
      defaultDescription: `127.0.0.1:${DEFAULT_PORT}`,
    })
    .option('token', { type: 'string', describe: 'shared secret clients must present (default: $HVDBG_TOKEN)' })
    .option('guest', { type: 'string', describe: 'guest ELF image (default: the built-in kernel)' })
    .option('vcpus', { type: 'number', describe: 'number of virtual CPUs', defaultDescription: String(DEFAULTS.vcpus) })
    .option('memory', { type: 'string', describe: 'guest memory, e.g. 256M', defaultDescription: '256M' })
    .option('workload', {
      type: 'string',
      choices: WORKLOADS,
      describe: 'what the built-in kernel runs',
      defaultDescription: DEFAULTS.workload,
    })
    .option('lossless', { type: 'boolean', describe: 'throttle the guest instead of dropping log messages' })
    .option('on-controller-loss', { type: 'string', describe: 'stay | resume=SECONDS', defaultDescription: 'stay' })
    .option('log-level', {
      type: 'string',
      choices: LOG_LEVELS,
      describe: 'stderr JSON log level',
      defaultDescription: DEFAULTS.logLevel,
    })
    .option('local', { type: 'boolean', describe: 'local mode: breaking is refused' })
    .option('gdb', { type: 'string', describe: 'also serve the GDB remote protocol on host:port' })
    .option('halted', { type: 'boolean', describe: 'start with the guest halted' })
    .option('allow-host', {
      type: 'string',
      array: true,
      describe: 'another name clients may reach the daemon by (Host header), e.g. a service name',
    })
    .option('exit-with-stdin', {
      type: 'boolean',
      describe: 'shut down when standard input closes (used by `hvdbg local` so its daemon never outlives it)',
    })
    .fail((message, err) => {
      throw err instanceof HvdbgError ? err : new HvdbgError('E_CONFIG', message ?? String(err));
    })
    .help()
    .version(SERVER_VERSION)
    .parseSync();
  if (parsed.help === true || parsed.version === true) return { kind: 'exit' };
  if (parsed._.length > 0) throw new HvdbgError('E_CONFIG', `unexpected argument '${String(parsed._[0])}'`);

  const config: DaemonConfig = { ...DEFAULTS };
  if (parsed.listen !== undefined) config.listen = parseHostPort(parsed.listen, 'listen');
  const token = parsed.token ?? env.HVDBG_TOKEN;
  if (token !== undefined && token !== '') config.token = token;
  if (parsed.guest !== undefined) config.guest = parsed.guest;
  if (parsed.vcpus !== undefined) {
    if (!Number.isInteger(parsed.vcpus) || parsed.vcpus < 1 || parsed.vcpus > 64) {
      throw configError('vcpus', 'must be an integer from 1 to 64');
    }
    config.vcpus = parsed.vcpus;
  }
  if (parsed.memory !== undefined) config.memoryBytes = parseMemory(parsed.memory);
  if (parsed.workload !== undefined) config.workload = parsed.workload as Workload;
  if (parsed.lossless !== undefined) config.lossless = parsed.lossless;
  if (parsed['on-controller-loss'] !== undefined) {
    config.onControllerLoss = parseControllerLoss(parsed['on-controller-loss']);
  }
  if (parsed['log-level'] !== undefined) {
    if (!isLogLevel(parsed['log-level'])) throw configError('log-level', `unknown level '${parsed['log-level']}'`);
    config.logLevel = parsed['log-level'];
  }
  if (parsed.local !== undefined) config.local = parsed.local;
  if (parsed.gdb !== undefined) {
    config.gdb = parseHostPort(parsed.gdb, 'gdb');
    if (!isLoopbackHost(config.gdb.host)) throw configError('gdb', 'the gdb port has no authentication: loopback only');
  }
  if (parsed.halted !== undefined) config.halted = parsed.halted;
  if (parsed['exit-with-stdin'] !== undefined) config.exitWithStdin = parsed['exit-with-stdin'];
  const allow = [...(parsed['allow-host'] ?? []), ...(env.HVDBG_ALLOW_HOSTS ?? '').split(',')];
  config.allowHosts = allow.map((h) => h.trim()).filter((h) => h !== '');
  for (const h of config.allowHosts) {
    if (!/^[A-Za-z0-9.:_-]+$/.test(h)) throw configError('allow-host', `'${h}' is not a host name`);
  }
  validateExposure(config);
  return { kind: 'run', config };
}

/** Binding anything but loopback without a token would hand the guest to the network. */
export function validateExposure(config: Pick<DaemonConfig, 'listen' | 'token'>): void {
  if (!isLoopbackHost(config.listen.host) && config.token === undefined) {
    throw configError('listen', `binding ${config.listen.host} needs a token (--token or HVDBG_TOKEN)`);
  }
}
