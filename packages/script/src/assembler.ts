/**
 * Assembler: the bytecode buffer under construction (format in bytecode.ts) — instruction
 * encoding, jump patching, and the constant, string, global and function tables — and the final
 * encoding into one Uint8Array. The compiler on top of it only decides *what* to emit.
 */
import { LIMITS } from '@hvdbg/protocol';
import type { Pos } from './ast.js';
import {
  FLAG_EXPRESSION,
  HEADER_BYTES,
  MAGIC,
  MAX_STRING_BYTES,
  OPCODES,
  OPERAND_BYTES,
  Op,
  STRING_ASCII,
  STRING_WIDE,
  VERSION,
} from './bytecode.js';
import { syntaxError as fail } from './errors.js';

/** Most globals one script may name; the VM holds at most this many in all (SPEC §4.9). */
export const MAX_GLOBALS = 512;

export class Assembler {
  protected readonly code: number[] = [];
  private readonly constants: bigint[] = [];
  private readonly constantIndex = new Map<bigint, number>();
  private readonly strings: { wide: boolean; bytes: Uint8Array }[] = [];
  private readonly stringIndex = new Map<string, number>();
  private readonly globals: string[] = [];
  private readonly globalIndex = new Map<string, number>();
  protected readonly functions: { entry: number; params: number; locals: number }[] = [];

  /** Append an instruction; returns the offset of its first operand (for patching jumps). */
  protected emit(op: Op, a = 0, b = 0): number {
    const at = this.code.length + 1;
    this.code.push(op);
    const ops = OPCODES[op].operands;
    for (let i = 0; i < ops.length; i++) {
      const v = i === 0 ? a : b;
      const n = OPERAND_BYTES[ops[i]];
      for (let k = 0; k < n; k++) this.code.push((v >>> (8 * k)) & 0xff);
    }
    return at;
  }

  protected jump(op: Op.JMP | Op.JZ | Op.JNZ, target = -1): number {
    return this.emit(op, target);
  }

  protected patch(at: number, target = this.code.length): void {
    for (let k = 0; k < 4; k++) this.code[at + k] = (target >>> (8 * k)) & 0xff;
  }

  protected pushNumber(v: bigint): void {
    const s = BigInt.asIntN(64, v);
    if (s >= -0x80000000n && s <= 0x7fffffffn) {
      this.emit(Op.PUSH_I32, Number(s));
      return;
    }
    let i = this.constantIndex.get(v);
    if (i === undefined) {
      i = this.constants.length;
      this.constants.push(v);
      this.constantIndex.set(v, i);
    }
    this.emit(Op.PUSH_CONST, i);
  }

  protected stringRef(text: string, wide: boolean, at: Pos): number {
    const key = (wide ? 'L' : 'A') + text;
    let i = this.stringIndex.get(key);
    if (i !== undefined) return i;
    let bytes: Uint8Array;
    if (wide) {
      bytes = new Uint8Array(text.length * 2);
      for (let k = 0; k < text.length; k++) {
        bytes[2 * k] = text.charCodeAt(k) & 0xff;
        bytes[2 * k + 1] = text.charCodeAt(k) >> 8;
      }
    } else {
      bytes = new Uint8Array(text.length);
      for (let k = 0; k < text.length; k++) {
        const c = text.charCodeAt(k);
        if (c > 0xff) fail('non-ASCII character in a string; use L"…"', at);
        bytes[k] = c;
      }
    }
    if (bytes.length > MAX_STRING_BYTES) fail(`string longer than ${MAX_STRING_BYTES} bytes`, at);
    if (this.strings.length >= 0xffff) fail('too many strings', at);
    i = this.strings.length;
    this.strings.push({ wide, bytes });
    this.stringIndex.set(key, i);
    return i;
  }

  protected globalRef(name: string, at: Pos): number {
    let i = this.globalIndex.get(name);
    if (i === undefined) {
      if (this.globals.length >= MAX_GLOBALS) fail(`too many globals (at most ${MAX_GLOBALS})`, at);
      i = this.globals.length;
      this.globals.push(name);
      this.globalIndex.set(name, i);
    }
    return i;
  }

  encode(expressionMode: boolean): Uint8Array {
    const nameBytes = this.globals.map((g) => Buffer.from(g, 'latin1'));
    const size =
      HEADER_BYTES +
      this.functions.length * 8 +
      this.constants.length * 8 +
      this.strings.reduce((n, s) => n + 3 + s.bytes.length, 0) +
      nameBytes.reduce((n, b) => n + 1 + b.length, 0) +
      this.code.length;
    if (size > LIMITS.maxScriptBytes)
      fail(`the compiled script takes ${size} bytes, over the ${LIMITS.maxScriptBytes}-byte limit`, {
        line: 1,
        column: 1,
      });
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, MAGIC, true);
    dv.setUint16(4, VERSION, true);
    dv.setUint16(6, expressionMode ? FLAG_EXPRESSION : 0, true);
    dv.setUint16(8, this.functions.length, true);
    dv.setUint16(10, this.constants.length, true);
    dv.setUint16(12, this.strings.length, true);
    dv.setUint16(14, this.globals.length, true);
    dv.setUint32(16, this.code.length, true);
    let p = HEADER_BYTES;
    for (const f of this.functions) {
      dv.setUint32(p, f.entry, true);
      dv.setUint16(p + 4, f.params, true);
      dv.setUint16(p + 6, f.locals, true);
      p += 8;
    }
    for (const c of this.constants) {
      dv.setBigUint64(p, BigInt.asUintN(64, c), true);
      p += 8;
    }
    for (const s of this.strings) {
      out[p] = s.wide ? STRING_WIDE : STRING_ASCII;
      dv.setUint16(p + 1, s.bytes.length, true);
      out.set(s.bytes, p + 3);
      p += 3 + s.bytes.length;
    }
    for (const b of nameBytes) {
      out[p] = b.length;
      out.set(b, p + 1);
      p += 1 + b.length;
    }
    out.set(this.code, p);
    return out;
  }
}
