/**
 * The script VM: runs a VerifiedScript against a ScriptHost at event time.
 *
 * Hot-path rules: values are (lo, hi) int32 pairs in typed arrays allocated once per VM; dispatch is
 * a switch over the verifier's pre-decoded Int32Array; the result object is reused. A script that
 * builds no strings therefore allocates nothing per run. Errors abort through one frozen sentinel
 * (no Error object, no stack) and come back as the reused failure result, never as an exception.
 *
 * Limits (quickjs-style, each with its own message): step budget (counted per instruction, checked
 * on backward jumps and calls), 256 stack slots shared by all frames, call depth, output per message.
 */

import { MAX_GLOBALS } from './assembler.js';
import {
  CHECK_DIVIDE,
  CHECK_SHIFT,
  CVT_F32_BITS_TO_F64,
  CVT_F64_TO_F32_BITS,
  CVT_F64_TO_I64,
  CVT_I64_TO_F64,
  CVT_U64_TO_F64,
  FOP_ADD,
  FOP_DIV,
  FOP_EQ,
  FOP_GE,
  FOP_GT,
  FOP_LE,
  FOP_LT,
  FOP_MUL,
  FOP_SUB,
} from './bytecode.js';
import { callBuiltin } from './calls.js';
import { formatFloat, formatInteger, pad } from './format.js';
import {
  PSEUDO_BUFFER,
  PSEUDO_CONTEXT,
  PSEUDO_CORE,
  PSEUDO_DATE,
  PSEUDO_EVENT_ID,
  PSEUDO_EVENT_STAGE,
  PSEUDO_EVENT_TAG,
  PSEUDO_HOST,
  PSEUDO_IP,
  PSEUDO_TIME,
  type ScriptContext,
  type ScriptHost,
} from './host.js';
import { ScriptMemory, type SlotStore, WINDOW_GLOBALS, WINDOW_STACK, WINDOW_STRINGS, WINDOW_TEXT } from './memory.js';
import { FULL_REGISTERS, REGISTER_BASE, REGISTER_SHIFT, REGISTER_WIDTH } from './registers.js';
import { divmod64, hex64, mul64, shl64, shr64, splitBig, toBigUint, U64_RESULT } from './u64.js';
import { STACK_SLOTS, type VerifiedScript } from './verify.js';

export interface ScriptLimits {
  /** Instructions one run may execute (SPEC §4.9: 1,000,000). */
  maxSteps: number;
  /** Nested user-function calls. */
  maxCallDepth: number;
  /** Bytes of one printf/print message (SPEC §3.6: printf fails past 4096). */
  maxOutputBytes: number;
  /** Characters a %s / strlen / strcmp reads before giving up. */
  maxStringChars: number;
  /** Bytes one memcpy / memcmp may move. */
  maxCopyBytes: number;
  /** Default `spinlock_lock` wait, in tries (SPEC §4.7: 65536). */
  spinlockWait: number;
}

export const DEFAULT_LIMITS: Readonly<ScriptLimits> = Object.freeze({
  maxSteps: 1_000_000,
  maxCallDepth: 128,
  maxOutputBytes: 4096,
  maxStringChars: 4096,
  maxCopyBytes: 0x10000,
  spinlockWait: 65536,
});

export interface ScriptOk {
  readonly ok: true;
  /** The expression's value (expression/condition mode) or 0; allocates a BigInt when read. */
  readonly value: bigint;
  /** The value's halves, allocation-free. */
  readonly lo: number;
  readonly hi: number;
  /** value ≠ 0 (what a condition wants). */
  readonly truthy: boolean;
}
export interface ScriptFailure {
  readonly ok: false;
  readonly error: { readonly code: 'E_SCRIPT_RUNTIME'; readonly message: string };
}
/** The VM reuses its two result objects: copy what you need before the next run. */
export type ScriptResult = ScriptOk | ScriptFailure;

