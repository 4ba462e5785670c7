/**
 * Validators for the arguments of every request op, one entry per op in a table built once.
 *
 * The wire layer checks types, ranges and sizes only; meaning (does this vCPU exist, is this
 * register name known, does this script verify) is the daemon's job and has its own error codes.
 * Each validator builds a fresh object holding exactly the fields of its op: unknown fields are
 * tolerated, for forward compatibility, but never copied through to a handler.
 */

import {
  asObj,
  bool,
  bytes,
  compact,
  fail,
  get,
  list,
  type Obj,
  oneOf,
  optBytes,
  optList,
  optOneOf,
  optStr,
  optU32,
  optU64,
  str,
  strValue,
  u32,
  u32In,
  u32Value,
  u64,
} from './fields.js';
import { LIMITS } from './limits.js';
import {
  EVENT_KINDS,
  type EventAction,
  type EventSpec,
  type MemorySpace,
  type RequestArgs,
  type RequestOp,
  type StepKind,
} from './messages.js';

const SPACES: readonly MemorySpace[] = ['virtual', 'physical'];
const STAGES: readonly EventSpec['stage'][] = ['pre', 'post', 'all'];
const STEP_KINDS: readonly StepKind[] = ['into', 'over', 'instr', 'out'];
const MODIFY_ACTIONS: readonly ('enable' | 'disable' | 'clear')[] = ['enable', 'disable', 'clear'];
const ACTION_TYPES: readonly EventAction['type'][] = ['break', 'script', 'code'];

type ArgsValidator<Op extends RequestOp> = (o: Obj, where: string) => RequestArgs[Op];

/** Ops without arguments: whatever the map holds, the handler gets an empty object. */
const none = (): Record<string, never> => ({});

function action(value: unknown, where: string): EventAction {
  const o = asObj(value, where);
  const type = oneOf(o, 'type', where, ACTION_TYPES, 'E_BAD_ACTION');
  switch (type) {
    case 'break':
      return { type };
    case 'script':
      return compact({
        type,
        buffer: bytes(o, 'buffer', where, LIMITS.maxScriptBytes),
        source: optStr(o, 'source', where),
      });
    case 'code':
      return { type, bytes: bytes(o, 'bytes', where, LIMITS.maxCodeBytes) };
  }
}

function eventSpec(o: Obj, where: string): EventSpec {
  return compact({
    kind: oneOf(o, 'kind', where, EVENT_KINDS, 'E_BAD_EVENT'),
    param: optU64(o, 'param', where),
    mask: optU64(o, 'mask', where),
    access: optStr(o, 'access', where),
    rangeStart: optU64(o, 'rangeStart', where),
    rangeEnd: optU64(o, 'rangeEnd', where),
    space: optOneOf(o, 'space', where, SPACES),
    direction: optStr(o, 'direction', where),
    pid: optU32(o, 'pid', where),
    core: optU32(o, 'core', where),
    stage: oneOf(o, 'stage', where, STAGES),
    sc: bool(o, 'sc', where),
    imm: bool(o, 'imm', where),
    bufferSize: u32In(o, 'bufferSize', where, 0, LIMITS.maxEventBufferBytes),
    condition: optBytes(o, 'condition', where, LIMITS.maxConditionBytes),
    // No count limit of its own: each action carries a buffer, so the frame limit bounds the list.
    actions: list(o, 'actions', where, Number.POSITIVE_INFINITY, action),
    text: str(o, 'text', where),
  });
}

/** `id` of event.modify / bp.modify: a number, or the string 'all'. */
function idOrAll(o: Obj, where: string): number | 'all' {
  const v = get(o, 'id');
  if (v === 'all') return 'all';
  if (v === undefined) fail('E_BAD_MESSAGE', `${where}.id`, "expected an id or 'all'");
  return u32Value(v, `${where}.id`);
}

function modify(o: Obj, where: string): { id: number | 'all'; action: 'enable' | 'disable' | 'clear' } {
  return { id: idOrAll(o, where), action: oneOf(o, 'action', where, MODIFY_ACTIONS) };
}

const registerName = (v: unknown, where: string): string => strValue(v, where);

