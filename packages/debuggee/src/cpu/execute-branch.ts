/**
 * One-byte opcode map, control transfer (SDM Vol. 2D Table A-2): Jcc rel8 / 0F 8x rel32, JMP, CALL,
 * RET, INT3 and INT n. Relative targets on the current fetch page stay in integer arithmetic.
 */
import type { Cpu } from './cpu.js';
import { OPS } from './dispatch.js';
import { VEC_BP, VEC_GP } from './faults.js';
import { isCanonical } from './paging.js';
import { TWO_32 } from './state.js';

// ---- Control transfer ----
function jumpTo(c: Cpu, target: number): void {
  if (!isCanonical(target)) c.raise(VEC_GP, 0);
  c.ip = target;
}

/** Relative jump: stays in integer arithmetic when the target is on the current fetch page. */
function jumpRel(c: Cpu, d: number): void {
  const t = c.ipo + d;
  if (t >= 0 && t < 4096) c.ipo = t;
  else jumpTo(c, c.ip + d);
}
for (let cc = 0; cc < 16; cc++) {
  OPS[0x70 + cc] = (c) => {
    const d = c.fetchS8();
    if (c.cond(cc)) jumpRel(c, d);
  };
  OPS[0x180 + cc] = (c) => {
    const d = c.fetch32();
    if (c.cond(cc)) jumpRel(c, d);
  };
}
OPS[0xeb] = (c) => {
  jumpRel(c, c.fetchS8());
};
OPS[0xe9] = (c) => {
  jumpRel(c, c.fetch32());
};
OPS[0xe8] = (c) => {
  const d = c.fetch32();
  const ret = c.ip;
  const t = ret + d;
  if (!isCanonical(t)) c.raise(VEC_GP, 0);
  c.push64((ret % TWO_32) | 0, Math.floor(ret / TWO_32));
  c.ip = t;
};
function ret(c: Cpu, extra: number): void {
  const rsp = c.rsp();
  let lo: number;
  try {
    lo = c.read64(rsp);
  } catch (e) {
    c.stackFault(rsp, e);
    throw e;
  }
  const t = c.hi64 * TWO_32 + (lo >>> 0);
  if (!isCanonical(t)) c.raise(VEC_GP, 0);
  c.addRsp(8 + extra);
  c.ip = t;
}
OPS[0xc3] = (c) => ret(c, 0);
OPS[0xc2] = (c) => ret(c, c.fetch16());

// ---- Software interrupts ----
OPS[0xcc] = (c) => {
  c.faultSoft = true;
  c.raise(VEC_BP);
};
OPS[0xcd] = (c) => {
  const v = c.fetch8();
  c.faultSoft = true;
  c.raise(v);
};
