import { type HaltInfo, HvdbgError } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import { GdbPoints } from './points.js';
import { FAKE_MEMORY_BASE, FakeGdbTarget } from './testing/fakeTarget.js';
import { SILENT } from './testing/wire.js';

const A = (offset: number) => FAKE_MEMORY_BASE + BigInt(offset);

function setup() {
  const target = new FakeGdbTarget();
  return { target, points: new GdbPoints(target, SILENT) };
}

const monitors = (t: FakeGdbTarget) =>
  [...t.events.values()].map((e) => ({ access: e.spec.access, start: e.spec.rangeStart, end: e.spec.rangeEnd }));

/** The attributed hit of a watch halt. */
const hitOf = (points: GdbPoints, info: HaltInfo) => {
  const cause = points.classify(info);
  return cause?.kind === 'watch' ? cause.hit : cause;
};

const halt = (eventId: number, context?: bigint, reason: HaltInfo['reason'] = 'event'): HaltInfo => ({
  reason,
  vcpu: 0,
  rip: 0n,
  rflags: 0n,
  bytes: new Uint8Array(0),
  lastSeq: 0n,
  eventId,
  ...(context === undefined ? {} : { context }),
});

describe('gdb breakpoints', () => {
  it('maps Z0/Z1 to hidden breakpoints and classifies their halts', () => {
    const { target, points } = setup();
    points.insert(0, A(0x10), 1);
    points.insert(0, A(0x10), 1);
    points.insert(1, A(0x20), 1);
    const [sw, hw] = [...target.breakpoints.values()];
    expect(target.breakpoints.size).toBe(2);
    expect(points.classify(halt(sw!.id, undefined, 'breakpoint'))).toEqual({ kind: 'breakpoint', type: 0 });
    expect(points.classify(halt(hw!.id, undefined, 'breakpoint'))).toEqual({ kind: 'breakpoint', type: 1 });
    expect(points.classify(halt(99, undefined, 'breakpoint'))).toBeUndefined();
    points.remove(0, A(0x10), 1);
    points.remove(0, A(0x10), 1);
    expect([...target.breakpoints.values()].map((b) => b.address)).toEqual([A(0x20)]);
  });
});

describe('gdb watchpoints', () => {
  it('merges watchpoints whose pages touch into one monitor event over their union', () => {
    const { target, points } = setup();
    points.insert(2, A(0x800), 8);
    points.insert(3, A(0x840), 4);
    points.insert(2, A(0x1800), 8); // the next page: its own event
    expect(monitors(target)).toEqual([
      { access: 'rw', start: A(0x800), end: A(0x843) },
      { access: 'w', start: A(0x1800), end: A(0x1807) },
    ]);
    points.remove(3, A(0x840), 4);
    expect(monitors(target)).toEqual([
      { access: 'w', start: A(0x1800), end: A(0x1807) },
      { access: 'w', start: A(0x800), end: A(0x807) },
    ]);
  });

  it('keeps the event of a group that did not change', () => {
    const { target, points } = setup();
    points.insert(2, A(0x800), 8);
    const first = [...target.events.keys()];
    points.insert(4, A(0x1100), 2);
    expect([...target.events.keys()].slice(0, 1)).toEqual(first);
    expect(target.events.size).toBe(2);
  });

  it('attributes hits by address, reports gap hits as nobody’s, and accepts sign-extended addresses', () => {
    const { points, target } = setup();
    points.insert(3, A(0x800), 4);
    points.insert(2, A(0x820), 8);
    const id = [...target.events.keys()][0]!;
    expect(points.classify(halt(id, A(0x822)))).toEqual({
      kind: 'watch',
      eventId: id,
      hit: { kind: 'watch', address: A(0x822) },
    });
    expect(points.classify(halt(id, A(0x800)))).toEqual({
      kind: 'watch',
      eventId: id,
      hit: { kind: 'rwatch', address: A(0x800) },
    });
    // An 8-byte access starting just before a range overlaps it.
    expect(hitOf(points, halt(id, A(0x81c)))).toEqual({ kind: 'watch', address: A(0x820) });
    expect(points.classify(halt(id, A(0x810)))).toEqual({ kind: 'watch', eventId: id, hit: undefined });
    // The CPU's linear addresses come as signed 64-bit numbers.
    const signed = BigInt.asIntN(64, A(0x824));
    expect(signed).toBeLessThan(0n);
    expect(hitOf(points, halt(id, signed))).toEqual({ kind: 'watch', address: A(0x824) });
    // No address, or one outside the event's range: the first watchpoint by preference.
    expect(hitOf(points, halt(id))).toEqual({ kind: 'watch', address: A(0x820) });
    expect(hitOf(points, halt(id, 5n))).toEqual({ kind: 'watch', address: A(0x820) });
    expect(points.classify(halt(id + 1))).toBeUndefined();
  });

  it('rolls back a watchpoint the target refuses and keeps the others', () => {
    const { target, points } = setup();
    points.insert(2, A(0x800), 8);
    const add = target.addEvent.bind(target);
    target.addEvent = (spec) => {
      if (spec.rangeEnd! > A(0x900)) throw new HvdbgError('E_HOOK_CONFLICT', 'page already hooked');
      return add(spec);
    };
    expect(() => points.insert(2, A(0x980), 8)).toThrow(expect.objectContaining({ code: 'E_HOOK_CONFLICT' }));
    expect(monitors(target)).toEqual([{ access: 'w', start: A(0x800), end: A(0x807) }]);
    expect(points.size).toBe(1);
  });

  it('enables and disables group events, and clears everything', () => {
    const { target, points } = setup();
    points.insert(2, A(0x800), 8);
    points.insert(0, A(0x10), 1);
    const [event] = [...target.events.values()];
    points.setEnabled(event!.id, false);
    expect(event!.enabled).toBe(false);
    points.setEnabled(event!.id, true);
    expect(event!.enabled).toBe(true);
    points.setEnabled(12345, false); // not ours: untouched, no throw
    points.clear();
    expect(target.events.size).toBe(0);
    expect(target.breakpoints.size).toBe(0);
    expect(points.size).toBe(0);
  });
});
