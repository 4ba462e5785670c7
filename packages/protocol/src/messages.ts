/**
 * Every message of the hvdbg wire protocol (WebSocket, binary frames, one msgpack map per frame).
 *
 * Shape conventions:
 * - Each message is a plain msgpack map with a `t` (type) field.
 * - 64-bit quantities (addresses, register values, sequence numbers of the log stream) are `bigint`
 *   in TypeScript and msgpack uint64/int64 on the wire. The validator accepts a plain integer too
 *   (clients in other languages pack small values compactly) and normalises it to bigint.
 * - Byte strings are `Uint8Array` (msgpack bin).
 * - Requests carry a numeric `id` chosen by the client; the response echoes it.
 */
import type { ErrorBody } from './errors.js';

export type Role = 'controller' | 'observer';
export type Mode = 'remote' | 'local';
export type RunState = 'running' | 'halted' | 'stopped';
export type MemorySpace = 'virtual' | 'physical';

// ---------------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------------

export interface HelloMessage {
  t: 'hello';
  protocolVersion: number;
  role: Role;
  token?: string;
  clientName: string;
}

export interface GuestModule {
  name: string;
  base: bigint;
  size: bigint;
}

export interface GuestDescription {
  name: string;
  vcpus: number;
  memoryBytes: bigint;
  workload: string;
  kernelBase: bigint;
  modules: GuestModule[];
}

export type HaltReason =
  | 'pause' // a pause request (Ctrl+C) or script pause()
  | 'event' // a break action of an event
  | 'step' // a finished step / trace
  | 'breakpoint' // a `bp` breakpoint
  | 'watchpoint' // a gdb watchpoint (monitor)
  | 'startup' // the daemon was started halted
  | 'triple-fault' // the guest machine died; it cannot continue
  | 'shutdown';

export interface HaltInfo {
  reason: HaltReason;
  vcpu: number;
  rip: bigint;
  rflags: bigint;
  /** Up to 16 bytes at RIP, for the client's disassembly of the current instruction. */
  bytes: Uint8Array;
  eventId?: number;
  stage?: 'pre' | 'post';
  context?: bigint;
  /** Client id that caused the halt (pause request, step), if a client did. */
  byClient?: number;
  /** Sequence number of the last log message sent before this halt. */
  lastSeq: bigint;
}

export interface WelcomeMessage {
  t: 'welcome';
  sessionId: number;
  protocolVersion: number;
  serverVersion: string;
  role: Role;
  capabilities: string[];
  guest: GuestDescription;
  mode: Mode;
  state: RunState;
  halt?: HaltInfo;
  /** Id of the current controller, if any. */
  controllerId?: number;
}

export interface RefusedMessage {
  t: 'refused';
  error: ErrorBody;
}

// ---------------------------------------------------------------------------------------------
// Requests and responses
// ---------------------------------------------------------------------------------------------

export type EventKind =
  | 'syscall'
  | 'sysret'
  | 'cpuid'
  | 'msrread'
  | 'msrwrite'
  | 'tsc'
  | 'pmc'
  | 'vmcall'
  | 'ioin'
  | 'ioout'
  | 'exception'
  | 'interrupt'
  | 'crwrite'
  | 'dr'
  | 'epthook'
  | 'epthook2'
  | 'monitor'
  | 'mode'
  | 'trace'
  | 'xsetbv';

export const EVENT_KINDS: readonly EventKind[] = [
  'syscall',
  'sysret',
  'cpuid',
  'msrread',
  'msrwrite',
  'tsc',
  'pmc',
  'vmcall',
  'ioin',
  'ioout',
  'exception',
  'interrupt',
  'crwrite',
  'dr',
  'epthook',
  'epthook2',
  'monitor',
  'mode',
  'trace',
  'xsetbv',
];

export type Stage = 'pre' | 'post' | 'all';

export type EventAction =
  | { type: 'break' }
  | { type: 'script'; buffer: Uint8Array; source?: string }
  | { type: 'code'; bytes: Uint8Array };

export interface EventSpec {
  kind: EventKind;
  /**
   * The event's parameter (SPEC §2.1): syscall number, leaf, MSR, port, vector, CR number, hooked
   * address. Absent = all.
   */
  param?: bigint;
  /** `!crwrite … mask m`. */
  mask?: bigint;
  /** `!monitor`: access letters and range (inclusive end), address space. */
  access?: string;
  rangeStart?: bigint;
  rangeEnd?: bigint;
  space?: MemorySpace;
  /** `!mode u|k|ku`; `!trace step-in|step-out|instrument-step`. */
  direction?: string;
  pid?: number;
  core?: number;
  stage: Stage;
  sc: boolean;
  imm: boolean;
  bufferSize: number;
  /** Machine-code condition (the client already appended `ret`). */
  condition?: Uint8Array;
  actions: EventAction[];
  /** The command as typed, for `events` listings. */
  text: string;
}

