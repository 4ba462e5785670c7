import { describe, expect, it } from 'vitest';
import { parseEventCommand, parseNumber, runMonitorCommand, tokenize } from './monitor.js';
import { FAKE_MEMORY_BASE, FakeGdbTarget } from './testing/fakeTarget.js';

const run = (t: FakeGdbTarget, line: string) => runMonitorCommand(line, { target: t, vcpu: 0, clientId: 1 });

describe('monitor command bridge', () => {
  it('tokenizes words and nested blocks, respecting braces inside strings', () => {
    expect(tokenize('!syscall 1 script { if (1) { printf("}{"); } } stage pre')).toEqual([
      { text: '!syscall', block: false },
      { text: '1', block: false },
      { text: 'script', block: false },
      { text: ' if (1) { printf("}{"); } ', block: true },
      { text: 'stage', block: false },
      { text: 'pre', block: false },
    ]);
    expect(() => tokenize('!syscall script { oops')).toThrow(/unbalanced/);
  });

  it('parses numbers as HyperDbg does: hex by default, 0n decimal, symbols with offsets', () => {
    const t = new FakeGdbTarget();
    expect(parseNumber('10', t)).toBe(0x10n);
    expect(parseNumber('0x10', t)).toBe(0x10n);
    expect(parseNumber('0n10', t)).toBe(10n);
    expect(parseNumber('ffff`ffff', t)).toBe(0xffff_ffffn);
    expect(parseNumber('kmain', t)).toBe(FAKE_MEMORY_BASE + 0x100n);
    expect(parseNumber('kernel!jiffies+8', t)).toBe(FAKE_MEMORY_BASE + 0x808n);
    expect(() => parseNumber('nosuch', t)).toThrow(/neither a number nor a known symbol/);
  });

  it('builds event specs with options, scripts and the default break action', () => {
    const t = new FakeGdbTarget();
    expect(parseEventCommand('!syscall 3c pid 0n12 core 1 stage post imm no buffer 100', t)).toMatchObject({
      kind: 'syscall',
      param: 0x3cn,
      pid: 12,
      core: 1,
      stage: 'post',
      imm: false,
      bufferSize: 0x100,
      actions: [{ type: 'break' }],
      text: '!syscall 3c pid 0n12 core 1 stage post imm no buffer 100',
    });
    const scripted = parseEventCommand('!cpuid script { printf("%x\\n", @rax); } sc off', t);
    expect(scripted.actions).toHaveLength(1);
    expect(scripted.actions[0]).toMatchObject({ type: 'script', source: ' printf("%x\\n", @rax); ' });
    expect(parseEventCommand('!monitor rw jiffies l 8', t)).toMatchObject({
      kind: 'monitor',
      access: 'rw',
      rangeStart: FAKE_MEMORY_BASE + 0x800n,
      rangeEnd: FAKE_MEMORY_BASE + 0x807n,
    });
    expect(parseEventCommand('!monitor w pa 1000 1fff', t)).toMatchObject({ space: 'physical', rangeEnd: 0x1fffn });
    expect(parseEventCommand('!crwrite 0 mask 10000', t)).toMatchObject({ param: 0n, mask: 0x10000n });
    expect(parseEventCommand('!syscall2', t).kind).toBe('syscall');
    const custom = parseEventCommand('!vmcall condition { 31 c0 } code { 48 ff c0 c3 }', t);
    expect(custom.condition).toEqual(Uint8Array.from([0x31, 0xc0, 0xc3]));
    expect(custom.actions).toEqual([{ type: 'code', bytes: Uint8Array.from([0x48, 0xff, 0xc0, 0xc3]) }]);
  });

  it('rejects what it cannot parse with typed errors', () => {
    const t = new FakeGdbTarget();
    expect(() => parseEventCommand('!nosuch', t)).toThrow(expect.objectContaining({ code: 'E_BAD_EVENT' }));
    expect(() => parseEventCommand('!syscall 1 2', t)).toThrow(/unexpected '2'/);
    expect(() => parseEventCommand('!syscall stage', t)).toThrow(/needs a value/);
    expect(() => parseEventCommand('!syscall stage sometimes', t)).toThrow(/pre, post or all/);
    expect(() => parseEventCommand('!syscall script oops', t)).toThrow(/needs a \{ … \} block/);
    expect(() => parseEventCommand('!syscall code { 9 }', t)).toThrow(/expects hex bytes/);
    expect(() => parseEventCommand('!syscall code 90', t)).toThrow(/needs a \{ … \} block of hex bytes/);
    expect(() => parseEventCommand('!monitor w 1000', t)).toThrow(/!monitor access/);
    expect(() => parseEventCommand('!syscall script { printf( }', t)).toThrow(
      expect.objectContaining({ code: 'E_SCRIPT_SYNTAX' }),
    );
  });

  it('lists, toggles and clears events', () => {
    const t = new FakeGdbTarget();
    expect(run(t, 'events')).toBe('no events\n');
    expect(run(t, '!cpuid')).toBe('event 1 added\n');
    expect(run(t, '!vmcall')).toBe('event 2 added\n');
    expect(run(t, 'events d 1')).toBe('1 event(s) disabled\n');
    expect(run(t, 'events')).toBe(' 1  disabled  !cpuid  (hits 0)\n 2  enabled   !vmcall  (hits 0)\n');
    expect(run(t, 'events e all')).toBe('2 event(s) enabled\n');
    expect(run(t, 'events c 2')).toBe('1 event(s) cleared\n');
    expect(() => run(t, 'events x 1')).toThrow(/usage/);
    expect(() => run(t, 'events c 99')).toThrow(expect.objectContaining({ code: 'E_BAD_EVENT_ID' }));
  });

  it('reads and writes registers, shows status, breakpoints and script results', () => {
    const t = new FakeGdbTarget();
    t.haltWith('pause', 0);
    expect(run(t, 'r rip')).toBe(`rip=${(FAKE_MEMORY_BASE + 0x10n).toString(16)}\n`);
    expect(run(t, 'r rax=0n42')).toBe('');
    expect(t.regs[0]!.get('rax')).toBe(42n);
    expect(run(t, 'r').split('\n')).toHaveLength(19);
    expect(run(t, 'status')).toMatch(/^state: halted \(pause on vCPU 0 at 0xffffffff80100010\)\nguest: fake, 2 vCPU/);
    expect(run(t, 'bl')).toBe('no breakpoints\n');
    t.addBreakpoint(FAKE_MEMORY_BASE + 0x20n, {});
    expect(run(t, 'bl')).toBe(' 1  e  0xffffffff80100020  (hits 0)\n');
    expect(run(t, 'bc all')).toBe('1 breakpoint(s) cleared\n');
    expect(run(t, '? printf("%d\\n", 1);')).toMatch(/^evaluated \d+ bytes\n$/);
    expect(run(t, '')).toMatch(/^hvdbg commands/);
  });
});
