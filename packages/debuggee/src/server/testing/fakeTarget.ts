/**
 * A DebugTarget without a machine, for the server's tests and the net benchmark: a guest that
 * produces log records as fast as asked, halts and resumes on request, and keeps registers,
 * memory, events and breakpoints in plain maps. Errors follow the real contract (E_NOT_HALTED,
 * E_BAD_VCPU, E_BAD_ADDRESS …) so the server's error paths are exercised for real.
 *
 * The log batch array and its records are reused from batch to batch: the server consumes a batch
 * synchronously inside onLog (encode once, then send), and reusing keeps the benchmark measuring
 * the server rather than the fake's allocations.
 */
import {
  type BreakpointInfo,
  type EventInfo,
  type EventSpec,
  type GuestDescription,
  type GuestModule,
  type HaltInfo,
  type HaltReason,
  HvdbgError,
  type LogRecord,
  type MemorySpace,
  type Mode,
  type ProcessInfo,
  type RunState,
  type StepKind,
  type SymbolInfo,
  type ThreadInfo,
} from '@hvdbg/protocol';
import type { DebugTarget, SliceResult, TargetListener } from '../../target.js';

export interface FakeTargetOptions {
  mode?: Mode;
  vcpus?: number;
  /** Start halted (reason 'startup'). */
  halted?: boolean;
  /** Log records produced per slice while running (0 = a quiet guest). */
  logsPerSlice?: number;
  /** Records per onLog batch (1 = immediate mode). */
  batchSize?: number;
  /** Text of each record. */
  text?: string;
  /** Stamp each record's `time` with process.hrtime (ns), for latency measurements. */
  stampTime?: boolean;
  /** Emit at most one slice's worth of records per this many ns (0 = every slice), for latency runs. */
  emitIntervalNs?: number;
  /** Produce only while this says so (a benchmark pacing the guest to its slowest reader). */
  gate?: () => boolean;
  lossless?: boolean;
}

const MEMORY_BYTES = 64 * 1024;
const FAKE_PROCESSES: readonly ProcessInfo[] = [
  { pid: 1, name: 'init', state: 'live', address: 0xffff_8000_0030_0000n, cr3: 0x10_0000n, threads: 1, vcpus: [0] },
  { pid: 2, name: 'worker', state: 'live', address: 0xffff_8000_0030_0078n, cr3: 0x20_0000n, threads: 2, vcpus: [] },
];
const FAKE_THREADS: readonly ThreadInfo[] = [
  { tid: 1, pid: 1, state: 'running', address: 0xffff_8000_0031_0000n },
  { tid: 2, pid: 2, state: 'sleeping', address: 0xffff_8000_0031_0030n },
  { tid: 3, pid: 2, state: 'runnable', address: 0xffff_8000_0031_0060n },
];
const REGISTER_NAMES = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'rip', 'rflags'] as const;
const NO_LISTENER: TargetListener = {
  onLog() {},
  onDropped() {},
  onConsole() {},
  onHalt() {},
  onResume() {},
  onEventsChanged() {},
};

export class FakeTarget implements DebugTarget {
  readonly mode: Mode;
  readonly lossless: boolean;
  readonly memory = new Uint8Array(MEMORY_BYTES);
  /** Slices run and tick() calls seen, for assertions on the run loop. */
  slices = 0;
  ticks = 0;
  shutdownCalled = false;
  /** Messages `flushQueue` reports as discarded (the fake keeps no queue of its own). */
  queued = 0;
  /** Records emitted so far (the next record's seq). */
  seq = 0n;
  logsPerSlice: number;
  batchSize: number;
  stampTime: boolean;
  emitIntervalNs: bigint;
  gate: (() => boolean) | undefined;
  private lastEmit = 0n;
  private listener: TargetListener = NO_LISTENER;
  private runState: RunState;
  private halt: HaltInfo | undefined;
  private main = 0;
  private instructionCount = 0n;
  private readonly regs: Map<string, bigint>[];
  private readonly events: EventInfo[] = [];
  private readonly breakpoints: BreakpointInfo[] = [];
  private nextEventId = 1;
  private nextBpId = 1;
  private readonly vcpus: number;
  private batch: LogRecord[] = [];
  private readonly text: string;

