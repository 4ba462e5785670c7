/** Hand-assembles script buffers (possibly invalid ones) for verifier tests. */
import { BUILTINS } from '../builtins.js';
import { HEADER_BYTES, MAGIC, OPCODES, Op, VERSION } from '../bytecode.js';

export interface RawScript {
  magic?: number;
  version?: number;
  flags?: number;
  reserved?: number;
  functions?: [entry: number, params: number, locals: number][];
  constants?: bigint[];
  strings?: [kind: number, text: string][];
  globals?: string[];
  /** Instructions as [opcodeName, ...operands] or raw bytes. */
  code: ([keyof typeof Op, ...number[]] | number)[];
  /** Override the header's counts / code length. */
  counts?: Partial<{ functions: number; constants: number; strings: number; globals: number; codeBytes: number }>;
  trailing?: number[];
}

export function encodeCode(code: RawScript['code']): number[] {
  const out: number[] = [];
  for (const ins of code) {
    if (typeof ins === 'number') {
      out.push(ins);
      continue;
    }
    const [name, ...operands] = ins;
    const op = Op[name];
    out.push(op);
    OPCODES[op].operands.forEach((kind, i) => {
      const v = operands[i] ?? 0;
      const n = kind === 'u8' ? 1 : kind === 'u16' ? 2 : 4;
      for (let k = 0; k < n; k++) out.push((v >>> (8 * k)) & 0xff);
    });
  }
  return out;
}

export function assemble(raw: RawScript): Uint8Array {
  const code = encodeCode(raw.code);
  const functions = raw.functions ?? [[0, 0, 4]];
  const bytes: number[] = [];
  const u16 = (v: number) => bytes.push(v & 0xff, (v >>> 8) & 0xff);
  const u32 = (v: number) => bytes.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  u32(raw.magic ?? MAGIC);
  u16(raw.version ?? VERSION);
  u16(raw.flags ?? 0);
  u16(raw.counts?.functions ?? functions.length);
  u16(raw.counts?.constants ?? raw.constants?.length ?? 0);
  u16(raw.counts?.strings ?? raw.strings?.length ?? 0);
  u16(raw.counts?.globals ?? raw.globals?.length ?? 0);
  u32(raw.counts?.codeBytes ?? code.length);
  u32(raw.reserved ?? 0);
  if (bytes.length !== HEADER_BYTES) throw new Error('header size');
  for (const [entry, params, locals] of functions) {
    u32(entry);
    u16(params);
    u16(locals);
  }
  for (const c of raw.constants ?? []) {
    u32(Number(c & 0xffffffffn));
    u32(Number((c >> 32n) & 0xffffffffn));
  }
  for (const [kind, text] of raw.strings ?? []) {
    bytes.push(kind);
    u16(text.length);
    for (const ch of text) bytes.push(ch.charCodeAt(0));
  }
  for (const g of raw.globals ?? []) {
    bytes.push(g.length);
    for (const ch of g) bytes.push(ch.charCodeAt(0));
  }
  bytes.push(...code, ...(raw.trailing ?? []));
  return Uint8Array.from(bytes);
}

export const BUILTIN = (name: string) => BUILTINS.findIndex((b) => b.name === name);
