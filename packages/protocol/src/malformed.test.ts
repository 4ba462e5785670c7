/**
 * Exact malformed byte strings → exact error codes. Frames are written out in hex so each case
 * shows precisely what a hostile or broken peer sends.
 */
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeClientMessage, decodeServerMessage } from './codec.js';
import { type ErrorCode, HvdbgError } from './errors.js';
import { LIMITS } from './limits.js';

/** Hex bytes, whitespace ignored; `s(...)` interpolates a fixstr. */
function hex(strings: TemplateStringsArray, ...parts: string[]): Uint8Array {
  const text = strings.reduce((acc, chunk, i) => acc + chunk + (parts[i] ?? ''), '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(text, 'hex'));
}

/** A fixstr (< 32 bytes) in hex. */
function s(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length >= 32) throw new Error('fixstr only');
  return (0xa0 | bytes.length).toString(16) + bytes.toString('hex');
}

function errorOf(fn: () => unknown): HvdbgError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HvdbgError) return e;
    throw e;
  }
  throw new Error('expected an HvdbgError');
}

const HELLO_FIELDS = `${s('protocolVersion')} 01 ${s('role')} ${s('controller')} ${s('clientName')} ${s('x')}`;
/** A valid hello, plus one extra field (key and value in hex) when given. */
const hello = (extra: string) => hex`${extra ? '85' : '84'} ${s('t')} ${s('hello')} ${HELLO_FIELDS} ${extra}`;

type Case = [name: string, frame: Uint8Array, code: ErrorCode, data?: Record<string, unknown>];