  constructor(options: FakeTargetOptions = {}) {
    this.mode = options.mode ?? 'remote';
    this.lossless = options.lossless ?? false;
    this.vcpus = options.vcpus ?? 2;
    this.logsPerSlice = options.logsPerSlice ?? 0;
    this.batchSize = options.batchSize ?? 64;
    this.stampTime = options.stampTime ?? false;
    this.emitIntervalNs = BigInt(options.emitIntervalNs ?? 0);
    this.gate = options.gate;
    this.text = options.text ?? 'syscall 0x3c by pid 7';
    this.regs = Array.from({ length: this.vcpus }, (_, v) => {
      const m = new Map<string, bigint>();
      for (const [i, name] of REGISTER_NAMES.entries()) m.set(name, BigInt(v * 0x100 + i));
      m.set('rip', 0xffff_8000_0010_0000n);
      return m;
    });
    this.runState = 'running';
    this.halt = undefined;
    if (options.halted === true) this.enterHalt('startup', 0, undefined);
  }

  setListener(listener: TargetListener): void {
    this.listener = listener;
  }

  description(): GuestDescription {
    return {
      name: 'fake',
      vcpus: this.vcpus,
      memoryBytes: BigInt(MEMORY_BYTES),
      workload: 'mixed',
      kernelBase: 0xffff_8000_0000_0000n,
      modules: this.modules(),
    };
  }

  state(): RunState {
    return this.runState;
  }

  haltInfo(): HaltInfo | undefined {
    return this.halt;
  }

  runSlice(): SliceResult {
    if (this.runState !== 'running') return { instructions: 0, idle: true };
    this.slices++;
    this.instructionCount += 1000n;
    // Waiting for readers is idle time: the run loop sleeps instead of spinning against them.
    if (this.gate !== undefined && !this.gate()) return { instructions: 0, idle: true };
    if (this.emitIntervalNs === 0n) {
      this.produce(this.logsPerSlice);
    } else {
      const now = process.hrtime.bigint();
      if (now - this.lastEmit >= this.emitIntervalNs) {
        this.lastEmit = now;
        this.produce(this.logsPerSlice);
      }
    }
    return { instructions: 1000, idle: false };
  }

  tick(_nowMs: number): void {
    this.ticks++;
  }

  instructions(): bigint {
    return this.instructionCount;
  }

  /** Emits `count` records in batches of `batchSize`, as the real queue ships them. */
  produce(count: number): void {
    let left = count;
    while (left > 0) {
      const n = Math.min(left, this.batchSize);
      this.listener.onLog(this.fillBatch(n));
      left -= n;
    }
  }

  /** Emits a console line as the guest's serial port would. */
  console(text: string): void {
    this.listener.onConsole(text);
  }

  /** Halts as a break action of event `eventId` would. */
  breakOnEvent(eventId: number, vcpu = 0): void {
    this.enterHalt('event', vcpu, undefined, eventId);
  }

  pause(byClient?: number): void {
    if (this.runState !== 'running') return;
    this.enterHalt('pause', this.main, byClient);
  }

  resume(_byClient?: number): void {
    this.requireHalted();
    this.runState = 'running';
    this.halt = undefined;
    this.listener.onResume(false);
  }

  step(_kind: StepKind, count: number, vcpu?: number, byClient?: number): void {
    this.requireHalted();
    const v = vcpu ?? this.main;
    this.checkVcpu(v);
    this.runState = 'running';
    this.halt = undefined;
    this.listener.onResume(true);
    const rip = this.regs[v]!.get('rip')!;
    this.regs[v]!.set('rip', rip + BigInt(count));
    this.instructionCount += BigInt(count);
    this.enterHalt('step', v, byClient);
  }

  switchCore(vcpu: number): HaltInfo {
    this.requireHalted();
    this.checkVcpu(vcpu);
    this.main = vcpu;
    this.halt = this.haltReport(this.halt!.reason, vcpu, this.halt!.byClient);
    return this.halt;
  }

