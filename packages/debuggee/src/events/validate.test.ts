/**
 * Registration is atomic: any EventSpec, however malformed, either registers completely or throws
 * a catalogue error and leaves the event table, the EPT bits and the hypervisor memory as they were.
 */
import type { EventSpec } from '@hvdbg/protocol';
import { EVENT_KINDS, HvdbgError, isErrorCode } from '@hvdbg/protocol';
import { compileScript } from '@hvdbg/script';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BareGuest, CODE } from '../hv/testing/bareGuest.js';

const script = compileScript('printf("x\\n");');

const action = fc.oneof(
  fc.constant({ type: 'break' as const }),
  fc.constant({ type: 'script' as const, buffer: script }),
  fc.uint8Array({ maxLength: 8 }).map((b) => ({ type: 'script' as const, buffer: b })),
  fc.uint8Array({ minLength: 0, maxLength: 6 }).map((b) => ({ type: 'code' as const, bytes: b })),
  fc.constant({ type: 'code' as const, bytes: Uint8Array.from([0x90, 0xc3]) }),
  fc.constant({ type: 'bogus' } as never),
);

const bigParam = fc.oneof(
  fc.bigInt({ min: 0n, max: 0x40n }),
  fc.constantFrom(0x3f8n, 0xc0000080n, BigInt(CODE), BigInt(CODE + 0x10), 0x7fff_0000_0000n, 1n << 64n, -1n),
);

const spec = fc.record(
  {
    kind: fc.oneof(fc.constantFrom(...EVENT_KINDS), fc.constant('nonsense' as never)),
    param: bigParam,
    mask: fc.bigInt({ min: 0n, max: 0xffffn }),
    access: fc.constantFrom('r', 'w', 'x', 'rw', 'rwx', 'q', ''),
    rangeStart: bigParam,
    rangeEnd: bigParam,
    space: fc.constantFrom('virtual', 'physical'),
    direction: fc.constantFrom('u', 'k', 'ku', 'step-in', 'instrument-step', 'nope'),
    pid: fc.integer({ min: -1, max: 3 }),
    core: fc.integer({ min: -1, max: 3 }),
    stage: fc.constantFrom('pre', 'post', 'all', 'later'),
    sc: fc.boolean(),
    imm: fc.boolean(),
    bufferSize: fc.oneof(fc.constant(0), fc.integer({ min: -5, max: 0x20000 })),
    condition: fc.uint8Array({ maxLength: 4 }),
    actions: fc.array(action, { maxLength: 3 }),
    text: fc.constant('!fuzz'),
  },
  { requiredKeys: ['kind', 'stage', 'sc', 'imm', 'bufferSize', 'actions', 'text'] },
) as fc.Arbitrary<EventSpec>;

describe('event registration under arbitrary specs', () => {
  it('registers completely or throws a catalogue error and changes nothing', () => {
    const g = new BareGuest({ vcpus: 2, mode: 'remote' });
    const { events, registry } = g.stack;
    fc.assert(
      fc.property(spec, (s) => {
        const before = registry.size;
        const ept = g.ept.slice();
        const masks = g.cpus.map((c) => c.exitMask.slice());
        try {
          events.add(s);
          expect(registry.size).toBe(before + 1);
        } catch (err) {
          expect(err).toBeInstanceOf(HvdbgError);
          expect(isErrorCode((err as HvdbgError).code)).toBe(true);
          expect(registry.size).toBe(before);
          expect(g.ept).toEqual(ept);
          expect(g.cpus.map((c) => c.exitMask)).toEqual(masks);
        }
        // Keep the table small and the EPT free for the next case.
        if (registry.size > 8) events.modify('all', 'clear');
      }),
      { numRuns: 400 },
    );
    events.modify('all', 'clear');
    expect(g.ept.every((b) => b === 0)).toBe(true);
  });
});
