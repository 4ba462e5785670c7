/**
 * The daemon side of the script engine (SPEC §3.4, §4): a ScriptHost over the emulated vCPUs and
 * the guest's physical memory, and the ScriptExecutor the action runner calls.
 *
 * One ScriptVM and one ScriptContext per vCPU, sharing one ScriptGlobals (SPEC §4.6: globals are
 * shared by all cores, events and `?`). Memory goes through the CPU's debug accessors, which cause
 * no exits, so a script never re-triggers events (SPEC §2.4). Output becomes log records tagged
 * with the firing's event; during `?` evaluation it is captured for the response instead.
 */
import { HvdbgError, LOG_KIND_SCRIPT, LOG_KIND_WARNING } from '@hvdbg/protocol';
import {
  type EmitKind,
  newScriptContext,
  type ScriptContext,
  ScriptGlobals,
  type ScriptHost,
  ScriptVM,
  type VerifiedScript,
  verifyScript,
} from '@hvdbg/script';
import iced from 'iced-x86';
import { callOrReturnAt } from '../hv/codeCheck.js';
import { readFull, writeFull } from '../hv/registers.js';
import type { Awareness, DebugCpu } from '../hv/vcpu.js';
import type { PhysicalMemory } from '../machine/memory.js';
import type { ActionError, Firing, ScriptExecutor } from './actions.js';
import type { MessageQueue } from './queue.js';

const { Decoder, DecoderOptions } = iced;
const TWO_32 = 4294967296;
/** Emulated TSC ticks per microsecond for `microsleep` (a 1 GHz clock). */
const TSC_PER_US = 1000n;

export interface ScriptHostDeps {
  cpus: readonly DebugCpu[];
  memory: PhysicalMemory;
  queue: MessageQueue;
  mode: 'remote' | 'local';
  firingOf(vcpu: number): Firing;
  /** pid, tid, proc, thread, pname of a vCPU (0 when unknown), in PSEUDO_HOST order. */
  awareness(vcpu: number, which: number): number;
  process: Awareness;
  timeOf(cpu: DebugCpu): bigint;
  isHalted(): boolean;
  eventControl(op: 'enable' | 'disable' | 'clear', id: number | 'all'): void;
}