class OkResult implements ScriptOk {
  readonly ok = true as const;
  lo = 0;
  hi = 0;
  get value(): bigint {
    return toBigUint(this.lo, this.hi);
  }
  get truthy(): boolean {
    return (this.lo | this.hi) !== 0;
  }
}

class FailResult implements ScriptFailure {
  readonly ok = false as const;
  readonly error = { code: 'E_SCRIPT_RUNTIME' as const, message: '' };
}

/** Thrown (frozen, no stack) to unwind a run; the message is in `vm.errorMessage`. */
const ABORT = Object.freeze({ abort: true });

/**
 * `.name` globals: shared by every run, event and `?` evaluation, for the daemon's lifetime. Pass
 * one instance to several VMs (e.g. one VM per vCPU) to share them.
 */
export class ScriptGlobals implements SlotStore {
  readonly lo = new Int32Array(MAX_GLOBALS);
  readonly hi = new Int32Array(MAX_GLOBALS);
  readonly index = new Map<string, number>();

  get(name: string): bigint | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : toBigUint(this.lo[i], this.hi[i]);
  }

  set(name: string, value: bigint): boolean {
    let i = this.index.get(name);
    if (i === undefined) {
      if (this.index.size >= MAX_GLOBALS) return false;
      i = this.index.size;
      this.index.set(name, i);
    }
    const io = new Uint32Array(2);
    splitBig(BigInt.asUintN(64, value), io);
    this.lo[i] = io[0];
    this.hi[i] = io[1];
    return true;
  }
}

export class ScriptVM {
  readonly host: ScriptHost;
  readonly limits: ScriptLimits;
  readonly globals: ScriptGlobals;
  /** The value stack shared by all frames: locals then operands, as int32 halves. */
  readonly stack: SlotStore = { lo: new Int32Array(STACK_SLOTS), hi: new Int32Array(STACK_SLOTS) };
  readonly mem: ScriptMemory;
  /** Host exchange area for 64-bit results (out[0] low, out[1] high). */
  readonly io = new Uint32Array(2);
  private readonly retPc: Int32Array;
  private readonly retFp: Int32Array;
  private readonly ok = new OkResult();
  private readonly fail = new FailResult();
  private readonly ctxScratch = new Uint32Array(2);
  errorMessage = '';
  /** The context of the current run (valid only during run). */
  ctx: ScriptContext = { vcpu: 0, eventId: 0, eventTag: 0n, stage: 0, context: 0n, buffer: 0n };
  script: VerifiedScript | null = null;

  constructor(host: ScriptHost, limits: Partial<ScriptLimits> = {}, globals: ScriptGlobals = new ScriptGlobals()) {
    this.host = host;
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.globals = globals;
    this.retPc = new Int32Array(this.limits.maxCallDepth);
    this.retFp = new Int32Array(this.limits.maxCallDepth);
    this.mem = new ScriptMemory(host, globals, this.stack);
  }

  /** End the run with a run-time error. */
  abort(message: string): never {
    this.errorMessage = message;
    throw ABORT;
  }

  run(script: VerifiedScript, ctx: ScriptContext): ScriptResult {
    this.ctx = ctx;
    this.script = script;
    this.mem.vcpu = ctx.vcpu;
    this.mem.strings = script.stringHeap;
    try {
      if (script.globalOwner !== this.globals) this.bindGlobals(script);
      this.execute(script);
      return this.ok;
    } catch (e) {
      this.fail.error.message =
        e === ABORT ? this.errorMessage : `internal error: ${e instanceof Error ? e.message : String(e)}`;
      return this.fail;
    } finally {
      this.script = null;
    }
  }

  private bindGlobals(script: VerifiedScript): void {
    const { index } = this.globals;
    script.globalNames.forEach((name, i) => {
      let slot = index.get(name);
      if (slot === undefined) {
        if (index.size >= MAX_GLOBALS) this.abort(`too many globals (at most ${MAX_GLOBALS})`);
        slot = index.size;
        index.set(name, slot);
      }
      script.globalSlots[i] = slot;
    });
    script.globalOwner = this.globals;
  }

