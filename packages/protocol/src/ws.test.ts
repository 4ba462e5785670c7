import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeClientMessage, encodeMessage } from './codec.js';
import { HvdbgError } from './errors.js';
import { LIMITS } from './limits.js';
import { SAMPLE_HELLO } from './samples.js';
import { frameBytes, WS_OPTIONS } from './ws.js';

describe('frameBytes', () => {
  it('accepts every binary shape ws delivers', () => {
    expect([...frameBytes(Buffer.from([1, 2]), true)]).toEqual([1, 2]);
    expect([...frameBytes(new Uint8Array([3]).buffer, true)]).toEqual([3]);
    expect([...frameBytes([Buffer.from([4]), Buffer.from([5])], true)]).toEqual([4, 5]);
  });

  it('refuses text frames', () => {
    expect(() => frameBytes(Buffer.from('{}'), false)).toThrow(HvdbgError);
  });
});

describe('WS_OPTIONS on a real socket pair', () => {
  let server: WebSocketServer | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('carries a frame within the limit and closes the socket (1009) on one above it', async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...WS_OPTIONS });
    const received: unknown[] = [];
    const serverErrors: Error[] = [];
    const serverClosed = new Promise<void>((resolve) => {
      server!.on('connection', (socket) => {
        // First thing on every socket: without this listener the oversize frame below would
        // throw from the emitter and take the whole process with it.
        socket.on('error', (err) => serverErrors.push(err));
        socket.on('message', (data, isBinary) => received.push(decodeClientMessage(frameBytes(data, isBinary))));
        socket.on('close', () => resolve());
      });
    });
    await new Promise((resolve) => server!.on('listening', resolve));
    const { port } = server.address() as AddressInfo;

    const client = new WebSocket(`ws://127.0.0.1:${port}`, WS_OPTIONS);
    client.on('error', () => {});
    const clientClosed = new Promise<number>((resolve) => client.on('close', (code) => resolve(code)));
    await new Promise((resolve) => client.on('open', resolve));
    client.send(encodeMessage(SAMPLE_HELLO));
    client.send(new Uint8Array(LIMITS.maxFrameBytes + 1));

    await serverClosed;
    // The daemon side tells the peer why: 1009, message too big.
    expect(await clientClosed).toBe(1009);
    expect(received).toStrictEqual([SAMPLE_HELLO]);
    expect(serverErrors.map((e) => (e as Error & { code?: string }).code)).toEqual([
      'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    ]);
  });
});