function addr(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function put(out: Uint32Array, v: bigint): void {
  out[0] = Number(v & 0xffffffffn);
  out[1] = Number((v >> 32n) & 0xffffffffn);
}

export class DaemonScriptHost implements ScriptHost, ScriptExecutor {
  readonly globals = new ScriptGlobals();
  private readonly vms: ScriptVM[];
  private readonly contexts: ScriptContext[];
  /** `?` evaluation: output lines go here instead of the queue. */
  private capture: string[] | null = null;
  /** Values recorded by `test_statement`, for tests. */
  readonly testValues: bigint[] = [];
  private lastContextNumber = 0;
  private lastContextBig = 0n;

  constructor(private readonly d: ScriptHostDeps) {
    this.vms = d.cpus.map(() => new ScriptVM(this, {}, this.globals));
    this.contexts = d.cpus.map((_, i) => newScriptContext(i));
  }

  /** Registration: verify the untrusted buffer (E_SCRIPT_VERIFY on failure). */
  prepare(buffer: Uint8Array): VerifiedScript {
    try {
      return verifyScript(buffer);
    } catch (err) {
      if (err instanceof HvdbgError) throw new HvdbgError('E_SCRIPT_VERIFY', err.message, err.data);
      throw new HvdbgError('E_SCRIPT_VERIFY', String(err));
    }
  }

  // -- ScriptExecutor -----------------------------------------------------------------------------

  run(program: unknown, _buffer: Uint8Array, f: Firing): ActionError | null {
    const vcpu = f.cpu.index;
    const ctx = this.contexts[vcpu]!;
    const ev = f.ev!;
    ctx.eventId = ev.id;
    ctx.eventTag = ev.tag;
    ctx.stage = f.stage;
    if (f.context !== this.lastContextNumber) {
      this.lastContextNumber = f.context;
      this.lastContextBig = BigInt.asUintN(64, BigInt(f.context));
    }
    ctx.context = this.lastContextBig;
    ctx.buffer = ev.buffer === null ? 0n : ev.buffer.address;
    const r = this.vms[vcpu]!.run(program as VerifiedScript, ctx);
    return r.ok ? null : { code: r.error.code, message: r.error.message };
  }

  /** `?` / print: run a buffer against a vCPU between slices; output is returned, not queued. */
  evaluate(buffer: Uint8Array, vcpu: number): { output: string[]; error?: { code: string; message: string } } {
    const script = this.prepare(buffer);
    const ctx = this.contexts[vcpu]!;
    ctx.eventId = 0;
    ctx.eventTag = 0n;
    ctx.stage = 0;
    ctx.context = 0n;
    ctx.buffer = 0n;
    const output: string[] = [];
    this.capture = output;
    try {
      const r = this.vms[vcpu]!.run(script, ctx);
      if (!r.ok) return { output, error: { code: r.error.code, message: r.error.message } };
      if (script.expression) output.push(r.value.toString(16));
      return { output };
    } finally {
      this.capture = null;
    }
  }

  // -- ScriptHost: registers ---------------------------------------------------------------------

  readRegister(vcpu: number, regId: number, out: Uint32Array): void {
    const cpu = this.d.cpus[vcpu]!;
    const fast = cpu as DebugCpu & { lo?: Int32Array; hi?: Int32Array };
    if (regId < 16 && fast.lo !== undefined && fast.hi !== undefined) {
      out[0] = fast.lo[regId]! >>> 0;
      out[1] = fast.hi[regId]! >>> 0;
      return;
    }
    put(out, readFull(cpu, regId));
  }

  writeRegister(vcpu: number, regId: number, lo: number, hi: number): void {
    const cpu = this.d.cpus[vcpu]!;
    const fast = cpu as DebugCpu & { lo?: Int32Array; hi?: Int32Array };
    if (regId < 16 && fast.lo !== undefined && fast.hi !== undefined) {
      fast.lo[regId] = lo | 0;
      fast.hi[regId] = hi | 0;
      return;
    }
    try {
      writeFull(cpu, regId, addr(lo, hi));
    } catch {
      // Read-only registers ignore script writes (the VM reports nothing; HyperDbg does the same).
    }
  }

  // -- ScriptHost: memory ------------------------------------------------------------------------

  /** Offset into the current firing's event buffer when hi:lo lies inside it, else -1. */
  private bufferOffset(vcpu: number, lo: number, hi: number, size: number): number {
    const buffer = this.d.firingOf(vcpu).ev?.buffer;
    if (buffer === null || buffer === undefined) return -1;
    const off = addr(lo, hi) - buffer.address;
    return off >= 0n && off + BigInt(size) <= BigInt(buffer.size) ? Number(off) : -1;
  }

  readVirtual(vcpu: number, lo: number, hi: number, size: number, out: Uint8Array): boolean {
    const off = this.bufferOffset(vcpu, lo, hi, size);
    if (off >= 0) return this.d.firingOf(vcpu).ev!.buffer!.readAt(off, out, size);
    const bytes = this.d.cpus[vcpu]!.readVirtual(addr(lo, hi), size);
    if (bytes === null) return false;
    out.set(bytes);
    return true;
  }

  writeVirtual(vcpu: number, lo: number, hi: number, size: number, data: Uint8Array): boolean {
    const off = this.bufferOffset(vcpu, lo, hi, size);
    if (off >= 0) return this.d.firingOf(vcpu).ev!.buffer!.writeAt(off, data, size);
    return this.d.cpus[vcpu]!.writeVirtual(addr(lo, hi), data.subarray(0, size));
  }

  readPhysical(_vcpu: number, lo: number, hi: number, size: number, out: Uint8Array): boolean {
    const pa = (hi >>> 0) * TWO_32 + (lo >>> 0);
    if (!this.physicalOk(pa, size)) return false;
    out.set(this.d.memory.readBytes(pa, size));
    return true;
  }

  writePhysical(_vcpu: number, lo: number, hi: number, size: number, data: Uint8Array): boolean {
    const pa = (hi >>> 0) * TWO_32 + (lo >>> 0);
    if (!this.physicalOk(pa, size)) return false;
    this.d.memory.writeBytes(pa, data.subarray(0, size));
    return true;
  }

  virtualToPhysical(vcpu: number, lo: number, hi: number, out: Uint32Array): boolean {
    const pa = this.d.cpus[vcpu]!.translate(addr(lo, hi), 'r');
    if (pa < 0) return false;
    put(out, BigInt(pa));
    return true;
  }

  /**
   * The guest kernel maps all RAM below 1 GiB at 0xffffffff80000000 (BOOT.md); a physical address
   * is answered with that alias when the current address space really maps it there.
   */
  physicalToVirtual(vcpu: number, lo: number, hi: number, out: Uint32Array): boolean {
    const pa = (hi >>> 0) * TWO_32 + (lo >>> 0);
    if (pa >= 0x40000000) return false;
    const va = 0xffffffff80000000n + BigInt(pa);
    if (this.d.cpus[vcpu]!.translate(va, 'r') !== pa) return false;
    put(out, va);
    return true;
  }

  checkAddress(vcpu: number, lo: number, hi: number): boolean {
    if (this.bufferOffset(vcpu, lo, hi, 1) >= 0) return true;
    return this.d.cpus[vcpu]!.translate(addr(lo, hi), 'r') >= 0;
  }

  private physicalOk(pa: number, size: number): boolean {
    const m = this.d.memory;
    return size > 0 && m.isRam(pa) && m.isRam(pa + size - 1);
  }

  // -- ScriptHost: pseudo-registers, output, control ---------------------------------------------

  pseudo(vcpu: number, id: number, out: Uint32Array): void {
    const v = this.d.awareness(vcpu, id);
    out[0] = v >>> 0;
    out[1] = Math.floor(v / TWO_32) >>> 0;
  }

  emit(kind: EmitKind, text: string): void {
    if (this.capture !== null) {
      this.capture.push(text);
      return;
    }
    this.log(kind === 'warning' ? LOG_KIND_WARNING : LOG_KIND_SCRIPT, text);
  }

  private log(kind: number, text: string): void {
    const vcpu = this.currentVcpu();
    const f = this.d.firingOf(vcpu);
    const ev = f.ev;
    const cpu = this.d.cpus[vcpu]!;
    const p = this.d.process;
    this.d.queue.push(
      ev?.id ?? 0,
      kind,
      vcpu,
      p.pid(vcpu),
      p.tid(vcpu),
      this.d.timeOf(cpu),
      f.stage === 0 ? 'pre' : 'post',
      ev?.imm ?? true,
      text,
    );
  }

  private currentVcpu(): number {
    for (let i = 0; i < this.vms.length; i++) if (this.vms[i]!.script !== null) return i;
    return 0;
  }

  pause(vcpu: number): void {
    if (this.d.mode === 'local' || this.d.isHalted() || this.capture !== null) {
      this.emit('warning', 'pause() ignored: the guest cannot be halted here');
      return;
    }
    this.d.firingOf(vcpu).breakRequested = true;
  }

  flush(): void {
    this.d.queue.discard();
  }

  eventControl(op: 'enable' | 'disable' | 'clear', lo: number, hi: number): void {
    const all = lo >>> 0 === 0xffffffff && hi >>> 0 === 0xffffffff;
    let id = (hi >>> 0) * TWO_32 + (lo >>> 0);
    if (!all && id >= 0x1000000) id -= 0x1000000; // a tag instead of an id
    try {
      this.d.eventControl(op, all ? 'all' : id);
    } catch (err) {
      this.emit('warning', `event_${op}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  eventSc(vcpu: number, on: boolean): void {
    const f = this.d.firingOf(vcpu);
    if (f.stage !== 0 || f.ev === null) {
      this.emit('warning', 'event_sc() only has an effect in the pre stage');
      return;
    }
    f.sc = on;
  }

  eventInject(vcpu: number, _type: number, vector: number, errorCode: number): void {
    this.d.cpus[vcpu]!.injectException(vector, errorCode < 0 ? undefined : errorCode);
  }

  eventTrace(_vcpu: number, kind: 'step' | 'instrument' | 'out'): void {
    this.emit('warning', `event_trace_${kind === 'out' ? 'step_out' : kind}: not supported; use !trace`);
  }

  rdtsc(vcpu: number, out: Uint32Array): void {
    put(out, this.d.timeOf(this.d.cpus[vcpu]!));
  }

  disassembleLen(vcpu: number, lo: number, hi: number, bits: 32 | 64): number {
    const cpu = this.d.cpus[vcpu]!;
    let bytes: Uint8Array | null = null;
    for (let n = 15; n > 0 && bytes === null; n--) bytes = cpu.readVirtual(addr(lo, hi), n);
    if (bytes === null) return 0;
    if (bits === 64) return callOrReturnAt(bytes, 0)?.length ?? 0;
    const decoder = new Decoder(bits, bytes, DecoderOptions.None);
    try {
      const insn = decoder.decode();
      const len = insn.code === 0 ? 0 : insn.length;
      insn.free();
      return len;
    } finally {
      decoder.free();
    }
  }

  microsleep(vcpu: number, us: number): void {
    const cpu = this.d.cpus[vcpu]!;
    cpu.tscOffset += BigInt(Math.max(0, Math.floor(us))) * TSC_PER_US;
  }

  testStatement(lo: number, hi: number): void {
    this.testValues.push(addr(lo, hi));
  }

  now(): number {
    return Date.now();
  }
}
