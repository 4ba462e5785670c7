/** One frame for every client: the bytes ws itself would put on the wire for the message. */
import { encodeMessage, type LogRecord } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { LogFrameEncoder } from './logFrame.js';
import { wsFrame, wsPayload } from './wsFrame.js';

/** ws's framing routine; exported at run time, absent from its type declarations. */
const Sender = (ws as unknown as { Sender: { frame(data: Buffer, options: object): Uint8Array[] } }).Sender;

/** What ws's own server-side sender writes for a binary message (unmasked, one frame). */
function reference(payload: Uint8Array): Buffer {
  const parts = Sender.frame(Buffer.from(payload), { fin: true, opcode: 2, mask: false, readOnly: false, rsv1: false });
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

describe('wsFrame', () => {
  it.each([0, 1, 125, 126, 127, 0xffff, 0x10000, 200_000])('frames a %i-byte message as ws does', (n) => {
    const payload = Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
    const frame = wsFrame(payload);
    expect(Buffer.from(frame).equals(reference(payload))).toBe(true);
    expect(Buffer.from(wsPayload(frame)).equals(Buffer.from(payload))).toBe(true);
  });

  it('gives a log batch the frame of its protocol encoding', () => {
    const batch = (n: number): LogRecord[] =>
      Array.from({ length: n }, (_, i) => ({
        seq: BigInt(i),
        eventId: 1,
        kind: 2,
        vcpu: 0,
        pid: 4,
        tid: 8,
        time: 123_456_789n,
        stage: 'pre' as const,
        text: `record ${i}`,
      }));
    const enc = new LogFrameEncoder();
    for (const n of [1, 2, 60, 1000]) {
      const b = batch(n);
      expect(Buffer.from(enc.encodeFrame(b)).equals(reference(encodeMessage({ t: 'log', batch: b })))).toBe(true);
    }
  });
});