  /**
   * The interpreter loop. Case labels are opcode numbers written as literals, each preceded by its
   * name in a comment, because enum members imported from another module are property loads, which
   * turn the switch into a chain of compares instead of a jump table; vm.test.ts checks every label
   * against `Op`.
   */
  private execute(s: VerifiedScript): void {
    const code = s.code;
    const lo = this.stack.lo;
    const hi = this.stack.hi;
    const glo = this.globals.lo;
    const ghi = this.globals.hi;
    const gslot = s.globalSlots;
    const maxSteps = this.limits.maxSteps;
    const maxDepth = this.limits.maxCallDepth;
    const R = U64_RESULT;
    let pc = s.fnEntry[0];
    let fp = 0;
    let sp = s.fnLocals[0];
    let depth = 0;
    let steps = 0;
    for (let i = 0; i < sp; i++) lo[i] = hi[i] = 0; // locals are zeroed before every run
    for (;;) {
      steps++;
      switch (code[pc]) {
        case /* NOP */ 0:
          pc++;
          break;
        case /* PUSH_I32 */ 1: {
          const v = code[pc + 1];
          lo[sp] = v;
          hi[sp++] = v >> 31;
          pc += 2;
          break;
        }
        case /* PUSH_CONST */ 2: {
          const k = code[pc + 1];
          lo[sp] = s.constLo[k];
          hi[sp++] = s.constHi[k];
          pc += 2;
          break;
        }
        case /* PUSH_STR */ 3:
          lo[sp] = s.stringOffset[code[pc + 1]];
          hi[sp++] = WINDOW_STRINGS;
          pc += 2;
          break;
        case /* POP */ 4:
          sp--;
          pc++;
          break;
        case /* DUP */ 5:
          lo[sp] = lo[sp - 1];
          hi[sp] = hi[sp - 1];
          sp++;
          pc++;
          break;
        case /* LOAD_LOCAL */ 6: {
          const k = fp + code[pc + 1];
          lo[sp] = lo[k];
          hi[sp++] = hi[k];
          pc += 2;
          break;
        }
        case /* STORE_LOCAL */ 7: {
          const k = fp + code[pc + 1];
          lo[k] = lo[--sp];
          hi[k] = hi[sp];
          pc += 2;
          break;
        }
        case /* ADDR_LOCAL */ 8:
          lo[sp] = (fp + code[pc + 1]) * 8;
          hi[sp++] = WINDOW_STACK;
          pc += 2;
          break;
        case /* LOAD_GLOBAL */ 9: {
          const k = gslot[code[pc + 1]];
          lo[sp] = glo[k];
          hi[sp++] = ghi[k];
          pc += 2;
          break;
        }
        case /* STORE_GLOBAL */ 10: {
          const k = gslot[code[pc + 1]];
          glo[k] = lo[--sp];
          ghi[k] = hi[sp];
          pc += 2;
          break;
        }
        case /* ADDR_GLOBAL */ 11:
          lo[sp] = gslot[code[pc + 1]] * 8;
          hi[sp++] = WINDOW_GLOBALS;
          pc += 2;
          break;
        case /* LOAD_REG */ 12:
          this.readRegister(code[pc + 1]);
          lo[sp] = R[0];
          hi[sp++] = R[1];
          pc += 2;
          break;
        case /* STORE_REG */ 13:
          sp--;
          this.writeRegister(code[pc + 1], lo[sp], hi[sp]);
          pc += 2;
          break;
        case /* LOAD_PSEUDO */ 14:
          this.readPseudo(code[pc + 1]);
          lo[sp] = R[0];
          hi[sp++] = R[1];
          pc += 2;
          break;
        case /* ADD */ 15: {
          sp--;
          const a = lo[sp - 1] >>> 0;
          const b = lo[sp] >>> 0;
          const sum = a + b;
          lo[sp - 1] = sum | 0;
          hi[sp - 1] = (hi[sp - 1] + hi[sp] + (sum > 0xffffffff ? 1 : 0)) | 0;
          pc++;
          break;
        }
        case /* SUB */ 16: {
          sp--;
          const a = lo[sp - 1] >>> 0;
          const b = lo[sp] >>> 0;
          lo[sp - 1] = (a - b) | 0;
          hi[sp - 1] = (hi[sp - 1] - hi[sp] - (a < b ? 1 : 0)) | 0;
          pc++;
          break;
        }
        case /* MUL */ 17:
          sp--;
          mul64(lo[sp - 1], hi[sp - 1], lo[sp], hi[sp]);
          lo[sp - 1] = R[0];
          hi[sp - 1] = R[1];
          pc++;
          break;
        case /* DIVU */ 18:
        case /* MODU */ 19:
        case /* DIVS */ 20:
        case /* MODS */ 21: {
          const op = code[pc];
          sp--;
          if ((lo[sp] | hi[sp]) === 0) this.abort('division by zero');
          const signed = op === /* DIVS */ 20 || op === /* MODS */ 21;
          if (signed && hi[sp - 1] === -0x80000000 && lo[sp - 1] === 0 && (lo[sp] & hi[sp]) === -1)
            this.abort('signed division overflow');
          divmod64(lo[sp - 1], hi[sp - 1], lo[sp], hi[sp], signed, op === /* MODU */ 19 || op === /* MODS */ 21);
          lo[sp - 1] = R[0];
          hi[sp - 1] = R[1];
          pc++;
          break;
        }
        case /* SHL */ 22:
          sp--;
          shl64(lo[sp - 1], hi[sp - 1], lo[sp]);
          lo[sp - 1] = R[0];
          hi[sp - 1] = R[1];
          pc++;
          break;
        case /* SHRU */ 23:
        case /* SHRS */ 24:
          sp--;
          shr64(lo[sp - 1], hi[sp - 1], lo[sp], code[pc] === /* SHRS */ 24);
          lo[sp - 1] = R[0];
          hi[sp - 1] = R[1];
          pc++;
          break;
        case /* AND */ 25:
          sp--;
          lo[sp - 1] &= lo[sp];
          hi[sp - 1] &= hi[sp];
          pc++;
          break;
        case /* OR */ 26:
          sp--;
          lo[sp - 1] |= lo[sp];
          hi[sp - 1] |= hi[sp];
          pc++;
          break;
        case /* XOR */ 27:
          sp--;
          lo[sp - 1] ^= lo[sp];
          hi[sp - 1] ^= hi[sp];
          pc++;
          break;
        case /* LTS */ 28:
        case /* GTS */ 29:
        case /* LES */ 30:
        case /* GES */ 31:
        case /* LTU */ 32:
        case /* GTU */ 33:
        case /* LEU */ 34:
        case /* GEU */ 35: {
          const op = code[pc];
          sp--;
          const signed = op <= /* GES */ 31;
          const ah = signed ? hi[sp - 1] : hi[sp - 1] >>> 0;
          const bh = signed ? hi[sp] : hi[sp] >>> 0;
          const al = lo[sp - 1] >>> 0;
          const bl = lo[sp] >>> 0;
          // cmp < 0, 0, > 0 like a three-way compare of the two 64-bit values
          const cmp = ah !== bh ? (ah < bh ? -1 : 1) : al !== bl ? (al < bl ? -1 : 1) : 0;
          const kind = signed ? op - /* LTS */ 28 : op - /* LTU */ 32; // 0 <, 1 >, 2 <=, 3 >=
          const r = kind === 0 ? cmp < 0 : kind === 1 ? cmp > 0 : kind === 2 ? cmp <= 0 : cmp >= 0;
          lo[sp - 1] = r ? 1 : 0;
          hi[sp - 1] = 0;
          pc++;
          break;
        }
        case /* EQ */ 36:
        case /* NE */ 37: {
          sp--;
          const eq = lo[sp - 1] === lo[sp] && hi[sp - 1] === hi[sp];
          lo[sp - 1] = eq === (code[pc] === /* EQ */ 36) ? 1 : 0;
          hi[sp - 1] = 0;
          pc++;
          break;
        }
        case /* NEG */ 38: {
          const l = lo[sp - 1];
          lo[sp - 1] = -l | 0;
          hi[sp - 1] = (~hi[sp - 1] + (l === 0 ? 1 : 0)) | 0;
          pc++;
          break;
        }
        case /* NOT */ 39:
          lo[sp - 1] = ~lo[sp - 1];
          hi[sp - 1] = ~hi[sp - 1];
          pc++;
          break;
        case /* LNOT */ 40:
          lo[sp - 1] = (lo[sp - 1] | hi[sp - 1]) === 0 ? 1 : 0;
          hi[sp - 1] = 0;
          pc++;
          break;
        case /* EXT */ 41: {
          const bits = code[pc + 1] * 8;
          const signed = code[pc + 2] === 1;
          let v = lo[sp - 1];
          if (bits < 32) v = signed ? (v << (32 - bits)) >> (32 - bits) : v & ((1 << bits) - 1);
          lo[sp - 1] = v;
          hi[sp - 1] = signed ? v >> 31 : 0;
          pc += 3;
          break;
        }
        case /* LOAD_MEM */ 42: {
          const size = code[pc + 1];
          this.load(lo[sp - 1], hi[sp - 1], size, false);
          let l = R[0];
          let h = R[1];
          if (code[pc + 2] === 1 && size < 8) {
            if (size < 4) l = (l << (32 - size * 8)) >> (32 - size * 8);
            h = l >> 31;
          }
          lo[sp - 1] = l;
          hi[sp - 1] = h;
          pc += 3;
          break;
        }
        case /* STORE_MEM */ 43:
          sp -= 2;
          this.store(lo[sp], hi[sp], code[pc + 1], lo[sp + 1], hi[sp + 1], false, true);
          pc += 2;
          break;
        case /* CHECK */ 44:
          this.check(code[pc + 1], code[pc + 2], sp);
          pc += 3;
          break;
        case /* BOUND */ 45:
          if (hi[sp - 1] !== 0 || lo[sp - 1] >>> 0 >= code[pc + 1])
            this.abort(
              `array index 0x${hex64(lo[sp - 1], hi[sp - 1])} out of bounds (0x${code[pc + 1].toString(16)} elements)`,
            );
          pc += 2;
          break;
        case /* FOP */ 46: {
          sp--;
          F64_HALVES[0] = lo[sp - 1];
          F64_HALVES[1] = hi[sp - 1];
          const a = F64[0];
          F64_HALVES[0] = lo[sp];
          F64_HALVES[1] = hi[sp];
          const b = F64[0];
          const kind = code[pc + 1];
          if (kind <= FOP_DIV) {
            if (kind === FOP_DIV && b === 0) this.abort('floating-point division by zero');
            const r = kind === FOP_ADD ? a + b : kind === FOP_SUB ? a - b : kind === FOP_MUL ? a * b : a / b;
            if (!Number.isFinite(r) && Number.isFinite(a) && Number.isFinite(b)) this.abort('floating-point overflow');
            F64[0] = r;
            lo[sp - 1] = F64_HALVES[0];
            hi[sp - 1] = F64_HALVES[1];
          } else {
            const r =
              kind === FOP_LT
                ? a < b
                : kind === FOP_GT
                  ? a > b
                  : kind === FOP_LE
                    ? a <= b
                    : kind === FOP_GE
                      ? a >= b
                      : kind === FOP_EQ
                        ? a === b
                        : a !== b;
            lo[sp - 1] = r ? 1 : 0;
            hi[sp - 1] = 0;
          }
          pc += 2;
          break;
        }
        case /* FNEG */ 47:
          hi[sp - 1] ^= 0x80000000;
          pc++;
          break;
        case /* CVT */ 48:
          this.convert(code[pc + 1], sp - 1);
          pc += 2;
          break;
        case /* JMP */ 49: {
          const target = code[pc + 1];
          if (target <= pc && steps > maxSteps) this.abort(`step budget of ${maxSteps} exhausted`);
          pc = target;
          break;
        }
        case /* JZ */ 50:
        case /* JNZ */ 51: {
          sp--;
          const zero = (lo[sp] | hi[sp]) === 0;
          if (zero === (code[pc] === /* JZ */ 50)) {
            const target = code[pc + 1];
            if (target <= pc && steps > maxSteps) this.abort(`step budget of ${maxSteps} exhausted`);
            pc = target;
          } else pc += 2;
          break;
        }
        case /* CALL */ 52: {
          const f = code[pc + 1];
          if (steps > maxSteps) this.abort(`step budget of ${maxSteps} exhausted`);
          const newFp = sp - s.fnParams[f];
          if (depth >= maxDepth) this.abort(`call depth over ${maxDepth}`);
          if (newFp + s.fnFrame[f] > STACK_SLOTS) this.abort(`stack overflow (${STACK_SLOTS} slots)`);
          this.retPc[depth] = pc + 2;
          this.retFp[depth++] = fp;
          fp = newFp;
          sp = fp + s.fnLocals[f];
          for (let i = newFp + s.fnParams[f]; i < sp; i++) lo[i] = hi[i] = 0;
          pc = s.fnEntry[f];
          break;
        }
        case /* CALL_BUILTIN */ 53:
          sp = callBuiltin(this, code[pc + 1], sp - code[pc + 2]);
          pc += 3;
          break;
        case /* PRINTF */ 54:
          sp -= code[pc + 2];
          this.printf(code[pc + 1], sp);
          pc += 3;
          break;
        case /* RET */ 55: {
          const vl = lo[sp - 1];
          const vh = hi[sp - 1];
          if (depth === 0) {
            this.ok.lo = s.expression ? vl : 0;
            this.ok.hi = s.expression ? vh : 0;
            return;
          }
          lo[fp] = vl;
          hi[fp] = vh;
          sp = fp + 1;
          pc = this.retPc[--depth];
          fp = this.retFp[depth];
          break;
        }
        default:
          // Unreachable for verified code; kept so a corrupted script cannot loop.
          this.abort(`bad opcode ${code[pc]} at word ${pc}`);
      }
    }
  }

