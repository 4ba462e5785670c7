/**
 * Field readers the message validators are built from.
 *
 * Each reader takes the decoded map, a key and a `where` prefix (only turned into a message when
 * something is wrong, so the happy path builds no strings) and returns the field as its TypeScript
 * type or throws HvdbgError. Rules shared by every message:
 * - Only own properties count: a decoded map never lends a field from Object.prototype.
 * - nil means absent for optional fields (other msgpack libraries often write nil for "none").
 * - 64-bit fields accept a bigint or a safe integer and come out as bigint; 32-bit fields accept a
 *   number or a bigint in range and come out as number: a client in another language packs small
 *   values compactly, or every integer as int64, and both must mean the same thing.
 * - Byte strings come out as a fresh plain Uint8Array: msgpackr hands out Buffer views into the
 *   frame, which neither compare equal to a Uint8Array nor should outlive the frame.
 * - Type and shape errors are E_BAD_MESSAGE; exceeding a documented limit is E_TOO_LARGE.
 */
import { type ErrorCode, HvdbgError } from './errors.js';
import { LIMITS } from './limits.js';

export type Obj = Record<string, unknown>;

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const U32_MAX = 0xffff_ffff;
const U32_MAX_BIG = 0xffff_ffffn;

export function fail(code: ErrorCode, where: string, what: string): never {
  throw new HvdbgError(code, `${where}: ${what}`);
}

/** A decoded msgpack map: a plain object (never an array, bin, or anything with a class). */
export function asObj(value: unknown, where: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    fail('E_BAD_MESSAGE', where, 'expected a map');
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) fail('E_BAD_MESSAGE', where, 'expected a map');
  return value as Obj;
}

/** The own property `key`, or undefined; nil counts as absent. */
export function get(o: Obj, key: string): unknown {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  return v === null ? undefined : v;
}

