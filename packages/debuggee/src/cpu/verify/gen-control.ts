/**
 * Control transfer, traps and privilege checks, nops, and short multi-instruction sequences.
 * The code page is all INT3 around the snippet, so a branch target is observable: the run stops
 * on the INT3 it landed on (or #PF when it left the page, #GP when the target is not canonical).
 */
import { codeAddr, leBytes, operandValue, regWithLow, rmMemory, rmRegister } from './encode.js';
import { type Family, newCase, pickReg, randomFlags, SIZES, setRegOperand, sizePrefix } from './gen-common.js';
import { DATA_ADDR, STACK_TOP } from './layout.js';

/** A landing offset in the code page past any snippet. */
const landing = (rng: { int(n: number): number }): number => 0x20 + rng.int(0xfe0);
const NON_CANONICAL = 0x8000_0000_0000_0000n;
const USER_CS = 0x33n;
const USER_SS = 0x2bn;

/** jmp/jcc/call rel8/rel32, jmp/call indirect (register, memory, jump table), ret, ret imm16, leave. */
export const branch: Family = (rng) => {
  const { ins, st } = newCase();
  const form = rng.int(9);
  const flags = randomFlags(rng);
  switch (form) {
    case 0:
    case 2: {
      // jmp rel8 (EB) / jcc rel8 (70+cc); sometimes backwards off the page (#PF on fetch).
      ins.opcode = form === 0 ? [0xeb] : [0x70 + rng.int(16)];
      const d = rng.chance(0.05) ? -128 + rng.int(64) : rng.int(128);
      ins.imm = [d & 0xff];
      break;
    }
    case 1:
    case 3:
    case 4: {
      // jmp rel32 (E9) / jcc rel32 (0F 80+cc) / call rel32 (E8).
      ins.opcode = form === 1 ? [0xe9] : form === 3 ? [0x0f, 0x80 + rng.int(16)] : [0xe8];
      const d = rng.chance(0.05) ? -0x2000 : rng.int(0xf00);
      ins.imm = leBytes(BigInt(d), 4);
      break;
    }
    case 5: {
      // jmp r/m64 (FF /4) or call r/m64 (FF /2), register operand; 3E = notrack.
      if (rng.chance(0.2)) ins.legacy.push(0x3e);
      if (rng.chance(0.2)) ins.forceRex = true;
      if (rng.chance(0.1)) ins.rexW = 1;
      const r = pickReg(rng, false);
      const digit = rng.chance(0.5) ? 4 : 2;
      st.set(r, digit === 4 && rng.chance(0.05) ? NON_CANONICAL : codeAddr(landing(rng)));
      ins.opcode = [0xff];
      rmRegister(ins, digit, r);
      break;
    }
    case 6: {
      // Through memory, including the jump-table form [index*8 + disp32].
      ins.opcode = [0xff];
      const digit = rng.chance(0.5) ? 4 : 2;
      // A call to a non-canonical target faults, but this CPU has already stored the return
      // address below RSP by then (not architectural): only jmp gets such targets.
      const target = digit === 4 && rng.chance(0.05) ? NON_CANONICAL : codeAddr(landing(rng));
      if (rng.chance(0.5)) {
        const index = pickReg(rng, false);
        const k = rng.int(32);
        const table = 0x100 + 8 * rng.int(64);
        st.set(index, BigInt(k));
        ins.rexX = index >> 3;
        ins.modrm = [(digit << 3) | 4, (3 << 6) | ((index & 7) << 3) | 5, ...leBytes(BigInt(DATA_ADDR + table), 4)];
        st.patch(table + 8 * k, leBytes(target, 8));
      } else {
        const off = rmMemory(rng, ins, st, digit, 8, { avoid: [4] });
        st.patch(off, leBytes(target, 8));
      }
      break;
    }
    case 7: {
      // ret (C3) / ret imm16 (C2).
      st.patch(STACK_TOP - DATA_ADDR, leBytes(codeAddr(landing(rng)), 8));
      if (rng.chance(0.5)) {
        ins.opcode = [0xc3];
      } else {
        ins.opcode = [0xc2];
        ins.imm = leBytes(BigInt(rng.chance(0.5) ? 8 * rng.int(8) : rng.int(0x400)), 2);
      }
      break;
    }
    default: {
      // leave (C9): rsp = rbp, pop rbp.
      const off = 0x800 + 8 * rng.int(0x100);
      st.set(5, BigInt(DATA_ADDR + off));
      st.patch(off, leBytes(operandValue(rng, 64), 8));
      ins.opcode = [0xc9];
    }
  }
  return { code: ins.bytes(), st, flags };
};

/**
 * Traps and privilege: int3, int n (a DPL-0 gate from user mode is #GP(n*8+2)), into and ud2 (#UD),
 * system instructions at CPL 3 (#GP), iretq and retfq within user mode.
 */