  /** CVT: number conversions in place at stack slot `i`. */
  private convert(kind: number, i: number): void {
    const { lo, hi } = this.stack;
    let v: number;
    switch (kind) {
      case CVT_I64_TO_F64:
      case CVT_U64_TO_F64:
        v = (kind === CVT_I64_TO_F64 ? hi[i] : hi[i] >>> 0) * TWO32 + (lo[i] >>> 0);
        break;
      case CVT_F64_TO_I64: {
        F64_HALVES[0] = lo[i];
        F64_HALVES[1] = hi[i];
        const t = Math.trunc(F64[0]);
        if (!(t >= -TWO63 && t < TWO63)) this.abort(`floating-point value ${F64[0]} does not fit a 64-bit integer`);
        const h = Math.floor(t / TWO32);
        lo[i] = (t - h * TWO32) | 0;
        hi[i] = h | 0;
        return;
      }
      case CVT_F32_BITS_TO_F64:
        F32_BITS[0] = lo[i];
        v = F32[0];
        break;
      default: {
        F64_HALVES[0] = lo[i];
        F64_HALVES[1] = hi[i];
        const f = Math.fround(F64[0]);
        if (!Number.isFinite(f) && Number.isFinite(F64[0])) this.abort('floating-point overflow (float)');
        if (kind === CVT_F64_TO_F32_BITS) {
          F32[0] = f;
          lo[i] = F32_BITS[0];
          hi[i] = 0;
          return;
        }
        v = f;
      }
    }
    F64[0] = v;
    lo[i] = F64_HALVES[0];
    hi[i] = F64_HALVES[1];
  }

