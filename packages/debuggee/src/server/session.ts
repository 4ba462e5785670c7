/**
 * One client connection, from the first frame to the close.
 *
 * Handshake: the first message must be `hello` (else `refused E_HANDSHAKE`); the protocol version
 * must match (`E_VERSION`, both versions in `data`); the token must match (`E_AUTH`); a second
 * controller is refused with a hint to join as an observer (`E_CONTROLLER_TAKEN`). A refusal is
 * sent, then the socket closes. After `welcome` the client receives every notification.
 *
 * Requests: each frame is decoded and validated by the protocol codec before anything looks at it;
 * a malformed frame gets an error response (with its id when the codec could recover one) and the
 * connection stays open. Roles are checked, then the op's handler runs. User errors travel with
 * their code; anything else is a bug: logged with its stack, sent as E_INTERNAL without it.
 */

import type { Duplex } from 'node:stream';
import {
  type ClientMessage,
  decodeClientMessage,
  type ErrorBody,
  encodeMessage,
  frameBytes,
  type HelloMessage,
  HvdbgError,
  PROTOCOL_VERSION,
  type RequestMessage,
  type Role,
  type ServerMessage,
  type StateChange,
  type StatusInfo,
  type WelcomeMessage,
} from '@hvdbg/protocol';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { DebugTarget } from '../target.js';
import { type ChannelLimits, ClientChannel } from './channel.js';
import type { HandlerTable, RequestContext } from './handlers/index.js';
import type { Member, Roles } from './roles.js';
import { tokenMatches } from './security.js';

/** What a session needs from the daemon around it. */
export interface SessionHost {
  readonly target: DebugTarget;
  readonly roles: Roles;
  readonly handlers: HandlerTable;
  readonly token: string | undefined;
  readonly channelLimits: ChannelLimits;
  readonly maxPending: number;
  /** The welcome message for a client being admitted (state, description, controller …). */
  welcome(sessionId: number, role: Role): WelcomeMessage;
  status(): StatusInfo;
  /** Adds the session to the notification fan-out. */
  admit(session: Session): void;
  /** Removes it (idempotent). */
  remove(session: Session): void;
  /**
   * Runs a request on behalf of a client: notifications the target reports meanwhile (resumed,
   * eventsChanged) name that client, and a resume or step gets the guest going without delay.
   */
  runAs<T>(clientId: number, fn: () => T): T;
  /** Tells every client that `byClient` changed the guest's state. */
  announce(byClient: number, change: StateChange): void;
}

/** WebSocket close codes (RFC 6455 §7.4.1). */
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_POLICY = 1008;

/** Response id for a malformed frame whose own id could not be read. */
export const NO_REQUEST_ID = 0;

type Phase = 'handshake' | 'open' | 'closed';

