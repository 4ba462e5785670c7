/**
 * gdb's breakpoints and watchpoints (Z/z packets) on the target's hidden mechanisms.
 *
 * - Z0/Z1: the target's breakpoints (EPT execute hooks): the guest's code bytes never change, so
 *   the guest cannot see them, and software and hardware breakpoints are the same thing here.
 * - Z2/Z3/Z4: `!monitor` events with a break action. The hypervisor traps whole pages and lets one
 *   !monitor own a page, while gdb freely watches neighbouring variables (and splits a large
 *   watch into several). So watchpoints whose pages touch are merged into one monitor event over
 *   their union; a hit is attributed to the watchpoint containing the accessed address, and a hit
 *   in the gap between merged ranges is nobody's (the session resumes without telling gdb).
 *
 * gdb inserts everything when it resumes and removes everything when the guest stops, so this
 * table churns; ids on the target side grow, which hvdbg clients see in `events` and `bl`.
 */
import type { HaltInfo } from '@hvdbg/protocol';
import type { Logger } from 'pino';
import type { DebugTarget } from '../../target.js';

export type PointType = 0 | 1 | 2 | 3 | 4;
export type WatchKind = 'watch' | 'rwatch' | 'awatch';

/** What a halt means to gdb. */
export type StopCause =
  | { kind: 'breakpoint'; type: 0 | 1 }
  /** A watched access: `watch` says which watchpoint and address to report, undefined = a gap hit. */
  | { kind: 'watch'; eventId: number; hit: { kind: WatchKind; address: bigint } | undefined };

interface Watch {
  type: 2 | 3 | 4;
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

interface WatchGroup {
  /** Target event id. */
  id: number;
  start: bigint;
  end: bigint;
  access: string;
  watches: Watch[];
}

const PAGE_SHIFT = 12n;
/** Largest single access: a hit at up to 7 bytes before a range still overlaps it. */
const MAX_ACCESS_BYTES = 8n;
/** Largest watched length gdb may ask for in one Z packet. */
export const MAX_WATCH_BYTES = 0x1000;
const KIND_OF: Record<Watch['type'], WatchKind> = { 2: 'watch', 3: 'rwatch', 4: 'awatch' };
/** Which kind to report when several merged watchpoints contain the address: a `watch` is safest
 * (gdb compares values and goes on silently when nothing changed). */
const PREFERENCE: Watch['type'][] = [2, 4, 3];

export class GdbPoints {
  /** `type:address` → target breakpoint id. */
  private readonly breakpoints = new Map<string, { type: 0 | 1; id: number }>();
  private readonly watches: Watch[] = [];
  private groups: WatchGroup[] = [];

  constructor(
    private readonly target: DebugTarget,
    private readonly log: Logger,
    /** Text shown in `events` for the monitor events, e.g. "gdb watchpoint". */
    private readonly label = 'gdb watchpoint',
  ) {}

  /** Z packets. Throws the target's HvdbgError (E_BAD_ADDRESS, E_HOOK_CONFLICT …). */
  insert(type: PointType, address: bigint, length: number): void {
    if (type < 2) {
      const key = `${type}:${address.toString(16)}`;
      if (this.breakpoints.has(key)) return;
      this.breakpoints.set(key, { type: type as 0 | 1, id: this.target.addBreakpoint(address, {}) });
      return;
    }
    const end = address + BigInt(length) - 1n;
    if (this.watches.some((w) => w.type === type && w.start === address && w.end === end)) return;
    const watch: Watch = { type: type as Watch['type'], start: address, end };
    this.watches.push(watch);
    try {
      this.regroup();
    } catch (err) {
      this.watches.splice(this.watches.indexOf(watch), 1);
      this.regroup();
      throw err;
    }
  }

  /** z packets; removing what is not there is not an error (gdb retries removals). */
  remove(type: PointType, address: bigint, length: number): void {
    if (type < 2) {
      const key = `${type}:${address.toString(16)}`;
      const bp = this.breakpoints.get(key);
      if (bp === undefined) return;
      this.breakpoints.delete(key);
      this.quietly(() => this.target.modifyBreakpoint(bp.id, 'clear'));
      return;
    }
    const end = address + BigInt(length) - 1n;
    const i = this.watches.findIndex((w) => w.type === type && w.start === address && w.end === end);
    if (i < 0) return;
    this.watches.splice(i, 1);
    this.regroup();
  }

  /** Takes everything out of the target (detach, disconnect). */
  clear(): void {
    for (const bp of this.breakpoints.values()) this.quietly(() => this.target.modifyBreakpoint(bp.id, 'clear'));
    this.breakpoints.clear();
    this.watches.length = 0;
    this.regroup();
  }