  /** CHECK: the typed-value rules of SPEC §4.4, on the two top values (left in place). */
  private check(kind: number, bits: number, sp: number): void {
    const { lo, hi } = this.stack;
    const al = lo[sp - 2];
    const ah = hi[sp - 2];
    const bl = lo[sp - 1];
    const bh = hi[sp - 1];
    if (kind === CHECK_SHIFT) {
      if (bh !== 0 || bl >>> 0 >= bits) this.abort(`shift count ${hex64(bl, bh)} is not below the ${bits}-bit width`);
    } else if (kind === CHECK_DIVIDE) {
      // -2^(bits-1) / -1 does not fit; values of a typed operand are kept sign-extended to 64 bits.
      const minLo = bits === 64 ? 0 : -(2 ** (bits - 1)) | 0;
      const minHi = bits === 64 ? -0x80000000 : -1;
      if ((bl & bh) === -1 && al === minLo && ah === minHi) this.abort(`signed ${bits}-bit division overflow`);
    }
  }

  // -- registers and pseudo-registers -------------------------------------------------------------

  /** Register view `id` → U64_RESULT. */
  readRegister(id: number): void {
    const io = this.io;
    this.host.readRegister(this.ctx.vcpu, REGISTER_BASE[id], io);
    const width = REGISTER_WIDTH[id];
    if (width === 64) {
      U64_RESULT[0] = io[0];
      U64_RESULT[1] = io[1];
    } else {
      U64_RESULT[0] = width === 32 ? io[0] : (io[0] >>> REGISTER_SHIFT[id]) & ((1 << width) - 1);
      U64_RESULT[1] = 0;
    }
  }

