/**
 * Disassembly for `u`, halts and stepping, with iced-x86 in Intel syntax. Near branch and call
 * targets are rewritten to symbols (`call kernel!sched+0x12`), so a listing reads without a map.
 */
import { Decoder, DecoderOptions, FlowControl, Formatter, FormatterSyntax } from 'iced-x86';
import { hexPad } from './numbers.js';

export interface DisassembledInstruction {
  address: bigint;
  length: number;
  bytes: Uint8Array;
  text: string;
  /** Near branch target, when the instruction has one. */
  target?: bigint;
  /** True for CALL instructions (used by step-over). */
  isCall: boolean;
}

let formatter: Formatter | undefined;

function intelFormatter(): Formatter {
  if (formatter === undefined) {
    formatter = new Formatter(FormatterSyntax.Intel);
    formatter.hexPrefix = '0x';
    formatter.hexSuffix = '';
    formatter.uppercaseHex = false;
    formatter.showBranchSize = false;
    formatter.spaceAfterOperandSeparator = true;
  }
  return formatter;
}

/**
 * Decodes up to `maxInstructions` instructions from `bytes` at `address` (64-bit mode, or 32-bit
 * for `u32`). Decoding
 * stops at the end of the bytes; an incomplete last instruction is shown as `(bad)`-free `db`s.
 */
export function disassemble(
  bytes: Uint8Array,
  address: bigint,
  symbolize: (address: bigint) => string | undefined = () => undefined,
  maxInstructions = Number.POSITIVE_INFINITY,
  bitness: 64 | 32 = 64,
): DisassembledInstruction[] {
  const fmt = intelFormatter();
  const decoder = new Decoder(bitness, bytes, DecoderOptions.None);
  decoder.ip = address;
  const out: DisassembledInstruction[] = [];
  try {
    while (decoder.canDecode && out.length < maxInstructions) {
      const offset = Number(decoder.position);
      const instr = decoder.decode();
      try {
        const length = instr.length;
        // A truncated instruction at the end of the buffer decodes as invalid: show its bytes.
        if (instr.isInvalid && offset + 15 > bytes.length) {
          const rest = bytes.subarray(offset);
          out.push({
            address: address + BigInt(offset),
            length: rest.length,
            bytes: rest,
            text: `db ${Array.from(rest, (b) => `0x${hexPad(b, 2)}`).join(', ')}`,
            isCall: false,
          });
          break;
        }
        let text = fmt.format(instr);
        const flow = instr.flowControl;
        let target: bigint | undefined;
        if (
          flow === FlowControl.Call ||
          flow === FlowControl.ConditionalBranch ||
          flow === FlowControl.UnconditionalBranch
        ) {
          const t = instr.nearBranchTarget;
          if (t !== 0n) {
            target = t;
            const name = symbolize(t);
            if (name !== undefined) text = text.replace(`0x${t.toString(16)}`, name);
          }
        }
        out.push({
          address: instr.ip,
          length,
          bytes: bytes.subarray(offset, offset + length),
          text: instr.isInvalid ? '(bad)' : text,
          ...(target === undefined ? {} : { target }),
          isCall: flow === FlowControl.Call || flow === FlowControl.IndirectCall,
        });
      } finally {
        instr.free();
      }
    }
  } finally {
    decoder.free();
  }
  return out;
}

/** One listing line: `ffffffff80001000  e8 10 00 00 00        call kernel!f`. */
export function formatInstruction(ins: DisassembledInstruction, label?: string): string {
  const bytes = Array.from(ins.bytes, (b) => hexPad(b, 2)).join('');
  const head = label === undefined ? '' : `${label}:\n`;
  return `${head}${hexPad(ins.address, 16)}  ${bytes.padEnd(20)} ${ins.text}`;
}

/**
 * A listing with a `kernel!func:` label line wherever a symbol starts, as WinDbg prints it.
 */
export function formatListing(
  instructions: readonly DisassembledInstruction[],
  symbolize: (address: bigint) => string | undefined,
): string[] {
  const lines: string[] = [];
  instructions.forEach((ins, i) => {
    const name = symbolize(ins.address);
    const starts = name !== undefined && !name.includes('+');
    if (i === 0 && name !== undefined) lines.push(`${name}:`);
    else if (starts) lines.push(`${name}:`);
    lines.push(formatInstruction(ins));
  });
  return lines;
}
