/**
 * Validators for the records that appear in more than one server message: the halt report
 * (welcome, `halted`, status, core switch), guest modules (welcome, symbols) and error bodies
 * (refused, failed responses, script results).
 */
import { ERROR_CODES, type ErrorBody, type ErrorCode } from './errors.js';
import {
  asObj,
  bytes,
  compact,
  type Obj,
  oneOf,
  optNested,
  optOneOf,
  optU32,
  optU64,
  plainValue,
  str,
  u32,
  u64,
} from './fields.js';
import type { GuestModule, HaltInfo, HaltReason, Role, RunState } from './messages.js';

export const ROLES: readonly Role[] = ['controller', 'observer'];
export const RUN_STATES: readonly RunState[] = ['running', 'halted', 'stopped'];
export const HALT_REASONS: readonly HaltReason[] = [
  'pause',
  'event',
  'step',
  'breakpoint',
  'watchpoint',
  'startup',
  'triple-fault',
  'shutdown',
];
const HALT_STAGES: readonly ('pre' | 'post')[] = ['pre', 'post'];
/** The halt report carries at most this many instruction bytes (the longest x86 instruction is 15). */
export const HALT_BYTES = 16;

export function haltInfo(o: Obj, where: string): HaltInfo {
  return compact({
    reason: oneOf(o, 'reason', where, HALT_REASONS),
    vcpu: u32(o, 'vcpu', where),
    rip: u64(o, 'rip', where),
    rflags: u64(o, 'rflags', where),
    bytes: bytes(o, 'bytes', where, HALT_BYTES),
    eventId: optU32(o, 'eventId', where),
    stage: optOneOf(o, 'stage', where, HALT_STAGES),
    context: optU64(o, 'context', where),
    byClient: optU32(o, 'byClient', where),
    lastSeq: u64(o, 'lastSeq', where),
  });
}

export function guestModule(value: unknown, where: string): GuestModule {
  const o = asObj(value, where);
  return { name: str(o, 'name', where), base: u64(o, 'base', where), size: u64(o, 'size', where) };
}

/** An error body; its code must be in the catalogue, its data is free-form but plain. */
export function errorBody(o: Obj, where: string): ErrorBody {
  const code = oneOf<ErrorCode>(o, 'code', where, ERROR_CODES);
  const message = str(o, 'message', where);
  const data = optNested(o, 'data', where, (d, w) => plainValue(d, w) as Record<string, unknown>);
  return data === undefined ? { code, message } : { code, message, data };
}