  /** Write view `id`, merging into the full register (SPEC §4.5: sub-register writes keep other bits). */
  writeRegister(id: number, vlo: number, vhi: number): void {
    const width = REGISTER_WIDTH[id];
    const base = REGISTER_BASE[id];
    const vcpu = this.ctx.vcpu;
    if (width === 64) {
      this.host.writeRegister(vcpu, base, vlo, vhi);
      return;
    }
    const io = this.io;
    this.host.readRegister(vcpu, base, io);
    if (width === 32) {
      this.host.writeRegister(vcpu, base, vlo, io[1]);
      return;
    }
    const shift = REGISTER_SHIFT[id];
    const mask = ((1 << width) - 1) << shift;
    // A one-bit flag is set by any non-zero value ("writes set or clear").
    const v = width === 1 ? ((vlo | vhi) !== 0 ? 1 : 0) : vlo;
    this.host.writeRegister(vcpu, base, (io[0] & ~mask) | ((v << shift) & mask), io[1]);
  }

  readPseudo(id: number): void {
    const ctx = this.ctx;
    const out = this.ctxScratch;
    if (id < PSEUDO_HOST.length) {
      this.host.pseudo(ctx.vcpu, id, out);
    } else if (id === PSEUDO_CORE) {
      out[0] = ctx.vcpu;
      out[1] = 0;
    } else if (id === PSEUDO_IP) {
      this.host.readRegister(ctx.vcpu, RIP, out);
    } else if (id === PSEUDO_BUFFER) splitBig(ctx.buffer, out);
    else if (id === PSEUDO_CONTEXT) splitBig(ctx.context, out);
    else if (id === PSEUDO_EVENT_TAG) splitBig(ctx.eventTag, out);
    else if (id === PSEUDO_EVENT_ID || id === PSEUDO_EVENT_STAGE) {
      out[0] = id === PSEUDO_EVENT_ID ? ctx.eventId : ctx.stage;
      out[1] = 0;
    } else if (id === PSEUDO_DATE || id === PSEUDO_TIME) {
      this.writeClockText();
      out[0] = id === PSEUDO_DATE ? 0 : 32;
      out[1] = WINDOW_TEXT;
    } else this.abort(`unknown pseudo-register ${id}`);
    U64_RESULT[0] = out[0];
    U64_RESULT[1] = out[1];
  }

