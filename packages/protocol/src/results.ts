/**
 * Validators for the result of every request op, one entry per op in a table built once.
 *
 * A response does not name its op (the client knows it from the request id), so decoding a
 * response checks only the envelope and leaves `result` as a plain value; the client calls
 * `validateResult(op, result)` once it has matched the id to its pending request.
 */

import {
  asObj,
  bool,
  bytes,
  compact,
  list,
  nested,
  type Obj,
  oneOf,
  optNested,
  optU32,
  safeKey,
  str,
  strValue,
  u32,
  u32Value,
  u64,
  u64Value,
} from './fields.js';
import { LIMITS } from './limits.js';
import type {
  BreakpointInfo,
  EventInfo,
  Mode,
  ProcessInfo,
  RequestOp,
  RequestResults,
  StatusInfo,
  SymbolInfo,
  ThreadInfo,
} from './messages.js';
import { EVENT_KINDS } from './messages.js';
import { errorBody, guestModule, haltInfo, ROLES, RUN_STATES } from './records.js';

export const MODES: readonly Mode[] = ['remote', 'local'];
const SYMBOL_KINDS: readonly SymbolInfo['kind'][] = ['function', 'object', 'other'];
const PROCESS_STATES: readonly ProcessInfo['state'][] = ['live', 'dying'];
const THREAD_STATES: readonly ThreadInfo['state'][] = ['runnable', 'running', 'sleeping'];
/** Lists in results are bounded only by the frame (the daemon decides how much to send). */
const ANY = Number.POSITIVE_INFINITY;

type ResultValidator<Op extends RequestOp> = (o: Obj, where: string) => RequestResults[Op];

const none = (): Record<string, never> => ({});

function eventInfo(value: unknown, where: string): EventInfo {
  const o = asObj(value, where);
  return {
    id: u32(o, 'id', where),
    tag: u64(o, 'tag', where),
    enabled: bool(o, 'enabled', where),
    kind: oneOf(o, 'kind', where, EVENT_KINDS),
    text: str(o, 'text', where),
    hits: u64(o, 'hits', where),
  };
}

function symbolInfo(value: unknown, where: string): SymbolInfo {
  const o = asObj(value, where);
  return {
    name: str(o, 'name', where),
    module: str(o, 'module', where),
    address: u64(o, 'address', where),
    size: u64(o, 'size', where),
    kind: oneOf(o, 'kind', where, SYMBOL_KINDS),
  };
}

function breakpointInfo(value: unknown, where: string): BreakpointInfo {
  const o = asObj(value, where);
  return compact({
    id: u32(o, 'id', where),
    address: u64(o, 'address', where),
    enabled: bool(o, 'enabled', where),
    pid: optU32(o, 'pid', where),
    tid: optU32(o, 'tid', where),
    core: optU32(o, 'core', where),
    hits: u64(o, 'hits', where),
  });
}

function processInfo(value: unknown, where: string): ProcessInfo {
  const o = asObj(value, where);
  return {
    pid: u32(o, 'pid', where),
    name: str(o, 'name', where),
    state: oneOf(o, 'state', where, PROCESS_STATES),
    address: u64(o, 'address', where),
    cr3: u64(o, 'cr3', where),
    threads: u32(o, 'threads', where),
    vcpus: list(o, 'vcpus', where, ANY, u32Value),
  };
}

function threadInfo(value: unknown, where: string): ThreadInfo {
  const o = asObj(value, where);
  return {
    tid: u32(o, 'tid', where),
    pid: u32(o, 'pid', where),
    state: oneOf(o, 'state', where, THREAD_STATES),
    address: u64(o, 'address', where),
  };
}

function client(value: unknown, where: string): StatusInfo['clients'][number] {
  const o = asObj(value, where);
  return { id: u32(o, 'id', where), role: oneOf(o, 'role', where, ROLES), name: str(o, 'name', where) };
}

