/**
 * Parsing of the event commands of SPEC §2.1 with the common options of §2.2 into the wire's
 * EventSpec. Everything that can be checked without the daemon is checked here, before anything
 * is sent: keywords need values, scripts compile, hex blocks are hex, `sc on` needs stage pre, and
 * local mode refuses an implicit break. The daemon re-checks what it must.
 */
import { type EventAction, type EventSpec, HvdbgError, LIMITS, type Stage } from '@hvdbg/protocol';
import { parseHexBytes } from '../numbers.js';
import { type Token, tokenize } from '../tokenize.js';
import { type EventCommandInfo, eventCommandInfo } from './eventKinds.js';

export interface EventParseEnv {
  /** Evaluates an address or parameter expression (`kernel!f+10`, `@rcx`). */
  evaluate(expression: string): Promise<bigint>;
  /** Compiles script source to a buffer; throws E_SCRIPT_SYNTAX with line and column. */
  compile(source: string): Uint8Array;
  /** Reads `script {file:<path>}`. */
  readFile(path: string): string;
  /** The session is in local mode: break actions are refused. */
  local: boolean;
}

const OPTION_WORDS = new Set([
  'pid',
  'core',
  'stage',
  'sc',
  'imm',
  'buffer',
  'condition',
  'script',
  'code',
  'output',
  'asm',
]);
const MONITOR_ACCESS = new Set(['r', 'w', 'x', 'rw', 'rx', 'wx', 'rwx']);

function bad(message: string): never {
  throw new HvdbgError('E_BAD_PARAMETER', message);
}

/** Cursor over the argument tokens. */
class Args {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  /** The next token, which must be a plain word, as the value of `keyword`. */
  word(keyword: string, expected: string): string {
    const t = this.next();
    if (t === undefined) bad(`'${keyword}' needs a value (${expected})`);
    if (t.block) bad(`'${keyword}' expects ${expected}, not a {…} block`);
    return t.text;
  }
  block(keyword: string, expected: string): string {
    const t = this.next();
    if (t === undefined || !t.block) bad(`'${keyword}' needs a {…} block (${expected})`);
    return t.text;
  }
}

function isOption(t: Token | undefined): boolean {
  return t !== undefined && !t.block && OPTION_WORDS.has(t.text.toLowerCase());
}

function inRange(value: bigint, range: [bigint, bigint] | undefined, what: string): bigint {
  if (range !== undefined && (value < range[0] || value > range[1])) {
    bad(`${what} 0x${value.toString(16)} is out of range (0x${range[0].toString(16)}..0x${range[1].toString(16)})`);
  }
  return value;
}

function smallNumber(value: bigint, what: string): number {
  if (value > 0xffff_ffffn) bad(`${what} 0x${value.toString(16)} is out of range`);
  return Number(value);
}

/** Parses one event command line into the EventSpec that `event.add` sends. */
export async function parseEventCommand(line: string, env: EventParseEnv): Promise<EventSpec> {
  const tokens = tokenize(line);
  const head = tokens[0];
  const info = head === undefined || head.block ? undefined : eventCommandInfo(head.text);
  if (info === undefined) throw new HvdbgError('E_BAD_EVENT', `'${head?.text ?? ''}' is not an event command`);
  const args = new Args(tokens.slice(1));
  const spec: EventSpec = {
    kind: info.kind,
    stage: 'pre',
    sc: false,
    imm: true,
    bufferSize: 0,
    actions: [],
    text: line.trim(),
  };

  // Positional parameters come first, up to the first option keyword.
  const positional: Token[] = [];
  while (args.peek() !== undefined && !isOption(args.peek())) positional.push(args.next()!);
  await parseParameters(info, positional, spec, env);

  const seen = new Set<string>();
  let script: string | undefined;
  let code: Uint8Array | undefined;
  for (let t = args.next(); t !== undefined; t = args.next()) {
    const keyword = t.text.toLowerCase();
    if (t.block || !OPTION_WORDS.has(keyword))
      bad(
        `unexpected '${t.block ? `{${t.text}}` : t.text}' (options: pid core stage sc imm buffer condition script code)`,
      );
    if (seen.has(keyword)) bad(`'${keyword}' is given twice`);
    seen.add(keyword);
    switch (keyword) {
      case 'pid': {
        const v = args.word('pid', 'a process id or all');
        if (v.toLowerCase() !== 'all') spec.pid = smallNumber(await env.evaluate(v), 'pid');
        break;
      }
      case 'core':
        spec.core = smallNumber(await env.evaluate(args.word('core', 'a core number')), 'core');
        break;
      case 'stage': {
        const v = args.word('stage', 'pre, post or all').toLowerCase();
        if (v !== 'pre' && v !== 'post' && v !== 'all') bad(`stage must be pre, post or all, not '${v}'`);
        spec.stage = v as Stage;
        break;
      }
      case 'sc': {
        const v = args.word('sc', 'on or off').toLowerCase();
        if (v !== 'on' && v !== 'off') bad(`sc must be on or off, not '${v}'`);
        spec.sc = v === 'on';
        break;
      }
      case 'imm': {
        const v = args.word('imm', 'yes or no').toLowerCase();
        if (v !== 'yes' && v !== 'no') bad(`imm must be yes or no, not '${v}'`);
        spec.imm = v === 'yes';
        break;
      }
      case 'buffer': {
        const size = await env.evaluate(args.word('buffer', 'a size in bytes'));
        if (size === 0n || size > BigInt(LIMITS.maxEventBufferBytes)) {
          throw new HvdbgError(
            'E_TOO_LARGE',
            `buffer size must be 1..0x${LIMITS.maxEventBufferBytes.toString(16)} bytes`,
          );
        }
        spec.bufferSize = Number(size);
        break;
      }
      case 'condition': {
        const bytes = parseHexBytes(args.block('condition', 'hex bytes of machine code'), 'condition');
        // SPEC §3.2: the client appends the `ret`.
        const withRet = new Uint8Array(bytes.length + 1);
        withRet.set(bytes);
        withRet[bytes.length] = 0xc3;
        if (withRet.length > LIMITS.maxConditionBytes)
          throw new HvdbgError('E_TOO_LARGE', 'the condition is too large');
        spec.condition = withRet;
        break;
      }
      case 'code':
        code = parseHexBytes(args.block('code', 'hex bytes of machine code'), 'code');
        if (code.length > LIMITS.maxCodeBytes) throw new HvdbgError('E_TOO_LARGE', 'the custom code is too large');
        break;
      case 'script': {
        const body = args.block('script', 'script text or file:<path>');
        const file = /^\s*file:(.+?)\s*$/.exec(body);
        script = file === null ? body : env.readFile(file[1]!);
        break;
      }
      case 'output':
        bad("'output' sinks are not supported; script output goes to every client");
        break;
      case 'asm':
        bad("'asm' blocks need an assembler, which this client does not have; give machine code as hex: code {…}");
    }
  }

  if (info.preOnly && spec.stage !== 'pre') bad(`!${info.kind} fires only in the pre stage`);
  if (spec.sc && spec.stage !== 'pre') bad("'sc on' needs stage pre: a post-stage event cannot short-circuit");
  if (code !== undefined) spec.actions.push({ type: 'code', bytes: code });
  if (script !== undefined) {
    const buffer = env.compile(script);
    if (buffer.length > LIMITS.maxScriptBytes) throw new HvdbgError('E_TOO_LARGE', 'the compiled script is too large');
    spec.actions.push({ type: 'script', buffer, source: script } satisfies EventAction);
  }
  if (spec.actions.length === 0) {
    if (env.local) {
      throw new HvdbgError(
        'E_LOCAL_MODE',
        'an event without script or code breaks, and breaking is refused in local mode; add script {…} or code {…}',
      );
    }
    spec.actions.push({ type: 'break' });
  }
  return spec;
}