export interface EventInfo {
  id: number;
  tag: bigint;
  enabled: boolean;
  kind: EventKind;
  text: string;
  hits: bigint;
}

export type StepKind = 'into' | 'over' | 'instr' | 'out';

export type RequestArgs = {
  'event.add': EventSpec;
  'event.list': Record<string, never>;
  'event.modify': { id: number | 'all'; action: 'enable' | 'disable' | 'clear' };
  'event.setSc': { on: boolean };
  'event.readBuffer': { id: number };
  'exec.continue': Record<string, never>;
  'exec.pause': Record<string, never>;
  'exec.step': { kind: StepKind; count: number; vcpu?: number };
  'exec.switchCore': { vcpu: number };
  'exec.detach': Record<string, never>;
  'regs.get': { vcpu?: number; names?: string[] };
  'regs.set': { vcpu?: number; name: string; value: bigint };
  'mem.read': { address: bigint; length: number; space: MemorySpace; vcpu?: number; pid?: number };
  'mem.write': { address: bigint; bytes: Uint8Array; space: MemorySpace; vcpu?: number; pid?: number };
  'mem.translate': { address: bigint; vcpu?: number; pid?: number };
  'symbols.get': Record<string, never>;
  'symbols.lookup': { name?: string; address?: bigint };
  'script.eval': { buffer: Uint8Array; vcpu?: number };
  'bp.add': { address: bigint; pid?: number; tid?: number; core?: number };
  'bp.list': Record<string, never>;
  'bp.modify': { id: number | 'all'; action: 'enable' | 'disable' | 'clear' };
  'cpu.rdmsr': { msr: number; vcpu?: number };
  'cpu.wrmsr': { msr: number; value: bigint; vcpu?: number };
  /** CPUID as the core answers it, computed without executing anything (no exit, no event). */
  'cpu.cpuid': { leaf: number; subleaf?: number; vcpu?: number };
  'guest.processes': Record<string, never>;
  /** Every thread, or those of one process. */
  'guest.threads': { pid?: number };
  /** SPEC §3.6 `flush`: discard queued messages not yet shipped (reported as dropped). */
  'queue.flush': Record<string, never>;
  status: Record<string, never>;
  'control.take': Record<string, never>;
  disconnect: Record<string, never>;
};

export type RequestOp = keyof RequestArgs;

export interface SymbolInfo {
  name: string;
  module: string;
  address: bigint;
  size: bigint;
  kind: 'function' | 'object' | 'other';
}

export interface BreakpointInfo {
  id: number;
  address: bigint;
  enabled: boolean;
  pid?: number;
  tid?: number;
  core?: number;
  hits: bigint;
}

/** A process of the guest kernel's table (guest/BOOT.md "Kernel objects"). */
export interface ProcessInfo {
  pid: number;
  name: string;
  state: 'live' | 'dying';
  /** Kernel address of the process object. */
  address: bigint;
  /** Physical address of its PML4. */
  cr3: bigint;
  threads: number;
  /** vCPUs whose current process it is. */
  vcpus: number[];
}

export interface ThreadInfo {
  tid: number;
  pid: number;
  state: 'runnable' | 'running' | 'sleeping';
  /** Kernel address of the thread object. */
  address: bigint;
}

export interface StatusInfo {
  state: RunState;
  mode: Mode;
  halt?: HaltInfo;
  vcpus: number;
  instructions: bigint;
  clients: { id: number; role: Role; name: string }[];
  controllerId?: number;
  events: number;
  drops: bigint;
  lossless: boolean;
  queueDepth: number;
}

export type RequestResults = {
  'event.add': { id: number; tag: bigint; warnings: string[] };
  'event.list': { events: EventInfo[] };
  'event.modify': { affected: number };
  'event.setSc': Record<string, never>;
  'event.readBuffer': { bytes: Uint8Array };
  'exec.continue': Record<string, never>;
  'exec.pause': Record<string, never>;
  'exec.step': Record<string, never>;
  'exec.switchCore': { halt: HaltInfo };
  'exec.detach': Record<string, never>;
  'regs.get': { vcpu: number; regs: Record<string, bigint> };
  'regs.set': Record<string, never>;
  'mem.read': { bytes: Uint8Array };
  'mem.write': { written: number };
  'mem.translate': { physical: bigint; entries: bigint[] };
  'symbols.get': { modules: GuestModule[]; symbols: SymbolInfo[] };
  'symbols.lookup': { symbols: SymbolInfo[] };
  'script.eval': { output: string[]; error?: ErrorBody };
  'bp.add': { id: number };
  'bp.list': { breakpoints: BreakpointInfo[] };
  'bp.modify': { affected: number };
  'cpu.rdmsr': { value: bigint };
  'cpu.wrmsr': Record<string, never>;
  'cpu.cpuid': { eax: number; ebx: number; ecx: number; edx: number };
  'guest.processes': { processes: ProcessInfo[] };
  'guest.threads': { threads: ThreadInfo[] };
  'queue.flush': { discarded: number };
  status: StatusInfo;
  'control.take': { role: Role };
  disconnect: Record<string, never>;
};

