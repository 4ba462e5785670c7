/**
 * The event table (SPEC §2.3): ids and tags, insertion order, enable / disable / clear.
 *
 * Dispatch looks events up by VM-exit reason: `byReason[reason]` is the insertion-ordered list of
 * every event an exit of that reason may fire (an event can sit in several lists: `!tsc` under
 * RDTSC and RDTSCP, `!monitor rwx` under EPT violations and EPT execute). The lists are rebuilt
 * copy-on-write on add and clear, so a walk that is under way (or parked at a pre-stage break)
 * keeps iterating the array it started with; a cleared event is flagged and skipped by that walk.
 */
import type { EventInfo, EventKind, EventSpec } from '@hvdbg/protocol';
import { HvdbgError, LIMITS } from '@hvdbg/protocol';
import {
  EXIT_REASON_COUNT,
  EXIT_REASON_CPUID,
  EXIT_REASON_CR_ACCESS,
  EXIT_REASON_DR_ACCESS,
  EXIT_REASON_EPT_EXECUTE,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXCEPTION_NMI,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_MODE_CHANGE,
  EXIT_REASON_MONITOR_TRAP_FLAG,
  EXIT_REASON_MSR_READ,
  EXIT_REASON_MSR_WRITE,
  EXIT_REASON_RDPMC,
  EXIT_REASON_RDTSC,
  EXIT_REASON_RDTSCP,
  EXIT_REASON_SYSCALL,
  EXIT_REASON_SYSRET,
  EXIT_REASON_VMCALL,
  EXIT_REASON_XSETBV,
} from '../cpu/exits.js';
import type { CompiledAction, MachineCode } from './actions.js';

/** Tags start here (HyperDbg's first event tag); id = tag - EVENT_TAG_BASE. */
export const EVENT_TAG_BASE = 0x1000000n;
/** "all" in HyperDbg's event modification requests. */
export const EVENT_TAG_ALL = 0xffffffffffffffffn;
/** A filter or parameter left out. */
export { ANY_FILTER as ANY } from '../hv/filters.js';

export const MONITOR_READ = 1;
export const MONITOR_WRITE = 2;
export const MONITOR_EXECUTE = 4;

/** Exit reasons each event kind listens on. */
export const KIND_REASONS: Readonly<Record<EventKind, readonly number[]>> = {
  syscall: [EXIT_REASON_SYSCALL],
  sysret: [EXIT_REASON_SYSRET],
  cpuid: [EXIT_REASON_CPUID],
  msrread: [EXIT_REASON_MSR_READ],
  msrwrite: [EXIT_REASON_MSR_WRITE],
  tsc: [EXIT_REASON_RDTSC, EXIT_REASON_RDTSCP],
  pmc: [EXIT_REASON_RDPMC],
  vmcall: [EXIT_REASON_VMCALL],
  ioin: [EXIT_REASON_IO_INSTRUCTION],
  ioout: [EXIT_REASON_IO_INSTRUCTION],
  exception: [EXIT_REASON_EXCEPTION_NMI],
  interrupt: [EXIT_REASON_EXTERNAL_INTERRUPT],
  crwrite: [EXIT_REASON_CR_ACCESS],
  dr: [EXIT_REASON_DR_ACCESS],
  epthook: [EXIT_REASON_EPT_EXECUTE],
  epthook2: [EXIT_REASON_EPT_EXECUTE],
  monitor: [], // by access letters, see reasonsOf
  mode: [EXIT_REASON_MODE_CHANGE],
  trace: [EXIT_REASON_MONITOR_TRAP_FLAG],
  xsetbv: [EXIT_REASON_XSETBV],
};

/** Numeric kind codes so the hot path compares small integers, not strings. */
export const KIND_CODE: Readonly<Record<EventKind, number>> = {
  syscall: 0,
  sysret: 1,
  cpuid: 2,
  msrread: 3,
  msrwrite: 4,
  tsc: 5,
  pmc: 6,
  vmcall: 7,
  ioin: 8,
  ioout: 9,
  exception: 10,
  interrupt: 11,
  crwrite: 12,
  dr: 13,
  epthook: 14,
  epthook2: 15,
  monitor: 16,
  mode: 17,
  trace: 18,
  xsetbv: 19,
};

