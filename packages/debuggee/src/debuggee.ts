/**
 * The debug target: guest machine + emulated hypervisor + events + message queue, behind the
 * DebugTarget contract the server drives (target.ts).
 *
 * Composition: the machine owns the vCPUs and memory; the hypervisor takes over every vCPU's exit
 * handler (chaining the machine's hypercalls); events are validated by `events/validate.ts`,
 * matched by `hv/exits.ts`, run by `events/actions.ts` with scripts on `events/scriptHost.ts` and
 * custom code on `hv/customCode.ts`; everything they print goes through `events/queue.ts`.
 *
 * Execution is sliced: `runSlice` runs a bounded number of instruction-times and returns, so the
 * server serves sockets between slices; a break requested inside a slice ends it at once and
 * becomes a halt (queue flushed first, then `onHalt`). Guest faults never throw: a triple fault is
 * a halt with reason 'triple-fault' and the target stops.
 */
import { readFileSync } from 'node:fs';
import type {
  BreakpointInfo,
  EventInfo,
  EventSpec,
  GuestDescription,
  GuestModule,
  HaltInfo,
  HaltReason,
  MemorySpace,
  Mode,
  ProcessInfo,
  RunState,
  StepKind,
  SymbolInfo,
  ThreadInfo,
} from '@hvdbg/protocol';
import { HvdbgError, LIMITS } from '@hvdbg/protocol';
import { cpuid } from './cpu/msr.js';
import type { EventManager } from './events/manager.js';
import type { MessageQueue, QueueOptions } from './events/queue.js';
import type { EventRegistry } from './events/registry.js';
import type { DaemonScriptHost } from './events/scriptHost.js';
import { AwarenessCache } from './hv/awareness.js';
import type { BreakpointTable } from './hv/breakpoints.js';
import type { CustomCodeRunner } from './hv/customCode.js';
import type { Hypervisor } from './hv/exits.js';
import { DEFAULT_REGISTER_NAMES, readNamed, writeNamed } from './hv/registers.js';
import { createHypervisorStack } from './hv/stack.js';
import { StepState } from './hv/stepper.js';
import type { DebugCpu } from './hv/vcpu.js';
import { Machine } from './machine/machine.js';
import { guestProcesses, guestThreads, readProcessMemory, translateWithCr3, walkWithCr3 } from './machine/processes.js';
import type { DebugTarget, SliceResult, TargetListener } from './target.js';

export interface DebuggeeOptions {
  /** Guest ELF path; undefined = the built-in kernel. */
  guestPath?: string;
  /** Guest ELF bytes (wins over guestPath). */
  image?: Uint8Array;
  vcpus?: number;
  memoryBytes?: bigint | number;
  workload?: string;
  lossless?: boolean;
  mode?: Mode;
  /** Start halted (reason 'startup'). */
  halted?: boolean;
  /** Instruction-times per slice: bounds pause latency and the time between socket turns. */
  sliceInstructions?: number;
  /** Machine scheduling (tests). */
  timerPeriod?: number;
  quantum?: number;
  queue?: QueueOptions;
  /** Instructions a custom-code or condition run may retire. */
  codeBudget?: number;
  /** Accepted for the composition root; the target itself logs nothing on the hot path. */
  log?: unknown;
}

export const DEFAULT_SLICE_INSTRUCTIONS = 200_000;
const IDLE: SliceResult = Object.freeze({ instructions: 0, idle: true }) as SliceResult;
const NULL_LISTENER: TargetListener = {
  onLog() {},
  onDropped() {},
  onConsole() {},
  onHalt() {},
  onResume() {},
  onEventsChanged() {},
};

