/**
 * C types of the script language (SPEC §4.4) and their memory layout: scalars (integers, floats,
 * pointers) that fit a 64-bit slot, and structs, which like arrays live in memory. Layout follows
 * the usual x86-64 rules: each member aligned to its own size, a struct to its widest member.
 */

/** A scalar: width in bytes and signedness; pointers know their pointee; floats are marked. */
export interface ScalarType {
  width: 1 | 2 | 4 | 8;
  signed: boolean;
  isVoid: boolean;
  /** For pointers: the type pointed to (pointer arithmetic scales by its size). */
  pointee?: CType;
  /** float (width 4) or double (width 8). */
  float?: boolean;
}

export interface Field {
  name: string;
  offset: number;
  type: CType;
  /** Array dimensions of the member; empty for a plain member. */
  dims: number[];
}

export interface StructType {
  /** The struct's tag (`struct list` → "list"). */
  struct: string;
  fields: Map<string, Field>;
  size: number;
  align: number;
  /** False for a forward declaration; only pointers to it may exist then. */
  complete: boolean;
}

export type CType = ScalarType | StructType;

export const U64: ScalarType = { width: 8, signed: false, isVoid: false };
export const VOID: ScalarType = { width: 8, signed: false, isVoid: true };
export const DOUBLE: ScalarType = { width: 8, signed: true, isVoid: false, float: true };
export const FLOAT: ScalarType = { width: 4, signed: true, isVoid: false, float: true };

export function pointerTo(t: CType): ScalarType {
  return { width: 8, signed: false, isVoid: false, pointee: t };
}

export function isStruct(t: CType | null | undefined): t is StructType {
  return t !== null && t !== undefined && 'struct' in t;
}

/** Size in bytes of `t` (an array of it with `dims`). `void` counts 1, as GNU C does for arithmetic. */
export function sizeOf(t: CType, dims: readonly number[] = []): number {
  const one = isStruct(t) ? t.size : t.isVoid ? 1 : t.width;
  return dims.reduce((n, d) => n * d, one);
}

export function alignOf(t: CType): number {
  return isStruct(t) ? t.align : t.isVoid ? 1 : t.width;
}

/** Lay out `members` in declaration order and complete the struct. */
export function layOut(s: StructType, members: { name: string; type: CType; dims: number[] }[]): void {
  let offset = 0;
  let align = 1;
  for (const m of members) {
    const a = alignOf(m.type);
    offset = Math.ceil(offset / a) * a;
    s.fields.set(m.name, { name: m.name, offset, type: m.type, dims: m.dims });
    offset += sizeOf(m.type, m.dims);
    align = Math.max(align, a);
  }
  s.align = align;
  s.size = Math.max(1, Math.ceil(offset / align) * align);
  s.complete = true;
}

/** A scalar inside an object, by byte offset: what an initialiser writes. */
export interface Leaf {
  offset: number;
  type: ScalarType;
}

/** Every scalar leaf of an object of type `t` with `dims`, in initialiser order. */
export function leaves(t: CType, dims: readonly number[], base = 0, out: Leaf[] = []): Leaf[] {
  if (dims.length > 0) {
    const step = sizeOf(t, dims.slice(1));
    for (let i = 0; i < dims[0]; i++) leaves(t, dims.slice(1), base + i * step, out);
  } else if (isStruct(t)) {
    for (const f of t.fields.values()) leaves(f.type, f.dims, base + f.offset, out);
  } else out.push({ offset: base, type: t });
  return out;
}

/** The direct parts of an aggregate, in order: array elements or struct members. */
export function parts(t: CType, dims: readonly number[]): { type: CType; dims: number[] }[] {
  if (dims.length > 0) return Array.from({ length: dims[0] }, () => ({ type: t, dims: dims.slice(1) }));
  if (isStruct(t)) return [...t.fields.values()].map((f) => ({ type: f.type, dims: f.dims }));
  return [];
}

export function typeName(t: CType): string {
  if (isStruct(t)) return `struct ${t.struct}`;
  if (t.pointee) return `${typeName(t.pointee)} *`;
  if (t.isVoid) return 'void';
  if (t.float) return t.width === 4 ? 'float' : 'double';
  return `${t.signed ? '' : 'unsigned '}${{ 1: 'char', 2: 'short', 4: 'int', 8: 'long long' }[t.width]}`;
}