  get size(): number {
    return this.breakpoints.size + this.watches.length;
  }

  /** Enables or disables a watch group's event (stepping over a watched access). */
  setEnabled(eventId: number, on: boolean): void {
    if (!this.groups.some((g) => g.id === eventId)) return;
    this.quietly(() => this.target.modifyEvent(eventId, on ? 'enable' : 'disable'));
  }

  /** Whose halt is this? undefined when none of gdb's points caused it. */
  classify(info: HaltInfo): StopCause | undefined {
    if (info.eventId === undefined) return undefined;
    if (info.reason === 'breakpoint') {
      for (const bp of this.breakpoints.values())
        if (bp.id === info.eventId) return { kind: 'breakpoint', type: bp.type };
      return undefined;
    }
    if (info.reason !== 'event' && info.reason !== 'watchpoint') return undefined;
    const group = this.groups.find((g) => g.id === info.eventId);
    if (group === undefined) return undefined;
    return { kind: 'watch', eventId: group.id, hit: attribute(group, info.context) };
  }

  /**
   * Recomputes the merged groups after a change: groups that stay as they are keep their events;
   * the rest are cleared and added anew. Sorting by start makes one pass enough to merge every
   * watch whose pages touch the group's span.
   */
  private regroup(): void {
    const sorted = [...this.watches].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const wanted: Omit<WatchGroup, 'id'>[] = [];
    for (const w of sorted) {
      const last = wanted.at(-1);
      if (last !== undefined && w.start >> PAGE_SHIFT <= last.end >> PAGE_SHIFT) {
        if (w.end > last.end) last.end = w.end;
        last.watches.push(w);
        last.access = mergeAccess(last.access, w.type);
      } else {
        wanted.push({ start: w.start, end: w.end, access: mergeAccess('', w.type), watches: [w] });
      }
    }
    const kept: WatchGroup[] = [];
    for (const g of this.groups) {
      const same = wanted.findIndex((n) => n.start === g.start && n.end === g.end && n.access === g.access);
      if (same >= 0) {
        kept.push({ ...wanted[same]!, id: g.id });
        wanted.splice(same, 1);
      } else {
        this.quietly(() => this.target.modifyEvent(g.id, 'clear'));
      }
    }
    this.groups = kept;
    for (const n of wanted) this.groups.push({ ...n, id: this.addMonitor(n) });
  }

  private addMonitor(g: Omit<WatchGroup, 'id'>): number {
    return this.target.addEvent({
      kind: 'monitor',
      access: g.access,
      rangeStart: g.start,
      rangeEnd: g.end,
      space: 'virtual',
      // Pre stage: the session steps over the access so gdb sees the stop after it, as with
      // x86 debug registers.
      stage: 'pre',
      sc: false,
      imm: true,
      bufferSize: 0,
      actions: [{ type: 'break' }],
      text: `!monitor ${g.access} ${g.start.toString(16)} ${g.end.toString(16)} (${this.label})`,
    }).id;
  }

  private quietly(fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      // Cleared from hvdbg meanwhile: gdb's view is what matters now.
      this.log.debug({ err }, 'gdb point already gone');
    }
  }
}

function mergeAccess(access: string, type: Watch['type']): string {
  const r = access.includes('r') || type !== 2;
  const w = access.includes('w') || type !== 3;
  return `${r ? 'r' : ''}${w ? 'w' : ''}`;
}

/**
 * The watchpoint an access at `context` belongs to: by containment first, then by overlap with an
 * access of up to 8 bytes. An address inside the group's span but in no watchpoint is a gap hit
 * (undefined); no address, or one outside the span, falls back to the group's first watchpoint,
 * since the event's range guarantees one of them was touched.
 */
function attribute(group: WatchGroup, context: bigint | undefined): { kind: WatchKind; address: bigint } | undefined {
  if (context !== undefined) {
    // Linear addresses may come sign-extended; gdb wants the 64-bit address.
    const at = BigInt.asUintN(64, context);
    const contains = group.watches.filter((w) => at >= w.start && at <= w.end);
    const near = (w: { start: bigint; end: bigint }) => at + MAX_ACCESS_BYTES > w.start && at <= w.end;
    const found = preferred(contains.length > 0 ? contains : group.watches.filter(near));
    if (found !== undefined) return { kind: KIND_OF[found.type], address: at >= found.start ? at : found.start };
    if (near(group)) return undefined;
  }
  const w = preferred(group.watches)!;
  return { kind: KIND_OF[w.type], address: w.start };
}

function preferred(watches: Watch[]): Watch | undefined {
  for (const type of PREFERENCE) {
    const w = watches.find((o) => o.type === type);
    if (w !== undefined) return w;
  }
  return undefined;
}
