/**
 * Drives a GdbSession the way gdb does, without a socket: frames packets in, and decodes what the
 * session wrote back into acks and packets.
 */
import type { StateChange } from '@hvdbg/protocol';
import pino from 'pino';
import { framePacket, PacketReader, type ReadItem } from '../packets.js';
import { GdbSession } from '../session.js';
import { FakeGdbTarget } from './fakeTarget.js';

export const SILENT = pino({ level: 'silent' });

export class SessionWire {
  readonly target: FakeGdbTarget;
  readonly session: GdbSession;
  ended = false;
  private readonly written: Buffer[] = [];
  private readonly reader = new PacketReader();

  constructor(
    options: {
      vcpus?: number;
      clientId?: number;
      target?: FakeGdbTarget;
      /** Receives the session's announcements to hvdbg clients. */
      announce?: (change: StateChange) => void;
    } = {},
  ) {
    this.target = options.target ?? new FakeGdbTarget(options.vcpus ?? 2);
    this.session = new GdbSession(
      this.target,
      {
        write: (b) => this.written.push(Buffer.from(b)),
        end: () => {
          this.ended = true;
        },
      },
      SILENT,
      options.clientId ?? 7,
      options.announce,
    );
    this.target.setListener(this.session);
  }

  /** Raw bytes as gdb would send them. */
  raw(bytes: string | Buffer): void {
    this.session.receive(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Everything written since the last call, decoded. */
  take(): ReadItem[] {
    return this.reader.feed(Buffer.concat(this.written.splice(0)));
  }

  /** The bytes written since the last call, undecoded. */
  takeRaw(): string {
    return Buffer.concat(this.written.splice(0)).toString('latin1');
  }

  /** Sends one packet; returns the packets written in reply (acks dropped). */
  send(data: string | Buffer): string[] {
    this.session.receive(framePacket(data));
    return this.packets();
  }

  /** Sends one packet and expects exactly one reply packet. */
  ask(data: string | Buffer): string {
    const replies = this.send(data);
    if (replies.length !== 1) throw new Error(`expected one reply to ${String(data)}, got ${JSON.stringify(replies)}`);
    return replies[0]!;
  }

  /** Packets written since the last call. */
  packets(): string[] {
    return this.take().flatMap((i) => (i.type === 'packet' ? [i.data.toString('latin1')] : []));
  }

  /** gdb's usual opening: features, no-ack mode. */
  handshake(features = 'multiprocess+;swbreak+;hwbreak+;vContSupported+'): string {
    const supported = this.ask(`qSupported:${features}`);
    this.ask('QStartNoAckMode');
    this.take();
    return supported;
  }
}

/** Hex of a UTF-8 string, as O packets and qRcmd carry text. */
export function hexText(text: string): string {
  return Buffer.from(text, 'utf8').toString('hex');
}

/** Text of the O packets among `packets`. */
export function outputOf(packets: string[]): string {
  return packets
    .filter((p) => p.startsWith('O') && p !== 'OK')
    .map((p) => Buffer.from(p.slice(1), 'hex').toString('utf8'))
    .join('');
}
