/**
 * Everything the debugger prints, as pure functions of data: memory dumps, register sets, halts,
 * log lines, event and breakpoint listings, and the one-line message for every error code. Tests
 * compare these strings exactly; the REPL and batch mode only add colour and line discipline.
 */
import {
  type BreakpointInfo,
  ERROR_CATALOGUE,
  type ErrorCode,
  type EventInfo,
  type HaltInfo,
  HvdbgError,
  LOG_KIND_BUFFER,
  LOG_KIND_ERROR,
  LOG_KIND_WARNING,
  type LogRecord,
  type StateChangedNotice,
  type StateChangeKind,
} from '@hvdbg/protocol';
import { hex, hexPad, readLE } from './numbers.js';

const STATE_CHANGE_NAMES: Record<StateChangeKind, string> = {
  registers: 'registers',
  memory: 'memory',
  breakpoints: 'breakpoints',
  core: 'main core',
  msr: 'MSR',
  shortCircuit: 'short-circuiting',
  queue: 'message queue',
};

/** Another client's change: `registers changed by client 2 (vcpu 1, rax)`. */
export function formatStateChange(change: Omit<StateChangedNotice, 't'>): string {
  const parts: string[] = [];
  if (change.vcpu !== undefined) parts.push(`vcpu ${change.vcpu}`);
  if (change.address !== undefined) {
    parts.push(change.length === undefined ? hex(change.address) : `${hex(change.address)} l ${hex(change.length)}`);
  }
  if (change.detail !== undefined && change.detail !== '') parts.push(change.detail);
  const what = `${STATE_CHANGE_NAMES[change.what]} changed by client ${change.byClient}`;
  return parts.length === 0 ? what : `${what} (${parts.join(', ')})`;
}

/** What a user should read for each code: what happened and, where it helps, what to do. */
export const ERROR_MESSAGES: Record<ErrorCode, string> = {
  E_BAD_MESSAGE: 'the daemon could not read a message (client and daemon disagree on the wire format)',
  E_UNKNOWN_REQUEST: 'the daemon does not support this command (it may be an older version)',
  E_TOO_LARGE: 'too large: a length, script or buffer exceeds a protocol limit',
  E_TOO_MANY_PENDING: 'too many requests in flight; wait for earlier commands to finish',
  E_VERSION: 'protocol version mismatch between this client and the daemon',
  E_HANDSHAKE: 'the handshake failed',
  E_AUTH: 'authentication failed: the token is missing or wrong (use --token)',
  E_FORBIDDEN: 'observers cannot change guest state (connect without --observe to control)',
  E_CONTROLLER_TAKEN: 'another client is already the controller (use --observe to watch)',
  E_NOT_CONTROLLER: 'this command needs the controller role',
  E_NOT_HALTED: 'the guest is running; halt it first (pause or Ctrl+C)',
  E_NOT_RUNNING: 'the guest is already halted',
  E_LOCAL_MODE: 'not available in local mode: the debugger cannot halt the machine it runs on',
  E_BAD_VCPU: 'no such vCPU',
  E_GUEST_STOPPED: 'the guest machine has stopped (triple fault or shutdown)',
  E_BAD_ADDRESS: 'the address is not mapped or not accessible',
  E_BAD_REGISTER: 'no such register',
  E_BAD_VALUE: 'value out of range',
  E_BAD_EVENT: 'unknown event kind',
  E_BAD_PARAMETER: 'bad parameter or option',
  E_BAD_EVENT_ID: 'no event has that id (see `events`)',
  E_BAD_ACTION: 'the action list is invalid',
  E_HOOK_CONFLICT: 'the hook or monitor overlaps one that cannot share its page',
  E_SCRIPT_SYNTAX: 'the script does not compile',
  E_SCRIPT_VERIFY: 'the daemon rejected the compiled script',
  E_SCRIPT_RUNTIME: 'the script stopped with a run-time error',
  E_CODE_INVALID: 'the custom code or condition is invalid',
  E_CODE_RUNTIME: 'the custom code faulted, ran over budget or did not return',
  E_BAD_BREAKPOINT: 'no breakpoint has that id (see `bl`)',
  E_UNKNOWN_SYMBOL: 'unknown symbol (see `x mod!pattern*`)',
  E_BAD_IMAGE: 'the guest image is not a loadable ELF64 x86-64 file',
  E_CONFIG: 'the daemon configuration is invalid',
  E_DISCONNECTED: 'not connected to a daemon (use .connect)',
  E_TIMEOUT: 'timed out',
  E_INTERNAL: 'internal error in the daemon (its log has the details)',
};

/**
 * One line for any error: the client's message for the code, plus the daemon's own detail when it
 * says more than the catalogue default. Non-hvdbg errors are client bugs and say so.
 */
