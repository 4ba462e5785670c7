/**
 * `monitor <command>` (qRcmd): a small bridge to hvdbg's own commands, so a gdb user can list and
 * toggle events, add event commands with script actions, read registers and see the status.
 *
 * The debugger package owns the full command language, but it depends on this package, so the
 * stub cannot import it; this file parses the subset below with the same syntax (SPEC §2.1/§2.2):
 *   help | status | events | events e|d|c ID|all | r [name[=value] …] | bl | bc ID|all
 *   ? <script> | !<kind> [parameters] [pid N] [core N] [stage pre|post|all] [sc on|off]
 *                [imm yes|no] [buffer N] [condition { hex }] [code { hex }] [script { … }]
 * Numbers are hex by default as in HyperDbg (`0n10` is decimal, `0x` is accepted); a number may be
 * a guest symbol, optionally `+offset`. Every error is an HvdbgError the caller reports as text.
 */
import { EVENT_KINDS, type EventKind, type EventSpec, HvdbgError, type Stage } from '@hvdbg/protocol';
import { compileScript } from '@hvdbg/script';
import type { DebugTarget } from '../../target.js';

export interface MonitorContext {
  target: DebugTarget;
  /** The vCPU gdb's register commands address (Hg). */
  vcpu: number;
  /** Client id the stub acts as, for attribution. */
  clientId: number | undefined;
}

const DEFAULT_REGISTERS = [
  'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
  'rip', 'rflags',
]; // biome-ignore format: table

const HELP = `hvdbg commands through gdb's monitor:
  status                         run state, halt reason, vCPUs, events, drops
  events                         list events
  events e|d|c ID|all            enable, disable or clear events
  r [name[=value] ...]           read or write registers of the current thread's vCPU
  bl / bc ID|all                 list / clear hidden breakpoints
  ? <script>                     evaluate a script on the current vCPU
  !<event> ... [script { ... }]  add an event (e.g. !syscall 1 script { printf("%x\\n", @rax); })
`;

/** Runs one command line; returns the text to show (lines end with '\n'). */
export function runMonitorCommand(line: string, ctx: MonitorContext): string {
  const text = line.trim();
  if (text === '' || text === 'help' || text === '.help') return HELP;
  if (text.startsWith('!')) return addEvent(text, ctx);
  if (text.startsWith('?')) return evaluate(text.slice(1), ctx);
  const words = text.split(/\s+/);
  const cmd = words[0]!.toLowerCase();
  switch (cmd) {
    case 'status':
      return status(ctx.target);
    case 'events':
      return events(words.slice(1), ctx.target);
    case 'r':
      return registers(words.slice(1), ctx);
    case 'bl':
      return breakpoints(ctx.target);
    case 'bc': {
      const n = ctx.target.modifyBreakpoint(parseId(words[1]), 'clear');
      return `${n} breakpoint(s) cleared\n`;
    }
    default:
      throw new HvdbgError('E_UNKNOWN_REQUEST', `unknown monitor command '${words[0]}' (monitor help lists them)`);
  }
}

function status(t: DebugTarget): string {
  const d = t.description();
  const halt = t.haltInfo();
  const lines = [
    `state: ${t.state()}${halt !== undefined ? ` (${halt.reason} on vCPU ${halt.vcpu} at ${hex(halt.rip)})` : ''}`,
    `guest: ${d.name}, ${d.vcpus} vCPU(s), ${d.memoryBytes / 1048576n} MiB, workload ${d.workload}`,
    `instructions: ${t.instructions()}`,
    `events: ${t.listEvents().length}, breakpoints: ${t.listBreakpoints().length}`,
    `mode: ${t.mode}${t.lossless ? ', lossless' : ''}, queue depth ${t.queueDepth()}, drops ${t.drops()}`,
  ];
  return `${lines.join('\n')}\n`;
}

function events(args: string[], t: DebugTarget): string {
  if (args.length === 0) {
    const list = t.listEvents();
    if (list.length === 0) return 'no events\n';
    return list
      .map(
        (e) =>
          `${e.id.toString(16).padStart(2)}  ${e.enabled ? 'enabled ' : 'disabled'}  ${e.text}  (hits ${e.hits})\n`,
      )
      .join('');
  }
  const action = { e: 'enable', d: 'disable', c: 'clear' }[args[0]!.toLowerCase()] as
    | 'enable'
    | 'disable'
    | 'clear'
    | undefined;
  if (action === undefined || args.length !== 2) throw new HvdbgError('E_BAD_PARAMETER', 'usage: events e|d|c ID|all');
  const n = t.modifyEvent(parseId(args[1]), action);
  return `${n} event(s) ${action === 'clear' ? 'cleared' : `${action}d`}\n`;
}

function breakpoints(t: DebugTarget): string {
  const list = t.listBreakpoints();
  if (list.length === 0) return 'no breakpoints\n';
  return list
    .map((b) => `${b.id.toString(16).padStart(2)}  ${b.enabled ? 'e' : 'd'}  ${hex(b.address)}  (hits ${b.hits})\n`)
    .join('');
}

