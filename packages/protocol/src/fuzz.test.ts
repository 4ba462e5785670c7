/**
 * Property: whatever arrives — random bytes, random msgpack values, mutated real frames — the
 * decoders return a valid message or throw HvdbgError with a catalogue code. Never anything else.
 * A returned message must survive a second encode/decode unchanged (it really is valid).
 */
import { encode as theirEncode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isRequestOp } from './args.js';
import { decodeClientMessage, decodeServerMessage, encodeMessage } from './codec.js';
import { HvdbgError, isErrorCode } from './errors.js';
import type { RequestOp } from './messages.js';
import { validateResult } from './results.js';
import { SAMPLE_ARGS, SAMPLE_RESULTS, sampleClientMessages, sampleServerMessages } from './samples.js';

const RUNS = 500;
const OPS = Object.keys(SAMPLE_ARGS) as RequestOp[];
const TYPES = ['hello', 'req', 'welcome', 'refused', 'res', ...sampleServerMessages().map((m) => m.t)];

type Decoder = (bytes: Uint8Array) => unknown;
const DECODERS: [string, Decoder][] = [
  ['client', decodeClientMessage],
  ['server', decodeServerMessage],
  ...OPS.map((op): [string, Decoder] => [`result of ${op}`, (bytes) => decodeResult(op, bytes)]),
];

/** Decodes a server frame and, for a successful response, validates its result as `op`. */
function decodeResult(op: RequestOp, bytes: Uint8Array): unknown {
  const msg = decodeServerMessage(bytes);
  return msg.t === 'res' && msg.ok ? { ...msg, result: validateResult(op, msg.result) } : msg;
}

/** Runs `decode`; a thrown HvdbgError must carry a catalogue code, anything else fails the test. */
function decodesOrRefuses(decode: Decoder, bytes: Uint8Array): void {
  let msg: unknown;
  try {
    msg = decode(bytes);
  } catch (e) {
    if (!(e instanceof HvdbgError)) throw e;
    expect(isErrorCode(e.code)).toBe(true);
    return;
  }
  expect(decode(encodeMessage(msg as never))).toStrictEqual(msg);
}

/** Any value msgpack can carry without extensions, up to a modest depth. */
const msgpackValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
    fc.string(),
    fc.constantFrom('all', 'virtual', 'physical', 'pre', 'post', 'controller', 'observer', 'E_BAD_MESSAGE', ...OPS),
    fc.uint8Array({ maxLength: 24 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 't', 'id', 'op')), tie('value'), {
      maxKeys: 5,
    }),
  ),
})).value;

/** Maps shaped like messages, so values reach the field validators and not just the type check. */
const messageLike = fc.record(
  {
    t: fc.constantFrom(...TYPES),
    id: fc.oneof(fc.nat(), msgpackValue),
    op: fc.oneof(fc.constantFrom(...OPS), fc.string()),
    ok: fc.boolean(),
    args: msgpackValue,
    result: msgpackValue,
    error: msgpackValue,
    protocolVersion: fc.oneof(fc.constant(1), msgpackValue),
    role: fc.constantFrom('controller', 'observer', 'admin'),
    clientName: msgpackValue,
    batch: fc.array(msgpackValue, { maxLength: 3 }),
  },
  { requiredKeys: ['t'] },
);

/** Real frames with a few bytes overwritten, or cut short. */
const realFrames = [...sampleClientMessages(), ...sampleServerMessages()].map((m) => encodeMessage(m));
const mutatedFrame = fc
  .tuple(
    fc.constantFrom(...realFrames),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
    fc.option(fc.nat()),
  )
  .map(([frame, edits, cut]) => {
    const bytes = new Uint8Array(frame);
    for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
    return cut === null ? bytes : bytes.subarray(0, cut % bytes.length);
  });

const encodeTheirs = (v: unknown) => theirEncode(v, { useBigInt64: true });

describe.each(DECODERS)('%s decoder', (_, decode) => {
  it('survives arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => decodesOrRefuses(decode, bytes)),
      { numRuns: RUNS },
    );
  });

  it('survives arbitrary msgpack values', () => {
    fc.assert(
      fc.property(msgpackValue, (v) => decodesOrRefuses(decode, encodeTheirs(v))),
      { numRuns: RUNS },
    );
  });

  it('survives message-shaped maps of arbitrary values', () => {
    fc.assert(
      fc.property(messageLike, (v) => decodesOrRefuses(decode, encodeTheirs(v))),
      { numRuns: RUNS },
    );
  });

  it('survives mutated and truncated real frames', () => {
    fc.assert(
      fc.property(mutatedFrame, (bytes) => decodesOrRefuses(decode, bytes)),
      { numRuns: RUNS },
    );
  });
});

describe('request args', () => {
  it('every op takes arbitrary args without any exception but a catalogue error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPS), msgpackValue, (op, args) => {
        expect(isRequestOp(op)).toBe(true);
        decodesOrRefuses(decodeClientMessage, encodeTheirs({ t: 'req', id: 1, op, args }));
      }),
      { numRuns: RUNS },
    );
  });

  it('every result validator refuses garbage with a catalogue code', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OPS), msgpackValue, (op, result) => {
        try {
          validateResult(op, result);
        } catch (e) {
          if (!(e instanceof HvdbgError)) throw e;
        }
      }),
      { numRuns: RUNS },
    );
    // The samples themselves validate: the property above is not vacuously refusing everything.
    for (const op of OPS) expect(validateResult(op, SAMPLE_RESULTS[op])).toStrictEqual(SAMPLE_RESULTS[op]);
  });
});