export class Debuggee implements DebugTarget {
  readonly mode: Mode;
  readonly lossless: boolean;
  readonly machine: Machine;
  readonly queue: MessageQueue;
  readonly registry: EventRegistry;
  readonly events: EventManager;
  readonly hv: Hypervisor;
  readonly scripts: DaemonScriptHost;
  readonly code: CustomCodeRunner;
  readonly breakpoints: BreakpointTable;
  readonly awareness: AwarenessCache;
  readonly sliceInstructions: number;
  private readonly cpus: DebugCpu[];
  private listener: TargetListener = NULL_LISTENER;
  private runState: RunState = 'running';
  private halt: HaltInfo | undefined = undefined;
  private main = 0;
  private stepping: StepState | null = null;

  constructor(options: DebuggeeOptions = {}) {
    this.mode = options.mode ?? 'remote';
    this.lossless = options.lossless ?? false;
    this.sliceInstructions = options.sliceInstructions ?? DEFAULT_SLICE_INSTRUCTIONS;
    const image = options.image ?? (options.guestPath !== undefined ? readFileSync(options.guestPath) : undefined);
    this.machine = new Machine({
      memoryBytes: Number(options.memoryBytes ?? 64n * 1024n * 1024n),
      vcpus: options.vcpus ?? 2,
      workload: options.workload ?? 'mixed',
      ...(image !== undefined ? { image } : {}),
      ...(options.timerPeriod !== undefined ? { timerPeriod: options.timerPeriod } : {}),
      ...(options.quantum !== undefined ? { quantum: options.quantum } : {}),
    });
    this.cpus = this.machine.cpus as unknown as DebugCpu[];
    this.awareness = new AwarenessCache(this.machine);
    const stack = createHypervisorStack({
      cpus: this.cpus,
      memory: this.machine.memory,
      ept: this.machine.ept,
      mode: this.mode,
      awareness: this.awareness,
      lossless: this.lossless,
      ...(options.queue !== undefined ? { queue: options.queue } : {}),
      ...(options.codeBudget !== undefined ? { codeBudget: options.codeBudget } : {}),
      isHalted: () => this.runState !== 'running',
      onEventsChanged: () => this.listener.onEventsChanged(),
      translateInProcess: (address, pid) => {
        const process = guestProcesses(this.machine).find((p) => p.pid === pid);
        return process === undefined ? -1 : translateWithCr3(this.machine.memory, process.cr3, address);
      },
    });
    this.queue = stack.queue;
    this.registry = stack.registry;
    this.events = stack.events;
    this.hv = stack.hv;
    this.scripts = stack.scripts;
    this.code = stack.code;
    this.breakpoints = stack.breakpoints;
    this.machine.onConsole((text) => this.listener.onConsole(text));
    if (options.halted) {
      this.runState = 'halted';
      this.queue.halted = true;
      this.halt = this.haltReport('startup', 0);
    }
  }

  setListener(listener: TargetListener): void {
    this.listener = listener;
    this.queue.setSink(listener);
  }

  /** Backpressure from the wire side: while blocked, messages stay queued (drops / throttling apply). */
  setConsumerBlocked(blocked: boolean): void {
    this.queue.blocked = blocked;
  }

  // -- Machine and state ------------------------------------------------------------------------

  description(): GuestDescription {
    return this.machine.description();
  }

  state(): RunState {
    return this.runState;
  }

  haltInfo(): HaltInfo | undefined {
    return this.halt;
  }

  instructions(): bigint {
    return BigInt(this.machine.instructions);
  }

  mainVcpu(): number {
    return this.main;
  }