const CLIENT_CASES: Case[] = [
  ['empty frame', hex``, 'E_BAD_MESSAGE'],
  ['truncated map (2 entries announced, 1 sent)', hex`82 ${s('t')} ${s('hello')}`, 'E_BAD_MESSAGE'],
  ['truncated string', hex`81 ${s('t')} a5 68 65`, 'E_BAD_MESSAGE'],
  ['truncated uint64', hex`81 ${s('t')} cf 00 00 00`, 'E_BAD_MESSAGE'],
  ['map32 announcing 4 billion entries', hex`df ff ff ff ff 00`, 'E_BAD_MESSAGE'],
  ['reserved byte 0xc1', hex`81 ${s('t')} c1`, 'E_BAD_MESSAGE'],
  ['fixext 1 (0xd4) undefined', hex`81 ${s('t')} d4 00 00`, 'E_BAD_MESSAGE'],
  ['ext 8 (0xc7)', hex`81 ${s('t')} c7 01 05 00`, 'E_BAD_MESSAGE'],
  ['ext 16 (0xc8)', hex`81 ${s('t')} c8 00 01 05 00`, 'E_BAD_MESSAGE'],
  ['fixext 16 (0xd8)', hex`81 ${s('t')} d8 05 ${'00'.repeat(16)}`, 'E_BAD_MESSAGE'],
  ['msgpackr record definition (0xd4 0x72)', hex`81 ${s('t')} d4 72 40 91 ${s('t')}`, 'E_BAD_MESSAGE'],
  ['array at top level', hex`93 01 02 03`, 'E_BAD_MESSAGE'],
  ['string at top level', hex`${s('hello')}`, 'E_BAD_MESSAGE'],
  ['nil at top level', hex`c0`, 'E_BAD_MESSAGE'],
  ['two messages in one frame', hex`80 80`, 'E_BAD_MESSAGE'],
  ['trailing byte after a valid hello', hex`${Buffer.from(hello('')).toString('hex')} 00`, 'E_BAD_MESSAGE'],
  ['integer map key', hex`81 01 ${s('hello')}`, 'E_BAD_MESSAGE'],
  ['bin map key', hex`81 c4 01 74 ${s('hello')}`, 'E_BAD_MESSAGE'],
  ['empty map: no t', hex`80`, 'E_BAD_MESSAGE'],
  ['no t, only an id', hex`81 ${s('id')} 01`, 'E_BAD_MESSAGE'],
  ['t is a number', hex`81 ${s('t')} 01`, 'E_BAD_MESSAGE'],
  ['unknown message type', hex`81 ${s('t')} ${s('welcome')}`, 'E_BAD_MESSAGE'],
  [
    'hello with a string protocolVersion',
    hex`84 ${s('t')} ${s('hello')} ${s('protocolVersion')} ${s('1')} ${s('role')} ${s('controller')} ${s('clientName')} ${s('x')}`,
    'E_BAD_MESSAGE',
  ],
  [
    'hello with an unknown role',
    hex`84 ${s('t')} ${s('hello')} ${s('protocolVersion')} 02 ${s('role')} ${s('admin')} ${s('clientName')} ${s('x')}`,
    'E_BAD_MESSAGE',
    { protocolVersion: 2 },
  ],
  [
    'hello without clientName',
    hex`83 ${s('t')} ${s('hello')} ${s('protocolVersion')} 01 ${s('role')} ${s('observer')}`,
    'E_BAD_MESSAGE',
    { protocolVersion: 1 },
  ],
  ['request without id', hex`82 ${s('t')} ${s('req')} ${s('op')} ${s('status')}`, 'E_BAD_MESSAGE'],
  [
    'request with a negative id',
    hex`83 ${s('t')} ${s('req')} ${s('id')} ff ${s('op')} ${s('status')}`,
    'E_BAD_MESSAGE',
  ],
  [
    'request with a fractional id',
    hex`83 ${s('t')} ${s('req')} ${s('id')} cb 3f f8 00 00 00 00 00 00 ${s('op')} ${s('status')}`,
    'E_BAD_MESSAGE',
  ],
  [
    'request id above u32 (uint64 2^32)',
    hex`83 ${s('t')} ${s('req')} ${s('id')} cf 00 00 00 01 00 00 00 00 ${s('op')} ${s('status')}`,
    'E_BAD_MESSAGE',
  ],
  [
    'unknown op',
    hex`83 ${s('t')} ${s('req')} ${s('id')} 05 ${s('op')} ${s('mem.search')}`,
    'E_UNKNOWN_REQUEST',
    { id: 5 },
  ],
  ['op is not a string', hex`83 ${s('t')} ${s('req')} ${s('id')} 06 ${s('op')} 01`, 'E_BAD_MESSAGE', { id: 6 }],
  [
    'op inherited from Object.prototype',
    hex`83 ${s('t')} ${s('req')} ${s('id')} 07 ${s('op')} ${s('constructor')}`,
    'E_UNKNOWN_REQUEST',
    { id: 7 },
  ],
  [
    'args is an array',
    hex`84 ${s('t')} ${s('req')} ${s('id')} 08 ${s('op')} ${s('status')} ${s('args')} 90`,
    'E_BAD_MESSAGE',
    { id: 8 },
  ],
  [
    'address as a string',
    hex`84 ${s('t')} ${s('req')} ${s('id')} 09 ${s('op')} ${s('mem.translate')} ${s('args')} 81 ${s('address')} ${s('0x1000')}`,
    'E_BAD_MESSAGE',
    { id: 9 },
  ],
  [
    'address as int64 -1 (below the u64 range)',
    hex`84 ${s('t')} ${s('req')} ${s('id')} 0a ${s('op')} ${s('mem.translate')} ${s('args')} 81 ${s('address')} d3 ff ff ff ff ff ff ff ff`,
    'E_BAD_MESSAGE',
    { id: 10 },
  ],
  [
    'address as a double beyond 2^53',
    hex`84 ${s('t')} ${s('req')} ${s('id')} 0b ${s('op')} ${s('mem.translate')} ${s('args')} 81 ${s('address')} cb 43 d0 00 00 00 00 00 00`,
    'E_BAD_MESSAGE',
    { id: 11 },
  ],
  [
    'vcpu as uint64 2^32 (above the u32 range)',
    hex`84 ${s('t')} ${s('req')} ${s('id')} 0c ${s('op')} ${s('exec.switchCore')} ${s('args')} 81 ${s('vcpu')} cf 00 00 00 01 00 00 00 00`,
    'E_BAD_MESSAGE',
    { id: 12 },
  ],
  [
    'memory read above the limit',
    hex`84 ${s('t')} ${s('req')} ${s('id')} 0d ${s('op')} ${s('mem.read')} ${s('args')} 83 ${s('address')} 00 ${s('length')} ce 00 10 00 01 ${s('space')} ${s('virtual')}`,
    'E_TOO_LARGE',
    { id: 13 },
  ],
  [
    'unknown event kind',
    hex`84 ${s('t')} ${s('req')} ${s('id')} 0e ${s('op')} ${s('event.add')} ${s('args')} 81 ${s('kind')} ${s('nmi')}`,
    'E_BAD_EVENT',
    { id: 14 },
  ],
  [
    'Error extension (msgpackr 0x65)',
    hello(`${s('x')} d4 65 00 93 a5 45 72 72 6f 72 a4 62 6f 6f 6d c0`),
    'E_BAD_MESSAGE',
  ],
  ['RegExp extension (msgpackr 0x78)', hello(`${s('x')} d4 78 00 92 a3 61 2e 62 a1 67`), 'E_BAD_MESSAGE'],
  ['Set extension (msgpackr 0x73)', hello(`${s('x')} d4 73 00 91 01`), 'E_BAD_MESSAGE'],
  ['Date extension (timestamp -1)', hello(`${s('x')} d6 ff 00 00 00 00`), 'E_BAD_MESSAGE'],
  ['typed array extension (msgpackr 0x74)', hello(`${s('x')} c7 03 74 01 01 00`), 'E_BAD_MESSAGE'],
  ['structured clone pointer (msgpackr 0x70)', hello(`${s('x')} d6 70 00 00 00 01`), 'E_BAD_MESSAGE'],
  ['big integer extension (msgpackr 0x42)', hello(`${s('x')} d4 42 01`), 'E_BAD_MESSAGE'],
  ['nesting deeper than the limit', hello(`${s('x')} ${'91'.repeat(LIMITS.maxDepth)} c0`), 'E_BAD_MESSAGE'],
];

