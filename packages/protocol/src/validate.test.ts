/**
 * The validators' rules, one behaviour per test: number/bigint normalisation, nil as absent,
 * unknown fields dropped, ranges and limits, and the `data` that lets a receiver still answer.
 */
import { describe, expect, it } from 'vitest';
import { validateRequestArgs } from './args.js';
import { type ErrorCode, HvdbgError } from './errors.js';
import { LIMITS } from './limits.js';
import type { RequestOp } from './messages.js';
import { validateResult } from './results.js';
import { SAMPLE_HALT } from './samples.js';
import { validateClientMessage, validateServerMessage } from './validate.js';

function refusal(fn: () => unknown): { code: ErrorCode; data: unknown } {
  try {
    fn();
  } catch (e) {
    if (e instanceof HvdbgError) return { code: e.code, data: e.data };
    throw e;
  }
  throw new Error('expected an HvdbgError');
}

const args = <Op extends RequestOp>(op: Op, a: unknown) => validateRequestArgs(op, a);

describe('integers', () => {
  it('normalises 64-bit fields from safe numbers and bigints to bigint', () => {
    expect(args('mem.translate', { address: 4096 })).toStrictEqual({ address: 4096n });
    expect(args('mem.translate', { address: 0xffff_ffff_ffff_ffffn })).toStrictEqual({
      address: 0xffff_ffff_ffff_ffffn,
    });
  });

  it.each([
    ['negative', -1],
    ['negative bigint', -1n],
    ['2^64', 1n << 64n],
    ['unsafe number', 2 ** 53],
    ['fraction', 1.5],
    ['NaN', Number.NaN],
    ['string', '4096'],
    ['boolean', true],
  ])('refuses a 64-bit field that is %s', (_, address) => {
    expect(refusal(() => args('mem.translate', { address })).code).toBe('E_BAD_MESSAGE');
  });

  it('normalises 32-bit fields from bigints to numbers', () => {
    expect(args('exec.switchCore', { vcpu: 0xffff_ffffn })).toStrictEqual({ vcpu: 0xffff_ffff });
    expect(args('cpu.rdmsr', { msr: 0xc000_0082n })).toStrictEqual({ msr: 0xc000_0082 });
  });

  it('reads a float -0 as the id 0', () => {
    expect(Object.is(args('exec.switchCore', { vcpu: -0 }).vcpu, 0)).toBe(true);
  });

  it.each([-1, 2 ** 32, 0.5, 1n << 32n, -1n])('refuses a 32-bit field of %s', (vcpu) => {
    expect(refusal(() => args('exec.switchCore', { vcpu })).code).toBe('E_BAD_MESSAGE');
  });

  it('tells a count below its minimum (malformed) from one above its limit (too large)', () => {
    expect(refusal(() => args('exec.step', { kind: 'into', count: 0 })).code).toBe('E_BAD_MESSAGE');
    expect(refusal(() => args('exec.step', { kind: 'into', count: LIMITS.maxStepCount + 1 })).code).toBe('E_TOO_LARGE');
    expect(args('exec.step', { kind: 'into', count: LIMITS.maxStepCount })).toStrictEqual({
      kind: 'into',
      count: LIMITS.maxStepCount,
    });
  });
});

describe('fields', () => {
  it('drops unknown fields instead of copying them through', () => {
    const msg = validateClientMessage({ t: 'req', id: 1, op: 'exec.switchCore', args: { vcpu: 1, extra: 2 }, x: 3 });
    expect(msg).toStrictEqual({ t: 'req', id: 1, op: 'exec.switchCore', args: { vcpu: 1 } });
  });

  it('treats nil as absent for optional fields, but not for required ones', () => {
    expect(args('mem.translate', { address: 1, vcpu: null, pid: null })).toStrictEqual({ address: 1n });
    expect(refusal(() => args('mem.translate', { address: null })).code).toBe('E_BAD_MESSAGE');
  });

  it('treats absent args as an empty map', () => {
    expect(validateClientMessage({ t: 'req', id: 2, op: 'status' })).toStrictEqual({
      t: 'req',
      id: 2,
      op: 'status',
      args: {},
    });
  });

  it("accepts 'all' or an id for modify ops, and nothing else", () => {
    expect(args('event.modify', { id: 'all', action: 'clear' })).toStrictEqual({ id: 'all', action: 'clear' });
    expect(args('bp.modify', { id: 3n, action: 'enable' })).toStrictEqual({ id: 3, action: 'enable' });
    expect(refusal(() => args('bp.modify', { id: 'some', action: 'enable' })).code).toBe('E_BAD_MESSAGE');
  });

  it('needs a name or an address for a symbol lookup', () => {
    expect(refusal(() => args('symbols.lookup', {})).code).toBe('E_BAD_MESSAGE');
    expect(args('symbols.lookup', { address: 1 })).toStrictEqual({ address: 1n });
  });

  it('limits byte strings and lists by the documented limits', () => {
    const script = { type: 'script', buffer: new Uint8Array(LIMITS.maxScriptBytes + 1) };
    expect(refusal(() => args('script.eval', script)).code).toBe('E_TOO_LARGE');
    const names = new Array(LIMITS.maxRegisterNames + 1).fill('rax');
    expect(refusal(() => args('regs.get', { names })).code).toBe('E_TOO_LARGE');
    const write = { address: 0, bytes: new Uint8Array(LIMITS.maxMemoryBytes + 1), space: 'virtual' };
    expect(refusal(() => args('mem.write', write)).code).toBe('E_TOO_LARGE');
  });

  it('uses the catalogue codes of event kinds and actions for unknown ones', () => {
    const spec = { kind: 'syscall', stage: 'pre', sc: false, imm: true, bufferSize: 0, text: '!syscall', actions: [] };
    expect(args('event.add', spec)).toStrictEqual(spec);
    expect(refusal(() => args('event.add', { ...spec, kind: 'nmi' })).code).toBe('E_BAD_EVENT');
    expect(refusal(() => args('event.add', { ...spec, actions: [{ type: 'reboot' }] })).code).toBe('E_BAD_ACTION');
  });

  it('refuses things that are not plain maps where a map is expected', () => {
    for (const value of [[], new Uint8Array(1), new Date(0), new Map(), 'x']) {
      expect(refusal(() => validateClientMessage(value)).code).toBe('E_BAD_MESSAGE');
    }
  });
});

