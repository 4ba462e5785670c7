/**
 * Message validators: the gate every decoded message passes before any handler sees it.
 *
 * The daemon runs `validateClientMessage` on what clients send, the client runs
 * `validateServerMessage` on what the daemon sends. Both take the plain value the codec decoded
 * and return a freshly built message of the declared type, or throw HvdbgError with a catalogue
 * code. Two errors carry `data` so the receiver can still answer instead of dropping the frame:
 * - a request (or response) whose numeric `id` could be read carries `{ id }`;
 * - a hello whose `protocolVersion` could be read carries `{ protocolVersion }`, so a daemon can
 *   answer a client of another version with E_VERSION even when the rest of its hello differs.
 */
import { isRequestOp, validateRequestArgs } from './args.js';
import { HvdbgError } from './errors.js';
import {
  asObj,
  bool,
  compact,
  fail,
  get,
  list,
  nested,
  type Obj,
  oneOf,
  optBool,
  optBytes,
  optNested,
  optStr,
  optU32,
  optU64,
  plainValue,
  str,
  strValue,
  u32,
  u32Value,
  u64,
} from './fields.js';
import { LIMITS } from './limits.js';
import type {
  ClientMessage,
  GuestDescription,
  HelloMessage,
  LogRecord,
  Notification,
  RequestMessage,
  ResponseMessage,
  ServerMessage,
  WelcomeMessage,
} from './messages.js';
import { STATE_CHANGE_KINDS } from './messages.js';
import { errorBody, guestModule, haltInfo, ROLES, RUN_STATES } from './records.js';
import { MODES } from './results.js';

const LOG_STAGES: readonly LogRecord['stage'][] = ['pre', 'post'];
const DROP_REASONS: readonly ('queue-full' | 'client-slow')[] = ['queue-full', 'client-slow'];
const ANY = Number.POSITIVE_INFINITY;
/** Longest piece of a peer-chosen string quoted back in an error message. */
const QUOTE_CHARS = 64;

/** Re-throws `e` with `data` attached when it is a protocol error; anything else is a bug. */
function withData(e: unknown, data: Record<string, unknown>): never {
  if (e instanceof HvdbgError) throw new HvdbgError(e.code, e.message, data);
  throw e;
}

function messageType(o: Obj): string {
  const t = get(o, 't');
  if (typeof t !== 'string') fail('E_BAD_MESSAGE', 'message.t', 'expected the message type');
  return t;
}

function unknownType(t: string): never {
  fail('E_BAD_MESSAGE', 'message.t', `unknown message type '${t.slice(0, QUOTE_CHARS)}'`);
}

// ---------------------------------------------------------------------------------------------
// Client → daemon
// ---------------------------------------------------------------------------------------------

function hello(o: Obj): HelloMessage {
  try {
    return compact({
      t: 'hello' as const,
      protocolVersion: u32(o, 'protocolVersion', 'hello'),
      role: oneOf(o, 'role', 'hello', ROLES),
      token: optStr(o, 'token', 'hello'),
      clientName: str(o, 'clientName', 'hello'),
    });
  } catch (e) {
    let protocolVersion: number | undefined;
    try {
      protocolVersion = u32(o, 'protocolVersion', 'hello');
    } catch {
      throw e; // not even the version is readable: nothing to add
    }
    withData(e, { protocolVersion });
  }
}

function request(o: Obj): RequestMessage {
  const id = u32(o, 'id', 'req');
  try {
    const op = get(o, 'op');
    if (typeof op !== 'string') fail('E_BAD_MESSAGE', 'req.op', 'expected the request op');
    if (!isRequestOp(op)) throw new HvdbgError('E_UNKNOWN_REQUEST', `unknown request op '${op.slice(0, QUOTE_CHARS)}'`);
    return { t: 'req', id, op, args: validateRequestArgs(op, get(o, 'args')) };
  } catch (e) {
    withData(e, { id });
  }
}

export function validateClientMessage(value: unknown): ClientMessage {
  const o = asObj(value, 'message');
  const t = messageType(o);
  if (t === 'hello') return hello(o);
  if (t === 'req') return request(o);
  unknownType(t);
}

// ---------------------------------------------------------------------------------------------
// Daemon → client
// ---------------------------------------------------------------------------------------------

function guestDescription(o: Obj, where: string): GuestDescription {
  return {
    name: str(o, 'name', where),
    vcpus: u32(o, 'vcpus', where),
    memoryBytes: u64(o, 'memoryBytes', where),
    workload: str(o, 'workload', where),
    kernelBase: u64(o, 'kernelBase', where),
    modules: list(o, 'modules', where, ANY, guestModule),
  };
}