describe('malformed client frames', () => {
  it.each(CLIENT_CASES)('%s', (_, frame, code, data) => {
    const err = errorOf(() => decodeClientMessage(frame));
    expect(err.code).toBe(code);
    expect(err.data).toStrictEqual(data);
  });

  it.each(CLIENT_CASES.filter(([name]) => /extension|\(0x|nesting/.test(name)))(
    '%s fails for that reason',
    (name, frame) => {
      expect(errorOf(() => decodeClientMessage(frame)).message).toMatch(
        name.includes('nesting') ? /nested/ : /extension/,
      );
    },
  );

  it('accepts nesting up to the limit', () => {
    // hello (depth 1) + a list nested to the limit in an ignored field.
    const frame = hello(`${s('x')} ${'91'.repeat(LIMITS.maxDepth - 1)} c0`);
    expect(decodeClientMessage(frame).t).toBe('hello');
  });

  it('refuses a frame above the frame limit before decoding it', () => {
    const frame = new Uint8Array(LIMITS.maxFrameBytes + 1);
    frame.set(hello(''));
    expect(errorOf(() => decodeClientMessage(frame)).code).toBe('E_TOO_LARGE');
  });

  it('refuses a megabyte of nested arrays that overflows msgpackr on its own', () => {
    const frame = new Uint8Array(1 << 20).fill(0x91);
    frame.set(hex`81 ${s('t')}`);
    expect(() => unpack(frame)).toThrow(RangeError);
    expect(errorOf(() => decodeClientMessage(frame)).code).toBe('E_BAD_MESSAGE');
  });

  it('refuses the extension bytes that msgpackr alone turns into objects', () => {
    // The trap is real: msgpackr builds these objects from peer bytes with default options.
    expect(unpack(hex`d4 65 00 93 a5 45 72 72 6f 72 a4 62 6f 6f 6d c0`)).toBeInstanceOf(Error);
    expect(unpack(hex`d4 78 00 92 a3 61 2e 62 a1 67`)).toBeInstanceOf(RegExp);
    expect(unpack(hex`d4 73 00 91 01`)).toBeInstanceOf(Set);
    expect(unpack(hex`d6 ff 00 00 00 00`)).toBeInstanceOf(Date);
  });

  it('keeps a __proto__ key from changing any prototype', () => {
    const frame = hex`84 ${s('t')} ${s('req')} ${s('id')} 01 ${s('op')} ${s('status')} ${s('args')} 81 ${s('__proto__')} 81 ${s('polluted')} c3`;
    const msg = decodeClientMessage(frame);
    expect(msg).toStrictEqual({ t: 'req', id: 1, op: 'status', args: {} });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('does not read a message hidden under a __proto__ key', () => {
    const frame = hex`81 ${s('__proto__')} 84 ${s('t')} ${s('hello')} ${HELLO_FIELDS}`;
    expect(errorOf(() => decodeClientMessage(frame)).code).toBe('E_BAD_MESSAGE');
  });

  it('refuses a string longer than the string limit', () => {
    const name = 'x'.repeat(LIMITS.maxStringBytes + 1);
    const frame = hex`84 ${s('t')} ${s('hello')} ${s('protocolVersion')} 01 ${s('role')} ${s('observer')} ${s('clientName')} db ${(name.length >>> 0).toString(16).padStart(8, '0')} ${Buffer.from(name).toString('hex')}`;
    const err = errorOf(() => decodeClientMessage(frame));
    expect(err.code).toBe('E_TOO_LARGE');
    expect(err.data).toStrictEqual({ protocolVersion: 1 });
  });
});

describe('malformed server frames', () => {
  const CASES: Case[] = [
    ['a client hello', hello(''), 'E_BAD_MESSAGE'],
    [
      'response with an error code outside the catalogue',
      hex`84 ${s('t')} ${s('res')} ${s('id')} 03 ${s('ok')} c2 ${s('error')} 82 ${s('code')} ${s('E_NOPE')} ${s('message')} ${s('x')}`,
      'E_BAD_MESSAGE',
      { id: 3 },
    ],
    ['response with ok missing', hex`82 ${s('t')} ${s('res')} ${s('id')} 04`, 'E_BAD_MESSAGE', { id: 4 }],
    ['halted without its fields', hex`81 ${s('t')} ${s('halted')}`, 'E_BAD_MESSAGE'],
    [
      'halted with 17 instruction bytes',
      hex`87 ${s('t')} ${s('halted')} ${s('reason')} ${s('step')} ${s('vcpu')} 00 ${s('rip')} 00 ${s('rflags')} 02 ${s('lastSeq')} 00 ${s('bytes')} c4 11 ${'90'.repeat(17)}`,
      'E_TOO_LARGE',
    ],
    ['log batch that is a map', hex`82 ${s('t')} ${s('log')} ${s('batch')} 80`, 'E_BAD_MESSAGE'],
    [
      'log record seq above u64',
      hex`82 ${s('t')} ${s('log')} ${s('batch')} 91 81 ${s('seq')} cb 43 f0 00 00 00 00 00 00`,
      'E_BAD_MESSAGE',
    ],
    [
      'Date extension inside a console message',
      hex`82 ${s('t')} ${s('console')} ${s('text')} d6 ff 00 00 00 00`,
      'E_BAD_MESSAGE',
    ],
  ];

  it.each(CASES)('%s', (_, frame, code, data) => {
    const err = errorOf(() => decodeServerMessage(frame));
    expect(err.code).toBe(code);
    expect(err.data).toStrictEqual(data);
  });
});