export interface RequestMessage<Op extends RequestOp = RequestOp> {
  t: 'req';
  id: number;
  op: Op;
  args: RequestArgs[Op];
}

export type ResponseMessage<Op extends RequestOp = RequestOp> =
  | { t: 'res'; id: number; ok: true; result: RequestResults[Op] }
  | { t: 'res'; id: number; ok: false; error: ErrorBody };

/** Ops an observer may send; every other op from an observer is refused with E_FORBIDDEN. */
export const OBSERVER_OPS: ReadonlySet<RequestOp> = new Set<RequestOp>([
  'event.list',
  'event.readBuffer',
  'regs.get',
  'mem.read',
  'mem.translate',
  'symbols.get',
  'symbols.lookup',
  'bp.list',
  'guest.processes',
  'guest.threads',
  'status',
  'control.take',
  'disconnect',
]);

// ---------------------------------------------------------------------------------------------
// Notifications (daemon → every client, in one order)
// ---------------------------------------------------------------------------------------------

export interface LogRecord {
  seq: bigint;
  eventId: number;
  /** Op code as in HyperDbg: 1 info, 2 warning, 3 error, 5 tagged script output, 6 code buffer. */
  kind: number;
  vcpu: number;
  pid: number;
  tid: number;
  /** Guest time (virtual TSC) when the message was produced. */
  time: bigint;
  stage: 'pre' | 'post';
  /** True when produced while the guest was halted (SPEC §3.6: kept, marked late). */
  late?: boolean;
  text?: string;
  bytes?: Uint8Array;
}

export const LOG_KIND_INFO = 1;
export const LOG_KIND_WARNING = 2;
export const LOG_KIND_ERROR = 3;
export const LOG_KIND_SCRIPT = 5;
export const LOG_KIND_BUFFER = 6;

/** What a `stateChanged` notice says was changed (issue 7: every state change is announced). */
export type StateChangeKind = 'registers' | 'memory' | 'breakpoints' | 'core' | 'msr' | 'shortCircuit' | 'queue';

export const STATE_CHANGE_KINDS: readonly StateChangeKind[] = [
  'registers',
  'memory',
  'breakpoints',
  'core',
  'msr',
  'shortCircuit',
  'queue',
];

/**
 * A successful state change made by a client (or the gdb stub), announced to every client in
 * stream order so caches of other clients stay coherent. Events have their own `eventsChanged`.
 */
export interface StateChangedNotice {
  t: 'stateChanged';
  what: StateChangeKind;
  byClient: number;
  vcpu?: number;
  /** Memory: first address written (its space is in `detail`). */
  address?: bigint;
  /** Memory: bytes written. */
  length?: number;
  /** Human-readable specifics: register name, breakpoint id and action, MSR number, … */
  detail?: string;
}

/** A state change as its maker describes it; the daemon adds who made it. */
export type StateChange = Omit<StateChangedNotice, 't' | 'byClient'>;

export type Notification =
  | ({ t: 'halted' } & HaltInfo)
  | { t: 'resumed'; byClient?: number; step?: boolean }
  | { t: 'log'; batch: LogRecord[] }
  | { t: 'console'; text: string }
  | { t: 'eventsChanged'; byClient?: number }
  | StateChangedNotice
  | { t: 'clientJoined'; clientId: number; role: Role; name: string }
  | { t: 'clientLeft'; clientId: number; reason: string }
  | { t: 'roleChanged'; clientId: number; role: Role }
  | {
      t: 'dropped';
      count: bigint;
      firstSeq: bigint;
      lastSeq: bigint;
      bytes: bigint;
      eventIds: number[];
      reason: 'queue-full' | 'client-slow';
    }
  | { t: 'sessionClosed'; reason: string };

export type NotificationType = Notification['t'];

export type ClientMessage = HelloMessage | RequestMessage;
export type ServerMessage = WelcomeMessage | RefusedMessage | ResponseMessage | Notification;
