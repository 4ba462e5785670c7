/**
 * The reference decoder (iced-x86) as the verification tools use it: mnemonic names, lengths and
 * the flags the architecture leaves undefined per instruction, plus the count-dependent rules the
 * static tables cannot express (SDM Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD/SHRD):
 *  - a masked count of 0 changes no flag at all, so nothing is undefined;
 *  - OF is defined only for a masked count of 1;
 *  - SHL/SHR of an 8/16-bit operand by ≥ its width leave CF undefined.
 */
import { Code, Decoder, DecoderOptions, Instruction, Mnemonic, RflagsBits } from 'iced-x86';
import { FLAG_AF, FLAG_CF, FLAG_DF, FLAG_OF, FLAG_PF, FLAG_SF, FLAG_ZF } from './layout.js';

/** iced-x86's RflagsBits → architectural RFLAGS bits. */
export function icedFlagsToRflags(bits: number): number {
  let f = 0;
  if (bits & RflagsBits.OF) f |= FLAG_OF;
  if (bits & RflagsBits.SF) f |= FLAG_SF;
  if (bits & RflagsBits.ZF) f |= FLAG_ZF;
  if (bits & RflagsBits.AF) f |= FLAG_AF;
  if (bits & RflagsBits.CF) f |= FLAG_CF;
  if (bits & RflagsBits.PF) f |= FLAG_PF;
  if (bits & RflagsBits.DF) f |= FLAG_DF;
  return f;
}

/** Lower-case iced-x86 mnemonic name ("add", "cmovne", "movsq" …). */
export function mnemonicName(m: number): string {
  return (Mnemonic[m] ?? 'invalid').toLowerCase();
}

export interface Decoded {
  valid: boolean;
  length: number;
  mnemonic: string;
  /** Flags undefined by this instruction whatever its operands (RFLAGS bits). */
  undefinedFlags: number;
  /** Flags the instruction writes (RFLAGS bits). */
  modifiedFlags: number;
}

const instr = new Instruction();

/** Decodes one instruction at the start of `bytes` (64-bit mode). */
export function decodeOne(bytes: Uint8Array): Decoded {
  const decoder = new Decoder(64, bytes, DecoderOptions.None);
  decoder.decodeOut(instr);
  decoder.free();
  const valid = instr.code !== Code.INVALID;
  return {
    valid,
    length: instr.length,
    mnemonic: valid ? mnemonicName(instr.mnemonic) : 'invalid',
    undefinedFlags: valid ? icedFlagsToRflags(instr.rflagsUndefined) : 0,
    modifiedFlags: valid ? icedFlagsToRflags(instr.rflagsModified) : 0,
  };
}

const SHIFTS = new Set(['shl', 'shr', 'sar', 'sal']);
const ROTATES = new Set(['rol', 'ror', 'rcl', 'rcr']);
const DOUBLE_SHIFTS = new Set(['shld', 'shrd']);

/**
 * Undefined flags of a shift/rotate given its raw count and operand width; other instructions get
 * iced-x86's static answer unchanged.
 */
export function undefinedFlagsFor(d: Decoded, count: number, bits: number): number {
  if (!SHIFTS.has(d.mnemonic) && !ROTATES.has(d.mnemonic) && !DOUBLE_SHIFTS.has(d.mnemonic)) return d.undefinedFlags;
  const masked = count & (bits === 64 ? 63 : 31);
  if (masked === 0) return 0;
  let uf = d.undefinedFlags;
  if (masked === 1) uf &= ~FLAG_OF;
  else uf |= FLAG_OF;
  if (SHIFTS.has(d.mnemonic)) {
    uf |= FLAG_AF;
    if ((d.mnemonic === 'shl' || d.mnemonic === 'shr' || d.mnemonic === 'sal') && masked >= bits) uf |= FLAG_CF;
  }
  if (DOUBLE_SHIFTS.has(d.mnemonic)) uf |= FLAG_AF;
  return uf;
}
