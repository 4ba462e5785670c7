/**
 * Instruction families that move data: mov in every form (moffs, imm64), movzx/movsx/movsxd, lea,
 * xchg, push/pop, and the string instructions with rep/repe/repne in both DF directions.
 */
import { leBytes, operandValue, regWithLow, rmMemory, rmRegister, setMemory } from './encode.js';
import {
  type Family,
  immediate,
  izBytes,
  newCase,
  pickReg,
  rmOperand,
  SIZES,
  setRegOperand,
  sizePrefix,
  WIDE,
} from './gen-common.js';
import { DATA_ADDR, DATA_SIZE, FLAG_DF, FS_BASE, GS_BASE, STACK_TOP } from './layout.js';

/** mov r/m,reg; reg,r/m; reg,imm (B0/B8, imm64 with REX.W); r/m,imm (C6/C7); moffs (A0–A3). */
export const mov: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(SIZES);
  const w = bits === 8 ? 0 : 1;
  if (bits !== 8) sizePrefix(rng, ins, bits);
  else if (rng.chance(0.3)) ins.forceRex = true;
  const form = rng.int(5);
  if (form === 0) {
    const reg = pickReg(rng);
    setRegOperand(rng, st, reg, bits);
    const toReg = rng.chance(0.5);
    ins.opcode = [(toReg ? 0x8a : 0x88) | w];
    rmOperand(rng, ins, st, reg, bits, { ripRelative: toReg });
  } else if (form === 1) {
    const r = pickReg(rng);
    ins.rexB = r >> 3;
    st.set(r, rng.u64());
    ins.opcode = [(bits === 8 ? 0xb0 : 0xb8) + (r & 7)];
    ins.imm = immediate(rng, bits === 8 ? 1 : bits === 16 ? 2 : bits === 32 ? 4 : 8);
  } else if (form === 2) {
    ins.opcode = [0xc6 | w];
    rmOperand(rng, ins, st, 0, bits);
    ins.imm = immediate(rng, bits === 8 ? 1 : izBytes(bits));
  } else if (form === 3) {
    // moffs: a 64-bit absolute address (32-bit with 67h), no ModRM.
    const store = rng.chance(0.5);
    const off = rng.int(0x2000 - bits / 8);
    const short = rng.chance(0.2);
    if (short) ins.legacy.push(0x67);
    st.set(0, rng.u64());
    setMemory(st, off, operandValue(rng, bits), bits / 8);
    ins.opcode = [(store ? 0xa2 : 0xa0) | w];
    ins.imm = leBytes(BigInt(DATA_ADDR + off), short ? 4 : 8);
  } else {
    // movzx/movsx (0F B6/B7/BE/BF) and movsxd (63).
    const reg = pickReg(rng);
    st.set(reg, rng.u64());
    const kind = rng.int(5);
    if (kind < 4) {
      const srcBits = kind & 1 ? 16 : 8;
      ins.opcode = [0x0f, [0xb6, 0xb7, 0xbe, 0xbf][kind]!];
      rmOperand(rng, ins, st, reg, srcBits, { ripRelative: true });
    } else {
      ins.opcode = [0x63];
      rmOperand(rng, ins, st, reg, bits === 16 ? 16 : 32, { ripRelative: true });
    }
  }
  return { code: ins.bytes(), st };
};

/** lea with every addressing form (values unconstrained: nothing is accessed); mod = 3 is #UD. */
export const lea: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(WIDE);
  sizePrefix(rng, ins, bits);
  ins.opcode = [0x8d];
  const reg = pickReg(rng);
  st.set(reg, rng.u64());
  if (rng.chance(0.03)) {
    rmRegister(ins, reg, pickReg(rng));
    return { code: ins.bytes(), st, expectUd: true };
  }
  const before = new Set(st.regs.keys());
  rmMemory(rng, ins, st, reg, 1, { ripRelative: true });
  if (rng.chance(0.5)) {
    for (const r of st.regs.keys())
      if (!before.has(r)) st.regs.set(r, rng.chance(0.5) ? rng.u64() : operandValue(rng, 64));
  }
  return { code: ins.bytes(), st };
};

