import { type EventSpec, HvdbgError } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../expr.js';
import { type EventParseEnv, parseEventCommand } from './eventCommand.js';

const SYMBOLS: Record<string, bigint> = { 'kernel!do_open': 0xffffffff80002000n, 'kernel!panic': 0xffffffff80003000n };

function env(local = false): EventParseEnv {
  return {
    evaluate: (e) =>
      evaluate(e, {
        symbol: (n) => SYMBOLS[n],
        register: async (n) => (n === 'rcx' ? 0x10n : 0n),
        pseudo: async () => 0n,
        memory: async () => 0n,
      }),
    // The fake compiler "compiles" to the UTF-8 bytes of the source, and rejects `syntax!`.
    compile: (src) => {
      const at = src.indexOf('syntax!');
      if (at >= 0)
        throw new HvdbgError('E_SCRIPT_SYNTAX', `bad token (1:${at + 1})`, { line: 1, column: at + 1, source: src });
      return new TextEncoder().encode(src);
    },
    readFile: (p) => {
      if (p === 'ok.ds') return 'print(1);';
      throw new HvdbgError('E_BAD_PARAMETER', `cannot read ${p}`);
    },
    local,
  };
}

const bytes = (s: string) => new TextEncoder().encode(s);
const BREAK = [{ type: 'break' }];
const base = (kind: EventSpec['kind'], text: string): EventSpec => ({
  kind,
  stage: 'pre',
  sc: false,
  imm: true,
  bufferSize: 0,
  actions: BREAK as EventSpec['actions'],
  text,
});

const CASES: [string, Partial<EventSpec>][] = [
  ['!syscall', {}],
  ['!SYSCALL 3c', { param: 0x3cn }],
  ['!syscall2 0n60', { kind: 'syscall', param: 60n }],
  ['!sysret2', { kind: 'sysret' }],
  ['!msread c0000082', { kind: 'msrread', param: 0xc0000082n }],
  ['!iout 3f8 imm no', { kind: 'ioout', param: 0x3f8n, imm: false }],
  ['!cpuid 1 stage post', { param: 1n, stage: 'post' }],
  ['!exception e', { param: 0xen }],
  ['!interrupt 20', { param: 0x20n }],
  ['!crwrite 4', { param: 4n }],
  ['!crwrite 0 mask 80000000', { param: 0n, mask: 0x80000000n }],
  ['!epthook kernel!do_open pid 1a', { param: 0xffffffff80002000n, pid: 0x1a }],
  ['!epthook kernel!do_open + @rcx', { param: 0xffffffff80002010n }],
  ['!epthook2 kernel!panic core 1', { param: 0xffffffff80003000n, core: 1 }],
  [
    '!monitor w fffff80000200000 l 1000',
    { access: 'w', space: 'virtual', rangeStart: 0xfffff80000200000n, rangeEnd: 0xfffff80000200fffn },
  ],
  ['!monitor rw pa 1000 1fff', { access: 'rw', space: 'physical', rangeStart: 0x1000n, rangeEnd: 0x1fffn }],
  ['!mode ku', { direction: 'ku' }],
  ['!trace step-out', { direction: 'step-out' }],
  ['!tsc sc on', { sc: true }],
  ['!syscall pid all core 0 stage all', { core: 0, stage: 'all' }],
  ['!syscall buffer 8', { bufferSize: 8 }],
  ['!syscall condition { 31 c0 }', { condition: new Uint8Array([0x31, 0xc0, 0xc3]) }],
  [
    '!syscall 3c script { printf("exit\\n"); }',
    {
      param: 0x3cn,
      actions: [{ type: 'script', buffer: bytes(' printf("exit\\n"); '), source: ' printf("exit\\n"); ' }],
    },
  ],
  [
    '!syscall buffer 8 code { f0 48 ff 01 c3 } script {print(1);}',
    {
      bufferSize: 8,
      actions: [
        { type: 'code', bytes: new Uint8Array([0xf0, 0x48, 0xff, 0x01, 0xc3]) },
        { type: 'script', buffer: bytes('print(1);'), source: 'print(1);' },
      ],
    },
  ],
  ['!vmcall script {file:ok.ds}', { actions: [{ type: 'script', buffer: bytes('print(1);'), source: 'print(1);' }] }],
];