export const trap: Family = (rng) => {
  const { ins, st } = newCase();
  const kind = rng.int(6);
  if (kind === 0) {
    ins.opcode = rng.pick([[0xcc], [0xcd, 0x03]]);
  } else if (kind === 1) {
    let n = rng.int(256);
    while (n === 3 || n === 4 || n === 0x80) n = rng.int(256); // the user-callable gates of the host kernel
    ins.opcode = [0xcd, n];
  } else if (kind === 2) {
    ins.opcode = rng.pick([[0xce], [0x0f, 0x0b]]);
    return { code: ins.bytes(), st, expectUd: true };
  } else if (kind === 3) {
    // Privileged at CPL 3 (IOPL 0): hlt, cli, sti, in/out, rdmsr/wrmsr, mov cr/dr, lgdt/lidt, ltr, invlpg, swapgs, sysret.
    ins.opcode = rng.pick([
      [0xf4],
      [0xfa],
      [0xfb],
      [0xe4, 0x60],
      [0xe6, 0x80],
      [0xec],
      [0xef],
      [0x0f, 0x32],
      [0x0f, 0x30],
      [0x0f, 0x20, 0xd8],
      [0x0f, 0x22, 0xd8],
      [0x0f, 0x21, 0xc0],
      [0x0f, 0x23, 0xf8],
      [0x0f, 0x01, 0x10],
      [0x0f, 0x01, 0x18],
      [0x0f, 0x00, 0xd8],
      [0x0f, 0x01, 0x38],
      [0x0f, 0x01, 0xf8],
      [0x48, 0x0f, 0x07],
    ]);
    st.set(2, BigInt(rng.int(0x10000)));
  } else if (kind === 4) {
    // iretq: RIP, CS, RFLAGS, RSP, SS from the stack.
    const frame = STACK_TOP - DATA_ADDR;
    const flags = BigInt((rng.u32() & 0xcd5) | 0x202);
    const newRsp = BigInt(DATA_ADDR + 0x200 + 8 * rng.int(0x80));
    const cs = rng.chance(0.9) ? USER_CS : 0n;
    st.patch(frame, [
      ...leBytes(codeAddr(landing(rng)), 8),
      ...leBytes(cs, 8),
      ...leBytes(flags, 8),
      ...leBytes(newRsp, 8),
      ...leBytes(USER_SS, 8),
    ]);
    ins.opcode = [0x48, 0xcf];
  } else {
    // retfq: RIP, CS; a data-segment or null selector is #GP.
    const cs = rng.pick([USER_CS, USER_CS, USER_CS, USER_SS, 0n]);
    st.patch(STACK_TOP - DATA_ADDR, [...leBytes(codeAddr(landing(rng)), 8), ...leBytes(cs, 8)]);
    ins.opcode = [0x48, 0xcb];
  }
  return { code: ins.bytes(), st };
};

/**
 * Flag instructions beyond the arithmetic: clc/stc/cmc/cld/std, and pushf/popf (64-bit and 66
 * forms) that kernels use to save and restore the interrupt flag.
 */
export const flagOps: Family = (rng) => {
  const { ins, st } = newCase();
  const kind = rng.int(7);
  if (kind < 5) {
    ins.opcode = [[0xf8, 0xf9, 0xf5, 0xfc, 0xfd][kind]!];
  } else {
    if (rng.chance(0.2)) ins.legacy.push(0x66);
    if (rng.chance(0.1)) ins.forceRex = true;
    ins.opcode = [kind === 5 ? 0x9c : 0x9d];
    // Popped flags: arithmetic, DF, IF and the fixed bit (no TF, AC or NT: they would change later behaviour).
    const popped = BigInt((rng.u32() & 0xcd5) | 0x202);
    st.patch(STACK_TOP - DATA_ADDR, leBytes(popped, 8));
  }
  return { code: ins.bytes(), st };
};