async function parseParameters(
  info: EventCommandInfo,
  pos: Token[],
  spec: EventSpec,
  env: EventParseEnv,
): Promise<void> {
  for (const t of pos) if (t.block) bad(`unexpected {…} block after !${info.kind}`);
  const words = pos.map((t) => t.text);
  const name = `!${info.kind}`;
  const tooMany = (max: number) => {
    if (words.length > max) bad(`unexpected '${words[max]}' after ${name}`);
  };
  switch (info.shape) {
    case 'none':
      tooMany(0);
      return;
    case 'optional':
    case 'required':
      tooMany(1);
      if (words.length === 0) {
        if (info.shape === 'required') bad(`${name} needs a parameter: ${info.syntax}`);
        return;
      }
      spec.param = inRange(await env.evaluate(words[0]!), info.range, 'parameter');
      return;
    case 'crwrite': {
      if (words.length === 0) bad(`!crwrite needs a control register number (0 or 4)`);
      const cr = await env.evaluate(words[0]!);
      if (cr !== 0n && cr !== 4n) bad(`!crwrite watches CR0 or CR4, not CR${cr.toString(16)}`);
      spec.param = cr;
      if (words.length > 1) {
        if (words[1]!.toLowerCase() !== 'mask') bad(`unexpected '${words[1]}' after !crwrite (expected mask)`);
        if (words.length < 3) bad("'mask' needs a value");
        spec.mask = await env.evaluate(words[2]!);
        tooMany(3);
      }
      return;
    }
    case 'address':
      if (words.length === 0) bad(`${name} needs an address`);
      // An address may be written with spaces (`kernel!f + 10`): join the words back.
      spec.param = await env.evaluate(words.join(' '));
      return;
    case 'monitor':
      await parseMonitor(words, spec, env);
      return;
    case 'mode': {
      tooMany(1);
      const d = words[0]?.toLowerCase();
      if (d !== 'u' && d !== 'k' && d !== 'ku') bad('!mode needs u, k or ku');
      spec.direction = d;
      return;
    }
    case 'trace': {
      tooMany(1);
      const d = words[0]?.toLowerCase();
      if (d !== 'step-in' && d !== 'step-out' && d !== 'instrument-step') {
        bad('!trace needs step-in, step-out or instrument-step');
      }
      spec.direction = d;
      return;
    }
  }
}

async function parseMonitor(words: string[], spec: EventSpec, env: EventParseEnv): Promise<void> {
  let i = 0;
  const access = words[i++]?.toLowerCase();
  if (access === undefined || !MONITOR_ACCESS.has(access))
    bad('!monitor needs an access type: r, w, x, rw, rx, wx or rwx');
  spec.access = access;
  spec.space = 'virtual';
  const space = words[i]?.toLowerCase();
  if (space === 'va' || space === 'pa') {
    spec.space = space === 'pa' ? 'physical' : 'virtual';
    i++;
  }
  if (words[i] === undefined) bad('!monitor needs a start address');
  const from = await env.evaluate(words[i++]!);
  if (words[i] === undefined) bad('!monitor needs an end address or l length');
  let to: bigint;
  if (words[i]!.toLowerCase() === 'l') {
    i++;
    if (words[i] === undefined) bad("'l' needs a length");
    const len = await env.evaluate(words[i++]!);
    if (len === 0n) bad('!monitor length must be at least 1');
    to = from + len - 1n;
  } else to = await env.evaluate(words[i++]!);
  if (to < from) bad('!monitor end address is below its start');
  if (i < words.length) bad(`unexpected '${words[i]}' after !monitor`);
  spec.rangeStart = from;
  spec.rangeEnd = to;
}
