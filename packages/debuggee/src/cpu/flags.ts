/**
 * Lazy arithmetic flags (SDM Vol. 1 §3.4.3.1 "Status Flags", Appendix A "EFLAGS Cross-Reference").
 *
 * An arithmetic instruction records the kind of operation, the operand size, both operands and the
 * result (as 32-bit halves); CF/PF/AF/ZF/SF/OF are derived only when something reads them. While
 * `lzOp` is LZ_NONE the six flags live in `rflags` itself ("materialised").
 */
import { CpuState, FLAG_AF, FLAG_CF, FLAG_OF, FLAG_PF, FLAG_SF, FLAG_ZF, FLAGS_ARITH } from './state.js';

export const LZ_NONE = 0;
export const LZ_ADD = 1;
export const LZ_ADC = 2;
export const LZ_SUB = 3;
export const LZ_SBB = 4;
export const LZ_LOGIC = 5;
/** INC/DEC: like ADD/SUB with 1 but CF is the preserved one in `lzCin`. */
export const LZ_INC = 6;
export const LZ_DEC = 7;
/** MUL/IMUL and shifts: CF in `lzCin`, OF in `lzSrc` (0/1), AF clear, ZF/SF/PF from the result. */
export const LZ_CFOF = 8;

/** Even parity of each byte value: 1 when the number of set bits is even (PF). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i;
  b ^= b >> 4;
  b ^= b >> 2;
  b ^= b >> 1;
  PARITY[i] = (b & 1) ^ 1;
}

/** Sign-bit mask for operand sizes 1, 2, 4 (8 uses the high half). */
export const SIGN_MASK = [0, 0x80, 0x8000, 0, 0x80000000 | 0, 0, 0, 0, 0x80000000 | 0];
/** Value mask for operand sizes 1, 2, 4 (8: both halves all-ones). */
export const SIZE_MASK = [0, 0xff, 0xffff, 0, -1, 0, 0, 0, -1];

/** Unsigned 64-bit a < b on halves. */
export function ult64(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
  return aHi >>> 0 < bHi >>> 0 || (aHi === bHi && aLo >>> 0 < bLo >>> 0);
}

export class CpuFlags extends CpuState {
  lzOp = LZ_NONE;
  lzSize = 4;
  lzDst = 0;
  lzSrc = 0;
  lzRes = 0;
  lzDstHi = 0;
  lzSrcHi = 0;
  lzResHi = 0;
  /** Carry-in for ADC/SBB, preserved CF for INC/DEC. */
  lzCin = 0;

  /** Records an operation for lazy flags. Values of sizes 1/2 must be zero-extended, hi halves 0. */
  setLazy(op: number, size: number, dst: number, src: number, res: number): void {
    this.lzOp = op;
    this.lzSize = size;
    this.lzDst = dst;
    this.lzSrc = src;
    this.lzRes = res;
    this.lzDstHi = 0;
    this.lzSrcHi = 0;
    this.lzResHi = 0;
  }

  setLazy64(op: number, dLo: number, dHi: number, sLo: number, sHi: number, rLo: number, rHi: number): void {
    this.lzOp = op;
    this.lzSize = 8;
    this.lzDst = dLo;
    this.lzSrc = sLo;
    this.lzRes = rLo;
    this.lzDstHi = dHi;
    this.lzSrcHi = sHi;
    this.lzResHi = rHi;
  }

  getCF(): number {
    const op = this.lzOp;
    if (op === LZ_NONE) return this.rflags & FLAG_CF;
    if (op === LZ_LOGIC) return 0;
    if (op >= LZ_INC) return this.lzCin;
    if (this.lzSize === 8) {
      const dH = this.lzDstHi;
      const dL = this.lzDst;
      switch (op) {
        case LZ_ADD:
          return ult64(this.lzResHi, this.lzRes, dH, dL) ? 1 : 0;
        case LZ_ADC:
          return ult64(this.lzResHi, this.lzRes, dH, dL) || (this.lzCin && this.lzResHi === dH && this.lzRes === dL)
            ? 1
            : 0;
        case LZ_SUB:
          return ult64(dH, dL, this.lzSrcHi, this.lzSrc) ? 1 : 0;
        default:
          return ult64(dH, dL, this.lzSrcHi, this.lzSrc) || (this.lzCin && dH === this.lzSrcHi && dL === this.lzSrc)
            ? 1
            : 0;
      }
    }
    const d = this.lzDst >>> 0;
    switch (op) {
      case LZ_ADD:
        return this.lzRes >>> 0 < d ? 1 : 0;
      case LZ_ADC:
        return this.lzRes >>> 0 < d || (this.lzCin && this.lzRes >>> 0 === d) ? 1 : 0;
      case LZ_SUB:
        return d < this.lzSrc >>> 0 ? 1 : 0;
      default:
        return d < this.lzSrc >>> 0 || (this.lzCin && d === this.lzSrc >>> 0) ? 1 : 0;
    }
  }

  getZF(): boolean {
    if (this.lzOp === LZ_NONE) return (this.rflags & FLAG_ZF) !== 0;
    return (this.lzRes | this.lzResHi) === 0;
  }

  getSF(): boolean {
    if (this.lzOp === LZ_NONE) return (this.rflags & FLAG_SF) !== 0;
    return this.lzSize === 8 ? this.lzResHi < 0 : (this.lzRes & SIGN_MASK[this.lzSize]!) !== 0;
  }