/** An event after validation: every field the dispatch needs, in hot-path-friendly form. */
export interface RegisteredEvent {
  readonly id: number;
  readonly tag: bigint;
  readonly kind: EventKind;
  readonly code: number;
  readonly spec: EventSpec;
  enabled: boolean;
  cleared: boolean;
  /** `!monitor`: the vCPU and its retired-instruction count of the last firing (once per instruction). */
  lastCore: number;
  lastInstruction: number;
  /** Times the filters, parameter and condition passed (number: incremented on the hot path). */
  hits: number;
  /** Event parameter as a number (canonical signed for addresses), or ANY. */
  readonly param: number;
  /** `!crwrite` mask. */
  readonly mask: bigint;
  /** `!monitor`: inclusive range, in the event's space (canonical signed for va). */
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly physicalSpace: boolean;
  readonly access: number;
  /** `!epthook2`: hooked physical address; `!epthook`/`!monitor va`: frames resolved at add. */
  readonly physical: number;
  readonly frames: readonly number[];
  readonly pid: number;
  readonly core: number;
  readonly pre: boolean;
  readonly post: boolean;
  readonly sc: boolean;
  readonly imm: boolean;
  readonly condition: MachineCode | null;
  readonly actions: readonly CompiledAction[];
  /** Pre-allocated event buffer (SPEC §3.5), or null. */
  readonly buffer: EventBuffer | null;
  readonly reasons: readonly number[];
}

/** The event buffer: `address` is where custom code sees it; `read()` returns its content. */
export interface EventBuffer {
  readonly size: number;
  readonly address: bigint;
  read(): Uint8Array;
  /** Reads `size` bytes at `offset` into `out` (scripts using `$buffer`); false outside the buffer. */
  readAt(offset: number, out: Uint8Array, size: number): boolean;
  writeAt(offset: number, data: Uint8Array, size: number): boolean;
  release(): void;
}

export function reasonsOf(kind: EventKind, access: number): number[] {
  if (kind !== 'monitor') return [...KIND_REASONS[kind]];
  const out: number[] = [];
  if (access & (MONITOR_READ | MONITOR_WRITE)) out.push(EXIT_REASON_EPT_VIOLATION);
  if (access & MONITOR_EXECUTE) out.push(EXIT_REASON_EPT_EXECUTE);
  return out;
}

const EMPTY: readonly RegisteredEvent[] = Object.freeze([]);

export class EventRegistry {
  /** Insertion-ordered events per exit reason (copy-on-write). */
  byReason: (readonly RegisteredEvent[])[] = Array.from({ length: EXIT_REASON_COUNT }, () => EMPTY);
  private events: RegisteredEvent[] = [];
  private nextId = 0;
  /** Called after every change (masks, EPT bits, listeners). */
  onChange: () => void = () => {};

  get size(): number {
    return this.events.length;
  }

  /** The id the next `add` will use (so validation can build per-event state first). */
  peekId(): number {
    return this.nextId;
  }

  all(): readonly RegisteredEvent[] {
    return this.events;
  }

  get(id: number): RegisteredEvent | undefined {
    return this.events.find((e) => e.id === id);
  }

  /** Adds a fully validated event. Only `validate.ts` builds RegisteredEvent objects. */
  add(ev: RegisteredEvent): void {
    if (this.events.length >= LIMITS.maxEvents) {
      throw new HvdbgError('E_BAD_PARAMETER', `at most ${LIMITS.maxEvents} events may be registered`);
    }
    if (ev.id !== this.nextId) throw new HvdbgError('E_INTERNAL', 'event id out of order');
    this.nextId++;
    this.events.push(ev);
    this.rebuild();
  }

  /** enable / disable / clear one event or all; returns how many were affected. */
  modify(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const targets = id === 'all' ? [...this.events] : this.events.filter((e) => e.id === id);
    if (id !== 'all' && targets.length === 0)
      throw new HvdbgError('E_BAD_EVENT_ID', `no event has id 0x${id.toString(16)}`);
    for (const ev of targets) {
      if (action === 'clear') {
        ev.cleared = true;
        ev.enabled = false;
        ev.buffer?.release();
        for (const a of ev.actions) a.release?.();
        ev.condition?.release();
      } else {
        ev.enabled = action === 'enable';
      }
    }
    if (action === 'clear') this.events = this.events.filter((e) => !e.cleared);
    this.rebuild();
    return targets.length;
  }

  info(): EventInfo[] {
    return this.events.map((e) => ({
      id: e.id,
      tag: e.tag,
      enabled: e.enabled,
      kind: e.kind,
      text: e.spec.text,
      hits: BigInt(e.hits),
    }));
  }

  private rebuild(): void {
    const lists: RegisteredEvent[][] = Array.from({ length: EXIT_REASON_COUNT }, () => []);
    for (const ev of this.events) for (const r of ev.reasons) lists[r]!.push(ev);
    this.byReason = lists.map((l) => (l.length === 0 ? EMPTY : l));
    this.onChange();
  }
}
