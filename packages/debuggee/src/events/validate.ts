/**
 * Validation of an EventSpec when it is added (SPEC §2.1–2.2, §3): the daemon trusts nothing the
 * client computed. Everything is checked before anything is allocated or registered, so a rejected
 * event leaves no trace (no id consumed, no EPT bit, no buffer).
 */
import type { EventKind, EventSpec, Stage } from '@hvdbg/protocol';
import { EVENT_KINDS, HvdbgError, LIMITS } from '@hvdbg/protocol';
import { EPT_EXEC_TRAP, EPT_READ_TRAP, EPT_WRITE_TRAP } from '../cpu/exits.js';
import { EPT_OWNER_EXCLUSIVE, EPT_OWNER_SHARED, type EptManager } from '../hv/ept.js';
import { ANY_FILTER } from '../hv/filters.js';
import type { CompiledAction, MachineCode } from './actions.js';
import {
  EVENT_TAG_BASE,
  type EventBuffer,
  KIND_CODE,
  MONITOR_EXECUTE,
  MONITOR_READ,
  MONITOR_WRITE,
  type RegisteredEvent,
  reasonsOf,
} from './registry.js';

/** Largest `!monitor` range, so a typo cannot trap all of memory. */
export const MAX_MONITOR_BYTES = 64 * 1024 * 1024;

/** What validation needs from the rest of the hypervisor. */
export interface ValidationContext {
  mode: 'remote' | 'local';
  vcpus: number;
  ept: EptManager;
  /** Guest-physical address of a virtual address (for `pid` if given), or -1 when unmapped. */
  translate(address: bigint, pid: number | undefined): number;
  /** Verifies a script buffer and returns the prepared program; throws E_SCRIPT_VERIFY. */
  prepareScript(buffer: Uint8Array): unknown;
  /** Checks machine code (size, reachable ret); returns a reason or null when valid. */
  checkCode(bytes: Uint8Array, limit: number): string | null;
  /** Places verified code in hypervisor-private memory. */
  loadCode(bytes: Uint8Array): MachineCode;
  allocBuffer(size: number): EventBuffer;
}

const PRE_ONLY = new Set<EventKind>(['epthook', 'epthook2', 'mode', 'trace']);
const NO_PARAM = new Set<EventKind>(['sysret', 'tsc', 'pmc', 'vmcall', 'dr']);
const TRACE_TYPES: Record<string, number> = { 'step-in': 1, 'step-out': 2, 'instrument-step': 3 };
const MODE_DIRECTIONS: Record<string, number> = { u: 3, k: 0, ku: ANY_FILTER };
const MAX_U32 = 0xffffffffn;

function bad(message: string): never {
  throw new HvdbgError('E_BAD_PARAMETER', message);
}

