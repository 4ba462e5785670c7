/**
 * A tiny in-process daemon speaking the real wire protocol, for the client's tests: it answers
 * hello with a configurable welcome, requests with per-op handlers, and lets a test push any
 * notification. Not a model of the guest: handlers return whatever the test needs.
 */
import type { AddressInfo } from 'node:net';
import {
  decodeClientMessage,
  encodeMessage,
  frameBytes,
  type HelloMessage,
  HvdbgError,
  type Notification,
  PROTOCOL_VERSION,
  type RequestArgs,
  type RequestOp,
  type RequestResults,
  SERVER_VERSION,
  type ServerMessage,
  type WelcomeMessage,
  WS_OPTIONS,
} from '@hvdbg/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

export type FakeHandler<Op extends RequestOp> = (
  args: RequestArgs[Op],
) => RequestResults[Op] | Promise<RequestResults[Op]>;

export type FakeHandlers = { [Op in RequestOp]?: FakeHandler<Op> };

export interface ReceivedRequest {
  op: RequestOp;
  args: unknown;
}

export function fakeWelcome(overrides: Partial<WelcomeMessage> = {}): WelcomeMessage {
  return {
    t: 'welcome',
    sessionId: 1,
    protocolVersion: PROTOCOL_VERSION,
    serverVersion: SERVER_VERSION,
    role: 'controller',
    capabilities: [],
    guest: {
      name: 'fake',
      vcpus: 2,
      memoryBytes: 0x1000000n,
      workload: 'mixed',
      kernelBase: 0xffffffff80000000n,
      modules: [{ name: 'kernel', base: 0xffffffff80000000n, size: 0x100000n }],
    },
    mode: 'remote',
    state: 'running',
    ...overrides,
  };
}

export class FakeDaemon {
  readonly requests: ReceivedRequest[] = [];
  readonly hellos: HelloMessage[] = [];
  readonly handlers: FakeHandlers;
  welcome: WelcomeMessage | { refuse: HvdbgError };
  private readonly server: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();

  private constructor(server: WebSocketServer, handlers: FakeHandlers, welcome: WelcomeMessage) {
    this.server = server;
    this.handlers = handlers;
    this.welcome = welcome;
    server.on('connection', (ws) => this.accept(ws));
  }

  static async start(handlers: FakeHandlers = {}, welcome: WelcomeMessage = fakeWelcome()): Promise<FakeDaemon> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, ...WS_OPTIONS });
    server.on('error', () => undefined);
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new FakeDaemon(server, handlers, welcome);
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `ws://127.0.0.1:${port}`;
  }

  /** Sends a notification to every connected client. */
  notify(message: Notification): void {
    for (const ws of this.sockets) ws.send(encodeMessage(message));
  }

  /** Sends raw bytes (for malformed-frame tests). */
  sendRaw(bytes: Uint8Array): void {
    for (const ws of this.sockets) ws.send(bytes);
  }

  /** Requests received with one op. */
  received<Op extends RequestOp>(op: Op): RequestArgs[Op][] {
    return this.requests.filter((r) => r.op === op).map((r) => r.args as RequestArgs[Op]);
  }

  /** Sends a WebSocket ping (the daemon's heartbeat) to every client. */
  ping(): void {
    for (const ws of this.sockets) ws.ping();
  }

  dropClients(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  async stop(): Promise<void> {
    this.dropClients();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private send(ws: WebSocket, message: ServerMessage): void {
    ws.send(encodeMessage(message));
  }

  private accept(ws: WebSocket): void {
    ws.on('error', () => undefined);
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    let greeted = false;
    ws.on('message', async (data, isBinary) => {
      const message = decodeClientMessage(frameBytes(data, isBinary));
      if (!greeted) {
        greeted = true;
        if (message.t === 'hello') this.hellos.push(message);
        if ('refuse' in this.welcome) {
          this.send(ws, { t: 'refused', error: this.welcome.refuse.toBody() });
          ws.close();
        } else this.send(ws, this.welcome);
        return;
      }
      if (message.t !== 'req') return;
      this.requests.push({ op: message.op, args: message.args });
      const handler = this.handlers[message.op] as FakeHandler<RequestOp> | undefined;
      try {
        if (handler === undefined) throw new HvdbgError('E_UNKNOWN_REQUEST', `fake daemon has no ${message.op}`);
        const result = await handler(message.args as never);
        this.send(ws, { t: 'res', id: message.id, ok: true, result });
      } catch (err) {
        const error = err instanceof HvdbgError ? err : new HvdbgError('E_INTERNAL', String(err));
        this.send(ws, { t: 'res', id: message.id, ok: false, error: error.toBody() });
      }
    });
  }
}