  getOF(): boolean {
    const op = this.lzOp;
    if (op === LZ_NONE) return (this.rflags & FLAG_OF) !== 0;
    if (op === LZ_LOGIC) return false;
    if (op === LZ_CFOF) return this.lzSrc !== 0;
    let d: number;
    let s: number;
    let r: number;
    let m: number;
    if (this.lzSize === 8) {
      d = this.lzDstHi;
      s = this.lzSrcHi;
      r = this.lzResHi;
      m = 0x80000000 | 0;
    } else {
      d = this.lzDst;
      s = this.lzSrc;
      r = this.lzRes;
      m = SIGN_MASK[this.lzSize]!;
    }
    if (op === LZ_ADD || op === LZ_ADC || op === LZ_INC) return ((d ^ r) & (s ^ r) & m) !== 0;
    return ((d ^ s) & (d ^ r) & m) !== 0;
  }

  getPF(): boolean {
    if (this.lzOp === LZ_NONE) return (this.rflags & FLAG_PF) !== 0;
    return PARITY[this.lzRes & 0xff] === 1;
  }

  getAF(): boolean {
    const op = this.lzOp;
    if (op === LZ_NONE) return (this.rflags & FLAG_AF) !== 0;
    if (op === LZ_LOGIC || op === LZ_CFOF) return false;
    return ((this.lzDst ^ this.lzSrc ^ this.lzRes) & 0x10) !== 0;
  }

  /** Folds the lazy state into `rflags`. */
  materializeFlags(): void {
    if (this.lzOp === LZ_NONE) return;
    let f = this.rflags & ~FLAGS_ARITH;
    if (this.getCF()) f |= FLAG_CF;
    if (this.getPF()) f |= FLAG_PF;
    if (this.getAF()) f |= FLAG_AF;
    if (this.getZF()) f |= FLAG_ZF;
    if (this.getSF()) f |= FLAG_SF;
    if (this.getOF()) f |= FLAG_OF;
    this.rflags = f;
    this.lzOp = LZ_NONE;
  }

  /** Full RFLAGS value (bit 1 always set). */
  readFlags(): number {
    this.materializeFlags();
    return this.rflags | 2;
  }

  /** Sets the arithmetic flags to `bits` (others untouched). */
  writeArith(bits: number): void {
    this.materializeFlags();
    this.rflags = (this.rflags & ~FLAGS_ARITH) | (bits & FLAGS_ARITH);
  }

  /** Lazily sets ZF/SF/PF from a result (masked to `size`), CF and OF as given, AF clear. */
  resultFlags(size: number, lo: number, hi: number, cf: number, of: boolean): void {
    this.lzOp = LZ_CFOF;
    this.lzSize = size;
    this.lzRes = lo;
    this.lzResHi = size === 8 ? hi : 0;
    this.lzCin = cf;
    this.lzSrc = of ? 1 : 0;
  }

  /** Evaluates condition code `cc` (low nibble of Jcc/SETcc/CMOVcc, SDM Vol. 1 Appendix B). */
  cond(cc: number): boolean {
    const op = this.lzOp;
    // JE/JNE after any lazily recorded operation: ZF is just "result is zero".
    if (op !== LZ_NONE && (cc === 4 || cc === 5)) return ((this.lzRes | this.lzResHi) === 0) === (cc === 4);
    // Fast path for the overwhelmingly common compare-and-branch.
    if (op === LZ_SUB && this.lzSize !== 8) {
      const d = this.lzDst;
      const s = this.lzSrc;
      switch (cc) {
        case 4:
          return d === s;
        case 5:
          return d !== s;
        case 2:
          return d >>> 0 < s >>> 0;
        case 3:
          return d >>> 0 >= s >>> 0;
        case 6:
          return d >>> 0 <= s >>> 0;
        case 7:
          return d >>> 0 > s >>> 0;
      }
      if (this.lzSize === 4) {
        switch (cc) {
          case 0xc:
            return d < s;
          case 0xd:
            return d >= s;
          case 0xe:
            return d <= s;
          case 0xf:
            return d > s;
        }
      }
    }
    if (op === LZ_SUB && this.lzSize === 8) {
      // 64-bit compare: decide on the operand halves.
      const dH = this.lzDstHi;
      const sH = this.lzSrcHi;
      const dL = this.lzDst >>> 0;
      const sL = this.lzSrc >>> 0;
      switch (cc) {
        case 2:
          return dH >>> 0 < sH >>> 0 || (dH === sH && dL < sL);
        case 3:
          return !(dH >>> 0 < sH >>> 0 || (dH === sH && dL < sL));
        case 6:
          return dH >>> 0 < sH >>> 0 || (dH === sH && dL <= sL);
        case 7:
          return !(dH >>> 0 < sH >>> 0 || (dH === sH && dL <= sL));
        case 0xc:
          return dH < sH || (dH === sH && dL < sL);
        case 0xd:
          return !(dH < sH || (dH === sH && dL < sL));
        case 0xe:
          return dH < sH || (dH === sH && dL <= sL);
        case 0xf:
          return !(dH < sH || (dH === sH && dL <= sL));
      }
    }
    let r: boolean;
    switch (cc >> 1) {
      case 0:
        r = this.getOF();
        break;
      case 1:
        r = this.getCF() !== 0;
        break;
      case 2:
        r = this.getZF();
        break;
      case 3:
        r = this.getCF() !== 0 || this.getZF();
        break;
      case 4:
        r = this.getSF();
        break;
      case 5:
        r = this.getPF();
        break;
      case 6:
        r = this.getSF() !== this.getOF();
        break;
      default:
        r = this.getZF() || this.getSF() !== this.getOF();
        break;
    }
    return (cc & 1) === 0 ? r : !r;
  }
}