export function statusInfo(o: Obj, where: string): StatusInfo {
  return compact({
    state: oneOf(o, 'state', where, RUN_STATES),
    mode: oneOf(o, 'mode', where, MODES),
    halt: optNested(o, 'halt', where, haltInfo),
    vcpus: u32(o, 'vcpus', where),
    instructions: u64(o, 'instructions', where),
    clients: list(o, 'clients', where, ANY, client),
    controllerId: optU32(o, 'controllerId', where),
    events: u32(o, 'events', where),
    drops: u64(o, 'drops', where),
    lossless: bool(o, 'lossless', where),
    queueDepth: u32(o, 'queueDepth', where),
  });
}

/** Register values by name, copied into a fresh map; names that are prototype slots are refused. */
function registers(o: Obj, where: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const name of Object.keys(o)) {
    strValue(name, where);
    out[safeKey(name, where)] = u64Value(o[name], `${where}.${name}`);
  }
  return out;
}

const RESULTS: { readonly [Op in RequestOp]: ResultValidator<Op> } = {
  'event.add': (o, w) => ({
    id: u32(o, 'id', w),
    tag: u64(o, 'tag', w),
    warnings: list(o, 'warnings', w, ANY, strValue),
  }),
  'event.list': (o, w) => ({ events: list(o, 'events', w, LIMITS.maxEvents, eventInfo) }),
  'event.modify': (o, w) => ({ affected: u32(o, 'affected', w) }),
  'event.setSc': none,
  'event.readBuffer': (o, w) => ({ bytes: bytes(o, 'bytes', w, LIMITS.maxEventBufferBytes) }),
  'exec.continue': none,
  'exec.pause': none,
  'exec.step': none,
  'exec.switchCore': (o, w) => ({ halt: nested(o, 'halt', w, haltInfo) }),
  'exec.detach': none,
  'regs.get': (o, w) => ({ vcpu: u32(o, 'vcpu', w), regs: nested(o, 'regs', w, registers) }),
  'regs.set': none,
  'mem.read': (o, w) => ({ bytes: bytes(o, 'bytes', w, LIMITS.maxMemoryBytes) }),
  'mem.write': (o, w) => ({ written: u32(o, 'written', w) }),
  'mem.translate': (o, w) => ({ physical: u64(o, 'physical', w), entries: list(o, 'entries', w, ANY, u64Value) }),
  'symbols.get': (o, w) => ({
    modules: list(o, 'modules', w, ANY, guestModule),
    symbols: list(o, 'symbols', w, ANY, symbolInfo),
  }),
  'symbols.lookup': (o, w) => ({ symbols: list(o, 'symbols', w, ANY, symbolInfo) }),
  'script.eval': (o, w) =>
    compact({ output: list(o, 'output', w, ANY, strValue), error: optNested(o, 'error', w, errorBody) }),
  'bp.add': (o, w) => ({ id: u32(o, 'id', w) }),
  'bp.list': (o, w) => ({ breakpoints: list(o, 'breakpoints', w, ANY, breakpointInfo) }),
  'bp.modify': (o, w) => ({ affected: u32(o, 'affected', w) }),
  'cpu.rdmsr': (o, w) => ({ value: u64(o, 'value', w) }),
  'cpu.wrmsr': none,
  'cpu.cpuid': (o, w) => ({
    eax: u32(o, 'eax', w),
    ebx: u32(o, 'ebx', w),
    ecx: u32(o, 'ecx', w),
    edx: u32(o, 'edx', w),
  }),
  'guest.processes': (o, w) => ({ processes: list(o, 'processes', w, ANY, processInfo) }),
  'guest.threads': (o, w) => ({ threads: list(o, 'threads', w, ANY, threadInfo) }),
  'queue.flush': (o, w) => ({ discarded: u32(o, 'discarded', w) }),
  status: statusInfo,
  'control.take': (o, w) => ({ role: oneOf(o, 'role', w, ROLES) }),
  disconnect: none,
};

/** Validates the result of a successful response to a request of op `op`. */
export function validateResult<Op extends RequestOp>(op: Op, result: unknown): RequestResults[Op] {
  const where = `${op} result`;
  const o = result === undefined || result === null ? {} : asObj(result, where);
  return (RESULTS[op] as ResultValidator<Op>)(o, where);
}