describe('error data for answering anyway', () => {
  it('carries the id of a request with a bad op or bad args', () => {
    expect(refusal(() => validateClientMessage({ t: 'req', id: 9, op: 'x' }))).toStrictEqual({
      code: 'E_UNKNOWN_REQUEST',
      data: { id: 9 },
    });
    expect(refusal(() => validateClientMessage({ t: 'req', id: 9n, op: 'mem.read', args: {} }))).toStrictEqual({
      code: 'E_BAD_MESSAGE',
      data: { id: 9 },
    });
  });

  it('carries the protocol version of a hello in another shape', () => {
    expect(refusal(() => validateClientMessage({ t: 'hello', protocolVersion: 7, role: 'root' }))).toStrictEqual({
      code: 'E_BAD_MESSAGE',
      data: { protocolVersion: 7 },
    });
  });

  it('carries the id of a response whose envelope is bad', () => {
    expect(refusal(() => validateServerMessage({ t: 'res', id: 4, ok: false }))).toStrictEqual({
      code: 'E_BAD_MESSAGE',
      data: { id: 4 },
    });
  });
});

describe('server messages', () => {
  it('keeps a successful result as plain data until the op is known', () => {
    const result = { bytes: Buffer.from([1, 2]), extra: [1, { a: 2n }] };
    const msg = validateServerMessage({ t: 'res', id: 1, ok: true, result });
    expect(msg).toStrictEqual({
      t: 'res',
      id: 1,
      ok: true,
      result: { bytes: new Uint8Array([1, 2]), extra: [1, { a: 2n }] },
    });
    if (msg.t !== 'res' || !msg.ok) throw new Error('unreachable');
    expect(validateResult('mem.read', msg.result)).toStrictEqual({ bytes: new Uint8Array([1, 2]) });
  });

  it('refuses a halt report with more than 16 instruction bytes', () => {
    const halt = { ...SAMPLE_HALT, bytes: new Uint8Array(17) };
    expect(refusal(() => validateServerMessage({ t: 'halted', ...halt })).code).toBe('E_TOO_LARGE');
  });

  it('refuses a log batch above the batch limit', () => {
    const record = { seq: 0n, eventId: 1, kind: 1, vcpu: 0, pid: 0, tid: 0, time: 0n, stage: 'pre', text: 'x' };
    const batch = new Array(LIMITS.maxLogBatch + 1).fill(record);
    expect(refusal(() => validateServerMessage({ t: 'log', batch })).code).toBe('E_TOO_LARGE');
    expect(validateServerMessage({ t: 'log', batch: batch.slice(1) })).toMatchObject({ t: 'log' });
  });

  it('refuses free-form keys that name a prototype slot', () => {
    for (const key of ['__proto__', 'constructor']) {
      const map = JSON.parse(`{"rax": 1, "${key}": 2}`);
      expect(refusal(() => validateResult('regs.get', { vcpu: 0, regs: map })).code).toBe('E_BAD_MESSAGE');
      const error = { code: 'E_INTERNAL', message: 'x', data: map };
      expect(refusal(() => validateServerMessage({ t: 'refused', error })).code).toBe('E_BAD_MESSAGE');
    }
    expect(validateResult('regs.get', { vcpu: 0, regs: { rax: 1 } })).toStrictEqual({ vcpu: 0, regs: { rax: 1n } });
  });

  it('refuses error codes outside the catalogue', () => {
    expect(refusal(() => validateServerMessage({ t: 'refused', error: { code: 'E_NEW', message: '' } })).code).toBe(
      'E_BAD_MESSAGE',
    );
  });
});