const NOPS: number[][] = [
  [0x90],
  [0x66, 0x90],
  [0x48, 0x90],
  [0xf3, 0x90],
  [0xf3, 0x0f, 0x1e, 0xfa],
  [0x0f, 0x1f, 0x00],
  [0x0f, 0x1f, 0x40, 0x00],
  [0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
  [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];

/** Every nop form: 90, 66 90, pause, endbr64, 0F 1F /0 with any operand (never accessed). */
export const nop: Family = (rng) => {
  const { ins, st } = newCase();
  if (rng.chance(0.5)) return { code: rng.pick(NOPS), st };
  const bits = rng.pick([16, 32, 64]);
  sizePrefix(rng, ins, bits);
  ins.opcode = [0x0f, 0x1f];
  if (rng.chance(0.3)) rmRegister(ins, 0, pickReg(rng));
  else {
    rmMemory(rng, ins, st, 0, 1, { ripRelative: true });
    for (const r of st.regs.keys()) st.regs.set(r, rng.u64()); // any address: a nop does not access it
  }
  return { code: ins.bytes(), st };
};

const SEQ_REGS = [0, 1, 2, 3, 6, 8, 9, 13];

/**
 * Two to four register-only instructions that write and then read flags (adc/sbb chains, setcc,
 * cmovcc, jcc over an instruction), to check flags computed lazily are right when consumed.
 */
export const sequence: Family = (rng) => {
  const { st } = newCase();
  const code: number[] = [];
  const n = 2 + rng.int(3);
  for (const r of SEQ_REGS) setRegOperand(rng, st, r, rng.pick(SIZES));
  for (let i = 0; i < n; i++) {
    const { ins } = newCase();
    const bits = rng.pick(SIZES);
    const w = bits === 8 ? 0 : 1;
    const reg = rng.pick(SEQ_REGS);
    const rm = rng.pick(SEQ_REGS);
    const kind = rng.int(i === 0 ? 4 : 8);
    if (kind <= 1) {
      if (bits !== 8) sizePrefix(rng, ins, bits);
      ins.opcode = [(rng.int(8) << 3) | (kind << 1) | w];
      rmRegister(ins, reg, rm);
    } else if (kind === 2) {
      if (bits !== 8) sizePrefix(rng, ins, bits);
      ins.opcode = [0xfe | w];
      rmRegister(ins, rng.int(2), rm);
    } else if (kind === 3) {
      if (bits !== 8) sizePrefix(rng, ins, bits);
      ins.opcode = [0xd0 | w]; // shift/rotate by 1: OF defined
      rmRegister(ins, rng.pick([0, 1, 2, 3, 4, 5, 7]), rm);
    } else if (kind === 4) {
      ins.opcode = [0x0f, 0x90 + rng.int(16)];
      rmRegister(ins, 0, rm);
    } else if (kind === 5) {
      sizePrefix(rng, ins, rng.pick([16, 32, 64]));
      ins.opcode = [0x0f, 0x40 + rng.int(16)];
      rmRegister(ins, reg, rm);
    } else if (kind === 6) {
      // jcc over a 2-byte xor that clears a register.
      code.push(0x70 + rng.int(16), 2, 0x31, 0xc0 | ((rm & 7) << 3) | (rm & 7));
      continue;
    } else {
      if (bits !== 8) sizePrefix(rng, ins, bits);
      ins.opcode = [bits === 8 ? 0x80 : 0x83];
      rmRegister(ins, rng.pick([2, 3]), rm); // adc/sbb imm8
      ins.imm = [rng.int(256)];
    }
    code.push(...ins.bytes());
  }
  for (const r of SEQ_REGS) if (!st.regs.has(r)) st.set(r, regWithLow(rng, 64, operandValue(rng, 64)));
  return { code, st, label: 'sequence' };
};

/**
 * A counted loop: one to three register instructions, then dec/sub of a counter and a backward
 * jnz (rel8 or rel32), 1–20 iterations. Exercises branches back into already-decoded code and the
 * flags a taken/not-taken jcc reads straight after the decrement.
 */
export const loop: Family = (rng) => {
  const { st } = newCase();
  const counter = rng.pick(SEQ_REGS);
  const regs = SEQ_REGS.filter((r) => r !== counter);
  for (const r of regs) setRegOperand(rng, st, r, rng.pick(SIZES));
  const wide = rng.chance(0.7);
  const iterations = BigInt(1 + rng.int(20));
  st.set(counter, wide ? iterations : (rng.u64() & ~0xffff_ffffn) | iterations);
  const code: number[] = [];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const { ins } = newCase();
    const bits = rng.pick(SIZES);
    const w = bits === 8 ? 0 : 1;
    if (bits !== 8) sizePrefix(rng, ins, bits);
    if (bits === 8) ins.forceRex = true; // keep AH..BH (which may alias the counter) out of it
    const kind = rng.int(4);
    if (kind === 0) {
      ins.opcode = [(rng.int(8) << 3) | w]; // add/or/adc/sbb/and/sub/xor/cmp r/m, reg
      rmRegister(ins, rng.pick(regs), rng.pick(regs));
    } else if (kind === 1) {
      ins.opcode = [0xd0 | w]; // shift/rotate by 1
      rmRegister(ins, rng.pick([0, 1, 2, 3, 4, 5, 7]), rng.pick(regs));
    } else if (kind === 2) {
      ins.opcode = [0x0f, 0x90 + rng.int(16)];
      ins.forceRex = true;
      rmRegister(ins, 0, rng.pick(regs));
    } else {
      sizePrefix(rng, ins, rng.pick([16, 32, 64]));
      ins.opcode = [0x0f, 0x40 + rng.int(16)];
      rmRegister(ins, rng.pick(regs), rng.pick(regs));
    }
    code.push(...ins.bytes());
  }
  const dec = newCase().ins;
  if (wide) dec.rexW = 1;
  if (rng.chance(0.5)) {
    dec.opcode = [0xff];
    rmRegister(dec, 1, counter); // dec
  } else {
    dec.opcode = [0x83];
    rmRegister(dec, 5, counter); // sub counter, 1
    dec.imm = [1];
  }
  code.push(...dec.bytes());
  if (rng.chance(0.7)) code.push(0x75, -(code.length + 2) & 0xff);
  else code.push(0x0f, 0x85, ...leBytes(BigInt(-(code.length + 6)), 4));
  return { code, st, label: 'loop' };
};
