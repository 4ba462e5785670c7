/** gdb's writes reach hvdbg clients: each successful G/P/M/X and Z0/z0 is announced once, failures never. */
import type { StateChange } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import { Roles } from '../roles.js';
import { GDB_CLIENT_ID, gdbControllerHooks } from './controller.js';
import { FAKE_MEMORY_BASE, FakeGdbTarget } from './testing/fakeTarget.js';
import { SessionWire, SILENT } from './testing/wire.js';

const at = (offset: number) => (FAKE_MEMORY_BASE + BigInt(offset)).toString(16);

function attached(): { w: SessionWire; changes: StateChange[] } {
  const changes: StateChange[] = [];
  const w = new SessionWire({ announce: (c) => changes.push(c) });
  w.session.attach();
  w.handshake();
  return { w, changes };
}

describe('gdb writes announced to hvdbg clients', () => {
  it('announces register writes (P and G) on the selected vCPU', () => {
    const { w, changes } = attached();
    expect(w.ask('Hg2')).toBe('OK');
    expect(w.ask('P10=efbeadde00000000')).toBe('OK');
    expect(w.ask(`G${w.ask('g')}`)).toBe('OK');
    expect(changes).toEqual([
      { what: 'registers', vcpu: 1, detail: 'gdb register 10' },
      { what: 'registers', vcpu: 1, detail: 'all (gdb G)' },
    ]);
  });

  it('announces memory writes with their range, not zero-length probes', () => {
    const { w, changes } = attached();
    expect(w.ask(`M${at(0)},3:aabbcc`)).toBe('OK');
    expect(w.ask(Buffer.concat([Buffer.from(`X${at(8)},2:`), Buffer.from([1, 2])]))).toBe('OK');
    expect(w.ask(`X${at(0)},0:`)).toBe('OK');
    expect(changes).toEqual([
      { what: 'memory', vcpu: 0, address: FAKE_MEMORY_BASE, length: 3, detail: 'virtual (gdb)' },
      { what: 'memory', vcpu: 0, address: FAKE_MEMORY_BASE + 8n, length: 2, detail: 'virtual (gdb)' },
    ]);
  });

  it('announces breakpoint inserts and removals', () => {
    const { w, changes } = attached();
    const address = FAKE_MEMORY_BASE + 0x100n;
    expect(w.ask(`Z0,${at(0x100)},1`)).toBe('OK');
    expect(w.ask(`z0,${at(0x100)},1`)).toBe('OK');
    expect(changes).toEqual([
      { what: 'breakpoints', address, detail: 'added (gdb)' },
      { what: 'breakpoints', address, detail: 'removed (gdb)' },
    ]);
  });

  it('announces nothing for a write that failed', () => {
    const { w, changes } = attached();
    expect(w.ask('P10=12')).toBe('E01');
    expect(w.ask(`M${at(0)},2:aa`)).toBe('E01');
    expect(w.ask(`M${at(0x5000)},1:00`)).toBe('E0e');
    expect(w.ask('Z0,zz,1')).toBe('E01');
    expect(changes).toEqual([]);
  });

  it('names gdb as the client when the hooks forward to the server', () => {
    const seen: [number, StateChange][] = [];
    const roles = new Roles(new FakeGdbTarget(), 'stay', () => {}, SILENT);
    const hooks = gdbControllerHooks(roles, (byClient, change) => seen.push([byClient, change]));
    hooks.announce?.({ what: 'memory', address: 1n, length: 1 });
    expect(seen).toEqual([[GDB_CLIENT_ID, { what: 'memory', address: 1n, length: 1 }]]);
  });
});
