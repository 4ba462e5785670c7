/**
 * Operand decoding and access (SDM Vol. 2A §2.1 "Instruction Format", §2.2.1 REX prefixes,
 * Table 2-2 ModR/M and Table 2-3 SIB; §2.2.1.6 RIP-relative addressing).
 *
 * `decodeModrm` leaves the reg field in `mReg`, and either a register number in `mRm` or -1 with
 * the linear address in `ea`. Register accessors honour the legacy AH..BH encoding when no REX is
 * present; 32-bit register writes zero the upper half (SDM Vol. 1 §3.4.1.1).
 */
import { GUEST_FAULT, VEC_GP, VEC_SS, VEC_UD } from './faults.js';
import { CpuInterrupts } from './interrupts.js';
import { isCanonical } from './paging.js';
import { REG_RSP, TWO_32 } from './state.js';

const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

export abstract class CpuOperands extends CpuInterrupts {
  mReg = 0;
  mRm = 0;
  ea = 0;
  /** Raw reg field (0..7, without REX.R), the group selector of group opcodes. */
  mOp = 0;

  decodeModrm(immBytes: number): void {
    const b = this.fetch8();
    const mod = b >> 6;
    const rex = this.rex;
    this.mOp = (b >> 3) & 7;
    this.mReg = this.mOp | ((rex & 4) << 1);
    let rm = b & 7;
    if (mod === 3) {
      this.mRm = rm | ((rex & 1) << 3);
      return;
    }
    this.mRm = -1;
    const lo = this.lo;
    const hi = this.hi;
    let addr = 0;
    if (rm === 4) {
      const sib = this.fetch8();
      const scale = 1 << (sib >> 6);
      const index = ((sib >> 3) & 7) | ((rex & 2) << 2);
      const base = (sib & 7) | ((rex & 1) << 3);
      if ((base & 7) === 5 && mod === 0) addr = this.fetch32();
      else addr = this.asize === 8 ? hi[base]! * TWO_32 + (lo[base]! >>> 0) : lo[base]! >>> 0;
      if (index !== 4) addr += (this.asize === 8 ? hi[index]! * TWO_32 + (lo[index]! >>> 0) : lo[index]! >>> 0) * scale;
    } else if (rm === 5 && mod === 0) {
      const disp = this.fetch32();
      const target = this.ip + immBytes + disp;
      // With 67h the RIP-relative address is truncated to 32 bits (EIP-relative).
      this.ea = (this.asize === 4 ? ((target % TWO_32) + TWO_32) % TWO_32 : target) + this.segOverrideBase;
      return;
    } else {
      rm |= (rex & 1) << 3;
      addr = this.asize === 8 ? hi[rm]! * TWO_32 + (lo[rm]! >>> 0) : lo[rm]! >>> 0;
    }
    if (mod === 1) addr += this.fetchS8();
    else if (mod === 2) addr += this.fetch32();
    if (this.asize === 8) {
      // Wrap modulo 2^64 into the signed range (exact for any canonical result).
      if (addr >= TWO_63) addr -= TWO_64;
      else if (addr < -TWO_63) addr += TWO_64;
    } else addr = addr >>> 0;
    this.ea = addr + this.segOverrideBase;
  }

  /** The reg field of the ModRM byte at `ip`, without consuming it (selects the immediate size). */
  peekModrmOp(): number {
    const b = this.fetch8();
    this.ip--;
    return (b >> 3) & 7;
  }

  eaLo = 0;
  eaHi = 0;

  /**
   * LEA: the effective address as exact 64-bit halves in eaLo/eaHi (no segment base), because LEA
   * is also used for plain integer arithmetic on arbitrary 64-bit values.
   */
  decodeLea(): void {
    const b = this.fetch8();
    const mod = b >> 6;
    const rex = this.rex;
    this.mOp = (b >> 3) & 7;
    this.mReg = this.mOp | ((rex & 4) << 1);
    if (mod === 3) this.raise(VEC_UD);
    let rm = b & 7;
    const lo = this.lo;
    const hi = this.hi;
    let sLo = 0; // low sum (may exceed 32 bits; exact)
    let sHi = 0;
    if (rm === 4) {
      const sib = this.fetch8();
      const scale = 1 << (sib >> 6);
      const index = ((sib >> 3) & 7) | ((rex & 2) << 2);
      const base = (sib & 7) | ((rex & 1) << 3);
      if ((base & 7) === 5 && mod === 0) {
        const d = this.fetch32();
        sLo = d >>> 0;
        sHi = d >> 31;
      } else {
        sLo = lo[base]! >>> 0;
        sHi = hi[base]!;
      }
      if (index !== 4) {
        sLo += (lo[index]! >>> 0) * scale;
        sHi += hi[index]! * scale;
      }
    } else if (rm === 5 && mod === 0) {
      const disp = this.fetch32();
      const a = this.ip + disp;
      const h = Math.floor(a / TWO_32);
      sLo = a - h * TWO_32;
      sHi = h;
    } else {
      rm |= (rex & 1) << 3;
      sLo = lo[rm]! >>> 0;
      sHi = hi[rm]!;
    }
    if (mod !== 0) {
      const d = mod === 1 ? this.fetchS8() : this.fetch32();
      sLo += d >>> 0;
      sHi += d >> 31;
    }
    const carry = Math.floor(sLo / TWO_32);
    this.eaLo = sLo | 0;
    this.eaHi = this.asize === 8 ? (sHi + carry) | 0 : 0;
    if (this.asize === 4) this.eaLo = sLo | 0;
  }

