/**
 * The one catalogue of error codes that cross a boundary (wire, CLI, script compiler, verifier).
 *
 * Codes are stable strings: clients match on them, so never rename one; add new ones at the end of
 * their group. Each has a one-line meaning the client shows when the daemon sends no message of its
 * own. Guest faults are NOT here: a #PF in the guest is guest state, reported as a halt or a log.
 */
export const ERROR_CATALOGUE = {
  // Framing and message shape
  E_BAD_MESSAGE: 'the message is malformed (not msgpack, or wrong shape, type or range)',
  E_UNKNOWN_REQUEST: 'the request operation is not known to this daemon',
  E_TOO_LARGE: 'the message or one of its fields exceeds a documented limit',
  E_TOO_MANY_PENDING: 'too many requests are pending on this connection',
  // Handshake and roles
  E_VERSION: 'client and daemon speak different protocol versions',
  E_HANDSHAKE: 'the first message must be hello',
  E_AUTH: 'the token is missing or wrong',
  E_FORBIDDEN: 'observers cannot change guest state',
  E_CONTROLLER_TAKEN: 'another client is already the controller',
  E_NOT_CONTROLLER: 'this request needs the controller role',
  // Execution state
  E_NOT_HALTED: 'the guest must be halted for this request',
  E_NOT_RUNNING: 'the guest is already halted',
  E_LOCAL_MODE: 'breaking is refused in local mode: the debugger cannot halt its own machine',
  E_BAD_VCPU: 'no such vCPU',
  E_GUEST_STOPPED: 'the guest machine has stopped (triple fault or shutdown)',
  // Memory and registers
  E_BAD_ADDRESS: 'the address is not mapped or not accessible',
  E_BAD_REGISTER: 'no such register',
  E_BAD_VALUE: 'the value is out of range for its field',
  // Events and actions
  E_BAD_EVENT: 'unknown event kind',
  E_BAD_PARAMETER: 'bad event parameter or option',
  E_BAD_EVENT_ID: 'no event has that id',
  E_BAD_ACTION: 'the action list is invalid',
  E_HOOK_CONFLICT: 'the hook or monitor overlaps one that cannot share its page',
  E_SCRIPT_SYNTAX: 'the script does not compile',
  E_SCRIPT_VERIFY: 'the script buffer failed verification',
  E_SCRIPT_RUNTIME: 'the script stopped with a run-time error',
  E_CODE_INVALID: 'the custom-code or condition buffer is invalid',
  E_CODE_RUNTIME: 'the custom code faulted, ran over budget or did not return',
  E_BAD_BREAKPOINT: 'no breakpoint has that id',
  // Symbols
  E_UNKNOWN_SYMBOL: 'no symbol by that name',
  // Guest image and machine
  E_BAD_IMAGE: 'the guest image is not a loadable ELF64 x86-64 file',
  E_CONFIG: 'the daemon configuration is invalid',
  // Transport
  E_DISCONNECTED: 'the connection closed',
  E_TIMEOUT: 'the operation timed out',
  // Bugs: logged with a stack by the daemon, sent without it
  E_INTERNAL: 'internal error in the daemon',
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** The wire form of an error. `data` is optional structured detail (both versions, a position …). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  data?: Record<string, unknown>;
}

/**
 * A user error with a stable code. Thrown inside the daemon or the client for anything the user
 * caused; anything else that escapes a handler is a bug and becomes E_INTERNAL.
 */
export class HvdbgError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, data?: Record<string, unknown>) {
    super(message ?? ERROR_CATALOGUE[code]);
    this.name = 'HvdbgError';
    this.code = code;
    this.data = data;
  }

  toBody(): ErrorBody {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }

  static fromBody(body: ErrorBody): HvdbgError {
    return new HvdbgError(body.code, body.message, body.data);
  }
}