function isInt(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

/** Parameter of SPEC §2.1 as a number, range-checked per kind. */
function paramOf(spec: EventSpec): number {
  const { kind, param } = spec;
  const need = (what: string): bigint => (param === undefined ? bad(`!${kind} needs ${what}`) : param);
  const upTo = (max: bigint, what: string): number => {
    if (param === undefined) return ANY_FILTER;
    if (param < 0n || param > max)
      bad(`!${kind}: ${what} 0x${param.toString(16)} is out of range (0..0x${max.toString(16)})`);
    return Number(param);
  };
  if (NO_PARAM.has(kind)) {
    if (param !== undefined) bad(`!${kind} takes no parameter`);
    return ANY_FILTER;
  }
  switch (kind) {
    case 'syscall':
      return upTo(0x1f_ffff_ffff_ffffn, 'syscall number');
    case 'cpuid':
      return upTo(MAX_U32, 'leaf');
    case 'msrread':
    case 'msrwrite':
      return upTo(MAX_U32, 'MSR');
    case 'xsetbv':
      return upTo(MAX_U32, 'XCR');
    case 'ioin':
    case 'ioout':
      return upTo(0xffffn, 'port');
    case 'exception':
      return upTo(0x1fn, 'vector (exceptions are 0..1f; use !interrupt for 20..ff)');
    case 'interrupt': {
      const v = need('a vector (20..ff)');
      if (v < 0x20n || v > 0xffn) bad(`!interrupt: vector 0x${v.toString(16)} is out of range (20..ff)`);
      return Number(v);
    }
    case 'crwrite': {
      const v = need('a control register (0 or 4)');
      if (v !== 0n && v !== 4n) bad(`!crwrite: only cr0 and cr4 are supported, not cr${v}`);
      return Number(v);
    }
    case 'epthook':
    case 'epthook2': {
      const v = BigInt.asIntN(64, need('an address'));
      const top = v >> 47n;
      if (top !== 0n && top !== -1n)
        bad(`!${kind}: 0x${BigInt.asUintN(64, v).toString(16)} is not a canonical address`);
      return Number(v);
    }
    case 'mode': {
      const d = spec.direction ?? '';
      if (!(d in MODE_DIRECTIONS)) bad(`!mode needs u, k or ku, not '${d}'`);
      return MODE_DIRECTIONS[d]!;
    }
    case 'trace': {
      const d = spec.direction ?? '';
      if (!(d in TRACE_TYPES)) bad(`!trace needs step-in, step-out or instrument-step, not '${d}'`);
      return TRACE_TYPES[d]!;
    }
    default:
      if (param !== undefined) bad(`!${kind}: use the access and range fields`);
      return ANY_FILTER;
  }
}

function monitorAccess(access: string | undefined): number {
  if (access === undefined || !/^(r?w?x?)$/.test(access) || access === '')
    bad('!monitor needs access r, w, x, rw, rx, wx or rwx');
  return (
    (access.includes('r') ? MONITOR_READ : 0) |
    (access.includes('w') ? MONITOR_WRITE : 0) |
    (access.includes('x') ? MONITOR_EXECUTE : 0)
  );
}

interface Prepared {
  param: number;
  physical: number;
  frames: number[];
  eptBits: number;
  rangeStart: number;
  rangeEnd: number;
  access: number;
}

/** Address and hook checks; no side effects. */
function prepareHooks(spec: EventSpec, param: number, ctx: ValidationContext): Prepared {
  const out: Prepared = { param, physical: -1, frames: [], eptBits: 0, rangeStart: 0, rangeEnd: -1, access: 0 };
  if (spec.kind === 'epthook' || spec.kind === 'epthook2') {
    const pa = ctx.translate(BigInt.asUintN(64, BigInt(param)), spec.pid);
    if (pa < 0)
      throw new HvdbgError(
        'E_BAD_ADDRESS',
        `!${spec.kind}: 0x${BigInt.asUintN(64, BigInt(param)).toString(16)} is not mapped`,
      );
    out.physical = pa;
    out.frames = [Math.floor(pa / 4096)];
    out.eptBits = EPT_EXEC_TRAP;
  } else if (spec.kind === 'monitor') {
    out.access = monitorAccess(spec.access);
    const { rangeStart, rangeEnd } = spec;
    if (rangeStart === undefined || rangeEnd === undefined) bad('!monitor needs a range (from to, or from l length)');
    const physical = (spec.space ?? 'virtual') === 'physical';
    const start = physical ? rangeStart : BigInt.asIntN(64, rangeStart);
    const end = physical ? rangeEnd : BigInt.asIntN(64, rangeEnd);
    if (end < start) bad('!monitor: the range ends before it starts');
    if (end - start + 1n > BigInt(MAX_MONITOR_BYTES))
      bad(`!monitor: ranges are limited to 0x${MAX_MONITOR_BYTES.toString(16)} bytes`);
    out.rangeStart = Number(start);
    out.rangeEnd = Number(end);
    const frames = new Set<number>();
    for (let page = start & ~0xfffn; page <= end; page += 0x1000n) {
      const pa = physical ? Number(page) : ctx.translate(BigInt.asUintN(64, page), spec.pid);
      if (pa < 0)
        throw new HvdbgError('E_BAD_ADDRESS', `!monitor: 0x${BigInt.asUintN(64, page).toString(16)} is not mapped`);
      frames.add(Math.floor(pa / 4096));
    }
    out.frames = [...frames];
    out.eptBits =
      (out.access & MONITOR_READ ? EPT_READ_TRAP : 0) |
      (out.access & MONITOR_WRITE ? EPT_WRITE_TRAP : 0) |
      (out.access & MONITOR_EXECUTE ? EPT_EXEC_TRAP : 0);
  }
  if (out.frames.length > 0) {
    ctx.ept.check(out.frames, spec.kind === 'epthook' ? EPT_OWNER_SHARED : EPT_OWNER_EXCLUSIVE);
  }
  return out;
}

/** Everything about the spec that needs no allocation. Throws a typed error on the first problem. */
export function checkSpec(
  spec: EventSpec,
  ctx: ValidationContext,
): { prepared: Prepared; stage: Stage; warnings: string[] } {
  if (spec === null || typeof spec !== 'object') throw new HvdbgError('E_BAD_MESSAGE', 'event spec must be an object');
  if (!EVENT_KINDS.includes(spec.kind))
    throw new HvdbgError('E_BAD_EVENT', `unknown event kind '${String(spec.kind)}'`);
  const stage = spec.stage ?? 'pre';
  if (stage !== 'pre' && stage !== 'post' && stage !== 'all')
    bad(`unknown stage '${String(stage)}' (pre, post or all)`);
  if (PRE_ONLY.has(spec.kind) && stage !== 'pre') bad(`!${spec.kind} fires in the pre stage only`);
  if (typeof spec.sc !== 'boolean' || typeof spec.imm !== 'boolean') bad('sc and imm must be booleans');
  if (spec.sc && stage !== 'pre') bad('sc on needs stage pre: a post-stage event cannot skip what already happened');
  if (!isInt(spec.bufferSize, LIMITS.maxEventBufferBytes)) {
    throw new HvdbgError('E_TOO_LARGE', `buffer size must be 0..0x${LIMITS.maxEventBufferBytes.toString(16)} bytes`);
  }
  if (spec.pid !== undefined && !isInt(spec.pid, 0xfffffffe)) bad('pid must be a non-negative integer');
  if (spec.core !== undefined && !isInt(spec.core, ctx.vcpus - 1)) {
    throw new HvdbgError('E_BAD_VCPU', `core ${String(spec.core)} does not exist (the guest has ${ctx.vcpus} vCPUs)`);
  }
  if (spec.mask !== undefined && spec.kind !== 'crwrite') bad('mask applies to !crwrite only');
  if (typeof spec.text !== 'string') bad('the command text is missing');
  if (!Array.isArray(spec.actions)) throw new HvdbgError('E_BAD_ACTION', 'actions must be a list');
  const warnings: string[] = [];
  for (const a of spec.actions) {
    if (a === null || typeof a !== 'object') throw new HvdbgError('E_BAD_ACTION', 'each action must be an object');
    if (a.type === 'break') {
      if (ctx.mode === 'local') {
        throw new HvdbgError(
          'E_LOCAL_MODE',
          'a break action (an event without script or code) would halt the machine the debugger runs on; in local mode use a script or code action',
        );
      }
    } else if (a.type === 'script') {
      if (!(a.buffer instanceof Uint8Array)) throw new HvdbgError('E_BAD_ACTION', 'script action without a buffer');
      if (a.buffer.length > LIMITS.maxScriptBytes) throw new HvdbgError('E_TOO_LARGE', 'script buffer too large');
    } else if (a.type === 'code') {
      if (!(a.bytes instanceof Uint8Array)) throw new HvdbgError('E_BAD_ACTION', 'code action without bytes');
      const why = ctx.checkCode(a.bytes, LIMITS.maxCodeBytes);
      if (why !== null) throw new HvdbgError('E_CODE_INVALID', `custom code: ${why}`);
    } else {
      throw new HvdbgError('E_BAD_ACTION', `unknown action type '${String((a as { type: unknown }).type)}'`);
    }
  }
  if (spec.actions.length === 0) warnings.push('the event has no actions and will never fire');
  if (spec.condition !== undefined) {
    if (!(spec.condition instanceof Uint8Array)) throw new HvdbgError('E_CODE_INVALID', 'condition must be bytes');
    const why = ctx.checkCode(spec.condition, LIMITS.maxConditionBytes);
    if (why !== null) throw new HvdbgError('E_CODE_INVALID', `condition: ${why}`);
  }
  const param = paramOf(spec);
  return { prepared: prepareHooks(spec, param, ctx), stage, warnings };
}

/**
 * Validates a spec and builds the RegisteredEvent for id `id`, allocating its buffers and code.
 * The caller registers it (registry + EPT) only after this returns; on a throw nothing is left.
 */
export function buildEvent(
  spec: EventSpec,
  id: number,
  ctx: ValidationContext,
): { ev: RegisteredEvent; eptBits: number; warnings: string[] } {
  const { prepared, stage, warnings } = checkSpec(spec, ctx);
  // Scripts are verified before any allocation, so a bad script allocates nothing.
  const programs = spec.actions.map((a) => (a.type === 'script' ? ctx.prepareScript(a.buffer) : null));
  const owned: { release(): void }[] = [];
  try {
    const buffer = spec.bufferSize > 0 ? ctx.allocBuffer(spec.bufferSize) : null;
    if (buffer !== null) owned.push(buffer);
    const condition = spec.condition !== undefined ? ctx.loadCode(spec.condition) : null;
    if (condition !== null) owned.push(condition);
    const actions: CompiledAction[] = spec.actions.map((a, i) => {
      if (a.type === 'break') return { type: 'break' };
      if (a.type === 'script') return { type: 'script', buffer: a.buffer, program: programs[i] };
      const code = ctx.loadCode(a.bytes);
      owned.push(code);
      return { type: 'code', code, release: () => code.release() };
    });
    const ev: RegisteredEvent = {
      id,
      tag: EVENT_TAG_BASE + BigInt(id),
      kind: spec.kind,
      code: KIND_CODE[spec.kind],
      spec,
      enabled: true,
      cleared: false,
      hits: 0,
      lastCore: -1,
      lastInstruction: -1,
      param: prepared.param,
      mask: BigInt.asUintN(64, spec.mask ?? -1n),
      rangeStart: prepared.rangeStart,
      rangeEnd: prepared.rangeEnd,
      physicalSpace: spec.space === 'physical',
      access: prepared.access,
      physical: prepared.physical,
      frames: prepared.frames,
      pid: spec.pid ?? ANY_FILTER,
      core: spec.core ?? ANY_FILTER,
      pre: stage !== 'post',
      post: stage !== 'pre',
      sc: spec.sc,
      imm: spec.imm,
      condition,
      actions,
      buffer,
      reasons: reasonsOf(spec.kind, prepared.access),
    };
    return { ev, eptBits: prepared.eptBits, warnings };
  } catch (err) {
    for (const o of owned) o.release();
    throw err;
  }
}
