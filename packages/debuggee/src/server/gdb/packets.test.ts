import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checksum,
  decodeData,
  escapeBinary,
  framePacket,
  fromHex,
  leHex,
  MAX_PACKET_BYTES,
  PacketReader,
  parseHexNumber,
  parseLeHex,
  type ReadItem,
} from './packets.js';

const packetsOf = (items: ReadItem[]) => items.flatMap((i) => (i.type === 'packet' ? [i.data.toString('latin1')] : []));

describe('checksum and framing', () => {
  it('sums bytes modulo 256 as gdb does', () => {
    expect(checksum(Buffer.from('OK'))).toBe(0x9a);
    expect(framePacket('OK').toString('latin1')).toBe('$OK#9a');
    expect(framePacket('').toString('latin1')).toBe('$#00');
    expect(framePacket('qSupported').toString('latin1')).toBe('$qSupported#37');
  });

  it('escapes $ # } * in data and checksums the escaped bytes', () => {
    const framed = framePacket(Buffer.from([0x24, 0x23, 0x7d, 0x2a, 0x41]));
    expect([...framed.subarray(1, -3)]).toEqual([0x7d, 0x04, 0x7d, 0x03, 0x7d, 0x5d, 0x7d, 0x0a, 0x41]);
    expect(framed.subarray(-2).toString()).toBe(checksum(framed.subarray(1, -3)).toString(16).padStart(2, '0'));
  });

  it('round-trips any bytes through escape and decode', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoded = decodeData(escapeBinary(bytes));
        expect(Buffer.isBuffer(decoded)).toBe(true);
        expect([...(decoded as Buffer)]).toEqual([...bytes]);
      }),
    );
  });

  it('reads back everything it frames, whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 5 }),
        fc.integer({ min: 1, max: 7 }),
        (datas, step) => {
          const wire = Buffer.concat(datas.map((d) => framePacket(d)));
          const reader = new PacketReader();
          const items: ReadItem[] = [];
          for (let i = 0; i < wire.length; i += step) items.push(...reader.feed(wire.subarray(i, i + step)));
          expect(items.map((i) => (i.type === 'packet' ? [...i.data] : i.type))).toEqual(datas.map((d) => [...d]));
        },
      ),
    );
  });
});

describe('run-length decoding', () => {
  it('expands X*n to n - 29 extra copies', () => {
    // '0* ' = '0' + 3 more; '0*"' = '0' + 5 more (the gdb manual's examples).
    expect(decodeData(Buffer.from('0* ')).toString()).toBe('0000');
    expect(decodeData(Buffer.from('a0*"b')).toString()).toBe('a000000b');
  });

  it('repeats an escaped byte', () => {
    expect([...(decodeData(Buffer.from([0x7d, 0x5d, 0x2a, 0x20])) as Buffer)]).toEqual([0x7d, 0x7d, 0x7d, 0x7d]);
  });

  it('rejects malformed escapes and counts', () => {
    expect(decodeData(Buffer.from('abc}'))).toBe('escape at the end of the packet');
    expect(decodeData(Buffer.from('*a'))).toMatch(/run-length marker/);
    expect(decodeData(Buffer.from('a*'))).toMatch(/run-length marker/);
    expect(decodeData(Buffer.from('a*\x1f'))).toMatch(/bad run-length count/);
  });
});

describe('PacketReader', () => {
  it('tells acks, nacks and interrupts apart from packets', () => {
    const r = new PacketReader();
    const items = r.feed(Buffer.from('+-\x03$g#67junk+'));
    expect(items).toEqual([
      { type: 'ack' },
      { type: 'nack' },
      { type: 'interrupt' },
      { type: 'packet', data: Buffer.from('g') },
      { type: 'ack' },
    ]);
  });

  it('keeps 0x03 inside a packet as data', () => {
    const data = Buffer.from([0x58, 0x03]);
    expect(packetsOf(new PacketReader().feed(framePacket(data)))).toEqual(['X\x03']);
  });

  it('reports a checksum mismatch and stays in sync for the next packet', () => {
    const r = new PacketReader();
    const items = r.feed(Buffer.from('$g#00$g#67'));
    expect(items[0]).toEqual({ type: 'bad', reason: 'checksum mismatch (sent 00, computed 67)' });
    expect(items[1]).toEqual({ type: 'packet', data: Buffer.from('g') });
  });

  it('reports non-hex checksums, bad escapes and oversized frames as bad', () => {
    const r = new PacketReader();
    expect(r.feed(Buffer.from('$g#zz'))[0]).toEqual({ type: 'bad', reason: 'checksum is not two hex digits' });
    const dangling = Buffer.from('$a}#');
    const sum = checksum(Buffer.from('a}')).toString(16).padStart(2, '0');
    expect(r.feed(Buffer.concat([dangling, Buffer.from(sum)]))[0]).toEqual({
      type: 'bad',
      reason: 'escape at the end of the packet',
    });
    const huge = Buffer.concat([Buffer.from('$'), Buffer.alloc(MAX_PACKET_BYTES + 10, 0x61), Buffer.from('#00')]);
    expect(r.feed(huge)).toEqual([{ type: 'bad', reason: `packet longer than ${MAX_PACKET_BYTES} bytes` }]);
    expect(packetsOf(r.feed(framePacket('?')))).toEqual(['?']);
  });

  it('restarts on a $ inside a frame (the peer abandoned it)', () => {
    expect(packetsOf(new PacketReader().feed(Buffer.from('$abc$g#67')))).toEqual(['g']);
  });

  it('survives arbitrary garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const r = new PacketReader();
        r.feed(bytes);
        expect(packetsOf(r.feed(framePacket('OK')))).toContain('OK');
      }),
    );
  });
});

describe('hex helpers', () => {
  it('encodes register values little-endian', () => {
    expect(leHex(0x1234n, 8)).toBe('3412000000000000');
    expect(leHex(-1n, 4)).toBe('ffffffff');
    expect(parseLeHex('3412000000000000')).toBe(0x1234n);
    expect(parseLeHex('3g')).toBeUndefined();
  });

  it('parses gdb numbers and hex data strictly', () => {
    expect(parseHexNumber('ffffffff80100000')).toBe(0xffff_ffff_8010_0000n);
    expect(parseHexNumber('')).toBeUndefined();
    expect(parseHexNumber('1'.repeat(17))).toBeUndefined();
    expect(fromHex('0a0B')).toEqual(Buffer.from([10, 11]));
    expect(fromHex('abc')).toBeUndefined();
  });
});