  /** `$date` at text offset 0 ("YYYY-MM-DD"), `$time` at 32 ("HH:MM:SS.mmm"), UTC. */
  private writeClockText(): void {
    const iso = new Date(this.host.now()).toISOString(); // 2026-11-25T19:08:38.123Z
    const text = this.mem.text;
    text.fill(0);
    for (let i = 0; i < 10; i++) text[i] = iso.charCodeAt(i);
    for (let i = 0; i < 12; i++) text[32 + i] = iso.charCodeAt(11 + i);
  }

  // -- memory -------------------------------------------------------------------------------------

  /** Read `size` bytes little-endian at hi:lo into U64_RESULT; aborts on a bad address. */
  load(alo: number, ahi: number, size: number, physical: boolean): void {
    const buf = this.mem.buf;
    if (!this.mem.read(alo, ahi, size, physical))
      this.abort(
        `cannot read ${size} byte${size === 1 ? '' : 's'} of ${physical ? 'physical' : 'virtual'} memory at 0x${hex64(alo, ahi)}`,
      );
    let l = 0;
    let h = 0;
    for (let i = Math.min(size, 4) - 1; i >= 0; i--) l = (l << 8) | buf[i];
    for (let i = size - 1; i >= 4; i--) h = (h << 8) | buf[i];
    U64_RESULT[0] = l;
    U64_RESULT[1] = h;
  }