  runSlice(): SliceResult {
    if (this.runState !== 'running') return IDLE;
    const now = Date.now();
    if (this.queue.throttled) {
      this.queue.pump(now);
      if (this.queue.throttled) return IDLE;
    }
    this.queue.setNow(now);
    this.hv.haltRequest = null;
    const step = this.stepping;
    let instructions: number;
    let stop: string;
    let stopVcpu: number;
    if (step !== null && step.kind === 'instr') {
      // `i`: the main core alone, interrupts blocked (SPEC §5).
      const before = this.machine.instructions;
      const code = this.machine.runVcpu(step.vcpu, this.sliceInstructions);
      instructions = this.machine.instructions - before;
      stop = code === 1 ? 'exit-halt' : code === 3 ? 'triple-fault' : code === 4 ? 'shutdown' : 'budget';
      stopVcpu = step.vcpu;
      if (code === 2) {
        // HLT with interrupts blocked would never finish: report the step where it stands.
        this.hv.haltRequest ??= { vcpu: step.vcpu, reason: 'step' };
        stop = 'exit-halt';
      }
      if (stop === 'triple-fault' || stop === 'shutdown') this.machine.stopped = stop;
      this.machine.flushConsole();
    } else {
      const slice = this.machine.runSlice(this.sliceInstructions);
      instructions = slice.instructions;
      stop = slice.stop;
      stopVcpu = slice.vcpu;
    }
    this.queue.pump(Date.now());
    let req = this.hv.haltRequest;
    if (req !== null && req.reason === 'throttle') {
      // Lossless output filled up mid-slice: the run stopped early; the guest is not halted.
      this.hv.haltRequest = null;
      req = null;
    }
    if (req !== null) {
      this.hv.haltRequest = null;
      const reason: HaltReason = req.reason === 'breakpoint' ? 'breakpoint' : req.reason === 'step' ? 'step' : 'event';
      const info = this.haltReport(reason, req.vcpu);
      if (req.eventId !== undefined) info.eventId = req.eventId;
      if (req.breakpointId !== undefined) info.eventId = req.breakpointId;
      if (req.stage !== undefined) info.stage = req.stage;
      if (req.context !== undefined) info.context = req.context;
      if (reason === 'step') {
        const by = this.stepBy;
        if (by !== undefined) info.byClient = by;
      }
      this.enterHalt(info);
    } else if (stop === 'triple-fault' || stop === 'shutdown') {
      this.endStepping();
      this.runState = 'stopped';
      this.queue.flushAll(Date.now());
      const info = this.haltReport(stop, stopVcpu);
      this.halt = info;
      this.listener.onHalt(info);
    }
    return { instructions, idle: false };
  }

  tick(nowMs: number): void {
    this.queue.pump(nowMs);
  }

  // -- Execution control ------------------------------------------------------------------------

  pause(byClient?: number): void {
    if (this.runState !== 'running') return;
    const info = this.haltReport('pause', this.main);
    if (byClient !== undefined) info.byClient = byClient;
    this.enterHalt(info);
  }

  resume(byClient?: number): void {
    this.requireHalted();
    void byClient;
    this.leaveHalt(false);
  }

  private stepBy: number | undefined = undefined;

  step(kind: StepKind, count: number, vcpu?: number, byClient?: number): void {
    this.requireHalted();
    if (!['into', 'over', 'instr', 'out'].includes(kind))
      throw new HvdbgError('E_BAD_VALUE', `unknown step kind '${kind}'`);
    if (!Number.isInteger(count) || count < 1 || count > LIMITS.maxStepCount) {
      throw new HvdbgError('E_BAD_VALUE', `step count must be 1..${LIMITS.maxStepCount}`);
    }
    const index = vcpu ?? this.main;
    this.checkVcpu(index);
    this.main = index;
    const step = new StepState(kind, count, index);
    const cpu = this.cpus[index]!;
    step.begin(cpu);
    this.stepping = step;
    this.stepBy = byClient;
    if (kind === 'instr') cpu.interruptsMasked = true;
    this.hv.setStepHook(index, step.hook);
    this.leaveHalt(true);
  }

  switchCore(vcpu: number): HaltInfo {
    this.requireHalted();
    this.checkVcpu(vcpu);
    this.main = vcpu;
    const prev = this.halt;
    const info = this.haltReport(prev?.reason ?? 'pause', vcpu);
    this.halt = info;
    return info;
  }

  shutdown(): void {
    if (this.runState === 'stopped') return;
    this.endStepping();
    this.queue.flushAll(Date.now());
    this.runState = 'stopped';
    this.halt = this.haltReport('shutdown', this.main);
  }