function registers(args: string[], ctx: MonitorContext): string {
  const t = ctx.target;
  if (args.length === 1 && args[0]!.includes('=')) {
    const [name, value] = args[0]!.split('=', 2) as [string, string];
    t.writeRegister(ctx.vcpu, name, parseNumber(value, t));
    return '';
  }
  const names = args.length === 0 ? DEFAULT_REGISTERS : args;
  const values = t.readRegisters(ctx.vcpu, names);
  return names
    .map(
      (n) =>
        `${n}=${BigInt.asUintN(64, values[n] ?? 0n)
          .toString(16)
          .padStart(16, '0')}\n`,
    )
    .join('');
}

function evaluate(source: string, ctx: MonitorContext): string {
  const buffer = compile(source, ctx.target);
  const r = ctx.target.evalScript(buffer, ctx.vcpu);
  const out = r.output.map((l) => (l.endsWith('\n') ? l : `${l}\n`)).join('');
  if (r.error !== undefined) throw new HvdbgError('E_SCRIPT_RUNTIME', `${out}${r.error.code}: ${r.error.message}`);
  return out;
}

function compile(source: string, t: DebugTarget): Uint8Array {
  try {
    return compileScript(source, { symbols: (name) => lookupSymbol(name, t) });
  } catch (err) {
    if (err instanceof HvdbgError) throw err;
    throw new HvdbgError('E_SCRIPT_SYNTAX', err instanceof Error ? err.message : String(err));
  }
}

// -- event commands -------------------------------------------------------------------------------

interface Token {
  text: string;
  block: boolean;
}

/** Words and `{ … }` blocks (nested braces, braces inside script strings are respected). */
export function tokenize(line: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '{') {
      let depth = 0;
      let quote = '';
      const start = i + 1;
      for (; i < line.length; i++) {
        const ch = line[i]!;
        if (quote !== '') {
          if (ch === '\\') i++;
          else if (ch === quote) quote = '';
        } else if (ch === '"' || ch === "'") quote = ch;
        else if (ch === '{') depth++;
        else if (ch === '}' && --depth === 0) break;
      }
      if (depth !== 0) throw new HvdbgError('E_BAD_PARAMETER', 'unbalanced { in the command');
      out.push({ text: line.slice(start, i), block: true });
      i++;
    } else {
      const start = i;
      while (i < line.length && !/\s/.test(line[i]!) && line[i] !== '{') i++;
      out.push({ text: line.slice(start, i), block: false });
    }
  }
  return out;
}

const RET = 0xc3;
const OPTIONS = new Set(['pid', 'core', 'stage', 'sc', 'imm', 'buffer', 'script', 'condition', 'code']);
const ALIASES: Record<string, EventKind> = { syscall2: 'syscall', sysret2: 'sysret', msread: 'msrread', iout: 'ioout' };

/** Parses an event command (the subset documented at the top) into an EventSpec. */
export function parseEventCommand(line: string, t: DebugTarget): EventSpec {
  const tokens = tokenize(line);
  const head = tokens[0]!.text.slice(1).toLowerCase();
  const kind = (ALIASES[head] ?? head) as EventKind;
  if (!EVENT_KINDS.includes(kind)) throw new HvdbgError('E_BAD_EVENT', `'!${head}' is not an event command`);
  const spec: EventSpec = { kind, stage: 'pre', sc: false, imm: true, bufferSize: 0, actions: [], text: line.trim() };
  let i = 1;
  const positional: string[] = [];
  while (i < tokens.length && !tokens[i]!.block && !OPTIONS.has(tokens[i]!.text.toLowerCase())) {
    positional.push(tokens[i++]!.text);
  }
  parsePositional(kind, positional, spec, t);
  let script: string | undefined;
  let code: Uint8Array | undefined;
  while (i < tokens.length) {
    const tok = tokens[i++]!;
    const word = tok.text.toLowerCase();
    const value = tokens[i++];
    if (tok.block || !OPTIONS.has(word)) throw new HvdbgError('E_BAD_PARAMETER', `unexpected '${tok.text}'`);
    if (value === undefined) throw new HvdbgError('E_BAD_PARAMETER', `'${word}' needs a value`);
    if (word === 'script') {
      if (!value.block) throw new HvdbgError('E_BAD_PARAMETER', "'script' needs a { … } block");
      script = value.text;
    } else if (word === 'condition' || word === 'code') {
      if (!value.block) throw new HvdbgError('E_BAD_PARAMETER', `'${word}' needs a { … } block of hex bytes`);
      const bytes = hexBytes(value.text, word);
      // As the hvdbg client does (SPEC §3.2): a condition gets its `ret` appended here.
      if (word === 'condition') spec.condition = Uint8Array.from([...bytes, RET]);
      else code = bytes;
    } else if (value.block) {
      throw new HvdbgError('E_BAD_PARAMETER', `'${word}' expects a word, not a { … } block`);
    } else if (word === 'pid') {
      if (value.text.toLowerCase() !== 'all') spec.pid = Number(parseNumber(value.text, t));
    } else if (word === 'core') {
      spec.core = Number(parseNumber(value.text, t));
    } else if (word === 'stage') {
      if (!['pre', 'post', 'all'].includes(value.text))
        throw new HvdbgError('E_BAD_PARAMETER', 'stage is pre, post or all');
      spec.stage = value.text as Stage;
    } else if (word === 'sc') {
      spec.sc = onOff(value.text, 'on', 'off', 'sc');
    } else if (word === 'imm') {
      spec.imm = onOff(value.text, 'yes', 'no', 'imm');
    } else {
      spec.bufferSize = Number(parseNumber(value.text, t));
    }
  }
  if (code !== undefined) spec.actions.push({ type: 'code', bytes: code });
  if (script !== undefined) spec.actions.push({ type: 'script', buffer: compile(script, t), source: script });
  if (spec.actions.length === 0) spec.actions.push({ type: 'break' });
  return spec;
}

