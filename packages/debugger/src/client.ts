/**
 * The wire side of the debugger: one WebSocket to a daemon, the hello/welcome handshake, request
 * ids matched to responses, and notifications re-emitted as typed events. Every incoming frame is
 * validated by the protocol package before anything here looks at it; a frame that fails is
 * reported as a `protocolError` event and otherwise ignored.
 */
import { EventEmitter } from 'node:events';
import {
  decodeServerMessage,
  type ErrorBody,
  encodeMessage,
  frameBytes,
  type HaltInfo,
  HvdbgError,
  LIMITS,
  type LogRecord,
  type Notification,
  PROTOCOL_VERSION,
  type RequestArgs,
  type RequestOp,
  type RequestResults,
  type Role,
  type ServerMessage,
  validateResult,
  type WelcomeMessage,
  WS_OPTIONS,
} from '@hvdbg/protocol';
import WebSocket from 'ws';

type NotificationOf<T extends Notification['t']> = Omit<Extract<Notification, { t: T }>, 't'>;

/** Typed events of a DebuggerClient. */
export interface ClientEvents {
  halted: [HaltInfo];
  resumed: [NotificationOf<'resumed'>];
  log: [LogRecord[]];
  console: [string];
  dropped: [NotificationOf<'dropped'>];
  eventsChanged: [NotificationOf<'eventsChanged'>];
  stateChanged: [NotificationOf<'stateChanged'>];
  clientJoined: [NotificationOf<'clientJoined'>];
  clientLeft: [NotificationOf<'clientLeft'>];
  roleChanged: [NotificationOf<'roleChanged'>];
  sessionClosed: [NotificationOf<'sessionClosed'>];
  /** The socket closed (after sessionClosed, a network failure or close()). */
  close: [{ code: number; reason: string }];
  /** A frame from the daemon that failed validation. */
  protocolError: [HvdbgError];
}

export interface ConnectOptions {
  role?: Role;
  token?: string;
  clientName?: string;
  /** Handshake timeout in milliseconds (default 10000). */
  timeoutMs?: number;
  /**
   * The daemon pings every heartbeat period; a daemon silent for two periods is taken for dead and
   * the connection closed (default LIMITS.heartbeatMs).
   */
  heartbeatMs?: number;
}

export interface RequestOptions {
  /** Milliseconds before the request fails with E_TIMEOUT (default 30000). */
  timeoutMs?: number;
}

interface Pending {
  op: RequestOp;
  resolve: (value: unknown) => void;
  reject: (err: HvdbgError) => void;
  timer: NodeJS.Timeout;
}