  private enterHalt(info: HaltInfo): void {
    this.endStepping();
    // Every message produced before the halt ships before the halt notification.
    this.queue.flushAll(Date.now());
    info.lastSeq = this.queue.lastShippedSeq;
    this.queue.halted = true;
    this.runState = 'halted';
    this.main = info.vcpu;
    this.halt = info;
    this.listener.onHalt(info);
  }

  private leaveHalt(step: boolean): void {
    this.queue.halted = false;
    this.runState = 'running';
    this.halt = undefined;
    this.listener.onResume(step);
  }

  private endStepping(): void {
    const s = this.stepping;
    if (s === null) return;
    this.stepping = null;
    this.cpus[s.vcpu]!.interruptsMasked = false;
    this.hv.setStepHook(s.vcpu, null);
  }

  private haltReport(reason: HaltReason, vcpu: number): HaltInfo {
    const cpu = this.cpus[vcpu]!;
    const rip = BigInt.asUintN(64, cpu.getRip());
    let bytes: Uint8Array | null = null;
    for (let n = 16; n > 0 && bytes === null; n--) bytes = cpu.readVirtual(rip, n);
    return {
      reason,
      vcpu,
      rip,
      rflags: cpu.getRflags(),
      bytes: bytes ?? new Uint8Array(0),
      lastSeq: this.queue.lastShippedSeq,
    };
  }

  private requireHalted(): void {
    if (this.runState === 'stopped') throw new HvdbgError('E_GUEST_STOPPED');
    if (this.runState !== 'halted') throw new HvdbgError('E_NOT_HALTED');
  }

  private checkVcpu(vcpu: number): DebugCpu {
    const cpu = Number.isInteger(vcpu) ? this.cpus[vcpu] : undefined;
    if (cpu === undefined) throw new HvdbgError('E_BAD_VCPU', `no vCPU ${vcpu} (the guest has ${this.cpus.length})`);
    return cpu;
  }

  /**
   * `pid p` on memory, walks and breakpoints: a vCPU running the process (or `vcpu` itself without a pid), or
   * else the CR3 stored in the process object, whose page tables are walked directly.
   */
  private addressSpace(pid: number | undefined, vcpu: number): DebugCpu | { cr3: number } {
    const cpu = this.checkVcpu(vcpu);
    if (pid === undefined || this.awareness.pid(vcpu) === pid) return cpu;
    for (let i = 0; i < this.cpus.length; i++) if (this.awareness.pid(i) === pid) return this.cpus[i]!;
    return { cr3: this.requireProcess(pid).cr3 };
  }

  private requireProcess(pid: number): { pid: number; cr3: number } {
    const process = guestProcesses(this.machine).find((p) => p.pid === pid);
    if (process === undefined) throw new HvdbgError('E_BAD_PARAMETER', `the guest has no process ${pid}`);
    return process;
  }

  // -- Registers and memory ---------------------------------------------------------------------

  readRegisters(vcpu: number, names?: string[]): Record<string, bigint> {
    const cpu = this.checkVcpu(vcpu);
    const out: Record<string, bigint> = {};
    for (const name of names ?? DEFAULT_REGISTER_NAMES) out[name] = readNamed(cpu, name);
    return out;
  }

  writeRegister(vcpu: number, name: string, value: bigint): void {
    writeNamed(this.checkVcpu(vcpu), name, value);
    if (this.halt !== undefined && vcpu === this.halt.vcpu) {
      const cpu = this.cpus[vcpu]!;
      this.halt.rip = BigInt.asUintN(64, cpu.getRip());
      this.halt.rflags = cpu.getRflags();
    }
  }