function parsePositional(kind: EventKind, words: string[], spec: EventSpec, t: DebugTarget): void {
  if (kind === 'monitor') {
    // !monitor access [va|pa] from (to | l length)
    const w = [...words];
    spec.access = w.shift()?.toLowerCase();
    if (w[0] === 'va' || w[0] === 'pa') spec.space = w.shift() === 'pa' ? 'physical' : 'virtual';
    if (w.length !== 2 && !(w.length === 3 && w[1]!.toLowerCase() === 'l')) {
      throw new HvdbgError('E_BAD_PARAMETER', '!monitor access [va|pa] from (to | l length)');
    }
    spec.rangeStart = parseNumber(w[0]!, t);
    spec.rangeEnd = w.length === 3 ? spec.rangeStart + parseNumber(w[2]!, t) - 1n : parseNumber(w[1]!, t);
    return;
  }
  if (kind === 'mode' || kind === 'trace') {
    if (words.length > 0) spec.direction = words[0]!.toLowerCase();
    return;
  }
  if (kind === 'crwrite' && words.length >= 3 && words[1]!.toLowerCase() === 'mask') {
    spec.param = parseNumber(words[0]!, t);
    spec.mask = parseNumber(words[2]!, t);
    return;
  }
  if (words.length > 1) throw new HvdbgError('E_BAD_PARAMETER', `unexpected '${words[1]}' after !${kind}`);
  if (words.length === 1) spec.param = parseNumber(words[0]!, t);
}

/** `90 90 c3` or `9090c3` → bytes. */
function hexBytes(text: string, what: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(digits)) {
    throw new HvdbgError('E_BAD_PARAMETER', `'${what}' expects hex bytes, e.g. { 48 31 c0 }`);
  }
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

function onOff(text: string, yes: string, no: string, what: string): boolean {
  const v = text.toLowerCase();
  if (v !== yes && v !== no) throw new HvdbgError('E_BAD_PARAMETER', `${what} must be ${yes} or ${no}`);
  return v === yes;
}

function addEvent(line: string, ctx: MonitorContext): string {
  const r = ctx.target.addEvent(parseEventCommand(line, ctx.target));
  const warnings = r.warnings.map((w) => `warning: ${w}\n`).join('');
  return `${warnings}event ${r.id.toString(16)} added\n`;
}

// -- numbers ----------------------------------------------------------------------------------------

function parseId(text: string | undefined): number | 'all' {
  if (text === undefined) throw new HvdbgError('E_BAD_PARAMETER', 'an id or all is needed');
  if (text.toLowerCase() === 'all') return 'all';
  const n = parseLiteral(text);
  if (n === undefined || n > 0xffff_ffffn) throw new HvdbgError('E_BAD_PARAMETER', `'${text}' is not an id`);
  return Number(n);
}

function parseLiteral(text: string): bigint | undefined {
  if (/^0n\d+$/i.test(text)) return BigInt(text.slice(2));
  const h = text.replace(/^0x/i, '').replace(/`/g, '');
  return /^[0-9a-f]{1,16}$/i.test(h) ? BigInt(`0x${h}`) : undefined;
}

/** A hex literal, `0n` decimal, or `symbol[+offset]`. */
export function parseNumber(text: string, t: DebugTarget): bigint {
  const m = /^([^+]+?)(?:\+(.+))?$/.exec(text);
  const literal = parseLiteral(text);
  if (literal !== undefined) return literal;
  if (m !== null) {
    const base = lookupSymbol(m[1]!, t);
    const offset = m[2] === undefined ? 0n : parseLiteral(m[2]);
    if (base !== undefined && offset !== undefined) return base + offset;
  }
  throw new HvdbgError('E_UNKNOWN_SYMBOL', `'${text}' is neither a number nor a known symbol`);
}

function lookupSymbol(name: string, t: DebugTarget): bigint | undefined {
  const bare = name.includes('!') ? name.slice(name.indexOf('!') + 1) : name;
  return t.symbols().symbols.find((s) => s.name === bare)?.address;
}

function hex(v: bigint): string {
  return `0x${BigInt.asUintN(64, v).toString(16)}`;
}