export function formatError(err: unknown): string {
  if (err instanceof HvdbgError) {
    const base = ERROR_MESSAGES[err.code];
    const detail = err.message.split('\n')[0]!;
    if (detail === '' || detail === ERROR_CATALOGUE[err.code] || detail === base) return `error: ${base} [${err.code}]`;
    return `error: ${detail} [${err.code}]`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `error: internal client error: ${message}`;
}

/** A syntax error with a caret under its column (1-based), for script blocks. */
export function formatCaret(source: string, line: number, column: number, message: string): string[] {
  const text = source.split('\n')[line - 1] ?? '';
  return [`error: ${message}`, `  ${text}`, `  ${' '.repeat(Math.max(0, column - 1))}^`];
}

export type DumpUnit = 'b' | 'w' | 'd' | 'q' | 'c';

const UNIT_SIZE: Record<DumpUnit, number> = { b: 1, w: 2, d: 4, q: 8, c: 4 };

export function unitSize(unit: DumpUnit): number {
  return UNIT_SIZE[unit];
}

function printable(byte: number): string {
  return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
}

/**
 * WinDbg-style dump: 16 bytes a line, address first; `db` adds a `-` between the halves and the
 * ASCII column, `dc` adds ASCII to dwords. A trailing partial unit is dropped.
 */
export function formatDump(address: bigint, bytes: Uint8Array, unit: DumpUnit): string[] {
  const size = UNIT_SIZE[unit];
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const end = Math.min(off + 16, bytes.length);
    const cells: string[] = [];
    for (let i = off; i + size <= end; i += size) cells.push(hexPad(readLE(bytes, i, size), size * 2));
    if (cells.length === 0) break;
    let body: string;
    if (unit === 'b') {
      body = cells.slice(0, 8).join(' ');
      if (cells.length > 8) body += `-${cells.slice(8).join(' ')}`;
      body = body.padEnd(16 * 3 - 1);
    } else body = cells.join(' ').padEnd((16 / size) * (size * 2 + 1) - 1);
    let line = `${hexPad(address + BigInt(off), 16)}  ${body}`;
    if (unit === 'b' || unit === 'c') {
      let ascii = '';
      for (let i = off; i < end; i++) ascii += printable(bytes[i]!);
      line += `  ${ascii}`;
    }
    lines.push(line.trimEnd());
  }
  return lines;
}

/** Registers in display order; others follow alphabetically. */
const REGISTER_ORDER = [
  'rax',
  'rbx',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'rbp',
  'rsp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rip',
  'rflags',
  'cs',
  'ds',
  'es',
  'fs',
  'gs',
  'ss',
  'cr0',
  'cr2',
  'cr3',
  'cr4',
  'cr8',
];

const RFLAGS_BITS: [number, string][] = [
  [11, 'of'],
  [10, 'df'],
  [9, 'if'],
  [8, 'tf'],
  [7, 'sf'],
  [6, 'zf'],
  [4, 'af'],
  [2, 'pf'],
  [0, 'cf'],
];

/** `zf cf if` style summary of the set flags. */
export function formatFlags(rflags: bigint): string {
  return RFLAGS_BITS.filter(([bit]) => (rflags >> BigInt(bit)) & 1n)
    .map(([, name]) => name)
    .join(' ');
}

export interface RegisterFormatOptions {
  /** Registers whose value differs from the previous halt. */
  changed?: ReadonlySet<string>;
  /** ANSI colour for changed registers; without it they are marked with `*`. */
  color?: boolean;
}

