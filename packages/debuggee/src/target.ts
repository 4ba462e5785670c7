/**
 * The contract between the wire side (server/, server/gdb/) and the target side (machine + hv +
 * events). The server never touches the CPU or the event registry directly: it drives a
 * DebugTarget and fans out what the target reports through its TargetListener.
 *
 * Threading model: everything runs on the Node event loop. The server calls `runSlice()` repeatedly
 * (setImmediate between calls, so sockets are served); a slice is bounded, so pause latency is
 * bounded by one slice. `tick(nowMs)` is called between slices and from a timer while halted, to
 * ship batched log messages that are due.
 *
 * Errors: user errors are thrown as HvdbgError with a catalogue code; any other exception is a bug.
 */
import type {
  BreakpointInfo,
  EventInfo,
  EventSpec,
  GuestDescription,
  GuestModule,
  HaltInfo,
  LogRecord,
  MemorySpace,
  Mode,
  ProcessInfo,
  RunState,
  StepKind,
  SymbolInfo,
  ThreadInfo,
} from '@hvdbg/protocol';

export interface DropReport {
  count: bigint;
  firstSeq: bigint;
  lastSeq: bigint;
  bytes: bigint;
  eventIds: number[];
}

/** What the target reports. The server forwards each to every client, in call order. */
export interface TargetListener {
  /** A batch of log records (immediate messages come as batches of one). Seq numbers ascend. */
  onLog(batch: LogRecord[]): void;
  /** The queue dropped messages (default mode, queue full). */
  onDropped(report: DropReport): void;
  /** Guest serial console output. */
  onConsole(text: string): void;
  /** The guest halted. Every log message produced before the halt was passed to onLog before this. */
  onHalt(info: HaltInfo): void;
  /** The guest resumed (continue or step). */
  onResume(step: boolean): void;
  /** The event list changed (add / modify from a script's event_* built-ins too). */
  onEventsChanged(): void;
}

export interface SliceResult {
  /** Guest instructions retired in this slice (all vCPUs). */
  instructions: number;
  /**
   * True when the slice could not run because the guest is halted, stopped, or throttled (lossless
   * mode waiting for the queue to drain); the server then waits instead of spinning.
   */
  idle: boolean;
}

export interface DebugTarget {
  readonly mode: Mode;
  setListener(listener: TargetListener): void;

  // -- Machine and state ------------------------------------------------------------------------
  description(): GuestDescription;
  state(): RunState;
  haltInfo(): HaltInfo | undefined;
  /** Run one bounded slice of guest execution (no-op when halted). */
  runSlice(): SliceResult;
  /** Ship due batches; called between slices and periodically while halted. */
  tick(nowMs: number): void;
  /** Total instructions retired since boot. */
  instructions(): bigint;

  // -- Execution control (controller only; the server checks roles) ------------------------------
  /** Halt every vCPU at the next instruction boundary; reason 'pause'. No-op if already halted. */
  pause(byClient?: number): void;
  /** Resume every vCPU. Throws E_NOT_HALTED when running. */
  resume(byClient?: number): void;
  /** Step the main (or given) vCPU; the guest halts again with reason 'step'. */
  step(kind: StepKind, count: number, vcpu?: number, byClient?: number): void;
  /** Make another vCPU the main core while halted; returns the fresh halt report. */
  switchCore(vcpu: number): HaltInfo;

  // -- Registers and memory ---------------------------------------------------------------------
  /** Register names as the script language spells them (rax … r15, rip, rflags, cr0 …). */
  readRegisters(vcpu: number, names?: string[]): Record<string, bigint>;
  writeRegister(vcpu: number, name: string, value: bigint): void;
  readMemory(space: MemorySpace, address: bigint, length: number, vcpu: number, pid?: number): Uint8Array;
  writeMemory(space: MemorySpace, address: bigint, bytes: Uint8Array, vcpu: number, pid?: number): number;
  translate(address: bigint, vcpu: number, pid?: number): { physical: bigint; entries: bigint[] };
  readMsr(vcpu: number, msr: number): bigint;
  writeMsr(vcpu: number, msr: number, value: bigint): void;
  /** The main core: the one that halted, or 0. */
  mainVcpu(): number;

  // -- Events, breakpoints, scripts --------------------------------------------------------------
  /** Validate everything, then register atomically. Throws a typed error and registers nothing on failure. */
  addEvent(spec: EventSpec): { id: number; tag: bigint; warnings: string[] };
  listEvents(): EventInfo[];
  modifyEvent(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number;
  /** `events sc on|off` for the firing that halted the guest. */
  setShortCircuit(on: boolean): void;
  readEventBuffer(id: number): Uint8Array;
  /** `?` / print: run a verified script buffer against a vCPU's current state. */
  evalScript(buffer: Uint8Array, vcpu: number): { output: string[]; error?: { code: string; message: string } };
  addBreakpoint(address: bigint, filter: { pid?: number; tid?: number; core?: number }): number;
  listBreakpoints(): BreakpointInfo[];
  modifyBreakpoint(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number;

  // -- Symbols and queue ------------------------------------------------------------------------
  symbols(): { modules: GuestModule[]; symbols: SymbolInfo[] };
  queueDepth(): number;
  drops(): bigint;
  /** Lossless mode: the guest is throttled instead of dropping messages. */
  readonly lossless: boolean;
  /** `flush`: discard every queued message not yet shipped (reported as dropped); returns how many. */
  flushQueue(): number;

  // -- Guest kernel objects and CPU information ---------------------------------------------------
  /** The guest kernel's process table: live and dying processes, in table order. */
  processes(): ProcessInfo[];
  /** The guest kernel's threads, or those of process `pid` (E_BAD_PARAMETER when it has no such process). */
  threads(pid?: number): ThreadInfo[];
  /** What CPUID (leaf, subleaf) returns on a vCPU, computed without executing anything (no exit, no event). */
  cpuid(vcpu: number, leaf: number, subleaf: number): { eax: number; ebx: number; ecx: number; edx: number };

  /** Stop the guest for good (daemon shutdown). */
  shutdown(): void;
}
