/**
 * Verifier: the daemon's gate for script buffers, which are untrusted input (a hostile client may
 * craft any bytes). Runs once when an event is added; the VM then executes only what passed, with no
 * per-instruction checks beyond the dynamic ones (memory, division, budget, call depth).
 *
 * Guarantees for a VerifiedScript:
 * - header, version and every section are well formed and the buffer ends exactly after the code;
 * - every instruction has a known opcode and lies wholly inside its function; every jump lands on
 *   an instruction start of the same function; no path falls off a function's end;
 * - every operand is in range: locals < the function's locals, globals < the script's globals,
 *   registers, pseudo-registers, constants, strings, functions; built-ins exist and get their arity;
 *   printf formats parse and get exactly their argument count;
 * - operand-stack depth is the same on every path into an instruction (abstract interpretation
 *   over the control-flow graph), never negative, and a function's frame (locals + deepest stack)
 *   fits the 256-slot stack.
 *
 * It also pre-decodes the code into an Int32Array of words (opcode, operands…) with jump targets as
 * word indices, so the VM dispatches on a typed array without decoding bytes.
 */
import { LIMITS } from '@hvdbg/protocol';
import { MAX_GLOBALS } from './assembler.js';
import { BUILTINS } from './builtins.js';
import {
  CHECK_KINDS,
  CVT_KINDS,
  FLAG_EXPRESSION,
  FOP_KINDS,
  HEADER_BYTES,
  MAGIC,
  MAX_GLOBAL_NAME,
  MAX_STRING_BYTES,
  OPCODES,
  OPERAND_BYTES,
  Op,
  STRING_WIDE,
  VERSION,
} from './bytecode.js';
import { ScriptVerifyError } from './errors.js';
import { argumentCount, type FormatParts, isFormatError, parseFormat } from './format.js';
import { PSEUDO_COUNT } from './host.js';
import { REGISTER_COUNT } from './registers.js';

/** Slots of the per-run stack shared by all frames (SPEC §4.9: stack ≤ 256 slots). */
export const STACK_SLOTS = 256;

export interface VerifiedScript {
  readonly version: number;
  /** Compiled with mode 'expression'/'condition': the run's value is the expression's value. */
  readonly expression: boolean;
  /** Pre-decoded instructions: opcode word followed by its operand words. */
  readonly code: Int32Array;
  /** Per function: entry word, parameter count, local count, frame size (locals + max stack). */
  readonly fnEntry: Int32Array;
  readonly fnParams: Int32Array;
  readonly fnLocals: Int32Array;
  readonly fnFrame: Int32Array;
  readonly constLo: Int32Array;
  readonly constHi: Int32Array;
  /** All string literals, each followed by two NUL bytes; `stringOffset[i]` is literal i's start. */
  readonly stringHeap: Uint8Array;
  readonly stringOffset: Int32Array;
  /** Parsed printf formats, by string index (only for strings used as a format). */
  readonly formats: (FormatParts | undefined)[];
  readonly globalNames: readonly string[];
  /** VM-private: the globals of `globalOwner` this script's global indices map to. */
  globalSlots: Int32Array;
  globalOwner: object | null;
}

function reject(message: string): never {
  throw new ScriptVerifyError(message);
}

