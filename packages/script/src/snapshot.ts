/**
 * SnapshotHost: a ScriptHost over plain data — registers per vCPU and sparse 4 KiB pages of virtual
 * and physical memory — for tests, benchmarks and `?` evaluation without a machine. It records what
 * scripts do to the outside world (output, pauses, event control …) in public arrays.
 */
import type { EmitKind, ScriptHost } from './host.js';
import { PSEUDO_HOST } from './host.js';
import { FULL_REGISTER_COUNT, FULL_REGISTERS } from './registers.js';
import { splitBig, toBigUint } from './u64.js';

const PAGE = 4096;
const TWO20 = 0x100000;

export interface SnapshotOptions {
  vcpus?: number;
  /** Full-register values for every vCPU (by name: rax, rip, rflags, cr3 …). */
  registers?: Record<string, bigint>;
  /** Host pseudo-registers (pid, tid, proc, thread, pname, peb, teb). */
  pseudo?: Partial<Record<(typeof PSEUDO_HOST)[number], bigint>>;
  /** Fixed wall clock for $date / $time (ms since the epoch). */
  now?: number;
  /** Virtual → physical translation; the default maps nothing. */
  translate?: (va: bigint) => bigint | undefined;
}

export interface RecordedCall {
  what: string;
  args: (number | string | boolean)[];
}

function pageKey(lo: number, hi: number): number {
  return (hi >>> 0) * TWO20 + ((lo >>> 0) >>> 12);
}

class SparseMemory {
  readonly pages = new Map<number, Uint8Array>();

  map(address: bigint, bytes: Uint8Array | number): void {
    const data = typeof bytes === 'number' ? new Uint8Array(bytes) : bytes;
    for (let i = 0; i < data.length; i++) {
      const a = address + BigInt(i);
      const key = Number(a >> 12n);
      let page = this.pages.get(key);
      if (!page) this.pages.set(key, (page = new Uint8Array(PAGE)));
      page[Number(a & 0xfffn)] = data[i];
    }
  }

  /** Apply `f` to each byte position; false if any page is missing (checked before any access). */
  private walk(lo: number, hi: number, size: number, f: (page: Uint8Array, off: number, i: number) => void): boolean {
    let l = lo >>> 0;
    let h = hi >>> 0;
    for (let pass = 0; pass < 2; pass++) {
      l = lo >>> 0;
      h = hi >>> 0;
      for (let i = 0; i < size; ) {
        const page = this.pages.get(h * TWO20 + (l >>> 12));
        if (!page) return false;
        const off = l & 0xfff;
        const n = Math.min(size - i, PAGE - off);
        if (pass === 1) for (let k = 0; k < n; k++) f(page, off + k, i + k);
        i += n;
        l += n;
        if (l >= 0x100000000) {
          l -= 0x100000000;
          h = (h + 1) >>> 0;
        }
      }
    }
    return true;
  }

  read(lo: number, hi: number, size: number, out: Uint8Array): boolean {
    return this.walk(lo, hi, size, (page, off, i) => {
      out[i] = page[off];
    });
  }

  write(lo: number, hi: number, size: number, data: Uint8Array): boolean {
    return this.walk(lo, hi, size, (page, off, i) => {
      page[off] = data[i];
    });
  }

  has(lo: number, hi: number): boolean {
    return this.pages.has(pageKey(lo, hi));
  }
}

export class SnapshotHost implements ScriptHost {
  /** Per vCPU: full registers as (lo, hi) pairs. */
  readonly regs: Uint32Array[];
  readonly virtual = new SparseMemory();
  readonly physical = new SparseMemory();
  readonly pseudoValues = new Uint32Array(PSEUDO_HOST.length * 2);
  /** Every emitted message, in order, and the calls that reach the outside world. */
  readonly output: string[] = [];
  readonly calls: RecordedCall[] = [];
  readonly tests: bigint[] = [];
  tsc = 0x1000n;
  clock: number;
  private readonly translate: ((va: bigint) => bigint | undefined) | undefined;

  constructor(options: SnapshotOptions = {}) {
    this.regs = Array.from({ length: options.vcpus ?? 1 }, () => new Uint32Array(FULL_REGISTER_COUNT * 2));
    for (const [name, value] of Object.entries(options.registers ?? {})) this.setRegister(name, value);
    PSEUDO_HOST.forEach((name, i) => {
      const v = options.pseudo?.[name];
      if (v !== undefined) splitBig(BigInt.asUintN(64, v), this.pseudoValues.subarray(2 * i));
    });
    this.clock = options.now ?? Date.UTC(2026, 0, 2, 3, 4, 5, 6);
    this.translate = options.translate;
  }