/** `host:port`, `ws://host:port` or `wss://…` → a WebSocket URL. */
export function toWebSocketUrl(target: string): string {
  if (/^wss?:\/\//i.test(target)) return target;
  if (!/^[^\s/]+:\d+$/.test(target)) {
    throw new HvdbgError('E_BAD_PARAMETER', `'${target}' is not host:port or a ws:// URL`);
  }
  return `ws://${target}`;
}

export class DebuggerClient extends EventEmitter<ClientEvents> {
  private ws: WebSocket | undefined = undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private welcomeMessage: WelcomeMessage | undefined = undefined;
  private closed = false;
  private lastHeard = 0;
  private watchdog: NodeJS.Timeout | undefined = undefined;

  /** The welcome of the current connection, once connected. */
  get welcome(): WelcomeMessage | undefined {
    return this.welcomeMessage;
  }

  get connected(): boolean {
    return this.ws !== undefined && this.ws.readyState === WebSocket.OPEN && !this.closed;
  }

  /** Opens the socket, sends hello and resolves with the daemon's welcome (or rejects with its refusal). */
  connect(target: string, options: ConnectOptions = {}): Promise<WelcomeMessage> {
    if (this.ws !== undefined) return Promise.reject(new HvdbgError('E_BAD_PARAMETER', 'already connected'));
    const url = toWebSocketUrl(target);
    const ws = new WebSocket(url, WS_OPTIONS);
    this.ws = ws;
    this.closed = false;
    return new Promise<WelcomeMessage>((resolve, reject) => {
      let settled = false;
      const settle = (err: HvdbgError | undefined, welcome?: WelcomeMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err !== undefined) {
          this.ws = undefined;
          ws.terminate();
          reject(err);
        } else resolve(welcome!);
      };
      const timer = setTimeout(
        () => settle(new HvdbgError('E_TIMEOUT', `no welcome from ${url} in time`)),
        options.timeoutMs ?? 10_000,
      );
      // The listener goes on first: a ws socket without one dies with the process on a bad frame.
      ws.on('error', (err) => {
        settle(new HvdbgError('E_DISCONNECTED', `cannot reach ${url}: ${err.message}`));
        this.teardown(1006, err.message);
      });
      ws.on('open', () => {
        const hello = {
          t: 'hello' as const,
          protocolVersion: PROTOCOL_VERSION,
          role: options.role ?? 'controller',
          clientName: options.clientName ?? 'hvdbg',
          ...(options.token === undefined ? {} : { token: options.token }),
        };
        ws.send(encodeMessage(hello));
      });
      const heartbeatMs = options.heartbeatMs ?? LIMITS.heartbeatMs;
      this.lastHeard = Date.now();
      ws.on('ping', () => {
        this.lastHeard = Date.now();
      });
      this.watchdog = setInterval(() => {
        if (Date.now() - this.lastHeard > 2 * heartbeatMs) {
          ws.terminate();
          this.teardown(1006, 'the daemon stopped answering');
        }
      }, heartbeatMs);
      this.watchdog.unref();
      ws.on('message', (data, isBinary) => {
        this.lastHeard = Date.now();
        const message = this.decode(data, isBinary);
        if (message === undefined) return;
        if (!settled) {
          if (message.t === 'welcome') {
            this.welcomeMessage = message;
            settle(undefined, message);
          } else if (message.t === 'refused') {
            settle(HvdbgError.fromBody(message.error));
          } else settle(new HvdbgError('E_HANDSHAKE', `daemon sent '${message.t}' before welcome`));
          return;
        }
        this.dispatch(message);
      });
      ws.on('close', (code, reason) => {
        settle(new HvdbgError('E_DISCONNECTED', `the daemon closed the connection (${code} ${reason.toString()})`));
        this.teardown(code, reason.toString());
      });
    });
  }

  /** Sends one request and resolves with its typed result; a daemon error rejects with its code. */
  request<Op extends RequestOp>(
    op: Op,
    args: RequestArgs[Op],
    options: RequestOptions = {},
  ): Promise<RequestResults[Op]> {
    const ws = this.ws;
    if (ws === undefined || !this.connected) {
      return Promise.reject(new HvdbgError('E_DISCONNECTED', 'not connected to a daemon'));
    }
    const id = this.nextId++;
    return new Promise<RequestResults[Op]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HvdbgError('E_TIMEOUT', `${op} got no response in time`));
      }, options.timeoutMs ?? 30_000);
      this.pending.set(id, { op, resolve: resolve as (v: unknown) => void, reject, timer });
      try {
        ws.send(encodeMessage({ t: 'req', id, op, args }));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err instanceof HvdbgError ? err : new HvdbgError('E_BAD_MESSAGE', String(err)));
      }
    });
  }

  /** Closes the socket; pending requests fail with E_DISCONNECTED. */
  close(): Promise<void> {
    const ws = this.ws;
    if (ws === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) {
        this.teardown(1000, 'closed');
        resolve();
        return;
      }
      const timer = setTimeout(() => ws.terminate(), 2000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.close(1000, 'client closed');
    });
  }

  private decode(data: WebSocket.RawData, isBinary: boolean): ServerMessage | undefined {
    try {
      return decodeServerMessage(frameBytes(data, isBinary));
    } catch (err) {
      const error = err instanceof HvdbgError ? err : new HvdbgError('E_BAD_MESSAGE', String(err));
      this.emit('protocolError', error);
      return undefined;
    }
  }

  private dispatch(message: ServerMessage): void {
    switch (message.t) {
      case 'res': {
        const pending = this.pending.get(message.id);
        if (pending === undefined) return;
        this.pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.ok) {
          // Results are shaped per op, so they are validated here where the op is known.
          try {
            pending.resolve(validateResult(pending.op, message.result));
          } catch (err) {
            const error = err instanceof HvdbgError ? err : new HvdbgError('E_BAD_MESSAGE', String(err));
            this.emit('protocolError', error);
            pending.reject(error);
          }
        } else pending.reject(HvdbgError.fromBody(message.error as ErrorBody));
        return;
      }
      case 'halted': {
        const { t: _t, ...halt } = message;
        this.emit('halted', halt);
        return;
      }
      case 'log':
        this.emit('log', message.batch);
        return;
      case 'console':
        this.emit('console', message.text);
        return;
      case 'welcome':
      case 'refused':
        // Only valid during the handshake; later ones are ignored.
        return;
      default: {
        const { t, ...body } = message;
        (this.emit as (name: string, arg: unknown) => boolean)(t, body);
      }
    }
  }

  private teardown(code: number, reason: string): void {
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.watchdog = undefined;
    if (this.closed) return;
    this.closed = true;
    this.ws = undefined;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new HvdbgError('E_DISCONNECTED', `the connection closed (${reason || code})`));
      this.pending.delete(id);
    }
    this.emit('close', { code, reason });
  }
}
