/**
 * The machine interface a script runs against: the daemon implements it on top of its emulated
 * vCPUs and hypervisor; tests use SnapshotHost.
 *
 * 64-bit values cross this interface as two 32-bit halves (`lo`, `hi`; either signed or unsigned
 * int32 representation is accepted, hosts should treat them as `>>> 0`) or through an `out`
 * Uint32Array (`out[0]` = low half, `out[1]` = high half) owned by the VM, so a script that builds
 * no strings allocates nothing — no BigInt on the hot path.
 *
 * Memory calls return `false` for an unmapped or inaccessible address: the VM turns that into a
 * script run-time error (or a 0 / "bad" result where the built-in says so), never an exception.
 * Accesses made through this interface must not trigger events (SPEC §2.4).
 */

/** Pseudo-registers the host supplies (SPEC §4.5). `$context`, `$buffer`, `$event_*`, `$ip`, `$core`,
 * `$date` and `$time` are answered by the VM itself and never reach the host. */
export const PSEUDO_HOST = ['pid', 'tid', 'proc', 'thread', 'pname', 'peb', 'teb'] as const;

/** All pseudo-register names → id (operand of LOAD_PSEUDO). Ids below PSEUDO_HOST.length go to the host. */
export const PSEUDO_REGISTERS: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(
    [...PSEUDO_HOST, 'core', 'ip', 'buffer', 'context', 'event_tag', 'event_id', 'event_stage', 'date', 'time'].map(
      (name, id) => [name, id],
    ),
  ),
);
export const PSEUDO_COUNT = Object.keys(PSEUDO_REGISTERS).length;
export const PSEUDO_CORE = PSEUDO_REGISTERS.core;
export const PSEUDO_IP = PSEUDO_REGISTERS.ip;
export const PSEUDO_BUFFER = PSEUDO_REGISTERS.buffer;
export const PSEUDO_CONTEXT = PSEUDO_REGISTERS.context;
export const PSEUDO_EVENT_TAG = PSEUDO_REGISTERS.event_tag;
export const PSEUDO_EVENT_ID = PSEUDO_REGISTERS.event_id;
export const PSEUDO_EVENT_STAGE = PSEUDO_REGISTERS.event_stage;
export const PSEUDO_DATE = PSEUDO_REGISTERS.date;
export const PSEUDO_TIME = PSEUDO_REGISTERS.time;

/** What `emit` carries: printf/print text, a `.formats` request, or a warning from the VM. */
export type EmitKind = 'output' | 'formats' | 'warning';

/** Event-injection types of `event_inject` (SPEC §4.7): 0 ext. int, 2 NMI, 3 HW exc, 4 SW int, … */
export interface ScriptHost {
  /** Full register `regId` (< FULL_REGISTER_COUNT, see registers.ts) → out[0] low, out[1] high. */
  readRegister(vcpu: number, regId: number, out: Uint32Array): void;
  /** Set full register `regId`. The VM has already merged sub-register writes. */
  writeRegister(vcpu: number, regId: number, lo: number, hi: number): void;
  /** Copy `size` bytes (1..4096) of guest-virtual memory at hi:lo into out[0..size). False if any byte is bad. */
  readVirtual(vcpu: number, lo: number, hi: number, size: number, out: Uint8Array): boolean;
  /** Write data[0..size) to guest-virtual hi:lo. False (and nothing written) if any byte is bad. */
  writeVirtual(vcpu: number, lo: number, hi: number, size: number, data: Uint8Array): boolean;
  readPhysical(vcpu: number, lo: number, hi: number, size: number, out: Uint8Array): boolean;
  writePhysical(vcpu: number, lo: number, hi: number, size: number, data: Uint8Array): boolean;
  /** Translate in the current address space; false when unmapped. */
  virtualToPhysical(vcpu: number, lo: number, hi: number, out: Uint32Array): boolean;
  physicalToVirtual(vcpu: number, lo: number, hi: number, out: Uint32Array): boolean;
  /** True when the virtual address is mapped and safe to read. */
  checkAddress(vcpu: number, lo: number, hi: number): boolean;
  /** A host pseudo-register (id < PSEUDO_HOST.length) → out; unavailable values are 0. */
  pseudo(vcpu: number, id: number, out: Uint32Array): void;
  /** One finished message of script output; the daemon tags it with the event. */
  emit(kind: EmitKind, text: string): void;
  /** `pause()`: break (SPEC §3.3) after the action; in local mode only logs. */
  pause(vcpu: number): void;
  /** `flush()`: discard queued messages. */
  flush(): void;
  /** event_enable / event_disable / event_clear; id 0xffffffffffffffff-style "all" passes hi:lo as is. */
  eventControl(op: 'enable' | 'disable' | 'clear', lo: number, hi: number): void;
  /** `event_sc(0|1)` for the current firing. */
  eventSc(vcpu: number, on: boolean): void;
  /** `event_inject` / `event_inject_error_code` (errorCode -1 = none): inject on resume. */
  eventInject(vcpu: number, type: number, vector: number, errorCode: number): void;
  /** `event_trace_step*` arms a TF step, `event_trace_instrumentation_step*` an MTF step on this core. */
  eventTrace(vcpu: number, kind: 'step' | 'instrument'): void;
  /** Emulated TSC (`rdtsc`, `rdtscp`) → out. */
  rdtsc(vcpu: number, out: Uint32Array): void;
  /** Length of the instruction at virtual hi:lo decoded as 64- or 32-bit code; 0 if undecodable. */
  disassembleLen(vcpu: number, lo: number, hi: number, bits: 32 | 64): number;
  /** `microsleep(us)`: hvdbg advances virtual time. */
  microsleep(vcpu: number, us: number): void;
  /** `test_statement(x)`: record a value for a test harness. */
  testStatement(lo: number, hi: number): void;
  /** Wall-clock milliseconds since the epoch, for `$date` / `$time`. */
  now(): number;
}

/** Where and why a script runs. The daemon reuses one object per vCPU and overwrites its fields. */
export interface ScriptContext {
  vcpu: number;
  eventId: number;
  eventTag: bigint;
  /** 0 pre, 1 post. */
  stage: number;
  /** `$context` (SPEC §2.1). */
  context: bigint;
  /** `$buffer`: the event buffer's address, 0 without one. */
  buffer: bigint;
}

export function newScriptContext(vcpu = 0): ScriptContext {
  return { vcpu, eventId: 0, eventTag: 0n, stage: 0, context: 0n, buffer: 0n };
}