  readMemory(space: MemorySpace, address: bigint, length: number, vcpu: number, pid?: number): Uint8Array {
    checkLength(length);
    if (space === 'physical') {
      const pa = this.physical(address, length);
      return this.machine.memory.readBytes(pa, length);
    }
    const where = this.addressSpace(pid, vcpu);
    const va = BigInt.asUintN(64, address);
    const bytes =
      'readVirtual' in where ? where.readVirtual(va, length) : readProcessMemory(this.machine, pid!, va, length);
    if (bytes === null)
      throw new HvdbgError(
        'E_BAD_ADDRESS',
        `0x${BigInt.asUintN(64, address).toString(16)} (length ${length}) is not mapped`,
      );
    return bytes;
  }

  writeMemory(space: MemorySpace, address: bigint, bytes: Uint8Array, vcpu: number, pid?: number): number {
    checkLength(bytes.length);
    if (space === 'physical') {
      this.machine.memory.writeBytes(this.physical(address, bytes.length), bytes);
      return bytes.length;
    }
    const where = this.addressSpace(pid, vcpu);
    const va = BigInt.asUintN(64, address);
    if (!('cr3' in where ? this.writeThroughCr3(where.cr3, va, bytes) : where.writeVirtual(va, bytes))) {
      throw new HvdbgError(
        'E_BAD_ADDRESS',
        `0x${BigInt.asUintN(64, address).toString(16)} (length ${bytes.length}) is not mapped`,
      );
    }
    return bytes.length;
  }

  /** Writes through the page tables at `cr3` like a physical write; nothing is written unless every page is mapped. */
  private writeThroughCr3(cr3: number, linear: bigint, bytes: Uint8Array): boolean {
    const parts: [pa: number, from: number, n: number][] = [];
    for (let done = 0; done < bytes.length; ) {
      const w = walkWithCr3(this.machine.memory, cr3, linear + BigInt(done));
      if (w === null || !this.machine.memory.isRam(w.physical)) return false;
      const n = Math.min(bytes.length - done, 4096 - (w.physical & 0xfff));
      parts.push([w.physical, done, n]);
      done += n;
    }
    for (const [pa, from, n] of parts) this.machine.memory.writeBytes(pa, bytes.subarray(from, from + n));
    return true;
  }

  private physical(address: bigint, length: number): number {
    const m = this.machine.memory;
    const pa = Number(address);
    if (address < 0n || length === 0 || !m.isRam(pa) || !m.isRam(pa + length - 1)) {
      throw new HvdbgError(
        'E_BAD_ADDRESS',
        `physical 0x${address.toString(16)} (length ${length}) is outside guest RAM`,
      );
    }
    return pa;
  }

  translate(address: bigint, vcpu: number, pid?: number): { physical: bigint; entries: bigint[] } {
    const where = this.addressSpace(pid, vcpu);
    const va = BigInt.asUintN(64, address);
    const w = 'walk' in where ? where.walk(va) : walkWithCr3(this.machine.memory, where.cr3, va);
    if (w === null)
      throw new HvdbgError('E_BAD_ADDRESS', `0x${BigInt.asUintN(64, address).toString(16)} is not mapped`);
    return { physical: BigInt(w.physical), entries: w.entries };
  }

  readMsr(vcpu: number, msr: number): bigint {
    return this.checkVcpu(vcpu).getMsr(msr);
  }

  writeMsr(vcpu: number, msr: number, value: bigint): void {
    this.checkVcpu(vcpu).setMsr(msr, value);
  }

  // -- Events, breakpoints, scripts --------------------------------------------------------------

  addEvent(spec: EventSpec): { id: number; tag: bigint; warnings: string[] } {
    const r = this.events.add(spec);
    this.listener.onEventsChanged();
    return r;
  }

  listEvents(): EventInfo[] {
    return this.events.list();
  }

  modifyEvent(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const n = this.events.modify(id, action);
    this.listener.onEventsChanged();
    return n;
  }

  setShortCircuit(on: boolean): void {
    this.requireHalted();
    const h = this.halt!;
    if (h.reason !== 'event' || h.stage !== 'pre' || !this.hv.setParkedSc(h.vcpu, on)) {
      throw new HvdbgError('E_BAD_PARAMETER', 'events sc applies only while halted by a pre-stage event');
    }
  }