const ARGS: { readonly [Op in RequestOp]: ArgsValidator<Op> } = {
  'event.add': eventSpec,
  'event.list': none,
  'event.modify': modify,
  'event.setSc': (o, w) => ({ on: bool(o, 'on', w) }),
  'event.readBuffer': (o, w) => ({ id: u32(o, 'id', w) }),
  'exec.continue': none,
  'exec.pause': none,
  'exec.step': (o, w) =>
    compact({
      kind: oneOf(o, 'kind', w, STEP_KINDS),
      count: u32In(o, 'count', w, 1, LIMITS.maxStepCount),
      vcpu: optU32(o, 'vcpu', w),
    }),
  'exec.switchCore': (o, w) => ({ vcpu: u32(o, 'vcpu', w) }),
  'exec.detach': none,
  'regs.get': (o, w) =>
    compact({ vcpu: optU32(o, 'vcpu', w), names: optList(o, 'names', w, LIMITS.maxRegisterNames, registerName) }),
  'regs.set': (o, w) => compact({ vcpu: optU32(o, 'vcpu', w), name: str(o, 'name', w), value: u64(o, 'value', w) }),
  'mem.read': (o, w) =>
    compact({
      address: u64(o, 'address', w),
      length: u32In(o, 'length', w, 0, LIMITS.maxMemoryBytes),
      space: oneOf(o, 'space', w, SPACES),
      vcpu: optU32(o, 'vcpu', w),
      pid: optU32(o, 'pid', w),
    }),
  'mem.write': (o, w) =>
    compact({
      address: u64(o, 'address', w),
      bytes: bytes(o, 'bytes', w, LIMITS.maxMemoryBytes),
      space: oneOf(o, 'space', w, SPACES),
      vcpu: optU32(o, 'vcpu', w),
      pid: optU32(o, 'pid', w),
    }),
  'mem.translate': (o, w) =>
    compact({ address: u64(o, 'address', w), vcpu: optU32(o, 'vcpu', w), pid: optU32(o, 'pid', w) }),
  'symbols.get': none,
  'symbols.lookup': (o, w) => {
    const args = compact({ name: optStr(o, 'name', w), address: optU64(o, 'address', w) });
    if (args.name === undefined && args.address === undefined) {
      fail('E_BAD_MESSAGE', w, 'needs a name or an address');
    }
    return args;
  },
  'script.eval': (o, w) =>
    compact({ buffer: bytes(o, 'buffer', w, LIMITS.maxScriptBytes), vcpu: optU32(o, 'vcpu', w) }),
  'bp.add': (o, w) =>
    compact({
      address: u64(o, 'address', w),
      pid: optU32(o, 'pid', w),
      tid: optU32(o, 'tid', w),
      core: optU32(o, 'core', w),
    }),
  'bp.list': none,
  'bp.modify': modify,
  'cpu.rdmsr': (o, w) => compact({ msr: u32(o, 'msr', w), vcpu: optU32(o, 'vcpu', w) }),
  'cpu.wrmsr': (o, w) => compact({ msr: u32(o, 'msr', w), value: u64(o, 'value', w), vcpu: optU32(o, 'vcpu', w) }),
  'cpu.cpuid': (o, w) =>
    compact({ leaf: u32(o, 'leaf', w), subleaf: optU32(o, 'subleaf', w), vcpu: optU32(o, 'vcpu', w) }),
  'guest.processes': none,
  'guest.threads': (o, w) => compact({ pid: optU32(o, 'pid', w) }),
  'queue.flush': none,
  status: none,
  'control.take': none,
  disconnect: none,
};

export function isRequestOp(value: unknown): value is RequestOp {
  return typeof value === 'string' && Object.hasOwn(ARGS, value);
}

/**
 * Validates the `args` of a request whose op is already known. Absent (or nil) args mean an empty
 * map, so a client may leave them out for ops that take none.
 */
export function validateRequestArgs<Op extends RequestOp>(op: Op, args: unknown): RequestArgs[Op] {
  const where = `${op} args`;
  const o = args === undefined || args === null ? {} : asObj(args, where);
  return (ARGS[op] as ArgsValidator<Op>)(o, where);
}
