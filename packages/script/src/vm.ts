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
import { FOP_ADD, FOP_DIV, FOP_EQ, FOP_GE, FOP_GT, FOP_LE, FOP_LT, FOP_MUL, FOP_SUB } from './bytecode.js';
import { callBuiltin } from './calls.js';
import type { ScriptContext, ScriptHost } from './host.js';
import { WINDOW_GLOBALS, WINDOW_STACK, WINDOW_STRINGS } from './memory.js';
import { ABORT, ScriptGlobals, type ScriptLimits, ScriptRuntime } from './runtime.js';
import { divmod64, hex64, mul64, shl64, shr64, toBigUint, U64_RESULT } from './u64.js';
import { STACK_SLOTS, type VerifiedScript } from './verify.js';

export { DEFAULT_LIMITS, ScriptGlobals, type ScriptLimits } from './runtime.js';

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

export class ScriptVM extends ScriptRuntime {
  private readonly retPc: Int32Array;
  private readonly retFp: Int32Array;
  private readonly ok = new OkResult();
  private readonly fail = new FailResult();

  constructor(host: ScriptHost, limits: Partial<ScriptLimits> = {}, globals: ScriptGlobals = new ScriptGlobals()) {
    super(host, limits, globals);
    this.retPc = new Int32Array(this.limits.maxCallDepth);
    this.retFp = new Int32Array(this.limits.maxCallDepth);
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
}

const F64 = new Float64Array(1);
const F64_HALVES = new Int32Array(F64.buffer);
