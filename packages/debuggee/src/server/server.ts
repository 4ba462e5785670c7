/**
 * The daemon's wire side: a WebSocket server in front of one DebugTarget.
 *
 * It owns the listening socket and its admission rules (Host check against DNS rebinding, a token
 * for any non-loopback bind, a cap on connections), the run loop that drives the guest, and the
 * fan-out of everything the target reports. Fan-out encodes each notification once and hands the
 * same buffer to every client, in one order, so observers see exactly the controller's stream and
 * an extra observer costs only its socket writes, never another encoding.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  encodeMessage,
  HvdbgError,
  LIMITS,
  type LogRecord,
  type Mode,
  type Notification,
  PROTOCOL_VERSION,
  type Role,
  SERVER_VERSION,
  type StateChange,
  type StatusInfo,
  type WelcomeMessage,
  WS_OPTIONS,
} from '@hvdbg/protocol';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { validateExposure } from '../config.js';
import { sessionLogger } from '../log.js';
import type { DebugTarget, DropReport, TargetListener } from '../target.js';
import type { ChannelLimits } from './channel.js';
import { HANDLERS, type HandlerTable } from './handlers/index.js';
import { LogFrameEncoder } from './logFrame.js';
import { type ControllerLossPolicy, Roles } from './roles.js';
import { RunLoop } from './runLoop.js';
import { HostPolicy } from './security.js';
import { Session, type SessionHost } from './session.js';

export interface ServerOptions {
  host: string;
  /** 0 picks a free port; listen() returns the bound one. */
  port: number;
  token?: string;
  mode: Mode;
  onControllerLoss: ControllerLossPolicy;
  log: Logger;
  /** Extra names the Host header may carry (a container's service name, a tunnel's name). */
  allowedHosts?: readonly string[];
  /** Tuning; each defaults to the protocol limit of the same meaning. */
  limits?: Partial<ServerLimits>;
  /** The request table; tests substitute handlers, the daemon uses the standard one. */
  handlers?: HandlerTable;
}

export interface ServerLimits extends ChannelLimits {
  /** Ping period; a peer that misses a pong is dropped at the next one. */
  heartbeatMs: number;
  /** A connection that sends no hello within this time is refused. */
  handshakeTimeoutMs: number;
  /** Requests a client may have outstanding. */
  maxPending: number;
  /** Connections (clients and handshakes) served at once. */
  maxClients: number;
  /** tick() period while the guest is halted or throttled. */
  idleTickMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxQueueBytes: LIMITS.maxClientQueueBytes,
  // Room for the never-dropped frames (halts, responses, notices) above the log bound.
  hardCapSlackBytes: LIMITS.maxFrameBytes,
  slowGraceMs: 10_000,
  dropNoticeMs: 1_000,
  heartbeatMs: LIMITS.heartbeatMs,
  handshakeTimeoutMs: 10_000,
  maxPending: LIMITS.maxPendingRequests,
  maxClients: 64,
  // A quarter of the batch flush deadline, so a partial batch ships on time while halted.
  idleTickMs: LIMITS.batchFlushMs / 4,
};

const CAPABILITIES = ['roles', 'events', 'scripts', 'custom-code', 'breakpoints', 'symbols', 'lossless'];

export class DebuggeeServer implements SessionHost, TargetListener {
  readonly roles: Roles;
  readonly handlers: HandlerTable;
  readonly token: string | undefined;
  readonly channelLimits: ChannelLimits;
  readonly maxPending: number;
  readonly limits: ServerLimits;
  private readonly log: Logger;
  private readonly hostPolicy: HostPolicy;
  private readonly runLoop: RunLoop;
  private readonly logEncoder = new LogFrameEncoder();
  private readonly wss: WebSocketServer;
  private readonly http: Server;
  /** Every connection, including those still in the handshake. */
  private readonly connections = new Set<Session>();
  /** Admitted clients, in admission order: the fan-out list. */
  private readonly open: Session[] = [];
  private nextSessionId = 1;
  /** The client whose request is being handled, for `byClient` in notifications. */
  private acting: number | undefined = undefined;
  private heartbeat: NodeJS.Timeout | undefined = undefined;
  private throttling = false;
  private closing: Promise<void> | undefined = undefined;