/** xchg r/m,reg (86/87, memory forms implicitly locked) and xchg eAX,reg (90+r). */
export const xchg: Family = (rng) => {
  const { ins, st } = newCase();
  const bits = rng.pick(SIZES);
  if (bits !== 8) sizePrefix(rng, ins, bits);
  if (bits !== 8 && rng.chance(0.3)) {
    const r = pickReg(rng);
    ins.rexB = r >> 3;
    setRegOperand(rng, st, 0, bits);
    setRegOperand(rng, st, r, bits);
    ins.opcode = [0x90 + (r & 7)];
    return { code: ins.bytes(), st };
  }
  const reg = pickReg(rng);
  setRegOperand(rng, st, reg, bits);
  ins.opcode = [bits === 8 ? 0x86 : 0x87];
  const isMem = rmOperand(rng, ins, st, reg, bits);
  if (isMem && rng.chance(0.2)) ins.legacy.push(0xf0);
  return { code: ins.bytes(), st };
};

/** push/pop: 50+r/58+r, FF /6, 8F /0, 6A/68 imm, 16-bit forms with 66; RSP itself included. */
export const pushPop: Family = (rng) => {
  const { ins, st } = newCase();
  const wide16 = rng.chance(0.15);
  if (wide16) ins.legacy.push(0x66);
  if (rng.chance(0.15)) ins.forceRex = true;
  if (rng.chance(0.1)) ins.rexW = 1; // REX.W is ignored by push/pop (64-bit default)
  if (ins.rexW && wide16) ins.rexW = 0; // keep 66 meaningful
  // Stack contents for pops.
  st.patch(STACK_TOP - DATA_ADDR, leBytes(operandValue(rng, 64), 8));
  const form = rng.int(7);
  if (form === 6) {
    // RSP-relative memory operands: push [rsp+d] reads before RSP moves; pop [rsp+d] computes the
    // address with the RSP value after the pop.
    const disp = 8 * rng.int(8);
    st.patch(STACK_TOP - DATA_ADDR + disp, leBytes(operandValue(rng, 64), 8));
    ins.opcode = rng.chance(0.5) ? [0xff, 0x74, 0x24, disp] : [0x8f, 0x44, 0x24, disp];
  } else if (form === 0 || form === 1) {
    const r = pickReg(rng);
    ins.rexB = r >> 3;
    if (r !== 4) st.set(r, rng.u64());
    ins.opcode = [(form === 0 ? 0x50 : 0x58) + (r & 7)];
  } else if (form === 2) {
    ins.opcode = [0xff];
    rmOperand(rng, ins, st, 6, wide16 ? 16 : 64, { allowRsp: false, mem: 0.6 });
    if (ins.modrm[0]! >> 6 === 3 && rng.chance(0.3)) ins.modrm[0] = (ins.modrm[0]! & ~7) | 4; // push rsp
  } else if (form === 3) {
    ins.opcode = [0x8f];
    rmOperand(rng, ins, st, 0, wide16 ? 16 : 64, { allowRsp: false, mem: 0.6 });
  } else if (form === 4) {
    ins.opcode = [0x6a];
    ins.imm = immediate(rng, 1);
  } else {
    ins.opcode = [0x68];
    ins.imm = immediate(rng, wide16 ? 2 : 4);
  }
  return { code: ins.bytes(), st };
};

const STRING_OPS = [
  { name: 'movs', op: 0xa4, reads: true, writes: true, compares: false },
  { name: 'cmps', op: 0xa6, reads: true, writes: false, compares: true },
  { name: 'stos', op: 0xaa, reads: false, writes: true, compares: false },
  { name: 'lods', op: 0xac, reads: true, writes: false, compares: false },
  { name: 'scas', op: 0xae, reads: false, writes: false, compares: true },
] as const;

