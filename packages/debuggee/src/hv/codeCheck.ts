/**
 * Registration-time check of custom code and condition buffers (SPEC §3.2, §3.5): the seed warns
 * that code without a `ret` crashes the machine, so hvdbg refuses it up front. The buffer is decoded
 * with the CPU's own decoder (so "valid" means what the emulated CPU will execute, not what some
 * other disassembler accepts) from offset 0 along every statically known path — fall-through,
 * direct jumps, conditional jumps and direct calls inside the buffer; at least one near RET must be
 * reachable. Indirect branches end a path (their targets are unknown); code that returns only
 * through a computed jump is refused, and anything that misbehaves at run time is still stopped by
 * the runner's budget and guard pages.
 */
import { decodeInstruction } from '../cpu/decoder.js';

/** Decoding stops after this many instructions; a buffer of up to 80 KiB has at most that many. */
const MAX_VISITS = 100_000;

enum Flow {
  Next,
  Ret,
  Jump,
  CondJump,
  Call,
  End,
}

const PREFIXES = new Set([0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]);

/** Control flow of the instruction at `off` (already known to decode to `length` bytes). */
function flowOf(bytes: Uint8Array, off: number, length: number): { flow: Flow; target: number } {
  let p = off;
  while (p < off + length && (PREFIXES.has(bytes[p]!) || (bytes[p]! & 0xf0) === 0x40)) p++;
  const op = bytes[p]!;
  const end = off + length;
  const rel8 = () => end + ((bytes[end - 1]! << 24) >> 24);
  const rel32 = () =>
    end + (bytes[end - 4]! | (bytes[end - 3]! << 8) | (bytes[end - 2]! << 16) | (bytes[end - 1]! << 24));
  if (op === 0xc3 || op === 0xc2) return { flow: Flow.Ret, target: 0 };
  if (op === 0xeb) return { flow: Flow.Jump, target: rel8() };
  if (op === 0xe9) return { flow: Flow.Jump, target: rel32() };
  if ((op & 0xf0) === 0x70 || (op >= 0xe0 && op <= 0xe3)) return { flow: Flow.CondJump, target: rel8() };
  if (op === 0xe8) return { flow: Flow.Call, target: rel32() };
  if (op === 0x0f && (bytes[p + 1]! & 0xf0) === 0x80) return { flow: Flow.CondJump, target: rel32() };
  if (op === 0x0f && bytes[p + 1] === 0x0b) return { flow: Flow.End, target: 0 }; // UD2
  // Far returns, IRET, indirect jumps, HLT, UD2 and INT3 end the path.
  if (op === 0xcb || op === 0xca || op === 0xcf || op === 0xf4 || op === 0xcc) return { flow: Flow.End, target: 0 };
  if (op === 0xff) {
    const reg = (bytes[p + 1]! >> 3) & 7;
    if (reg === 4 || reg === 5) return { flow: Flow.End, target: 0 }; // jmp r/m, jmp far
  }
  return { flow: Flow.Next, target: 0 };
}

/** Length and call / return nature of the instruction at `off` (null when the CPU would #UD). */
export function callOrReturnAt(bytes: Uint8Array, off: number): { length: number; call: boolean; ret: boolean } | null {
  const insn = decodeInstruction(bytes, off);
  if (insn.ud || off + insn.length > bytes.length) return null;
  let p = off;
  while (p < off + insn.length && (PREFIXES.has(bytes[p]!) || (bytes[p]! & 0xf0) === 0x40)) p++;
  const op = bytes[p]!;
  const reg = (bytes[p + 1]! >> 3) & 7;
  const call = op === 0xe8 || (op === 0xff && (reg === 2 || reg === 3));
  const ret = op === 0xc3 || op === 0xc2 || op === 0xcb || op === 0xca || op === 0xcf;
  return { length: insn.length, call, ret };
}

/** Returns why the buffer is not acceptable, or null. */
export function checkMachineCode(bytes: Uint8Array, limit: number): string | null {
  if (bytes.length === 0) return 'the buffer is empty';
  if (bytes.length > limit) return `${bytes.length} bytes is over the limit of ${limit}`;
  const seen = new Uint8Array(bytes.length);
  const work: number[] = [0];
  let visits = 0;
  while (work.length > 0 && visits < MAX_VISITS) {
    const off = work.pop()!;
    if (off < 0 || off >= bytes.length || seen[off]) continue;
    seen[off] = 1;
    visits++;
    const insn = decodeInstruction(bytes, off);
    if (insn.ud || off + insn.length > bytes.length) continue;
    const { flow, target } = flowOf(bytes, off, insn.length);
    switch (flow) {
      case Flow.Ret:
        return null;
      case Flow.Jump:
        work.push(target);
        break;
      case Flow.CondJump:
      case Flow.Call:
        work.push(off + insn.length, target);
        break;
      case Flow.Next:
        work.push(off + insn.length);
        break;
      case Flow.End:
        break;
    }
  }
  return 'no ret instruction (C3) is reachable from the start of the code';
}