  /** MOV CR/DR form: the mod field is ignored and r/m always names a register. */
  decodeModrmRegOnly(): void {
    const b = this.fetch8();
    this.mOp = (b >> 3) & 7;
    this.mReg = this.mOp | ((this.rex & 4) << 1);
    this.mRm = (b & 7) | ((this.rex & 1) << 3);
  }

  /** #UD unless the ModRM operand is memory (LEA, LGDT, ...). */
  requireMemory(): void {
    if (this.mRm >= 0) this.raise(VEC_UD);
  }

  // ---- Registers by size (values: 1/2 zero-extended, 4 signed int32, 8 lo + hi64) ----

  readReg(size: number, r: number): number {
    if (size === 4) return this.lo[r]!;
    if (size === 8) {
      this.hi64 = this.hi[r]!;
      return this.lo[r]!;
    }
    if (size === 2) return this.lo[r]! & 0xffff;
    if (this.rex === 0 && r >= 4 && r < 8) return (this.lo[r - 4]! >> 8) & 0xff;
    return this.lo[r]! & 0xff;
  }

  writeReg(size: number, r: number, v: number, vhi: number): void {
    if (size === 4) {
      this.lo[r] = v;
      this.hi[r] = 0;
    } else if (size === 8) {
      this.lo[r] = v;
      this.hi[r] = vhi;
    } else if (size === 2) this.lo[r] = (this.lo[r]! & ~0xffff) | (v & 0xffff);
    else if (this.rex === 0 && r >= 4 && r < 8) this.lo[r - 4] = (this.lo[r - 4]! & ~0xff00) | ((v & 0xff) << 8);
    else this.lo[r] = (this.lo[r]! & ~0xff) | (v & 0xff);
  }

  readMem(size: number, lin: number): number {
    if (size === 4) return this.read32(lin);
    if (size === 8) return this.read64(lin);
    if (size === 1) return this.read8(lin);
    return this.read16(lin);
  }

  writeMem(size: number, lin: number, v: number, vhi: number): void {
    if (size === 4) this.write32(lin, v);
    else if (size === 8) this.write64(lin, v, vhi);
    else if (size === 1) this.write8(lin, v);
    else this.write16(lin, v);
  }

  /** Reads the ModRM r/m operand (memory or register). */
  readRm(size: number): number {
    return this.mRm >= 0 ? this.readReg(size, this.mRm) : this.readMem(size, this.ea);
  }

  writeRm(size: number, v: number, vhi: number): void {
    if (this.mRm >= 0) this.writeReg(size, this.mRm, v, vhi);
    else this.writeMem(size, this.ea, v, vhi);
  }

  // ---- Stack (64-bit mode: 8-byte pushes unless 66h) ----

  /** A non-canonical stack address raises #SS(0), not #GP(0) (SDM Vol. 3A §6.15, interrupt 12). */
  stackFault(rsp: number, e: unknown): void {
    if (e === GUEST_FAULT && this.faultVector === VEC_GP && !isCanonical(rsp)) this.faultVector = VEC_SS;
  }

  push64(v: number, vhi: number): void {
    const rsp = this.hi[REG_RSP]! * TWO_32 + (this.lo[REG_RSP]! >>> 0) - 8;
    try {
      this.write64(rsp, v, vhi);
    } catch (e) {
      this.stackFault(rsp, e);
      throw e;
    }
    const l = (this.lo[REG_RSP]! - 8) | 0;
    if (l >>> 0 > 0xfffffff7) this.hi[REG_RSP] = (this.hi[REG_RSP]! - 1) | 0;
    this.lo[REG_RSP] = l;
  }

  /** Pops 8 bytes: returns lo, high half in hi64. */
  pop64(): number {
    const rsp = this.hi[REG_RSP]! * TWO_32 + (this.lo[REG_RSP]! >>> 0);
    let v: number;
    try {
      v = this.read64(rsp);
    } catch (e) {
      this.stackFault(rsp, e);
      throw e;
    }
    const l = (this.lo[REG_RSP]! + 8) | 0;
    if (l >>> 0 < 8) this.hi[REG_RSP] = (this.hi[REG_RSP]! + 1) | 0;
    this.lo[REG_RSP] = l;
    return v;
  }

  push16(v: number): void {
    const rsp = this.rsp() - 2;
    this.write16(rsp, v);
    this.addRsp(-2);
  }

  pop16(): number {
    const v = this.read16(this.rsp());
    this.addRsp(2);
    return v;
  }

  /** Pushes a value of the operand size (2 or 8). */
  pushOp(v: number, vhi: number): void {
    if (this.osize === 2) this.push16(v);
    else this.push64(v, vhi);
  }

  popOp(): number {
    return this.osize === 2 ? this.pop16() : this.pop64();
  }

  addRsp(delta: number): void {
    this.addReg64(REG_RSP, delta);
  }

  /** r += delta (64-bit, delta a small signed number). */
  addReg64(r: number, delta: number): void {
    const s = (this.lo[r]! >>> 0) + delta;
    this.lo[r] = s | 0;
    if (s < 0) this.hi[r] = (this.hi[r]! - 1) | 0;
    else if (s >= TWO_32) this.hi[r] = (this.hi[r]! + 1) | 0;
  }

  /** Register value as a signed JS number (exact within ±2^53). */
  regNumber(r: number): number {
    return this.hi[r]! * TWO_32 + (this.lo[r]! >>> 0);
  }

  /** Sets a register from a canonical/small signed number. */
  setRegNumber(r: number, v: number): void {
    const h = Math.floor(v / TWO_32);
    this.lo[r] = (v - h * TWO_32) | 0;
    this.hi[r] = h | 0;
  }
}