export class Session implements Member {
  name = '';
  role: Role = 'observer';
  readonly channel: ClientChannel;
  /** Requests received and not yet answered. */
  private pending = 0;
  private phase: Phase = 'handshake';
  private closeReason: string | undefined = undefined;
  private readonly handshakeTimer: NodeJS.Timeout;
  /** Set by a heartbeat ping, cleared by any sign of life. */
  awaitingPong = false;
  /** Resolves once the socket has closed. */
  readonly closed: Promise<void>;
  private readonly context: RequestContext;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    socket: Duplex,
    private readonly host: SessionHost,
    readonly log: Logger,
    handshakeTimeoutMs: number,
  ) {
    this.channel = new ClientChannel(ws, socket, host.channelLimits, (reason) => this.close(reason, CLOSE_POLICY));
    this.context = {
      target: host.target,
      client: this,
      roles: host.roles,
      status: () => host.status(),
      announce: (change) => host.announce(id, change),
      closeAfterResponse: (reason) => {
        this.closeReason = reason;
      },
    };
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.onClosed(code, reason.toString());
        resolve();
      });
    });
    this.handshakeTimer = setTimeout(
      () => this.refuse(new HvdbgError('E_HANDSHAKE', 'no hello in time')),
      handshakeTimeoutMs,
    );
    this.handshakeTimer.unref();
  }

  /** Sends a shared, already encoded frame that must not be lost. */
  sendFrame(frame: Uint8Array): void {
    if (this.phase === 'open') this.channel.sendFrame(frame);
  }

  /** Closes the connection, after telling the peer why when the socket still can. */
  close(reason: string, code = CLOSE_NORMAL): void {
    if (this.phase === 'closed') return;
    this.closeReason ??= reason;
    this.log.info({ reason, code }, 'closing connection');
    this.leave(reason);
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(code, truncateReason(reason));
    // A peer that never completes the closing handshake must not hold the socket.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  /** Heartbeat: a peer that did not answer the previous ping is gone. */
  heartbeat(): void {
    if (this.awaitingPong) {
      this.terminate('heartbeat timeout: no pong');
      return;
    }
    this.awaitingPong = true;
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  /** Drops the peer at once (heartbeat timeout, daemon shutdown deadline). */
  terminate(reason: string): void {
    this.closeReason ??= reason;
    this.log.warn({ reason }, 'terminating connection');
    this.leave(reason);
    this.ws.terminate();
  }

  /** Daemon shutdown: the session-closed notice is sent by the server, then this. */
  shutdown(reason: string): void {
    this.close(reason, CLOSE_GOING_AWAY);
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    this.awaitingPong = false;
    if (this.phase === 'closed') return;
    let msg: ClientMessage;
    try {
      msg = decodeClientMessage(frameBytes(data, isBinary));
    } catch (err) {
      this.onBadFrame(err);
      return;
    }
    if (this.phase === 'handshake') {
      this.onHello(msg);
      return;
    }
    if (msg.t !== 'req') {
      this.sendError(undefined, new HvdbgError('E_BAD_MESSAGE', 'hello was already received'));
      return;
    }
    this.onRequest(msg);
  }

  private onBadFrame(err: unknown): void {
    const error = err instanceof HvdbgError ? err : new HvdbgError('E_BAD_MESSAGE', 'the frame could not be decoded');
    if (!(err instanceof HvdbgError)) this.log.warn({ err }, 'decoder threw a non-protocol error');
    if (this.phase === 'handshake') {
      clearTimeout(this.handshakeTimer);
      // A hello of another protocol version may not validate as ours; its version still answers.
      const version = error.data?.protocolVersion;
      if (typeof version === 'number' && version !== PROTOCOL_VERSION) {
        this.refuse(versionError(version));
      } else {
        this.refuse(
          new HvdbgError('E_HANDSHAKE', `the first message must be hello (${error.message})`, { cause: error.code }),
        );
      }
      return;
    }
    this.log.debug({ code: error.code }, 'malformed frame');
    const id = error.data?.id;
    this.sendError(typeof id === 'number' ? id : undefined, error);
  }

  private onHello(msg: ClientMessage): void {
    clearTimeout(this.handshakeTimer);
    if (msg.t !== 'hello') {
      this.refuse(new HvdbgError('E_HANDSHAKE'));
      return;
    }
    const hello: HelloMessage = msg;
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      this.refuse(versionError(hello.protocolVersion));
      return;
    }
    if (!tokenMatches(this.host.token, hello.token)) {
      this.refuse(new HvdbgError('E_AUTH'));
      return;
    }
    try {
      this.host.roles.checkJoin(hello.role);
    } catch (err) {
      this.refuse(err as HvdbgError);
      return;
    }
    this.name = hello.clientName;
    this.role = hello.role;
    this.phase = 'open';
    // Welcome first, then membership: the clientJoined notice (this client's first notification)
    // and everything after it follow the state the welcome described.
    this.channel.sendFrame(encodeMessage(this.host.welcome(this.id, hello.role)));
    this.host.admit(this);
    this.host.roles.join(this);
    this.log.info({ role: this.role, clientName: this.name }, 'client joined');
  }

  /**
   * The requester's socket is held for the synchronous part of a request, so what the request
   * caused for this client (a `halted` or `resumed`, then the response) leaves in one write: the
   * client is woken once per round trip instead of once per frame.
   */
  private onRequest(req: RequestMessage): void {
    this.channel.cork();
    try {
      this.handleRequest(req);
    } finally {
      this.channel.uncork();
    }
  }

  private handleRequest(req: RequestMessage): void {
    if (this.pending >= this.host.maxPending) {
      this.sendError(req.id, new HvdbgError('E_TOO_MANY_PENDING', undefined, { limit: this.host.maxPending }));
      return;
    }
    let result: unknown;
    try {
      this.host.roles.authorize(this, req.op);
      const handler = this.host.handlers[req.op] as ((ctx: RequestContext, args: unknown) => unknown) | undefined;
      if (handler === undefined) throw new HvdbgError('E_UNKNOWN_REQUEST', `unknown op '${String(req.op)}'`);
      result = this.host.runAs(this.id, () => handler(this.context, req.args));
    } catch (err) {
      this.sendError(req.id, err);
      return;
    }
    if (result instanceof Promise) {
      this.pending++;
      result.then(
        (value) => {
          this.pending--;
          this.sendResult(req.id, value);
        },
        (err: unknown) => {
          this.pending--;
          this.sendError(req.id, err);
        },
      );
    } else {
      this.sendResult(req.id, result);
    }
  }

  private sendResult(id: number, result: unknown): void {
    this.send({ t: 'res', id, ok: true, result } as ServerMessage);
    if (this.closeReason !== undefined && this.phase === 'open') this.close(this.closeReason);
  }

  private sendError(id: number | undefined, err: unknown): void {
    let error: ErrorBody;
    if (err instanceof HvdbgError) {
      error = err.toBody();
    } else {
      this.log.error({ err }, 'request handler failed');
      error = { code: 'E_INTERNAL', message: 'internal error in the daemon' };
    }
    // A frame whose id could not be read is answered with id 0, which no client allocates.
    this.send({ t: 'res', id: id ?? NO_REQUEST_ID, ok: false, error });
  }

  private send(msg: ServerMessage): void {
    if (this.phase !== 'open') return;
    let frame: Uint8Array;
    try {
      frame = encodeMessage(msg);
    } catch (err) {
      // A handler returned something the codec cannot carry: a bug, reported as such.
      this.log.error({ err }, 'response could not be encoded');
      if (msg.t !== 'res') return;
      frame = encodeMessage({
        t: 'res',
        id: msg.id,
        ok: false,
        error: { code: 'E_INTERNAL', message: 'internal error in the daemon' },
      });
    }
    this.channel.sendFrame(frame);
  }

  private refuse(error: HvdbgError): void {
    if (this.phase !== 'handshake') return;
    clearTimeout(this.handshakeTimer);
    this.log.info({ code: error.code, reason: error.message }, 'connection refused');
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeMessage({ t: 'refused', error: error.toBody() }));
    this.phase = 'closed';
    this.channel.close();
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(CLOSE_POLICY, error.code);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }

  private leave(reason: string): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase === 'open';
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    this.channel.close();
    if (wasOpen) {
      this.host.remove(this);
      this.host.roles.leave(this, reason);
    }
  }

  private onClosed(code: number, reason: string): void {
    const why =
      this.closeReason ??
      (code === 1005 || code === 1006 ? 'connection lost' : `peer closed (${code}${reason ? `: ${reason}` : ''})`);
    if (this.phase !== 'closed') this.log.info({ code, reason: why }, 'connection closed');
    this.leave(why);
  }
}

function versionError(clientVersion: number): HvdbgError {
  return new HvdbgError('E_VERSION', `client speaks protocol ${clientVersion}, daemon ${PROTOCOL_VERSION}`, {
    clientVersion,
    serverVersion: PROTOCOL_VERSION,
  });
}

/** A close reason must fit in a control frame (123 bytes). */
function truncateReason(reason: string): string {
  return Buffer.byteLength(reason) <= 120 ? reason : `${reason.slice(0, 100)}…`;
}