  readEventBuffer(id: number): Uint8Array {
    const ev = this.registry.get(id);
    if (ev === undefined) throw new HvdbgError('E_BAD_EVENT_ID', `no event has id 0x${id.toString(16)}`);
    return ev.buffer === null ? new Uint8Array(0) : ev.buffer.read();
  }

  evalScript(buffer: Uint8Array, vcpu: number): { output: string[]; error?: { code: string; message: string } } {
    this.checkVcpu(vcpu);
    try {
      return this.scripts.evaluate(buffer, vcpu);
    } catch (err) {
      if (err instanceof HvdbgError) return { output: [], error: { code: err.code, message: err.message } };
      throw err;
    }
  }

  addBreakpoint(address: bigint, filter: { pid?: number; tid?: number; core?: number }): number {
    if (filter.core !== undefined) this.checkVcpu(filter.core);
    const where = this.addressSpace(filter.pid, filter.core ?? this.main);
    const va = BigInt.asUintN(64, address);
    const pa =
      'cr3' in where ? (walkWithCr3(this.machine.memory, where.cr3, va)?.physical ?? -1) : where.translate(va, 'x');
    if (pa < 0) throw new HvdbgError('E_BAD_ADDRESS', `0x${BigInt.asUintN(64, address).toString(16)} is not mapped`);
    if (!this.machine.memory.isRam(pa)) {
      throw new HvdbgError('E_BAD_ADDRESS', `0x${BigInt.asUintN(64, address).toString(16)} is not in guest RAM`);
    }
    const id = this.breakpoints.add(address, pa, filter);
    this.hv.sync();
    return id;
  }

  listBreakpoints(): BreakpointInfo[] {
    return this.breakpoints.info();
  }

  modifyBreakpoint(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const n = this.breakpoints.modify(id, action);
    this.hv.sync();
    return n;
  }

  // -- Symbols and queue ------------------------------------------------------------------------

  symbols(): { modules: GuestModule[]; symbols: SymbolInfo[] } {
    return { modules: this.machine.modules(), symbols: this.machine.symbols };
  }

  queueDepth(): number {
    return this.queue.depth;
  }

  drops(): bigint {
    return this.queue.drops;
  }

  flushQueue(): number {
    return this.queue.discard();
  }

  // -- Guest kernel objects and CPU information ---------------------------------------------------

  processes(): ProcessInfo[] {
    const threads = guestThreads(this.machine);
    return guestProcesses(this.machine).map((p) => ({
      pid: p.pid,
      name: p.name,
      state: p.state === 'dying' ? 'dying' : 'live',
      address: p.address,
      cr3: BigInt(p.cr3),
      threads: threads.filter((t) => t.pid === p.pid).length,
      vcpus: this.cpus.flatMap((_, i) => (this.awareness.pid(i) === p.pid ? [i] : [])),
    }));
  }

  threads(pid?: number): ThreadInfo[] {
    if (pid !== undefined) this.requireProcess(pid);
    return guestThreads(this.machine)
      .filter((t) => pid === undefined || t.pid === pid)
      .map((t) => ({ tid: t.tid, pid: t.pid, state: t.state === 'free' ? 'runnable' : t.state, address: t.address }));
  }

  cpuid(vcpu: number, leaf: number, subleaf: number): { eax: number; ebx: number; ecx: number; edx: number } {
    this.checkVcpu(vcpu);
    const out = new Int32Array(4);
    cpuid(this.machine.cpus[vcpu]!, leaf, subleaf, out);
    return { eax: out[0]! >>> 0, ebx: out[1]! >>> 0, ecx: out[2]! >>> 0, edx: out[3]! >>> 0 };
  }
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0)
    throw new HvdbgError('E_BAD_VALUE', 'length must be a non-negative integer');
  if (length > LIMITS.maxMemoryBytes)
    throw new HvdbgError('E_TOO_LARGE', `at most ${LIMITS.maxMemoryBytes} bytes per request`);
}