/** String instructions in all sizes, with rep/repe/repne, both DF values, small counts. */
export const stringOp: Family = (rng) => {
  const { ins, st } = newCase();
  const s = rng.pick(STRING_OPS);
  const bits = rng.pick(SIZES);
  const size = bits / 8;
  if (bits !== 8) sizePrefix(rng, ins, bits);
  const rep = rng.pick(s.compares ? [0, 0xf3, 0xf2] : [0, 0xf3]);
  if (rep) ins.legacy.push(rep);
  if (rng.chance(0.5)) ins.legacy.reverse();
  const down = rng.chance(0.5);
  // Now and then a rep run off the end (or the start) of the data region: #PF part-way through,
  // with RSI/RDI/RCX showing the iterations already done.
  const runOff = rep !== 0 && rng.chance(0.05);
  const count = runOff ? 0x40 + rng.int(0x40) : rng.chance(0.1) ? 0 : 1 + rng.int(8);
  st.set(1, rep ? BigInt(count) : rng.u64());
  // Source around +0x400, destination around +0xc00, with room for 9 elements either way.
  let srcOff = 0x400 + rng.int(0x200);
  let dstOff = 0xc00 + rng.int(0x200);
  if (runOff) {
    const edge = down ? rng.int(0x20) : 0x2000 - 1 - rng.int(0x20);
    if (rng.chance(0.5) && s.reads) srcOff = edge;
    else dstOff = edge;
  } else if (s.name === 'movs' && rng.chance(0.15)) {
    // Overlapping source and destination: rep movs is defined element by element, so a
    // destination just ahead of the source replicates the leading elements (no memmove).
    dstOff = srcOff + (rng.int(17) - 8);
  }
  let srcBase = BigInt(DATA_ADDR + srcOff);
  // (Not combined with a run off the region: when both operands would fault, which one the CPU
  // touches first is not architectural.)
  if ((s.name === 'movs' || s.name === 'cmps' || s.name === 'lods') && !runOff && rng.chance(0.1)) {
    // The source segment can be overridden; ES:RDI cannot.
    const fs = rng.chance(0.5);
    ins.legacy.unshift(fs ? 0x64 : 0x65);
    srcBase -= BigInt(fs ? FS_BASE : GS_BASE);
  }
  // 67h: ESI/EDI/ECX instead of RSI/RDI/RCX. Their upper halves start clear: with dirty upper
  // halves this CPU zero-extends the registers even when no iteration runs (ECX = 0, or a fault on
  // the first one), which is microcode behaviour, not architecture.
  const addr32 = rng.chance(0.1);
  if (addr32) ins.legacy.push(0x67);
  st.set(6, addr32 ? srcBase & 0xffff_ffffn : srcBase);
  st.set(7, BigInt(DATA_ADDR + dstOff));
  const acc = operandValue(rng, bits);
  st.set(0, regWithLow(rng, bits, acc));
  const step = down ? -size : size;
  if (s.name === 'cmps') {
    // Make the first k elements equal so repe/repne run a while before stopping.
    const k = rng.int(count + 1);
    const inside = (off: number) => off >= 0 && off + size <= DATA_SIZE;
    for (let i = 0; i < k && inside(srcOff + i * step) && inside(dstOff + i * step); i++) {
      const v = leBytes(operandValue(rng, bits), size);
      st.patch(srcOff + i * step, v);
      st.patch(dstOff + i * step, v);
    }
  }
  const hit = dstOff + rng.int(count + 1) * step;
  if (s.name === 'scas' && rng.chance(0.6) && hit >= 0 && hit + size <= DATA_SIZE) setMemory(st, hit, acc, size);
  ins.opcode = [s.op | (bits === 8 ? 0 : 1)];
  const flags = (rng.u32() & 0x8d5) | (down ? FLAG_DF : 0);
  return {
    code: ins.bytes(),
    st,
    flags,
    labelPrefix: `${rep === 0xf3 ? (s.compares ? 'repe ' : 'rep ') : rep ? 'repne ' : ''}`,
  };
};