  readRegisters(vcpu: number, names?: string[]): Record<string, bigint> {
    this.checkVcpu(vcpu);
    const regs = this.regs[vcpu]!;
    const out: Record<string, bigint> = {};
    for (const name of names ?? regs.keys()) {
      const value = regs.get(name);
      if (value === undefined) throw new HvdbgError('E_BAD_REGISTER', `no register '${name}'`, { name });
      out[name] = value;
    }
    return out;
  }

  writeRegister(vcpu: number, name: string, value: bigint): void {
    this.checkVcpu(vcpu);
    if (!this.regs[vcpu]!.has(name)) throw new HvdbgError('E_BAD_REGISTER', `no register '${name}'`, { name });
    this.regs[vcpu]!.set(name, value);
  }

  readMemory(_space: MemorySpace, address: bigint, length: number, vcpu: number): Uint8Array {
    this.checkVcpu(vcpu);
    this.checkRange(address, length);
    return this.memory.slice(Number(address), Number(address) + length);
  }

  writeMemory(_space: MemorySpace, address: bigint, bytes: Uint8Array, vcpu: number): number {
    this.checkVcpu(vcpu);
    this.checkRange(address, bytes.length);
    this.memory.set(bytes, Number(address));
    return bytes.length;
  }

  translate(address: bigint, vcpu: number): { physical: bigint; entries: bigint[] } {
    this.checkVcpu(vcpu);
    this.checkRange(address, 1);
    return { physical: address, entries: [] };
  }

  readMsr(vcpu: number, msr: number): bigint {
    this.checkVcpu(vcpu);
    return BigInt(msr) * 2n;
  }

  writeMsr(vcpu: number, _msr: number, _value: bigint): void {
    this.checkVcpu(vcpu);
  }

  mainVcpu(): number {
    return this.main;
  }

  addEvent(spec: EventSpec): { id: number; tag: bigint; warnings: string[] } {
    if (this.mode === 'local' && spec.actions.some((a) => a.type === 'break')) {
      throw new HvdbgError('E_LOCAL_MODE');
    }
    const id = this.nextEventId++;
    this.events.push({ id, tag: BigInt(id), enabled: true, kind: spec.kind, text: spec.text, hits: 0n });
    this.listener.onEventsChanged();
    return { id, tag: BigInt(id), warnings: [] };
  }

  listEvents(): EventInfo[] {
    return this.events.map((e) => ({ ...e }));
  }

  modifyEvent(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const hit = this.events.filter((e) => id === 'all' || e.id === id);
    if (hit.length === 0 && id !== 'all') throw new HvdbgError('E_BAD_EVENT_ID', `no event ${id}`);
    for (const e of hit) {
      if (action === 'clear') this.events.splice(this.events.indexOf(e), 1);
      else e.enabled = action === 'enable';
    }
    this.listener.onEventsChanged();
    return hit.length;
  }

  setShortCircuit(_on: boolean): void {
    this.requireHalted();
  }

  readEventBuffer(id: number): Uint8Array {
    if (!this.events.some((e) => e.id === id)) throw new HvdbgError('E_BAD_EVENT_ID', `no event ${id}`);
    return new Uint8Array(16);
  }

  evalScript(buffer: Uint8Array, _vcpu: number): { output: string[]; error?: { code: string; message: string } } {
    if (buffer.length === 0) throw new HvdbgError('E_SCRIPT_VERIFY', 'empty script buffer');
    return { output: [`${buffer.length} bytes evaluated`] };
  }

  addBreakpoint(address: bigint, filter: { pid?: number; tid?: number; core?: number }): number {
    const id = this.nextBpId++;
    this.breakpoints.push({ id, address, enabled: true, ...definedOnly(filter), hits: 0n });
    return id;
  }

  listBreakpoints(): BreakpointInfo[] {
    return this.breakpoints.map((b) => ({ ...b }));
  }

  modifyBreakpoint(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const hit = this.breakpoints.filter((b) => id === 'all' || b.id === id);
    if (hit.length === 0 && id !== 'all') throw new HvdbgError('E_BAD_BREAKPOINT', `no breakpoint ${id}`);
    for (const b of hit) {
      if (action === 'clear') this.breakpoints.splice(this.breakpoints.indexOf(b), 1);
      else b.enabled = action === 'enable';
    }
    return hit.length;
  }

