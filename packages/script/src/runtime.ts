/**
 * The VM's run-time services, apart from the dispatch loop (vm.ts): limits, the shared globals, the
 * value stack, and what instructions and built-ins need from the machine — register views merged on
 * write (SPEC §4.5), pseudo-registers, checked memory access, float conversions, typed-value checks
 * and printf. Everything here is allocation-free except output text and `$date`/`$time`.
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
} from './bytecode.js';
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
import { ScriptMemory, type SlotStore, WINDOW_TEXT } from './memory.js';
import { FULL_REGISTERS, REGISTER_BASE, REGISTER_SHIFT, REGISTER_WIDTH } from './registers.js';
import { hex64, splitBig, toBigUint, U64_RESULT } from './u64.js';
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

/** Thrown (frozen, no stack) to unwind a run; the message is in `vm.errorMessage`. */
export const ABORT = Object.freeze({ abort: true });

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

export class ScriptRuntime {
  readonly host: ScriptHost;
  readonly limits: ScriptLimits;
  readonly globals: ScriptGlobals;
  /** The value stack shared by all frames: locals then operands, as int32 halves. */
  readonly stack: SlotStore = { lo: new Int32Array(STACK_SLOTS), hi: new Int32Array(STACK_SLOTS) };
  readonly mem: ScriptMemory;
  /** Host exchange area for 64-bit results (out[0] low, out[1] high). */
  readonly io = new Uint32Array(2);
  private readonly ctxScratch = new Uint32Array(2);
  errorMessage = '';
  /** The context of the current run (valid only during run). */
  ctx: ScriptContext = { vcpu: 0, eventId: 0, eventTag: 0n, stage: 0, context: 0n, buffer: 0n };
  /** The script being run, or null between runs. */
  script: VerifiedScript | null = null;

  constructor(host: ScriptHost, limits: Partial<ScriptLimits>, globals: ScriptGlobals) {
    this.host = host;
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.globals = globals;
    this.mem = new ScriptMemory(host, globals, this.stack);
  }

  /** End the run with a run-time error. */
  abort(message: string): never {
    this.errorMessage = message;
    throw ABORT;
  }

  /** CVT: number conversions in place at stack slot `i`. */
  protected convert(kind: number, i: number): void {
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
  protected check(kind: number, bits: number, sp: number): void {
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

  protected printf(fmtIndex: number, base: number): void {
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
