/**
 * Text listing of a script buffer, one instruction a line (`0012 JZ 0020`), for tests and for
 * looking at what the compiler produced. Reads the raw buffer, so it works on unverified input too.
 */
import { BUILTINS } from './builtins.js';
import { HEADER_BYTES, OPCODES, OPERAND_BYTES } from './bytecode.js';
import { REGISTER_NAMES } from './registers.js';

export function disassemble(buffer: Uint8Array): string[] {
  const dv = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const fnCount = dv.getUint16(8, true);
  const constCount = dv.getUint16(10, true);
  const stringCount = dv.getUint16(12, true);
  const globalCount = dv.getUint16(14, true);
  const codeBytes = dv.getUint32(16, true);
  let p = HEADER_BYTES + fnCount * 8 + constCount * 8;
  for (let i = 0; i < stringCount; i++) p += 3 + dv.getUint16(p + 1, true);
  for (let i = 0; i < globalCount; i++) p += 1 + buffer[p];
  const entries = new Map<number, number>();
  for (let f = 0; f < fnCount; f++) entries.set(dv.getUint32(HEADER_BYTES + 8 * f, true), f);
  const lines: string[] = [];
  for (let q = 0; q < codeBytes && p + q < buffer.length; ) {
    if (entries.has(q)) lines.push(`fn${entries.get(q)}:`);
    const info = OPCODES[buffer[p + q]];
    if (!info) {
      lines.push(`${q.toString(16).padStart(4, '0')} ?? ${buffer[p + q]}`);
      q++;
      continue;
    }
    const ops: string[] = [];
    let r = q + 1;
    for (const kind of info.operands) {
      let v = 0;
      if (kind === 'u8') v = buffer[p + r];
      else if (kind === 'u16') v = dv.getUint16(p + r, true);
      else v = dv.getInt32(p + r, true);
      r += OPERAND_BYTES[kind];
      ops.push(String(v));
    }
    if (info.name === 'CALL_BUILTIN') ops[0] = BUILTINS[Number(ops[0])]?.name ?? ops[0];
    if (info.name === 'LOAD_REG' || info.name === 'STORE_REG') ops[0] = `@${REGISTER_NAMES[Number(ops[0])] ?? ops[0]}`;
    lines.push(`${q.toString(16).padStart(4, '0')} ${info.name}${ops.length ? ` ${ops.join(' ')}` : ''}`);
    q = r;
  }
  return lines;
}