  constructor(
    readonly target: DebugTarget,
    private readonly options: ServerOptions,
  ) {
    validateExposure({ listen: { host: options.host, port: options.port }, token: options.token });
    if (options.mode !== target.mode) {
      throw new HvdbgError('E_CONFIG', `server mode ${options.mode} differs from the target's ${target.mode}`);
    }
    this.log = options.log;
    this.handlers = options.handlers ?? HANDLERS;
    this.token = options.token;
    this.limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
    this.channelLimits = this.limits;
    this.maxPending = this.limits.maxPending;
    this.hostPolicy = new HostPolicy(options.host, options.allowedHosts);
    this.roles = new Roles(target, options.onControllerLoss, (n) => this.broadcast(n), this.log);
    this.runLoop = new RunLoop(target, {
      idleTickMs: this.limits.idleTickMs,
      throttled: () => this.throttled(),
      // One write per client per slice, however many batches the slice produced.
      beforeSlice: () => {
        for (const s of this.open) s.channel.cork();
      },
      afterSlice: () => {
        for (const s of this.open) s.channel.uncork();
      },
      log: this.log,
    });
    this.wss = new WebSocketServer({
      ...WS_OPTIONS,
      noServer: true,
      clientTracking: false,
    });
    this.http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', connection: 'close' });
      res.end('hvdbg-debuggee speaks WebSocket only\n');
    });
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.http.on('clientError', (_err, socket) => socket.destroy());
    target.setListener(this);
  }

  /** Binds, starts the guest's run loop and the heartbeats. */
  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          new HvdbgError(
            'E_CONFIG',
            `cannot listen on ${this.options.host}:${this.options.port}: ${err.code ?? err.message}`,
          ),
        );
      };
      this.http.once('error', onError);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.http.on('error', (err) => this.log.error({ err }, 'listening socket failed'));
    this.heartbeat = setInterval(() => {
      for (const s of this.connections) s.heartbeat();
    }, this.limits.heartbeatMs);
    this.heartbeat.unref();
    this.runLoop.start();
    const address = this.http.address() as AddressInfo;
    this.log.info({ host: address.address, port: address.port, mode: this.options.mode }, 'listening');
    return { host: address.address, port: address.port };
  }

  /**
   * Shuts down: every client gets `sessionClosed`, connections close (forcibly after a deadline),
   * the guest is stopped. Idempotent.
   */
  close(reason: string): Promise<void> {
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  /** Connected clients (admitted), for tests and status. */
  get clientCount(): number {
    return this.open.length;
  }

  /** The admitted session with this id (tests and diagnostics). */
  session(id: number): Session | undefined {
    return this.open.find((s) => s.id === id);
  }

  // -- SessionHost --------------------------------------------------------------------------------

  welcome(sessionId: number, role: Role): WelcomeMessage {
    const msg: WelcomeMessage = {
      t: 'welcome',
      sessionId,
      protocolVersion: PROTOCOL_VERSION,
      serverVersion: SERVER_VERSION,
      role,
      capabilities: CAPABILITIES,
      guest: this.target.description(),
      mode: this.options.mode,
      state: this.target.state(),
    };
    const halt = this.target.haltInfo();
    if (halt !== undefined) msg.halt = halt;
    const controllerId = role === 'controller' ? sessionId : this.roles.controllerId;
    if (controllerId !== undefined) msg.controllerId = controllerId;
    return msg;
  }

  status(): StatusInfo {
    const t = this.target;
    const info: StatusInfo = {
      state: t.state(),
      mode: this.options.mode,
      vcpus: t.description().vcpus,
      instructions: t.instructions(),
      clients: this.roles.clients(),
      events: t.listEvents().length,
      drops: t.drops(),
      lossless: t.lossless,
      queueDepth: t.queueDepth(),
    };
    const halt = t.haltInfo();
    if (halt !== undefined) info.halt = halt;
    if (this.roles.controllerId !== undefined) info.controllerId = this.roles.controllerId;
    return info;
  }

  admit(session: Session): void {
    this.open.push(session);
  }

  remove(session: Session): void {
    const i = this.open.indexOf(session);
    if (i >= 0) this.open.splice(i, 1);
  }

  runAs<T>(clientId: number, fn: () => T): T {
    const outer = this.acting;
    this.acting = clientId;
    try {
      return fn();
    } finally {
      this.acting = outer;
      // A continue or step must not wait for the next idle tick.
      this.runLoop.wake();
    }
  }

  // -- TargetListener: everything the target reports goes to every client, in call order ----------

  onLog(batch: LogRecord[]): void {
    if (batch.length === 0 || this.open.length === 0) return;
    let frame: Uint8Array;
    try {
      frame = this.logEncoder.encodeFrame(batch);
    } catch (err) {
      // Unencodable output is a bug on the target side; it must not stop the guest's slice.
      this.log.error({ err }, 'log batch could not be encoded');
      return;
    }
    const now = Date.now();
    const clients = this.open;
    for (let i = 0; i < clients.length; i++) clients[i]!.channel.sendLog(frame, batch, now);
  }

  onDropped(report: DropReport): void {
    this.broadcast({ t: 'dropped', ...report, reason: 'queue-full' });
  }

  onConsole(text: string): void {
    this.broadcast({ t: 'console', text });
  }

  onHalt(info: Parameters<TargetListener['onHalt']>[0]): void {
    // A halt reported while a request runs (a pause served at once) belongs to that request's client.
    const byClient = info.byClient ?? this.acting;
    this.broadcast(byClient === undefined ? { t: 'halted', ...info } : { t: 'halted', ...info, byClient });
  }

  onResume(step: boolean): void {
    this.broadcast(this.acting === undefined ? { t: 'resumed', step } : { t: 'resumed', byClient: this.acting, step });
    this.runLoop.wake();
  }

  onEventsChanged(): void {
    this.broadcast(this.acting === undefined ? { t: 'eventsChanged' } : { t: 'eventsChanged', byClient: this.acting });
  }

  /** A change a client (or the gdb stub) made succeeded: every client hears of it, in stream order. */
  announce(byClient: number, change: StateChange): void {
    this.broadcast({ t: 'stateChanged', ...change, byClient });
  }

  // -- internals ----------------------------------------------------------------------------------

  /** Encodes once, sends the same bytes to every admitted client. */
  private broadcast(n: Notification): void {
    if (this.open.length === 0) return;
    let frame: Uint8Array;
    try {
      frame = encodeMessage(n);
    } catch (err) {
      // Reached from inside the target's slice: a notification that cannot be encoded (a console
      // line over the frame limit) is logged, and the guest goes on.
      this.log.error({ err, type: n.t }, 'notification could not be encoded');
      return;
    }
    // A copy: a client may be removed while we send.
    for (const s of [...this.open]) s.sendFrame(frame);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Before anything else: a socket error must never become an uncaught exception.
    socket.on('error', (err) => this.log.debug({ err }, 'socket error during upgrade'));
    if (this.closing !== undefined) {
      rejectUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    if (!this.hostPolicy.allows(req)) {
      this.log.warn({ host: req.headers.host, origin: req.headers.origin }, 'upgrade refused: Host not allowed');
      rejectUpgrade(socket, 403, 'Forbidden');
      return;
    }
    if (this.connections.size >= this.limits.maxClients) {
      this.log.warn({ limit: this.limits.maxClients }, 'upgrade refused: too many connections');
      rejectUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, socket, req));
  }

  private onConnection(ws: WebSocket, socket: Duplex, req: IncomingMessage): void {
    const id = this.nextSessionId++;
    const log = sessionLogger(this.log, id);
    // First listener on the socket: an oversized frame or a protocol violation emits 'error' and
    // ws closes the connection; without a listener it would take the whole process down.
    ws.on('error', (err) =>
      log.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'socket error'),
    );
    log.info({ remote: req.socket.remoteAddress, port: req.socket.remotePort }, 'connection');
    const session = new Session(id, ws, socket, this, log, this.limits.handshakeTimeoutMs);
    this.connections.add(session);
    void session.closed.then(() => this.connections.delete(session));
  }

  /** Lossless mode: hold the guest while the controller's queue is above half its bound. */
  private throttled(): boolean {
    if (!this.target.lossless) return false;
    const id = this.roles.controllerId;
    const controller = id === undefined ? undefined : this.open.find((s) => s.id === id);
    if (controller === undefined) return (this.throttling = false);
    const buffered = controller.channel.buffered;
    const high = this.limits.maxQueueBytes / 2;
    const low = this.limits.maxQueueBytes / 8;
    this.throttling = this.throttling ? buffered > low : buffered > high;
    return this.throttling;
  }

  private async shutdown(reason: string): Promise<void> {
    this.log.info({ reason }, 'shutting down');
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.runLoop.stop();
    this.roles.dispose();
    this.broadcast({ t: 'sessionClosed', reason });
    // sessionClosed is every client's last notification: no clientLeft chatter after it.
    this.open.length = 0;
    const sessions = [...this.connections];
    for (const s of sessions) s.shutdown(reason);
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
    await Promise.race([Promise.all(sessions.map((s) => s.closed)), deadline]);
    for (const s of this.connections) s.terminate(reason);
    try {
      this.target.shutdown();
    } catch (err) {
      this.log.error({ err }, 'the target failed to shut down cleanly');
    }
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.wss.close();
    this.log.info('shut down');
  }
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
