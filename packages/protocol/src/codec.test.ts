import { decode as theirDecode, encode as theirEncode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeClientMessage, decodeServerMessage, encodeMessage } from './codec.js';
import { HvdbgError } from './errors.js';
import { LIMITS } from './limits.js';
import type { RequestOp, ServerMessage } from './messages.js';
import { validateResult } from './results.js';
import { SAMPLE_RESULTS, sampleClientMessages, sampleServerMessages } from './samples.js';

const OPS = Object.keys(SAMPLE_RESULTS) as RequestOp[];

function successResponse(op: RequestOp, id: number): ServerMessage {
  return { t: 'res', id, ok: true, result: SAMPLE_RESULTS[op] };
}

/** Decodes a successful response and validates its result the way the client does. */
function decodeResult(op: RequestOp, frame: Uint8Array): unknown {
  const msg = decodeServerMessage(frame);
  if (msg.t !== 'res' || !msg.ok) throw new Error('expected a successful response');
  return { ...msg, result: validateResult(op, msg.result) };
}

describe('round trip', () => {
  it.each(sampleClientMessages().map((m) => [m.t === 'req' ? m.op : m.t, m] as const))('client %s', (_, msg) => {
    expect(decodeClientMessage(encodeMessage(msg))).toStrictEqual(msg);
  });

  it.each(sampleServerMessages().map((m) => [m.t, m] as const))('server %s', (_, msg) => {
    expect(decodeServerMessage(encodeMessage(msg))).toStrictEqual(msg);
  });

  it.each(OPS)('result of %s', (op) => {
    const msg = successResponse(op, 5);
    expect(decodeResult(op, encodeMessage(msg))).toStrictEqual(msg);
  });

  it('leaves undefined fields out of the frame instead of packing msgpackr undefined', () => {
    const frame = encodeMessage({ t: 'resumed', byClient: undefined, step: undefined });
    expect(theirDecode(frame)).toStrictEqual({ t: 'resumed' });
    expect(frame).not.toContain(0xd4);
  });

  it('hands out bins as plain Uint8Array copies, detached from the frame', () => {
    const frame = encodeMessage({ t: 'res', id: 1, ok: true, result: { bytes: new Uint8Array([1, 2, 3]) } });
    const msg = decodeServerMessage(frame);
    const bytes = validateResult('mem.read', msg.t === 'res' && msg.ok ? msg.result : null).bytes;
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    frame.fill(0);
    expect([...bytes]).toEqual([1, 2, 3]);
  });

  it('refuses to encode what the peer would refuse to decode', () => {
    const withDate = { t: 'console', text: new Date(0) } as never;
    expect(catchError(() => encodeMessage(withDate)).code).toBe('E_INTERNAL');
  });

  it('packs an undefined list item as nil, never as an extension', () => {
    const frame = encodeMessage({ t: 'dropped', eventIds: [1, undefined] } as never);
    expect(theirDecode(frame)).toStrictEqual({ t: 'dropped', eventIds: [1, null] });
  });

  it('refuses to encode a frame above the frame limit', () => {
    const huge = new Uint8Array(LIMITS.maxFrameBytes);
    const err = catchError(() => encodeMessage({ t: 'res', id: 1, ok: true, result: { bytes: huge } }));
    expect(err.code).toBe('E_TOO_LARGE');
    expect(err.data?.limit).toBe(LIMITS.maxFrameBytes);
    expect(err.data?.bytes).toBeGreaterThan(LIMITS.maxFrameBytes);
  });
});

/**
 * Interoperability with an independent implementation: what we send, @msgpack/msgpack reads as the
 * same values (64-bit integers as bigint, bins as Uint8Array), and what it sends, we read.
 */
describe('interoperability with @msgpack/msgpack', () => {
  const theirs = { useBigInt64: true } as const;
  type Case = [name: string, msg: object, decode: (bytes: Uint8Array) => unknown];
  const all: Case[] = [
    ...sampleClientMessages().map((m): Case => [`client ${m.t === 'req' ? m.op : m.t}`, m, decodeClientMessage]),
    ...sampleServerMessages().map((m): Case => [`server ${m.t}`, m, decodeServerMessage]),
    ...OPS.map((op): Case => [`result of ${op}`, successResponse(op, 6), (b) => decodeResult(op, b)]),
  ];

  it.each(all)('%s: ours → theirs', (_, msg) => {
    // A plain Uint8Array copy: given our Buffer, @msgpack/msgpack would hand out Buffer views.
    expect(theirDecode(new Uint8Array(encodeMessage(msg as ServerMessage)), theirs)).toStrictEqual(msg);
  });

  it.each(all)('%s: theirs → ours', (_, msg, decode) => {
    expect(decode(theirEncode(msg, theirs))).toStrictEqual(msg);
  });

  it('reads small 64-bit values that another library packed compactly as bigint', () => {
    // Without useBigInt64 @msgpack/msgpack packs bigint-free numbers as the smallest int.
    const frame = theirEncode({
      t: 'req',
      id: 1,
      op: 'mem.read',
      args: { address: 4096, length: 1, space: 'virtual' },
    });
    expect(decodeClientMessage(frame)).toStrictEqual({
      t: 'req',
      id: 1,
      op: 'mem.read',
      args: { address: 4096n, length: 1, space: 'virtual' },
    });
  });

  it('reads 32-bit fields that another library packed as int64', () => {
    const frame = theirEncode({ t: 'req', id: 2n, op: 'exec.switchCore', args: { vcpu: 1n } }, theirs);
    expect(decodeClientMessage(frame)).toStrictEqual({ t: 'req', id: 2, op: 'exec.switchCore', args: { vcpu: 1 } });
  });
});

function catchError(fn: () => unknown): HvdbgError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HvdbgError) return e;
    throw e;
  }
  throw new Error('expected an HvdbgError');
}