const SEGMENTS = new Set(['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'ldtr', 'tr']);
/** rax … r15, rip, rflags. */
const GENERAL = new Set(REGISTER_ORDER.slice(0, REGISTER_ORDER.indexOf('rflags') + 1));

/**
 * All registers: general purpose, RIP and RFLAGS three a line; selectors on one line; control,
 * debug and table registers three a line; then the set flags. Changed ones are highlighted.
 */
export function formatRegisters(regs: Record<string, bigint>, options: RegisterFormatOptions = {}): string[] {
  const names = Object.keys(regs);
  const ordered = [
    ...REGISTER_ORDER.filter((n) => n in regs),
    ...names.filter((n) => !REGISTER_ORDER.includes(n)).sort(),
  ];
  const cell = (name: string, pad: boolean) => {
    const segment = SEGMENTS.has(name);
    const text = `${pad ? name.padStart(6) : name}=${hexPad(regs[name]!, segment ? 4 : 16)}`;
    if (!options.changed?.has(name)) return `${text} `;
    return options.color ? `\x1b[1;31m${text}\x1b[0m ` : `${text}*`;
  };
  const rows = (list: string[]) => {
    const cells = list.map((n) => cell(n, true));
    const out: string[] = [];
    for (let i = 0; i < cells.length; i += 3)
      out.push(
        cells
          .slice(i, i + 3)
          .join(' ')
          .trimEnd(),
      );
    return out;
  };
  const general = ordered.filter((n) => GENERAL.has(n));
  const segments = ordered.filter((n) => SEGMENTS.has(n));
  const rest = ordered.filter((n) => !general.includes(n) && !segments.includes(n));
  const lines = rows(general);
  if (segments.length > 0)
    lines.push(
      `   ${segments
        .map((n) => cell(n, false))
        .join(' ')
        .trimEnd()}`,
    );
  lines.push(...rows(rest));
  if ('rflags' in regs) lines.push(`flags: ${formatFlags(regs.rflags!) || '-'}`);
  return lines;
}

/** Register names whose values differ between two snapshots. */
export function changedRegisters(prev: Record<string, bigint> | undefined, now: Record<string, bigint>): Set<string> {
  const out = new Set<string>();
  if (prev === undefined) return out;
  for (const [name, value] of Object.entries(now)) if (name in prev && prev[name] !== value) out.add(name);
  return out;
}

/** The first line of a halt report, as HyperDbg words it. */
export function formatHaltReason(halt: HaltInfo): string {
  switch (halt.reason) {
    case 'event':
      return `event ${hex(halt.eventId ?? 0)} triggered (${halt.stage ?? 'pre'})`;
    case 'breakpoint':
      return halt.eventId === undefined ? 'breakpoint hit' : `breakpoint ${hex(halt.eventId)} hit`;
    case 'step':
      return 'step finished';
    case 'pause':
      return 'paused';
    case 'watchpoint':
      return 'watchpoint hit';
    case 'startup':
      return 'halted at startup';
    case 'triple-fault':
      return 'the guest triple-faulted and cannot continue';
    case 'shutdown':
      return 'the guest shut down';
  }
}

/** `[event 0x3 vcpu 1] text`: every message comes from an event (ids start at 0). */
export function formatLog(record: LogRecord): string {
  const tag = `event ${hex(record.eventId)} vcpu ${record.vcpu}`;
  const prefix = record.kind === LOG_KIND_ERROR ? 'error: ' : record.kind === LOG_KIND_WARNING ? 'warning: ' : '';
  const late = record.late ? ' (late)' : '';
  let body: string;
  if (record.kind === LOG_KIND_BUFFER && record.bytes !== undefined) {
    body = `buffer ${Array.from(record.bytes, (b) => hexPad(b, 2)).join(' ')}`;
  } else body = (record.text ?? '').replace(/\n$/, '');
  return `[${tag}${late}] ${prefix}${body}`;
}

/** `events`: `<id> (enabled|disabled) <command text>` plus hits. */
export function formatEvents(events: readonly EventInfo[]): string[] {
  if (events.length === 0) return ['no events'];
  return events.map(
    (e) => `${hexPad(e.id, 2)} (${e.enabled ? 'enabled' : 'disabled'}) ${e.text}  [hits ${e.hits.toString()}]`,
  );
}

export function formatBreakpoints(
  list: readonly BreakpointInfo[],
  symbolize: (a: bigint) => string | undefined,
): string[] {
  if (list.length === 0) return ['no breakpoints'];
  return list.map((bp) => {
    const filters = [
      bp.pid === undefined ? '' : ` pid ${hex(bp.pid)}`,
      bp.tid === undefined ? '' : ` tid ${hex(bp.tid)}`,
      bp.core === undefined ? '' : ` core ${bp.core}`,
    ].join('');
    const sym = symbolize(bp.address);
    return `${hexPad(bp.id, 2)} ${bp.enabled ? 'e' : 'd'} ${hexPad(bp.address, 16)}${sym ? ` ${sym}` : ''}${filters}  [hits ${bp.hits.toString()}]`;
  });
}

/** `.formats`: one value in every base, as chars, and as a double. */
export function formatFormats(value: bigint): string[] {
  const signed = value >= 1n << 63n ? value - (1n << 64n) : value;
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value, true);
  const chars = Array.from(bytes.slice().reverse(), printable).join('');
  const asDouble = new DataView(bytes.buffer).getFloat64(0, true);
  const binary = value.toString(2).padStart(64, '0').match(/.{8}/g)!.join(' ');
  return [
    `Evaluate expression: ${signed.toString()} = ${hexPad(value, 16)}`,
    `Hex:     ${hexPad(value, 16)}`,
    `Decimal: ${signed.toString()}`,
    `Octal:   ${value.toString(8).padStart(22, '0')}`,
    `Binary:  ${binary}`,
    `Chars:   ${chars}`,
    `Double:  ${asDouble}`,
  ];
}

/**
 * Converts values for `--json` output: bigints become `"0x…"` strings and byte arrays hex strings,
 * so every line is plain JSON any tool can read.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return hex(value);
  if (value instanceof Uint8Array) return Array.from(value, (b) => hexPad(b, 2)).join('');
  return value;
}