  symbols(): { modules: GuestModule[]; symbols: SymbolInfo[] } {
    return {
      modules: this.modules(),
      symbols: [
        { name: 'kmain', module: 'kernel', address: 0xffff_8000_0010_0000n, size: 0x200n, kind: 'function' },
        { name: 'syscall_entry', module: 'kernel', address: 0xffff_8000_0010_0400n, size: 0x80n, kind: 'function' },
        { name: 'ticks', module: 'kernel', address: 0xffff_8000_0020_0000n, size: 8n, kind: 'object' },
      ],
    };
  }

  queueDepth(): number {
    return 0;
  }

  drops(): bigint {
    return 0n;
  }

  flushQueue(): number {
    const n = this.queued;
    this.queued = 0;
    return n;
  }

  processes(): ProcessInfo[] {
    return FAKE_PROCESSES.map((p) => ({ ...p, vcpus: [...p.vcpus] }));
  }

  threads(pid?: number): ThreadInfo[] {
    if (pid !== undefined && !FAKE_PROCESSES.some((p) => p.pid === pid)) {
      throw new HvdbgError('E_BAD_PARAMETER', `the guest has no process ${pid}`);
    }
    return FAKE_THREADS.filter((t) => pid === undefined || t.pid === pid).map((t) => ({ ...t }));
  }

  /** Echoes its arguments (eax = leaf, ebx = subleaf, ecx = vCPU) so tests see what arrived. */
  cpuid(vcpu: number, leaf: number, subleaf: number): { eax: number; ebx: number; ecx: number; edx: number } {
    this.checkVcpu(vcpu);
    return { eax: leaf, ebx: subleaf, ecx: vcpu, edx: 0 };
  }

  shutdown(): void {
    this.shutdownCalled = true;
    this.runState = 'stopped';
  }

  private modules(): GuestModule[] {
    return [{ name: 'kernel', base: 0xffff_8000_0000_0000n, size: 0x40_0000n }];
  }

  private fillBatch(n: number): LogRecord[] {
    if (this.batch.length !== n) {
      this.batch = Array.from({ length: n }, () => ({
        seq: 0n,
        eventId: 1,
        kind: 1,
        vcpu: 0,
        pid: 7,
        tid: 7,
        time: 0n,
        stage: 'pre' as const,
        text: this.text,
      }));
    }
    const time = this.stampTime ? process.hrtime.bigint() : this.instructionCount;
    for (let i = 0; i < n; i++) {
      const r = this.batch[i]!;
      r.seq = this.seq++;
      r.time = time;
    }
    return this.batch;
  }

  private enterHalt(reason: HaltReason, vcpu: number, byClient: number | undefined, eventId?: number): void {
    this.runState = 'halted';
    this.main = vcpu;
    this.halt = this.haltReport(reason, vcpu, byClient, eventId);
    this.listener.onHalt(this.halt);
  }

  private haltReport(reason: HaltReason, vcpu: number, byClient?: number, eventId?: number): HaltInfo {
    const regs = this.regs[vcpu]!;
    const info: HaltInfo = {
      reason,
      vcpu,
      rip: regs.get('rip')!,
      rflags: regs.get('rflags')!,
      bytes: new Uint8Array([0x0f, 0x05]),
      lastSeq: this.seq === 0n ? 0n : this.seq - 1n,
    };
    if (byClient !== undefined) info.byClient = byClient;
    if (eventId !== undefined) info.eventId = eventId;
    return info;
  }

  private requireHalted(): void {
    if (this.runState !== 'halted') throw new HvdbgError('E_NOT_HALTED');
  }

  private checkVcpu(vcpu: number): void {
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= this.vcpus)
      throw new HvdbgError('E_BAD_VCPU', `no vCPU ${vcpu}`);
  }

  private checkRange(address: bigint, length: number): void {
    if (address < 0n || address + BigInt(length) > BigInt(MEMORY_BYTES)) {
      throw new HvdbgError('E_BAD_ADDRESS', `0x${address.toString(16)} is not mapped`);
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