  /** Write the low `size` bytes of vhi:vlo; returns false on a bad address, or aborts if `strict`. */
  store(alo: number, ahi: number, size: number, vlo: number, vhi: number, physical: boolean, strict: boolean): boolean {
    const buf = this.mem.buf;
    for (let i = 0; i < size; i++) buf[i] = i < 4 ? (vlo >>> (8 * i)) & 0xff : (vhi >>> (8 * (i - 4))) & 0xff;
    if (this.mem.write(alo, ahi, size, physical)) return true;
    if (strict)
      this.abort(`cannot write ${size} bytes of ${physical ? 'physical' : 'virtual'} memory at 0x${hex64(alo, ahi)}`);
    return false;
  }

  // -- output -------------------------------------------------------------------------------------

  private printf(fmtIndex: number, base: number): void {
    const parts = this.script!.formats[fmtIndex]!;
    const lo = this.stack.lo;
    const hi = this.stack.hi;
    let out = '';
    let arg = base;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (typeof p === 'string') out += p;
      else if (p.conv === 's' || p.conv === 'ws') {
        const text = this.mem.readString(lo[arg], hi[arg], p.conv === 'ws', this.limits.maxStringChars);
        if (text === undefined) this.abort(`printf: cannot read the string at 0x${hex64(lo[arg], hi[arg])}`);
        out += pad(p, text);
        arg++;
      } else {
        out += p.conv === 'f' ? formatFloat(p, lo[arg], hi[arg]) : formatInteger(p, lo[arg], hi[arg]);
        arg++;
      }
      if (out.length > this.limits.maxOutputBytes) break;
    }
    this.emitChecked(out);
  }

  emitChecked(text: string): void {
    if (text.length > this.limits.maxOutputBytes) this.abort(`output longer than ${this.limits.maxOutputBytes} bytes`);
    this.host.emit('output', text);
  }
}

const RIP = FULL_REGISTERS.indexOf('rip');
const TWO32 = 4294967296;
const TWO63 = 2 ** 63;
/** Scratch views for reinterpreting slot halves as IEEE-754 values (little-endian halves). */
const F64 = new Float64Array(1);
const F64_HALVES = new Int32Array(F64.buffer);
const F32 = new Float32Array(1);
const F32_BITS = new Int32Array(F32.buffer);