function missing(where: string, key: string, what: string): never {
  fail('E_BAD_MESSAGE', `${where}.${key}`, `expected ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Scalars (value readers, then field readers built on them)
// ---------------------------------------------------------------------------------------------

/** Unsigned 32-bit integer from a number or bigint; undefined when it is not one. */
function toU32(v: unknown): number | undefined {
  // `+ 0` turns a float -0 into 0, so equal ids compare equal with Object.is too.
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= U32_MAX ? v + 0 : undefined;
  if (typeof v === 'bigint') return v >= 0n && v <= U32_MAX_BIG ? Number(v) : undefined;
  return undefined;
}

/** Unsigned 64-bit integer from a bigint or a safe integer number; undefined when it is not one. */
function toU64(v: unknown): bigint | undefined {
  if (typeof v === 'bigint') return v >= 0n && v <= U64_MAX ? v : undefined;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  return undefined;
}

export function u32Value(v: unknown, where: string): number {
  const n = toU32(v);
  if (n === undefined) fail('E_BAD_MESSAGE', where, 'expected an unsigned 32-bit integer');
  return n;
}

export function u64Value(v: unknown, where: string): bigint {
  const n = toU64(v);
  if (n === undefined) fail('E_BAD_MESSAGE', where, 'expected an unsigned 64-bit integer');
  return n;
}

// The field readers below build their error path only when they fail: a log batch runs them
// tens of thousands of times per frame.

export function u32(o: Obj, key: string, where: string): number {
  const n = toU32(get(o, key));
  if (n === undefined) missing(where, key, 'an unsigned 32-bit integer');
  return n;
}

export function optU32(o: Obj, key: string, where: string): number | undefined {
  return get(o, key) === undefined ? undefined : u32(o, key, where);
}

/** A u32 in [min, max]: below min is malformed, above max exceeds a documented limit. */
export function u32In(o: Obj, key: string, where: string, min: number, max: number): number {
  const n = u32(o, key, where);
  if (n < min) fail('E_BAD_MESSAGE', `${where}.${key}`, `must be at least ${min}`);
  if (n > max) fail('E_TOO_LARGE', `${where}.${key}`, `must be at most ${max}`);
  return n;
}

export function u64(o: Obj, key: string, where: string): bigint {
  const n = toU64(get(o, key));
  if (n === undefined) missing(where, key, 'an unsigned 64-bit integer');
  return n;
}

export function optU64(o: Obj, key: string, where: string): bigint | undefined {
  return get(o, key) === undefined ? undefined : u64(o, key, where);
}

export function bool(o: Obj, key: string, where: string): boolean {
  const v = get(o, key);
  if (typeof v !== 'boolean') missing(where, key, 'a boolean');
  return v;
}

export function optBool(o: Obj, key: string, where: string): boolean | undefined {
  return get(o, key) === undefined ? undefined : bool(o, key, where);
}

function tooLong(v: string, maxBytes: number): boolean {
  // UTF-8 takes at most 3 bytes per UTF-16 unit, so short strings need no byte count at all.
  return v.length * 3 > maxBytes && Buffer.byteLength(v, 'utf8') > maxBytes;
}

export function strValue(v: unknown, where: string, maxBytes: number = LIMITS.maxStringBytes): string {
  if (typeof v !== 'string') fail('E_BAD_MESSAGE', where, 'expected a string');
  if (tooLong(v, maxBytes)) fail('E_TOO_LARGE', where, `longer than ${maxBytes} bytes`);
  return v;
}

export function str(o: Obj, key: string, where: string, maxBytes: number = LIMITS.maxStringBytes): string {
  const v = get(o, key);
  if (typeof v !== 'string') missing(where, key, 'a string');
  if (tooLong(v, maxBytes)) fail('E_TOO_LARGE', `${where}.${key}`, `longer than ${maxBytes} bytes`);
  return v;
}

export function optStr(o: Obj, key: string, where: string, maxBytes?: number): string | undefined {
  return get(o, key) === undefined ? undefined : str(o, key, where, maxBytes);
}

/** One of a fixed set of strings; `code` lets a field with its own catalogue entry use it. */
export function oneOf<T extends string>(
  o: Obj,
  key: string,
  where: string,
  values: readonly T[],
  code: ErrorCode = 'E_BAD_MESSAGE',
): T {
  const v = get(o, key);
  if (typeof v !== 'string' || !values.includes(v as T)) {
    fail(code, `${where}.${key}`, `expected one of ${values.join(', ')}`);
  }
  return v as T;
}

export function optOneOf<T extends string>(o: Obj, key: string, where: string, values: readonly T[]): T | undefined {
  return get(o, key) === undefined ? undefined : oneOf(o, key, where, values);
}

// ---------------------------------------------------------------------------------------------
// Byte strings, lists, nested maps
// ---------------------------------------------------------------------------------------------

export function bytes(o: Obj, key: string, where: string, maxBytes: number): Uint8Array {
  const v = get(o, key);
  if (!(v instanceof Uint8Array)) missing(where, key, 'a byte string (msgpack bin)');
  if (v.byteLength > maxBytes) fail('E_TOO_LARGE', `${where}.${key}`, `longer than ${maxBytes} bytes`);
  return new Uint8Array(v);
}

export function optBytes(o: Obj, key: string, where: string, maxBytes: number): Uint8Array | undefined {
  return get(o, key) === undefined ? undefined : bytes(o, key, where, maxBytes);
}

/** A list whose items are read by `item`; more than `max` items exceeds a limit. */
export function list<T>(
  o: Obj,
  key: string,
  where: string,
  max: number,
  item: (value: unknown, where: string) => T,
): T[] {
  const v = get(o, key);
  if (!Array.isArray(v)) missing(where, key, 'a list');
  if (v.length > max) fail('E_TOO_LARGE', `${where}.${key}`, `more than ${max} items`);
  // Items share one path; the failing item's index is written into the message afterwards.
  const itemWhere = `${where}.${key}[]`;
  const out = new Array<T>(v.length);
  for (let i = 0; i < v.length; i++) {
    try {
      out[i] = item(v[i], itemWhere);
    } catch (e) {
      if (!(e instanceof HvdbgError)) throw e;
      throw new HvdbgError(e.code, e.message.replace(itemWhere, `${where}.${key}[${i}]`), e.data);
    }
  }
  return out;
}

export function optList<T>(
  o: Obj,
  key: string,
  where: string,
  max: number,
  item: (value: unknown, where: string) => T,
): T[] | undefined {
  return get(o, key) === undefined ? undefined : list(o, key, where, max, item);
}

/** A nested map read by `read`. */
export function nested<T>(o: Obj, key: string, where: string, read: (o: Obj, where: string) => T): T {
  const v = get(o, key);
  if (v === undefined) missing(where, key, 'a map');
  return read(asObj(v, `${where}.${key}`), `${where}.${key}`);
}

export function optNested<T>(o: Obj, key: string, where: string, read: (o: Obj, where: string) => T): T | undefined {
  return get(o, key) === undefined ? undefined : nested(o, key, where, read);
}

/**
 * Returns a copy of `o` without its undefined fields, so an absent optional field is absent, not
 * present-and-undefined (a fresh object keeps V8's fast properties, unlike `delete`).
 */
export function compact<T extends object>(o: T): T {
  const out = {} as T;
  for (const k of Object.keys(o) as (keyof T)[]) {
    if (o[k] !== undefined) out[k] = o[k];
  }
  return out;
}

/**
 * A key of a free-form map, refused when it names a prototype slot: copied into a plain object,
 * `__proto__` would replace the prototype and `constructor` would shadow it for any code that
 * later asks an object for its class. (msgpackr already renames `__proto__` on decode; this holds
 * whatever decoder produced the value.)
 */
export function safeKey(key: string, where: string): string {
  if (key === '__proto__' || key === 'constructor') fail('E_BAD_MESSAGE', where, `reserved key ${key}`);
  return key;
}

/**
 * A free-form value (error `data`): copied into plain objects and arrays with bins normalised.
 * The pre-scan already bounded its depth and ruled out extension types.
 */
export function plainValue(v: unknown, where: string): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) {
    // A loop, not v.map: no method of a decoded value is ever called.
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = plainValue(v[i], `${where}[${i}]`);
    return out;
  }
  const o = asObj(v, where);
  const out: Obj = {};
  for (const k of Object.keys(o)) out[safeKey(k, where)] = plainValue(o[k], `${where}.${k}`);
  return out;
}
