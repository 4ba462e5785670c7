/**
 * Every event kind fired by the real guest kernel at its documented points (guest/BOOT.md, "Where
 * each event kind happens"), registered before boot so the boot-time ones (vmcall, wrmsr, mov to
 * CR0/CR4, debug registers) are seen too. Each event logs its context; the test checks every kind
 * fired with a context that makes sense for it.
 */
import type { EventKind, EventSpec, LogRecord } from '@hvdbg/protocol';
import { compileScript } from '@hvdbg/script';
import { describe, expect, it } from 'vitest';
import { Debuggee } from '../debuggee.js';

function boot(vcpus = 2, sliceInstructions = 200_000) {
  const d = new Debuggee({ workload: 'mixed', vcpus, memoryBytes: 64n << 20n, sliceInstructions });
  const logs: LogRecord[] = [];
  let console = '';
  d.setListener({
    onLog: (b) => logs.push(...b),
    onDropped: () => {},
    onConsole: (t) => (console += t),
    onHalt: () => {},
    onResume: () => {},
    onEventsChanged: () => {},
  });
  const add = (spec: Partial<EventSpec> & Pick<EventSpec, 'kind'>) =>
    d.addEvent({
      stage: 'pre',
      sc: false,
      imm: false,
      bufferSize: 0,
      text: `!${spec.kind}`,
      actions: [{ type: 'script', buffer: compileScript('printf("%llx\\n", $context);') }],
      ...spec,
    }).id;
  const symbol = (name: string) => d.symbols().symbols.find((s) => s.name === name)!.address;
  return { d, logs, add, symbol, console: () => console };
}

describe('every event kind on the guest kernel', () => {
  it('fires each kind at the kernel’s documented points with the documented context', () => {
    const { d, logs, add, symbol } = boot();
    const ids = new Map<number, string>();
    const reg = (label: string, spec: Partial<EventSpec> & { kind: EventKind }) => ids.set(add(spec), label);
    reg('syscall', { kind: 'syscall', param: 39n });
    reg('sysret', { kind: 'sysret' });
    reg('cpuid', { kind: 'cpuid', param: 1n });
    reg('msrread', { kind: 'msrread', param: 0xc0000080n });
    reg('msrwrite', { kind: 'msrwrite', param: 0xc0000082n });
    reg('tsc', { kind: 'tsc' });
    reg('pmc', { kind: 'pmc' });
    reg('vmcall', { kind: 'vmcall' });
    reg('ioin', { kind: 'ioin', param: 0x3fdn });
    reg('ioout', { kind: 'ioout', param: 0x3f8n });
    reg('exception-bp', { kind: 'exception', param: 3n });
    reg('exception-de', { kind: 'exception', param: 0n });
    reg('exception-pf', { kind: 'exception', param: 0xen });
    reg('interrupt', { kind: 'interrupt', param: 0x20n });
    reg('crwrite-cr0', { kind: 'crwrite', param: 0n, mask: 1n << 16n }); // CR0.WP
    reg('crwrite-cr4', { kind: 'crwrite', param: 4n, mask: 1n << 7n }); // CR4.PGE
    reg('dr', { kind: 'dr' });
    reg('mode-u', { kind: 'mode', direction: 'u' });
    reg('mode-k', { kind: 'mode', direction: 'k' });
    reg('epthook', { kind: 'epthook', param: symbol('do_getpid') });
    // epthook2 may not share a page with another hook: the syscall entry is on another page.
    expect(symbol('syscall_entry') >> 12n).not.toBe(symbol('do_getpid') >> 12n);
    reg('epthook2', { kind: 'epthook2', param: symbol('syscall_entry') });
    reg('monitor', {
      kind: 'monitor',
      access: 'w',
      rangeStart: symbol('jiffies'),
      rangeEnd: symbol('jiffies') + 7n,
    });
    const missing = () => [...ids.keys()].filter((id) => !logs.some((r) => r.eventId === id)).map((id) => ids.get(id));
    for (let i = 0; i < 600 && missing().length > 0; i++) {
      d.runSlice();
      d.tick(Date.now() + 1000);
    }
    d.tick(Date.now() + 1000);
    expect(missing()).toEqual([]);
    const contexts = (label: string) => {
      const id = [...ids].find(([, l]) => l === label)![0];
      return new Set(logs.filter((r) => r.eventId === id).map((r) => r.text));
    };
    expect(contexts('syscall')).toEqual(new Set(['27\n']));
    expect(contexts('cpuid')).toEqual(new Set(['1\n']));
    expect(contexts('msrread')).toEqual(new Set(['c0000080\n']));
    expect(contexts('msrwrite')).toEqual(new Set(['c0000082\n']));
    expect(contexts('tsc')).toEqual(new Set(['0\n', '1\n']));
    expect(contexts('ioin')).toEqual(new Set(['3fd\n']));
    expect(contexts('ioout')).toEqual(new Set(['3f8\n']));
    expect(contexts('exception-bp')).toEqual(new Set(['3\n']));
    expect(contexts('exception-de')).toEqual(new Set(['0\n']));
    expect(contexts('exception-pf')).toEqual(new Set(['e\n']));
    expect(contexts('interrupt')).toEqual(new Set(['20\n']));
    expect(contexts('crwrite-cr0')).toEqual(new Set(['0\n']));
    expect(contexts('crwrite-cr4')).toEqual(new Set(['4\n']));
    expect(contexts('mode-u')).toEqual(new Set(['3\n']));
    expect(contexts('mode-k')).toEqual(new Set(['0\n']));
    const hex = (v: bigint) => `${BigInt.asUintN(64, v).toString(16)}\n`;
    expect(contexts('epthook')).toEqual(new Set([hex(symbol('do_getpid'))]));
    expect(contexts('epthook2')).toEqual(new Set([hex(symbol('syscall_entry'))]));
    const jiffies = symbol('jiffies');
    for (const t of contexts('monitor')) {
      const a = BigInt(`0x${t!.trim()}`);
      expect(a >= jiffies && a <= jiffies + 7n).toBe(true);
    }
    expect(d.state()).toBe('running');
  });

  it('!trace instrument-step fires on every instruction of the traced core', () => {
    const { d, logs, add } = boot(1, 20_000);
    for (let i = 0; i < 200; i++) d.runSlice();
    const id = add({ kind: 'trace', direction: 'instrument-step' });
    const before = d.instructions();
    d.runSlice();
    d.tick(Date.now() + 1000);
    const ran = Number(d.instructions() - before);
    const fired = logs.filter((r) => r.eventId === id);
    expect(d.registry.get(id)!.hits).toBe(ran);
    expect(fired).toHaveLength(ran);
    expect(new Set(fired.map((r) => r.text))).toEqual(new Set(['3\n']));
  });
});
