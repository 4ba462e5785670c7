/**
 * Registration-time check of custom code and condition buffers (SPEC §3.2, §3.5): the seed warns
 * that code without a `ret` crashes the machine, so hvdbg refuses it up front. The buffer is decoded
 * from offset 0 along every statically known path (fall-through, direct jumps and calls inside the
 * buffer); at least one near RET must be reachable. Indirect branches end a path (we cannot follow
 * them), which is conservative only in the "reject" direction for code that returns solely through
 * a computed jump — such code is still stopped safely at run time if it misbehaves.
 */
import iced from 'iced-x86';

const { Decoder, DecoderOptions, FlowControl, Code } = iced;

const RET_CODES = new Set<number>([
  Code.Retnq,
  Code.Retnq_imm16,
  Code.Retnw,
  Code.Retnw_imm16,
  Code.Retnd,
  Code.Retnd_imm16,
]);
/** Decoding stops after this many instructions; a buffer of up to 80 KiB has at most that many. */
const MAX_VISITS = 100_000;

/** Returns why the buffer is not acceptable, or null. */
export function checkMachineCode(bytes: Uint8Array, limit: number): string | null {
  if (bytes.length === 0) return 'the buffer is empty';
  if (bytes.length > limit) return `${bytes.length} bytes is over the limit of ${limit}`;
  const decoder = new Decoder(64, bytes, DecoderOptions.None);
  const seen = new Uint8Array(bytes.length);
  const work: number[] = [0];
  let visits = 0;
  try {
    while (work.length > 0 && visits < MAX_VISITS) {
      const off = work.pop()!;
      if (off < 0 || off >= bytes.length || seen[off]) continue;
      seen[off] = 1;
      visits++;
      decoder.position = off;
      decoder.ip = BigInt(off);
      const insn = decoder.decode();
      try {
        const end = off + insn.length;
        if (insn.code === Code.INVALID || end > bytes.length) continue;
        if (RET_CODES.has(insn.code)) return null;
        const flow = insn.flowControl;
        const target = Number(insn.nearBranchTarget);
        switch (flow) {
          case FlowControl.UnconditionalBranch:
            if (insn.isJmpShortOrNear) work.push(target);
            break;
          case FlowControl.ConditionalBranch:
            work.push(end);
            if (insn.isJccShortOrNear || insn.isLoop || insn.isLoopcc || insn.isJcxShort) work.push(target);
            break;
          case FlowControl.Call:
            work.push(end);
            if (insn.isCallNear) work.push(target);
            break;
          case FlowControl.Return:
          case FlowControl.IndirectBranch:
          case FlowControl.Exception:
            break;
          default:
            work.push(end);
        }
      } finally {
        insn.free();
      }
    }
  } finally {
    decoder.free();
  }
  return 'no ret instruction (C3) is reachable from the start of the code';
}