  setRegister(name: string, value: bigint, vcpu?: number): void {
    const id = FULL_REGISTERS.indexOf(name as (typeof FULL_REGISTERS)[number]);
    if (id < 0) throw new Error(`not a full register: ${name}`);
    for (let v = 0; v < this.regs.length; v++)
      if (vcpu === undefined || v === vcpu) splitBig(BigInt.asUintN(64, value), this.regs[v].subarray(2 * id));
  }

  getRegister(name: string, vcpu = 0): bigint {
    const id = FULL_REGISTERS.indexOf(name as (typeof FULL_REGISTERS)[number]);
    return toBigUint(this.regs[vcpu][2 * id], this.regs[vcpu][2 * id + 1]);
  }

  /** Map bytes (or `n` zero bytes) of virtual memory at `address`. */
  mapVirtual(address: bigint, bytes: Uint8Array | number): void {
    this.virtual.map(address, bytes);
  }

  mapPhysical(address: bigint, bytes: Uint8Array | number): void {
    this.physical.map(address, bytes);
  }

  readVirtualBytes(address: bigint, size: number): Uint8Array | undefined {
    const out = new Uint8Array(size);
    const io = new Uint32Array(2);
    splitBig(address, io);
    return this.virtual.read(io[0], io[1], size, out) ? out : undefined;
  }

  // -- ScriptHost ----------------------------------------------------------------------------------

  readRegister(vcpu: number, regId: number, out: Uint32Array): void {
    const r = this.regs[vcpu] ?? this.regs[0];
    out[0] = r[2 * regId];
    out[1] = r[2 * regId + 1];
  }

  writeRegister(vcpu: number, regId: number, lo: number, hi: number): void {
    const r = this.regs[vcpu] ?? this.regs[0];
    r[2 * regId] = lo;
    r[2 * regId + 1] = hi;
  }

  readVirtual(_vcpu: number, lo: number, hi: number, size: number, out: Uint8Array): boolean {
    return this.virtual.read(lo, hi, size, out);
  }

  writeVirtual(_vcpu: number, lo: number, hi: number, size: number, data: Uint8Array): boolean {
    return this.virtual.write(lo, hi, size, data);
  }

  readPhysical(_vcpu: number, lo: number, hi: number, size: number, out: Uint8Array): boolean {
    return this.physical.read(lo, hi, size, out);
  }

  writePhysical(_vcpu: number, lo: number, hi: number, size: number, data: Uint8Array): boolean {
    return this.physical.write(lo, hi, size, data);
  }

  virtualToPhysical(_vcpu: number, lo: number, hi: number, out: Uint32Array): boolean {
    const pa = this.translate?.(toBigUint(lo, hi));
    if (pa === undefined) return false;
    splitBig(pa, out);
    return true;
  }

  physicalToVirtual(_vcpu: number, _lo: number, _hi: number, _out: Uint32Array): boolean {
    return false;
  }

  checkAddress(_vcpu: number, lo: number, hi: number): boolean {
    return this.virtual.has(lo, hi);
  }

  pseudo(_vcpu: number, id: number, out: Uint32Array): void {
    out[0] = this.pseudoValues[2 * id];
    out[1] = this.pseudoValues[2 * id + 1];
  }

  emit(kind: EmitKind, text: string): void {
    this.output.push(kind === 'output' ? text : `[${kind}] ${text}`);
  }

  pause(vcpu: number): void {
    this.calls.push({ what: 'pause', args: [vcpu] });
  }

  flush(): void {
    this.calls.push({ what: 'flush', args: [] });
  }

  eventControl(op: 'enable' | 'disable' | 'clear', lo: number, hi: number): void {
    this.calls.push({ what: `event_${op}`, args: [`0x${toBigUint(lo, hi).toString(16)}`] });
  }

  eventSc(_vcpu: number, on: boolean): void {
    this.calls.push({ what: 'event_sc', args: [on] });
  }

  eventInject(_vcpu: number, type: number, vector: number, errorCode: number): void {
    this.calls.push({ what: 'event_inject', args: [type, vector, errorCode] });
  }

  eventTrace(_vcpu: number, kind: 'step' | 'instrument'): void {
    this.calls.push({ what: 'event_trace', args: [kind] });
  }

  rdtsc(_vcpu: number, out: Uint32Array): void {
    this.tsc += 0x10n;
    splitBig(this.tsc, out);
  }

  disassembleLen(_vcpu: number, lo: number, hi: number, bits: 32 | 64): number {
    // No decoder in a snapshot: report 1 for mapped code, 0 otherwise.
    return this.virtual.has(lo, hi) ? (bits === 64 ? 1 : 1) : 0;
  }

  microsleep(_vcpu: number, us: number): void {
    this.calls.push({ what: 'microsleep', args: [us] });
  }

  testStatement(lo: number, hi: number): void {
    this.tests.push(toBigUint(lo, hi));
  }

  now(): number {
    return this.clock;
  }
}
