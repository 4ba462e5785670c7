/**
 * The gdb remote-protocol listener (`--gdb 127.0.0.1:PORT`): a TCP server on loopback serving one
 * gdb at a time over the same DebugTarget the hvdbg server drives.
 *
 * - The protocol has no authentication, so only loopback addresses are accepted.
 * - One gdb at a time: a second connection gets a clear error reply and is closed (not left to
 *   hang in a handshake that never completes).
 * - The target has one listener slot, held by the hvdbg server; the stub installs a fan-out that
 *   keeps the server first (observers still see every halt, including those gdb causes) and
 *   forwards to the active gdb session second.
 * - The gdb connection is the controller: it claims the role when it connects (refused while an
 *   hvdbg client controls the guest) and gives it back when it leaves.
 * The guest itself runs in the hvdbg server's run loop; a resume from gdb wakes it through the
 * server's onResume.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { HvdbgError, type StateChange } from '@hvdbg/protocol';
import type { Logger } from 'pino';
import { isLoopbackHost } from '../../config.js';
import type { DebugTarget, TargetListener } from '../../target.js';
import { ListenerFanout } from './fanout.js';
import { framePacket, PacketReader } from './packets.js';
import { GdbSession } from './session.js';

/** After detach, how long the peer has to close its side before the stub drops the connection. */
const CLOSE_GRACE_MS = 2000;

/** How the stub takes and gives back the controller role of the hvdbg session registry. */
export interface GdbControllerHooks {
  /** Claims the role for gdb; returns the client id to attribute to, or throws E_CONTROLLER_TAKEN. */
  acquire(): number;
  release(): void;
  /** Tells hvdbg clients of a change gdb made (a register, memory or breakpoint write). */
  announce?(change: StateChange): void;
}

export interface GdbStubOptions {
  host: string;
  /** 0 picks a free port (see GdbStub.port). */
  port: number;
  log: Logger;
  /** The listener the target reported to before (the hvdbg server); it keeps receiving everything. */
  forward?: TargetListener;
  controller?: GdbControllerHooks;
}

export interface GdbStub {
  readonly host: string;
  readonly port: number;
  /** True while a gdb is attached. */
  readonly attached: boolean;
  close(): Promise<void>;
}

/** Starts listening; resolves once bound. Throws E_CONFIG for a non-loopback or busy address. */
export async function startGdbStub(target: DebugTarget, options: GdbStubOptions): Promise<GdbStub> {
  if (!isLoopbackHost(options.host)) {
    throw new HvdbgError('E_CONFIG', `--gdb: the gdb port has no authentication: loopback only, not ${options.host}`);
  }
  if (target.mode === 'local') {
    // gdb halts the guest at every stop, and local mode refuses halting: the debugger shares the machine.
    throw new HvdbgError('E_CONFIG', '--gdb cannot be used with --local: gdb needs to halt the guest');
  }
  const stub = new GdbStubServer(target, options);
  await stub.listen();
  return stub;
}

class GdbStubServer implements GdbStub {
  private readonly server: Server;
  private readonly log: Logger;
  private active: { socket: Socket; session: GdbSession } | undefined = undefined;
  private readonly sockets = new Set<Socket>();
  private bound = { host: '', port: 0 };

  constructor(
    private readonly target: DebugTarget,
    private readonly options: GdbStubOptions,
  ) {
    this.log = options.log;
    const relay: TargetListener = {
      onLog: () => {},
      onDropped: () => {},
      onConsole: (text) => this.active?.session.onConsole(text),
      onHalt: (info) => this.active?.session.onHalt(info),
      onResume: () => {},
      onEventsChanged: () => {},
    };
    const listeners = options.forward === undefined ? [relay] : [options.forward, relay];
    target.setListener(new ListenerFanout(listeners, (err) => this.log.error({ err }, 'target listener failed')));
    this.server = createServer((socket) => this.onConnection(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'gdb listening socket failed'));
  }

  get host(): string {
    return this.bound.host;
  }

  get port(): number {
    return this.bound.port;
  }

  get attached(): boolean {
    return this.active !== undefined;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(
          new HvdbgError(
            'E_CONFIG',
            `--gdb: cannot listen on ${this.options.host}:${this.options.port}: ${err.code ?? err.message}`,
          ),
        );
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        if (a !== null && typeof a === 'object') this.bound = { host: a.address, port: a.port };
        this.log.info(this.bound, 'gdb stub listening');
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    // A socket error must never become an uncaught exception.
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'gdb socket error'));
    socket.once('close', () => this.sockets.delete(socket));
    const remote = { remote: socket.remoteAddress, port: socket.remotePort };
    if (this.active !== undefined) {
      this.refuse(socket, 'another gdb is already attached to this guest');
      return;
    }
    let clientId: number | undefined;
    try {
      clientId = this.options.controller?.acquire();
    } catch (err) {
      const message = err instanceof HvdbgError ? err.message : 'the controller role is not available';
      this.refuse(socket, message);
      return;
    }
    const session = new GdbSession(
      this.target,
      {
        write: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        end: () => {
          socket.end();
          // A peer that never closes its side must not hold the port (and the controller role).
          setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
        },
      },
      this.log.child({ gdb: remote.port }),
      clientId,
      (change) => this.options.controller?.announce?.(change),
    );
    this.active = { socket, session };
    this.log.info(remote, 'gdb attached');
    socket.on('data', (chunk: Buffer) => {
      try {
        session.receive(chunk);
      } catch (err) {
        // A bug in a handler must cost this connection, never the daemon.
        this.log.error({ err }, 'gdb session failed; closing the connection');
        socket.destroy();
      }
    });
    socket.once('close', () => {
      session.dispose();
      if (this.active?.socket === socket) this.active = undefined;
      this.options.controller?.release();
      this.log.info(remote, 'gdb detached');
    });
    try {
      session.attach();
    } catch (err) {
      this.log.warn({ err }, 'could not halt the guest for gdb');
    }
  }

  /**
   * Answers the refused gdb's first packet with an error that names the reason (gdb prints
   * "Remote failure reply" with it), then closes: a clear failure instead of a hang.
   */
  private refuse(socket: Socket, reason: string): void {
    this.log.warn({ remote: socket.remoteAddress, port: socket.remotePort, reason }, 'gdb connection refused');
    const reader = new PacketReader();
    const timer = setTimeout(() => socket.destroy(), 5000);
    timer.unref();
    socket.on('data', (chunk: Buffer) => {
      if (!reader.feed(chunk).some((i) => i.type === 'packet')) return;
      socket.end(Buffer.concat([Buffer.from('+'), framePacket(`E.hvdbg: ${reason}`)]));
    });
    socket.once('close', () => clearTimeout(timer));
  }
}