export function verifyScript(buffer: Uint8Array): VerifiedScript {
  if (!(buffer instanceof Uint8Array)) reject('the script buffer is not a byte array');
  if (buffer.length > LIMITS.maxScriptBytes)
    reject(`buffer of ${buffer.length} bytes exceeds the ${LIMITS.maxScriptBytes}-byte limit`);
  if (buffer.length < HEADER_BYTES) reject(`buffer of ${buffer.length} bytes is shorter than the header`);
  const dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (dv.getUint32(0, true) !== MAGIC) reject('bad magic: not an hvdbg script buffer');
  const version = dv.getUint16(4, true);
  if (version !== VERSION) reject(`unsupported bytecode version ${version} (this daemon runs version ${VERSION})`);
  const flags = dv.getUint16(6, true);
  if ((flags & ~FLAG_EXPRESSION) !== 0) reject(`unknown header flags 0x${flags.toString(16)}`);
  const fnCount = dv.getUint16(8, true);
  const constCount = dv.getUint16(10, true);
  const stringCount = dv.getUint16(12, true);
  const globalCount = dv.getUint16(14, true);
  const codeBytes = dv.getUint32(16, true);
  if (dv.getUint32(20, true) !== 0) reject('reserved header field is not zero');
  if (fnCount === 0) reject('no functions');
  if (globalCount > MAX_GLOBALS) reject(`${globalCount} globals exceed the limit of ${MAX_GLOBALS}`);

  let p = HEADER_BYTES;
  const need = (n: number, what: string) => {
    if (p + n > buffer.length) reject(`truncated ${what} at byte ${p}`);
  };

  // Functions
  need(fnCount * 8, 'function table');
  const fnEntryByte = new Int32Array(fnCount);
  const fnParams = new Int32Array(fnCount);
  const fnLocals = new Int32Array(fnCount);
  for (let i = 0; i < fnCount; i++, p += 8) {
    fnEntryByte[i] = dv.getUint32(p, true);
    fnParams[i] = dv.getUint16(p + 4, true);
    fnLocals[i] = dv.getUint16(p + 6, true);
    if (fnParams[i] > fnLocals[i]) reject(`function ${i} has more parameters than locals`);
    if (fnLocals[i] >= STACK_SLOTS)
      reject(`function ${i} has ${fnLocals[i]} locals; the stack has ${STACK_SLOTS} slots`);
  }
  if (fnParams[0] !== 0) reject('the entry function cannot take parameters');

  // Constants
  need(constCount * 8, 'constants');
  const constLo = new Int32Array(constCount);
  const constHi = new Int32Array(constCount);
  for (let i = 0; i < constCount; i++, p += 8) {
    constLo[i] = dv.getInt32(p, true);
    constHi[i] = dv.getInt32(p + 4, true);
  }

  // Strings
  const heapParts: Uint8Array[] = [];
  const stringOffset = new Int32Array(stringCount);
  const stringLength = new Int32Array(stringCount);
  const stringWide = new Uint8Array(stringCount);
  let heapSize = 0;
  for (let i = 0; i < stringCount; i++) {
    need(3, 'string table');
    const kind = buffer[p];
    const len = dv.getUint16(p + 1, true);
    if (kind > STRING_WIDE) reject(`string ${i} has unknown kind ${kind}`);
    if (len > MAX_STRING_BYTES) reject(`string ${i} is longer than ${MAX_STRING_BYTES} bytes`);
    if (kind === STRING_WIDE && len % 2 !== 0) reject(`wide string ${i} has an odd byte length`);
    p += 3;
    need(len, `string ${i}`);
    heapParts.push(buffer.subarray(p, p + len));
    stringOffset[i] = heapSize;
    stringLength[i] = len;
    stringWide[i] = kind;
    heapSize += len + 2;
    p += len;
  }
  const stringHeap = new Uint8Array(heapSize);
  heapParts.forEach((part, i) => {
    stringHeap.set(part, stringOffset[i]);
  });

  // Globals
  const globalNames: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < globalCount; i++) {
    need(1, 'global names');
    const len = buffer[p++];
    if (len === 0 || len > MAX_GLOBAL_NAME) reject(`global ${i} has a name of length ${len}`);
    need(len, `global ${i}`);
    const name = String.fromCharCode(...buffer.subarray(p, p + len));
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) reject(`global ${i} has an invalid name`);
    if (seen.has(name)) reject(`global '${name}' is listed twice`);
    seen.add(name);
    globalNames.push(name);
    p += len;
  }

  // Code
  if (codeBytes === 0) reject('no code');
  if (p + codeBytes !== buffer.length)
    reject(`code section of ${codeBytes} bytes does not end the ${buffer.length}-byte buffer (starts at ${p})`);
  const code = buffer.subarray(p, p + codeBytes);
  if (fnEntryByte[0] !== 0) reject('function 0 must start at code offset 0');
  for (let i = 1; i < fnCount; i++)
    if (fnEntryByte[i] <= fnEntryByte[i - 1] || fnEntryByte[i] >= codeBytes)
      reject(`function ${i} entry ${fnEntryByte[i]} is out of order or outside the code`);

  const ctx: Counts = {
    fnCount,
    constCount,
    stringCount,
    globalCount,
    fnLocals,
    fnParams,
    stringWide,
    stringHeap,
    stringOffset,
    stringLength,
  };
  const formats: (FormatParts | undefined)[] = new Array(stringCount).fill(undefined);

  // Pass 1: linear sweep, instruction starts and word indices.
  const wordAt = new Int32Array(codeBytes + 1).fill(-1);
  const fnOf = new Int32Array(codeBytes).fill(-1);
  let words = 0;
  for (let f = 0; f < fnCount; f++) {
    const end = f + 1 < fnCount ? fnEntryByte[f + 1] : codeBytes;
    let q = fnEntryByte[f];
    while (q < end) {
      const op = code[q];
      if (op >= OPCODES.length) reject(`unknown opcode 0x${op.toString(16)} at code offset ${q}`);
      const info = OPCODES[op];
      let len = 1;
      for (const o of info.operands) len += OPERAND_BYTES[o];
      if (q + len > end) reject(`instruction ${info.name} at code offset ${q} runs past the end of function ${f}`);
      wordAt[q] = words;
      fnOf.fill(f, q, q + len);
      words += 1 + info.operands.length;
      q += len;
    }
  }

  // Pass 2: decode operands, check ranges, emit words.
  const out = new Int32Array(words);
  const depthAt = new Int32Array(words).fill(-1);
  for (let q = 0; q < codeBytes; ) {
    const op = code[q];
    const info = OPCODES[op];
    const w = wordAt[q];
    const f = fnOf[q];
    out[w] = op;
    let r = q + 1;
    for (let k = 0; k < info.operands.length; k++) {
      const kind = info.operands[k];
      let v: number;
      if (kind === 'u8') v = code[r];
      else if (kind === 'u16') v = code[r] | (code[r + 1] << 8);
      else v = code[r] | (code[r + 1] << 8) | (code[r + 2] << 16) | (code[r + 3] << 24);
      r += OPERAND_BYTES[kind];
      out[w + 1 + k] = v;
    }
    checkOperands(op, out, w, f, q, ctx, formats);
    if (op === Op.JMP || op === Op.JZ || op === Op.JNZ) {
      const target = out[w + 1];
      if (target < 0 || target >= codeBytes || fnOf[target] !== f)
        reject(`jump at code offset ${q} targets ${target}, outside function ${f}`);
      if (wordAt[target] < 0) reject(`jump at code offset ${q} targets ${target}, inside an instruction`);
      out[w + 1] = wordAt[target];
    }
    q = r;
  }

  // Pass 3: stack depths by abstract interpretation over each function's control-flow graph.
  const fnEntry = new Int32Array(fnCount);
  const fnFrame = new Int32Array(fnCount);
  const fnEndWord = new Int32Array(fnCount);
  for (let f = 0; f < fnCount; f++) {
    fnEntry[f] = wordAt[fnEntryByte[f]];
    fnEndWord[f] = f + 1 < fnCount ? wordAt[fnEntryByte[f + 1]] : words;
  }
  for (let f = 0; f < fnCount; f++) {
    const limit = STACK_SLOTS - fnLocals[f];
    let max = 0;
    const work = [fnEntry[f]];
    depthAt[fnEntry[f]] = 0;
    while (work.length > 0) {
      const w = work.pop()!;
      const op = out[w];
      const info = OPCODES[op];
      const depth = depthAt[w];
      let pop = info.pop ?? 0;
      let push = info.push ?? 0;
      if (op === Op.CALL) {
        pop = fnParams[out[w + 1]];
        push = 1;
      } else if (op === Op.CALL_BUILTIN) {
        pop = out[w + 2];
        push = BUILTINS[out[w + 1]].value ? 1 : 0;
      } else if (op === Op.PRINTF) {
        pop = out[w + 2];
      }
      if (depth < pop) reject(`stack underflow at ${info.name} (word ${w} of function ${f})`);
      const next = depth - pop + push;
      if (next > limit) reject(`stack depth ${next} at word ${w} exceeds the ${STACK_SLOTS}-slot stack`);
      if (next > max) max = next;
      const succ: number[] = [];
      if (op !== Op.JMP && op !== Op.RET) {
        const fall = w + 1 + info.operands.length;
        if (fall >= fnEndWord[f]) reject(`execution falls off the end of function ${f}`);
        succ.push(fall);
      }
      if (op === Op.JMP || op === Op.JZ || op === Op.JNZ) succ.push(out[w + 1]);
      for (const s of succ) {
        if (depthAt[s] === -1) {
          depthAt[s] = next;
          work.push(s);
        } else if (depthAt[s] !== next)
          reject(`inconsistent stack depth at word ${s} of function ${f} (${depthAt[s]} vs ${next})`);
      }
    }
    fnFrame[f] = fnLocals[f] + max;
  }

  return {
    version,
    expression: (flags & FLAG_EXPRESSION) !== 0,
    code: out,
    fnEntry,
    fnParams,
    fnLocals,
    fnFrame,
    constLo,
    constHi,
    stringHeap,
    stringOffset,
    formats,
    globalNames,
    globalSlots: new Int32Array(globalCount),
    globalOwner: null,
  };
}