function welcome(o: Obj): WelcomeMessage {
  const w = 'welcome';
  return compact({
    t: 'welcome' as const,
    sessionId: u32(o, 'sessionId', w),
    protocolVersion: u32(o, 'protocolVersion', w),
    serverVersion: str(o, 'serverVersion', w),
    role: oneOf(o, 'role', w, ROLES),
    capabilities: list(o, 'capabilities', w, ANY, strValue),
    guest: nested(o, 'guest', w, guestDescription),
    mode: oneOf(o, 'mode', w, MODES),
    state: oneOf(o, 'state', w, RUN_STATES),
    halt: optNested(o, 'halt', w, haltInfo),
    controllerId: optU32(o, 'controllerId', w),
  });
}

/**
 * A response envelope. The result is kept as a plain value: which shape it must have depends on
 * the op of the request, which only the client knows (see `validateResult`).
 */
function response(o: Obj): ResponseMessage {
  const id = u32(o, 'id', 'res');
  try {
    if (bool(o, 'ok', 'res')) {
      const result = get(o, 'result');
      return {
        t: 'res',
        id,
        ok: true,
        result: (result === undefined ? {} : plainValue(result, 'res.result')) as never,
      };
    }
    return { t: 'res', id, ok: false, error: nested(o, 'error', 'res', errorBody) };
  } catch (e) {
    withData(e, { id });
  }
}

/** One log record. Built field by field: a batch holds thousands, so no intermediate objects. */
function logRecord(value: unknown, where: string): LogRecord {
  const o = asObj(value, where);
  const record: LogRecord = {
    seq: u64(o, 'seq', where),
    eventId: u32(o, 'eventId', where),
    kind: u32(o, 'kind', where),
    vcpu: u32(o, 'vcpu', where),
    pid: u32(o, 'pid', where),
    tid: u32(o, 'tid', where),
    time: u64(o, 'time', where),
    stage: oneOf(o, 'stage', where, LOG_STAGES),
  };
  const late = optBool(o, 'late', where);
  if (late !== undefined) record.late = late;
  const text = optStr(o, 'text', where);
  if (text !== undefined) record.text = text;
  const bytes = optBytes(o, 'bytes', where, LIMITS.maxEventBufferBytes);
  if (bytes !== undefined) record.bytes = bytes;
  return record;
}

const NOTIFICATIONS: { readonly [T in Notification['t']]: (o: Obj) => Extract<Notification, { t: T }> } = {
  halted: (o) => ({ t: 'halted', ...haltInfo(o, 'halted') }),
  resumed: (o) =>
    compact({ t: 'resumed' as const, byClient: optU32(o, 'byClient', 'resumed'), step: optBool(o, 'step', 'resumed') }),
  log: (o) => ({ t: 'log', batch: list(o, 'batch', 'log', LIMITS.maxLogBatch, logRecord) }),
  console: (o) => ({ t: 'console', text: str(o, 'text', 'console') }),
  eventsChanged: (o) => compact({ t: 'eventsChanged' as const, byClient: optU32(o, 'byClient', 'eventsChanged') }),
  stateChanged: (o) =>
    compact({
      t: 'stateChanged' as const,
      what: oneOf(o, 'what', 'stateChanged', STATE_CHANGE_KINDS),
      byClient: u32(o, 'byClient', 'stateChanged'),
      vcpu: optU32(o, 'vcpu', 'stateChanged'),
      address: optU64(o, 'address', 'stateChanged'),
      length: optU32(o, 'length', 'stateChanged'),
      detail: optStr(o, 'detail', 'stateChanged'),
    }),
  clientJoined: (o) => ({
    t: 'clientJoined',
    clientId: u32(o, 'clientId', 'clientJoined'),
    role: oneOf(o, 'role', 'clientJoined', ROLES),
    name: str(o, 'name', 'clientJoined'),
  }),
  clientLeft: (o) => ({
    t: 'clientLeft',
    clientId: u32(o, 'clientId', 'clientLeft'),
    reason: str(o, 'reason', 'clientLeft'),
  }),
  roleChanged: (o) => ({
    t: 'roleChanged',
    clientId: u32(o, 'clientId', 'roleChanged'),
    role: oneOf(o, 'role', 'roleChanged', ROLES),
  }),
  dropped: (o) => ({
    t: 'dropped',
    count: u64(o, 'count', 'dropped'),
    firstSeq: u64(o, 'firstSeq', 'dropped'),
    lastSeq: u64(o, 'lastSeq', 'dropped'),
    bytes: u64(o, 'bytes', 'dropped'),
    eventIds: list(o, 'eventIds', 'dropped', ANY, u32Value),
    reason: oneOf(o, 'reason', 'dropped', DROP_REASONS),
  }),
  sessionClosed: (o) => ({ t: 'sessionClosed', reason: str(o, 'reason', 'sessionClosed') }),
};

export function validateServerMessage(value: unknown): ServerMessage {
  const o = asObj(value, 'message');
  const t = messageType(o);
  if (t === 'welcome') return welcome(o);
  if (t === 'refused') return { t: 'refused', error: nested(o, 'error', 'refused', errorBody) };
  if (t === 'res') return response(o);
  if (Object.hasOwn(NOTIFICATIONS, t)) return NOTIFICATIONS[t as Notification['t']](o);
  unknownType(t);
}