describe('parseEventCommand', () => {
  it.each(CASES)('%s', async (line, expected) => {
    const spec = await parseEventCommand(line, env());
    const kind = (expected.kind ?? line.split(' ')[0]!.slice(1).toLowerCase()) as EventSpec['kind'];
    expect(spec).toEqual({ ...base(kind, line), ...expected });
  });

  it.each([
    ['!nosuch', 'E_BAD_EVENT', "'!nosuch' is not an event command"],
    ['!syscall pid', 'E_BAD_PARAMETER', "'pid' needs a value (a process id or all)"],
    ['!syscall stage', 'E_BAD_PARAMETER', "'stage' needs a value (pre, post or all)"],
    ['!syscall stage middle', 'E_BAD_PARAMETER', "stage must be pre, post or all, not 'middle'"],
    ['!syscall sc maybe', 'E_BAD_PARAMETER', "sc must be on or off, not 'maybe'"],
    ['!syscall imm on', 'E_BAD_PARAMETER', "imm must be yes or no, not 'on'"],
    [
      '!syscall sc on stage post',
      'E_BAD_PARAMETER',
      "'sc on' needs stage pre: a post-stage event cannot short-circuit",
    ],
    ['!syscall script', 'E_BAD_PARAMETER', "'script' needs a {…} block (script text or file:<path>)"],
    ['!syscall script print(1)', 'E_BAD_PARAMETER', "'script' needs a {…} block (script text or file:<path>)"],
    ['!syscall code {zz}', 'E_CODE_INVALID', "'zz' in the code block is not a hex byte"],
    ['!syscall 1 2', 'E_BAD_PARAMETER', "unexpected '2' after !syscall"],
    ['!sysret 1', 'E_BAD_PARAMETER', "unexpected '1' after !sysret"],
    ['!interrupt', 'E_BAD_PARAMETER', '!interrupt needs a parameter: !interrupt vector'],
    ['!interrupt 10', 'E_BAD_PARAMETER', 'parameter 0x10 is out of range (0x20..0xff)'],
    ['!exception 20', 'E_BAD_PARAMETER', 'parameter 0x20 is out of range (0x0..0x1f)'],
    ['!crwrite 3', 'E_BAD_PARAMETER', '!crwrite watches CR0 or CR4, not CR3'],
    ['!crwrite 0 mask', 'E_BAD_PARAMETER', "'mask' needs a value"],
    ['!epthook', 'E_BAD_PARAMETER', '!epthook needs an address'],
    ['!epthook kernel!nope', 'E_UNKNOWN_SYMBOL', "unknown symbol 'kernel!nope'"],
    ['!epthook kernel!panic stage post', 'E_BAD_PARAMETER', '!epthook fires only in the pre stage'],
    ['!monitor q 1000 l 10', 'E_BAD_PARAMETER', '!monitor needs an access type: r, w, x, rw, rx, wx or rwx'],
    ['!monitor w 2000 1000', 'E_BAD_PARAMETER', '!monitor end address is below its start'],
    ['!monitor w 2000', 'E_BAD_PARAMETER', '!monitor needs an end address or l length'],
    ['!mode x', 'E_BAD_PARAMETER', '!mode needs u, k or ku'],
    ['!trace', 'E_BAD_PARAMETER', '!trace needs step-in, step-out or instrument-step'],
    ['!syscall pid 1 pid 2', 'E_BAD_PARAMETER', "'pid' is given twice"],
    ['!syscall buffer 0', 'E_TOO_LARGE', 'buffer size must be 1..0x14000 bytes'],
    ['!syscall output {a}', 'E_BAD_PARAMETER', "'output' sinks are not supported; script output goes to every client"],
    ['!syscall script {file:missing.ds}', 'E_BAD_PARAMETER', 'cannot read missing.ds'],
    ['!syscall script { x = syntax!; }', 'E_SCRIPT_SYNTAX', 'bad token (1:6)'],
    ['!syscall {90}', 'E_BAD_PARAMETER', 'unexpected {…} block after !syscall'],
    [
      '!syscall stage pre foo',
      'E_BAD_PARAMETER',
      "unexpected 'foo' (options: pid core stage sc imm buffer condition script code)",
    ],
  ])('%s → %s', async (line, code, message) => {
    const err = await parseEventCommand(line, env()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HvdbgError);
    expect([(err as HvdbgError).code, (err as HvdbgError).message]).toEqual([code, message]);
  });

  it('refuses an implicit break in local mode but accepts actions', async () => {
    await expect(parseEventCommand('!syscall', env(true))).rejects.toMatchObject({ code: 'E_LOCAL_MODE' });
    const spec = await parseEventCommand('!syscall script {print(1);}', env(true));
    expect(spec.actions.map((a) => a.type)).toEqual(['script']);
  });
});