interface Counts {
  fnCount: number;
  constCount: number;
  stringCount: number;
  globalCount: number;
  fnLocals: Int32Array;
  fnParams: Int32Array;
  stringWide: Uint8Array;
  stringHeap: Uint8Array;
  stringOffset: Int32Array;
  stringLength: Int32Array;
}

function checkOperands(
  op: number,
  w: Int32Array,
  i: number,
  f: number,
  at: number,
  c: Counts,
  formats: (FormatParts | undefined)[],
): void {
  const a = w[i + 1];
  const range = (what: string, count: number) => {
    if (a >= count) reject(`${OPCODES[op].name} at code offset ${at}: ${what} ${a} out of range (${count})`);
  };
  switch (op) {
    case Op.PUSH_CONST:
      range('constant', c.constCount);
      return;
    case Op.PUSH_STR:
      range('string', c.stringCount);
      return;
    case Op.LOAD_LOCAL:
    case Op.STORE_LOCAL:
    case Op.ADDR_LOCAL:
      range('local', c.fnLocals[f]);
      return;
    case Op.LOAD_GLOBAL:
    case Op.STORE_GLOBAL:
    case Op.ADDR_GLOBAL:
      range('global', c.globalCount);
      return;
    case Op.LOAD_REG:
    case Op.STORE_REG:
      range('register', REGISTER_COUNT);
      return;
    case Op.LOAD_PSEUDO:
      range('pseudo-register', PSEUDO_COUNT);
      return;
    case Op.CALL:
      range('function', c.fnCount);
      return;
    case Op.EXT:
      if ((a !== 1 && a !== 2 && a !== 4) || w[i + 2] > 1) reject(`EXT at code offset ${at}: bad width or sign`);
      return;
    case Op.LOAD_MEM:
    case Op.STORE_MEM:
      if ((a !== 1 && a !== 2 && a !== 4 && a !== 8) || (op === Op.LOAD_MEM && w[i + 2] > 1))
        reject(`${OPCODES[op].name} at code offset ${at}: bad size or sign`);
      return;
    case Op.FOP:
      if (a >= FOP_KINDS) reject(`FOP at code offset ${at}: unknown kind ${a}`);
      return;
    case Op.CVT:
      if (a >= CVT_KINDS) reject(`CVT at code offset ${at}: unknown kind ${a}`);
      return;
    case Op.CHECK:
      if (a >= CHECK_KINDS || w[i + 2] === 0 || w[i + 2] > 64) reject(`CHECK at code offset ${at}: bad kind or width`);
      return;
    case Op.CALL_BUILTIN: {
      range('built-in', BUILTINS.length);
      const b = BUILTINS[a];
      if (w[i + 2] !== b.argc)
        reject(`built-in '${b.name}' at code offset ${at} takes ${b.argc} arguments, got ${w[i + 2]}`);
      return;
    }
    case Op.PRINTF: {
      range('string', c.stringCount);
      if (c.stringWide[a]) reject(`printf at code offset ${at}: the format is a wide string`);
      let parts = formats[a];
      if (!parts) {
        const start = c.stringOffset[a];
        const text = String.fromCharCode(...c.stringHeap.subarray(start, start + c.stringLength[a]));
        const parsed = parseFormat(text);
        if (isFormatError(parsed)) reject(`printf at code offset ${at}: ${parsed.message}`);
        formats[a] = parts = parsed;
      }
      const want = argumentCount(parts);
      if (w[i + 2] !== want) reject(`printf at code offset ${at}: the format takes ${want} arguments, got ${w[i + 2]}`);
      return;
    }
  }
}
