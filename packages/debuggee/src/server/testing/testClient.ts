/**
 * A minimal protocol client over a real WebSocket, for the server's tests and the net benchmark:
 * hello/welcome, requests with ids, and a recorded stream of every notification received.
 */
import {
  decodeServerMessage,
  type ErrorBody,
  encodeMessage,
  frameBytes,
  PROTOCOL_VERSION,
  type RequestArgs,
  type RequestOp,
  type Role,
  type ServerMessage,
  type WelcomeMessage,
  WS_OPTIONS,
} from '@hvdbg/protocol';
import { WebSocket } from 'ws';

export interface ConnectOptions {
  role?: Role;
  token?: string;
  name?: string;
  protocolVersion?: number;
  /** Host header to send (DNS-rebinding tests). */
  hostHeader?: string;
}

export type Notice = Exclude<ServerMessage, { t: 'res' } | { t: 'welcome' } | { t: 'refused' }>;

export class RequestFailed extends Error {
  constructor(readonly error: ErrorBody) {
    super(`${error.code}: ${error.message}`);
  }
}

export class TestClient {
  /** Every notification, in arrival order. */
  readonly notices: Notice[] = [];
  /** Responses to frames whose id could not be read (id 0), and other unmatched responses. */
  readonly orphanResponses: ServerMessage[] = [];
  closeCode: number | undefined = undefined;
  closeReason = '';
  readonly closed: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private waiters: { pred: (n: Notice) => boolean; resolve: (n: Notice) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        for (const p of this.pending.values()) p.reject(new Error(`closed (${code})`));
        this.pending.clear();
        resolve();
      });
    });
    ws.on('message', (data, isBinary) => this.onMessage(decodeServerMessage(frameBytes(data, isBinary))));
  }

  /** Opens a socket without saying hello. */
  static async open(port: number, options: ConnectOptions = {}): Promise<TestClient> {
    const headers = options.hostHeader === undefined ? undefined : { host: options.hostHeader };
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { ...WS_OPTIONS, headers });
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    return new TestClient(ws);
  }

  /** Opens, says hello, and resolves with the welcome (or rejects with the refusal). */
  static async connect(
    port: number,
    options: ConnectOptions = {},
  ): Promise<{ client: TestClient; welcome: WelcomeMessage }> {
    const client = await TestClient.open(port, options);
    const welcome = await client.hello(options);
    return { client, welcome };
  }

  private handshake: { resolve: (w: WelcomeMessage) => void; reject: (e: unknown) => void } | undefined;

  hello(options: ConnectOptions = {}): Promise<WelcomeMessage> {
    return new Promise((resolve, reject) => {
      this.handshake = { resolve, reject };
      this.sendMessage({
        t: 'hello',
        protocolVersion: options.protocolVersion ?? PROTOCOL_VERSION,
        role: options.role ?? 'observer',
        clientName: options.name ?? 'test',
        ...(options.token === undefined ? {} : { token: options.token }),
      });
    });
  }

  request<Op extends RequestOp>(op: Op, args: RequestArgs[Op]): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sendMessage({ t: 'req', id, op, args });
    });
  }

  /** The request's error body (rejects when it succeeded). */
  async requestError<Op extends RequestOp>(op: Op, args: RequestArgs[Op]): Promise<ErrorBody> {
    try {
      await this.request(op, args);
    } catch (e) {
      if (e instanceof RequestFailed) return e.error;
      throw e;
    }
    throw new Error(`${op} unexpectedly succeeded`);
  }

  sendMessage(msg: Parameters<typeof encodeMessage>[0]): void {
    this.ws.send(encodeMessage(msg));
  }

  sendRaw(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** Resolves with the first notification (already received or future) matching `pred`. */
  waitFor(pred: (n: Notice) => boolean, timeoutMs = 5000): Promise<Notice> {
    const seen = this.notices.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a notification')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (n) => {
          clearTimeout(timer);
          resolve(n);
        },
      });
    });
  }

  close(): Promise<void> {
    this.ws.close();
    return this.closed;
  }

  private onMessage(msg: ServerMessage): void {
    switch (msg.t) {
      case 'welcome':
        this.handshake?.resolve(msg);
        return;
      case 'refused':
        this.handshake?.reject(new RequestFailed(msg.error));
        return;
      case 'res': {
        const p = this.pending.get(msg.id);
        if (p === undefined) {
          this.orphanResponses.push(msg);
          return;
        }
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new RequestFailed(msg.error));
        return;
      }
      default:
        this.notices.push(msg);
        this.waiters = this.waiters.filter((w) => {
          if (!w.pred(msg)) return true;
          w.resolve(msg);
          return false;
        });
    }
  }
}
