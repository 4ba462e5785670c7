import { ERROR_CODES, HvdbgError, type LogRecord } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import {
  changedRegisters,
  ERROR_MESSAGES,
  formatCaret,
  formatDump,
  formatError,
  formatFormats,
  formatHaltReason,
  formatLog,
  formatRegisters,
  jsonReplacer,
} from './format.js';

const seq = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe('formatDump', () => {
  it('db: bytes, a dash between halves, ASCII', () => {
    expect(formatDump(0xffffffff80001000n, seq(20, 0x40), 'b')).toEqual([
      'ffffffff80001000  40 41 42 43 44 45 46 47-48 49 4a 4b 4c 4d 4e 4f  @ABCDEFGHIJKLMNO',
      'ffffffff80001010  50 51 52 53                                      PQRS',
    ]);
  });

  it('dq: little-endian qwords, two a line', () => {
    expect(formatDump(0x1000n, seq(24), 'q')).toEqual([
      '0000000000001000  0706050403020100 0f0e0d0c0b0a0908',
      '0000000000001010  1716151413121110',
    ]);
  });

  it('dd and dw', () => {
    expect(formatDump(0n, seq(16), 'd')).toEqual(['0000000000000000  03020100 07060504 0b0a0908 0f0e0d0c']);
    expect(formatDump(0n, seq(4), 'w')).toEqual(['0000000000000000  0100 0302']);
  });

  it('dc: dwords with characters', () => {
    expect(formatDump(0n, new TextEncoder().encode('hvdbg!\n\0'), 'c')).toEqual([
      '0000000000000000  62647668 000a2167                    hvdbg!..',
    ]);
  });
});

describe('formatRegisters', () => {
  const regs = { rip: 0xffffffff80001000n, rax: 1n, rbx: 2n, rcx: 3n, rflags: 0x246n, cs: 0x10n };

  it('orders registers, three a line, and summarises flags', () => {
    expect(formatRegisters(regs)).toEqual([
      '   rax=0000000000000001     rbx=0000000000000002     rcx=0000000000000003',
      '   rip=ffffffff80001000  rflags=0000000000000246',
      '   cs=0010',
      'flags: if zf pf',
    ]);
  });

  it('highlights registers changed since the previous halt', () => {
    const changed = changedRegisters({ ...regs, rax: 0n, rcx: 3n }, regs);
    expect([...changed]).toEqual(['rax']);
    expect(formatRegisters(regs, { changed })[0]).toBe(
      '   rax=0000000000000001*    rbx=0000000000000002     rcx=0000000000000003',
    );
    expect(formatRegisters(regs, { changed, color: true })[0]).toContain('\x1b[1;31m   rax=0000000000000001\x1b[0m');
  });

  it('changes nothing without a previous snapshot', () => {
    expect(changedRegisters(undefined, regs).size).toBe(0);
  });
});

describe('errors', () => {
  it('has a one-line message for every protocol error code', () => {
    for (const code of ERROR_CODES) {
      const line = formatError(new HvdbgError(code));
      expect(line).toBe(`error: ${ERROR_MESSAGES[code]} [${code}]`);
      expect(line).not.toContain('\n');
    }
  });

  it('shows the daemon detail when it says more', () => {
    expect(formatError(new HvdbgError('E_BAD_ADDRESS', 'page not present at 0x1000'))).toBe(
      'error: page not present at 0x1000 [E_BAD_ADDRESS]',
    );
    expect(formatError(new Error('boom'))).toBe('error: internal client error: boom');
  });

  it('draws a caret under the column of a script error', () => {
    expect(formatCaret('x = 1;\nprintf("%d" 1);', 2, 13, 'expected , (2:13)')).toEqual([
      'error: expected , (2:13)',
      '  printf("%d" 1);',
      '              ^',
    ]);
  });
});

describe('notifications', () => {
  it('words halts as HyperDbg does', () => {
    const halt = { vcpu: 0, rip: 0n, rflags: 0n, bytes: new Uint8Array(), lastSeq: 0n };
    expect(formatHaltReason({ ...halt, reason: 'event', eventId: 3, stage: 'post' })).toBe(
      'event 0x3 triggered (post)',
    );
    expect(formatHaltReason({ ...halt, reason: 'breakpoint', eventId: 1 })).toBe('breakpoint 0x1 hit');
    expect(formatHaltReason({ ...halt, reason: 'pause' })).toBe('paused');
  });

  it('tags log lines with event id and vCPU', () => {
    const rec: LogRecord = {
      seq: 1n,
      eventId: 2,
      kind: 5,
      vcpu: 1,
      pid: 1,
      tid: 1,
      time: 0n,
      stage: 'pre',
      text: 'exit 0\n',
    };
    expect(formatLog(rec)).toBe('[event 0x2 vcpu 1] exit 0');
    expect(formatLog({ ...rec, kind: 3, late: true })).toBe('[event 0x2 vcpu 1 (late)] error: exit 0');
    expect(formatLog({ ...rec, kind: 6, text: undefined, bytes: new Uint8Array([1, 0xff]) })).toBe(
      '[event 0x2 vcpu 1] buffer 01 ff',
    );
  });

  it('.formats shows every base', () => {
    const lines = formatFormats(0x41n);
    expect(lines[0]).toBe('Evaluate expression: 65 = 0000000000000041');
    expect(lines).toContain('Chars:   .......A');
    expect(formatFormats(0xffffffffffffffffn)[2]).toBe('Decimal: -1');
  });

  it('JSON output turns bigints and bytes into hex strings', () => {
    expect(JSON.stringify({ a: 255n, b: new Uint8Array([1, 2]) }, jsonReplacer)).toBe('{"a":"0xff","b":"0102"}');
  });
});
