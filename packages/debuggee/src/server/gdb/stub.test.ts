import { connect, type Socket } from 'node:net';
import { HvdbgError } from '@hvdbg/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { TargetListener } from '../../target.js';
import { framePacket, PacketReader, type ReadItem } from './packets.js';
import { type GdbStub, startGdbStub } from './stub.js';
import { FakeGdbTarget } from './testing/fakeTarget.js';
import { SILENT } from './testing/wire.js';

/** A minimal gdb on a socket: sends packets, collects what comes back. */
class Peer {
  private readonly reader = new PacketReader();
  private items: ReadItem[] = [];
  private waiters: (() => void)[] = [];
  closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.items.push(...this.reader.feed(chunk));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(port: number): Promise<Peer> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Peer(socket);
  }

  send(data: string): void {
    this.socket.write(framePacket(data));
  }

  /** Waits until `count` packets arrived; returns all items so far (acks included) and clears them. */
  async next(count = 1, timeoutMs = 2000): Promise<ReadItem[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.filter((i) => i.type === 'packet').length < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} packet(s)`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.items.splice(0);
  }

  async ask(data: string): Promise<string> {
    this.send(data);
    const items = await this.next();
    const packet = items.find((i) => i.type === 'packet');
    return packet?.type === 'packet' ? packet.data.toString('latin1') : '';
  }
}

const open: { stub?: GdbStub; peers: Peer[] } = { peers: [] };

afterEach(async () => {
  for (const p of open.peers) p.socket.destroy();
  open.peers = [];
  await open.stub?.close();
  open.stub = undefined;
});

async function start(target: FakeGdbTarget, extra: Partial<Parameters<typeof startGdbStub>[1]> = {}) {
  open.stub = await startGdbStub(target, { host: '127.0.0.1', port: 0, log: SILENT, ...extra });
  return open.stub;
}

async function peer(port: number): Promise<Peer> {
  const p = await Peer.open(port);
  open.peers.push(p);
  return p;
}

describe('gdb stub over TCP', () => {
  it('refuses to listen anywhere but loopback', async () => {
    await expect(startGdbStub(new FakeGdbTarget(), { host: '0.0.0.0', port: 0, log: SILENT })).rejects.toMatchObject({
      code: 'E_CONFIG',
    });
  });

  it('refuses to start in local mode, where halting is refused', async () => {
    const target = new FakeGdbTarget();
    target.mode = 'local';
    await expect(startGdbStub(target, { host: '127.0.0.1', port: 0, log: SILENT })).rejects.toThrow(/--local/);
  });

  it('serves a gdb: halts the guest on connect, acks, answers ?', async () => {
    const target = new FakeGdbTarget();
    const stub = await start(target);
    expect(stub.port).toBeGreaterThan(0);
    const gdb = await peer(stub.port);
    gdb.send('qSupported:swbreak+');
    const items = await gdb.next();
    expect(items[0]).toEqual({ type: 'ack' });
    expect(await gdb.ask('?')).toMatch(/^T02thread:1;/);
    expect(target.state()).toBe('halted');
    expect(stub.attached).toBe(true);
  });

  it('refuses a second gdb with a clear error and closes it, not a hang', async () => {
    const stub = await start(new FakeGdbTarget());
    const first = await peer(stub.port);
    expect(await first.ask('qC')).toBe('QC1');
    const second = await peer(stub.port);
    expect(await second.ask('qSupported')).toBe('E.hvdbg: another gdb is already attached to this guest');
    await second.closed;
    expect(await first.ask('qC')).toBe('QC1');
  });

  it('resets no-ack mode when a connection drops, and takes the next gdb', async () => {
    const target = new FakeGdbTarget();
    const stub = await start(target);
    const first = await peer(stub.port);
    expect(await first.ask('QStartNoAckMode')).toBe('OK');
    first.socket.write('+');
    first.send('qC');
    expect((await first.next()).map((i) => i.type)).toEqual(['packet']); // no ack any more
    first.socket.destroy();
    await first.closed;
    await waitFor(() => !stub.attached);
    const second = await peer(stub.port);
    second.send('qC');
    expect((await second.next()).map((i) => i.type)).toEqual(['ack', 'packet']);
  });

  it('forwards every target report to the previous listener as well', async () => {
    const target = new FakeGdbTarget();
    const seen: string[] = [];
    const forward: TargetListener = {
      onLog: () => seen.push('log'),
      onDropped: () => seen.push('dropped'),
      onConsole: (t) => seen.push(`console ${t}`),
      onHalt: (i) => seen.push(`halt ${i.reason}`),
      onResume: () => seen.push('resume'),
      onEventsChanged: () => seen.push('events'),
    };
    const stub = await start(target, { forward });
    const gdb = await peer(stub.port);
    expect(await gdb.ask('?')).toMatch(/^T02/);
    gdb.send('c');
    await waitFor(() => target.state() === 'running');
    target.listener.onConsole('hi');
    const console = await gdb.next();
    expect(
      console.some((i) => i.type === 'packet' && i.data.toString() === `O${Buffer.from('hi').toString('hex')}`),
    ).toBe(true);
    gdb.socket.write('\x03');
    expect((await gdb.next()).some((i) => i.type === 'packet' && i.data.toString().startsWith('T02'))).toBe(true);
    expect(seen).toEqual(['halt pause', 'resume', 'console hi', 'halt pause']);
  });

  it('claims the controller role for gdb and gives it back when gdb leaves', async () => {
    const target = new FakeGdbTarget();
    const calls: string[] = [];
    let taken = false;
    const stub = await start(target, {
      controller: {
        acquire: () => {
          if (taken) throw new HvdbgError('E_CONTROLLER_TAKEN', 'another client is already the controller');
          calls.push('acquire');
          return 42;
        },
        release: () => calls.push('release'),
      },
    });
    const gdb = await peer(stub.port);
    expect(await gdb.ask('?')).toMatch(/^T02/);
    gdb.send('c');
    await waitFor(() => target.resumes.length === 1);
    expect(target.resumes).toEqual([42]);
    gdb.socket.destroy();
    await waitFor(() => calls.length === 2);
    expect(calls).toEqual(['acquire', 'release']);
    taken = true;
    const refused = await peer(stub.port);
    expect(await refused.ask('qSupported')).toBe('E.hvdbg: another client is already the controller');
    await refused.closed;
  });

  it('survives garbage on the socket and keeps serving the same connection', async () => {
    const stub = await start(new FakeGdbTarget());
    const gdb = await peer(stub.port);
    const junk = Buffer.alloc(20_000);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
    gdb.socket.write(junk);
    gdb.socket.write('#zz$}#00$g#00');
    await gdb.next(0, 100).catch(() => []);
    expect(await gdb.ask('qC')).toBe('QC1');
  });

  it('drops a peer that keeps its side open after detach', async () => {
    const target = new FakeGdbTarget();
    const stub = await start(target);
    const gdb = await peer(stub.port);
    gdb.socket.allowHalfOpen = true; // never ends its own side when the stub ends
    expect(await gdb.ask('D')).toBe('OK');
    await waitFor(() => !stub.attached, 4000);
  });

  it('detach resumes the guest and closes the connection; the stub keeps listening', async () => {
    const target = new FakeGdbTarget();
    const stub = await start(target);
    const gdb = await peer(stub.port);
    expect(await gdb.ask('?')).toMatch(/^T02/);
    expect(await gdb.ask('D')).toBe('OK');
    await gdb.closed;
    expect(target.state()).toBe('running');
    await waitFor(() => !stub.attached);
    const again = await peer(stub.port);
    expect(await again.ask('qC')).toBe('QC1');
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
