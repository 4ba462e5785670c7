/**
 * Expression half of the compiler: values, their static types and the conversions between them.
 *
 * Value typing is deliberately light (SPEC §4.4): untyped values (literals, registers, built-ins)
 * are wrapping u64 that compare signed; declared variables keep their C width and signedness (stores
 * truncate and extend them); undeclared variables are `unsigned long long` and compare unsigned;
 * float promotes to double; pointers scale arithmetic by their pointee's size.
 */

import { Assembler } from './assembler.js';
import type { AssignOp, BinaryOp, Expr, FunctionDecl, Pos } from './ast.js';
import { BUILTIN_IDS, BUILTINS } from './builtins.js';
import {
  CHECK_DIVIDE,
  CHECK_SHIFT,
  CVT_F32_BITS_TO_F64,
  CVT_F64_TO_F32_BITS,
  CVT_F64_TO_I64,
  CVT_I64_TO_F64,
  CVT_ROUND_F32,
  CVT_U64_TO_F64,
  FOP_ADD,
  FOP_DIV,
  FOP_EQ,
  FOP_GE,
  FOP_GT,
  FOP_LE,
  FOP_LT,
  FOP_MUL,
  FOP_NE,
  FOP_SUB,
  Op,
} from './bytecode.js';
import { syntaxError as fail } from './errors.js';
import { type CType, DOUBLE, isStruct, pointerTo, type ScalarType, sizeOf, typeName, U64 } from './types.js';

/** A frame (locals + operand stack) must fit the 256-slot stack. */
const MAX_LOCALS = 200;

/** Static type of an expression: a declared C type, or null for untyped u64. A struct-typed value
 * is the struct's address. */
export type VType = CType | null;

export interface Local {
  slot: number;
  type: CType;
  /** Array dimensions; empty for a scalar or struct. Arrays and structs live in the stack slots
   * from `slot` on (memory); scalars live in their slot as a value. */
  dims: number[];
}

/** Where an lvalue lives: its address is on the stack; this is what is there. */
interface Place {
  type: CType;
  dims: number[];
}

function inMemory(l: Local): boolean {
  return l.dims.length > 0 || isStruct(l.type);
}

export interface FunctionState {
  locals: Map<string, Local>;
  count: number;
  breaks: number[][];
  continues: number[][];
}

export function newFunctionState(): FunctionState {
  return { locals: new Map(), count: 0, breaks: [], continues: [] };
}

const ARITH: Record<string, Op> = {
  '+': Op.ADD,
  '-': Op.SUB,
  '*': Op.MUL,
  '&': Op.AND,
  '|': Op.OR,
  '^': Op.XOR,
};

const FLOAT_OPS: Partial<Record<BinaryOp, number>> = {
  '+': FOP_ADD,
  '-': FOP_SUB,
  '*': FOP_MUL,
  '/': FOP_DIV,
  '<': FOP_LT,
  '>': FOP_GT,
  '<=': FOP_LE,
  '>=': FOP_GE,
  '==': FOP_EQ,
  '!=': FOP_NE,
};

const F64 = new Float64Array(1);
const F64_BITS = new BigUint64Array(F64.buffer);

/** Width in bits of typed arithmetic: C promotes to at least int. */
function resultBits(ta: ScalarType | null, tb: ScalarType | null): number {
  return Math.max(4, ta?.width ?? 4, tb?.width ?? 4) * 8;
}

/** Structs have no arithmetic, comparisons or conversions: only members, copies and addresses. */
export function scalarOrFail(t: VType, at: Pos): ScalarType | null {
  if (isStruct(t)) fail(`${typeName(t)} cannot be used as a value here`, at);
  return t;
}

export class ExpressionCompiler extends Assembler {
  protected readonly functionIndex = new Map<string, { index: number; decl: FunctionDecl }>();
  protected fn: FunctionState = newFunctionState();
  /** Declared return type of the function being compiled (values convert to it). */
  protected returnType: ScalarType = U64;
  private readonly types = new WeakMap<Expr, VType>();

  protected declare(name: string, type: CType, at: Pos, dims: number[] = []): Local {
    const existing = this.fn.locals.get(name);
    if (existing) {
      const shape = (l: { type: CType; dims: number[] }) =>
        `${typeName(l.type)}${l.dims.map((d) => `[${d}]`).join('')}`;
      if (inMemory(existing) || dims.length > 0 || isStruct(type)) {
        if (shape(existing) !== shape({ type, dims })) fail(`'${name}' is already declared with another shape`, at);
      }
      existing.type = type;
      return existing;
    }
    const slots = dims.length === 0 && !isStruct(type) ? 1 : Math.ceil(sizeOf(type, dims) / 8);
    if (this.fn.count + slots > MAX_LOCALS) fail(`local variables need more than ${MAX_LOCALS} stack slots`, at);
    const local = { slot: this.fn.count, type, dims };
    this.fn.count += slots;
    this.fn.locals.set(name, local);
    return local;
  }

  /** Push the address of an lvalue (variable, element, member, `*p`) and say what lives there. */
  protected placeOf(e: Expr): Place {
    switch (e.k) {
      case 'var': {
        const local = this.fn.locals.get(e.name);
        if (!local) fail(`undefined variable '${e.name}'`, e);
        this.emit(Op.ADDR_LOCAL, local.slot);
        return { type: local.type, dims: local.dims };
      }
      case 'global':
        this.emit(Op.ADDR_GLOBAL, this.globalRef(e.name, e));
        return { type: U64, dims: [] };
      case 'index': {
        const base = this.staticType(e.base);
        const place = this.isPlace(e.base) ? this.placeIfArray(e.base) : undefined;
        if (place) {
          // Arrays: bounds-checked index scaled by the size of one element (a row for 2-D).
          this.expr(e.index);
          this.emit(Op.BOUND, place.dims[0]);
          const dims = place.dims.slice(1);
          this.scale(place.type, e, dims);
          this.emit(Op.ADD);
          return { type: place.type, dims };
        }
        const p = isStruct(base) ? undefined : base?.pointee;
        if (!p) fail('only arrays and pointers can be indexed', e);
        this.expr(e.base);
        this.expr(e.index);
        this.scale(p, e);
        this.emit(Op.ADD);
        return { type: p, dims: [] };
      }
      case 'member': {
        let st: CType | undefined;
        if (e.arrow) {
          const t = this.expr(e.base);
          st = isStruct(t) ? undefined : t?.pointee;
          if (!isStruct(st)) fail(`'->${e.field}' needs a pointer to a struct`, e);
        } else {
          const place = this.placeOf(e.base);
          if (!isStruct(place.type) || place.dims.length > 0) fail(`'.${e.field}' needs a struct`, e);
          st = place.type;
        }
        const field = st.fields.get(e.field);
        if (!field) fail(`${typeName(st)} has no member '${e.field}'`, e);
        if (field.offset > 0) {
          this.emit(Op.PUSH_I32, field.offset);
          this.emit(Op.ADD);
        }
        return { type: field.type, dims: field.dims };
      }
      case 'unary':
        if (e.op === '*') {
          const t = scalarOrFail(this.expr(e.e), e);
          if (t?.pointee && !isStruct(t.pointee) && t.pointee.isVoid) fail('cannot dereference a void pointer', e);
          return { type: t?.pointee ?? U64, dims: [] };
        }
        break;
    }
    return fail('this expression has no address', e);
  }

  /** True for expressions that designate storage (so `[i]` on them may mean an array element). */
  private isPlace(e: Expr): boolean {
    if (e.k === 'var') {
      const l = this.fn.locals.get(e.name);
      return l !== undefined && l.dims.length > 0;
    }
    return e.k === 'index' || e.k === 'member';
  }

  /** The place of `e` if it is an array (address pushed), else nothing is emitted. */
  private placeIfArray(e: Expr): Place | undefined {
    const mark = this.code.length;
    const place = this.placeOf(e);
    if (place.dims.length > 0) return place;
    this.code.length = mark;
    return undefined;
  }

  /** The value stored at a place whose address is on the stack: arrays decay to a pointer to
   * their first element, a struct is its address, a scalar is loaded. */
  private valueAt(place: Place): VType {
    if (place.dims.length > 0) return pointerTo(place.type);
    if (isStruct(place.type)) return place.type;
    this.loadMem(place.type);
    return place.type.float ? DOUBLE : place.type;
  }

  /** Multiply the top value by the size of `t` (pointer arithmetic). */
  protected scale(t: CType, at: Pos, dims: number[] = []): void {
    if (!isStruct(t) && t.isVoid) fail('arithmetic on a void pointer', at);
    const size = sizeOf(t, dims);
    if (size > 1) {
      this.emit(Op.PUSH_I32, size);
      this.emit(Op.MUL);
    }
  }

  /** `target op= value`; with `keep`, leaves the stored value on the stack (chained `a = b = e`). */
  protected assign(target: Expr, op: AssignOp, value: Expr, keep: boolean, at: Pos): VType {
    const binop = op === '=' ? undefined : (op.slice(0, -1) as BinaryOp);
    const slotLocal = target.k === 'var' ? this.fn.locals.get(target.name) : undefined;
    if (
      ['index', 'member'].includes(target.k) ||
      (target.k === 'unary' && target.op === '*') ||
      (slotLocal && inMemory(slotLocal))
    ) {
      const untypedDeref = target.k === 'unary' && !this.staticType(target.e);
      const place = this.placeOf(target);
      if (keep) fail('a store through a pointer or into an array cannot be chained', at);
      if (place.dims.length > 0) fail('cannot assign to an array', at);
      const type = place.type;
      if (isStruct(type)) {
        // Struct copy: memcpy(destination, source, size).
        if (binop) fail(`operator '${op}' cannot be used on a struct`, at);
        const from = this.expr(value);
        if (from !== type)
          fail(`cannot assign ${from === null ? 'a value' : typeName(from)} to ${typeName(type)}`, value);
        this.emit(Op.PUSH_I32, type.size);
        this.emit(Op.CALL_BUILTIN, BUILTIN_IDS.get('memcpy')!, 3);
        return null;
      }
      let tv: VType;
      if (binop) {
        this.emit(Op.DUP);
        this.loadMem(type);
        tv = this.binary(binop, untypedDeref ? null : type, value, at);
      } else tv = this.expr(value);
      this.storeMem(type, tv, value);
      return null;
    }
    let type: VType;
    let local: Local | undefined;
    if (target.k === 'var') {
      local = this.fn.locals.get(target.name);
      if (!local) {
        if (binop) fail(`undefined variable '${target.name}'`, target);
        local = this.declare(target.name, U64, target); // first assignment declares (u64)
      }
      if (local.dims.length > 0) fail(`cannot assign to the array '${target.name}'`, target);
      type = local.type;
    } else type = target.k === 'global' ? U64 : null;
    if (binop) {
      this.load(target);
      this.convert(this.binary(binop, type, value, at), type, value);
    } else this.convert(this.expr(value), type, value);
    if (keep) this.emit(Op.DUP);
    if (local) this.emit(Op.STORE_LOCAL, local.slot);
    else if (target.k === 'global') this.emit(Op.STORE_GLOBAL, this.globalRef(target.name, target));
    else if (target.k === 'reg') this.emit(Op.STORE_REG, target.id);
    else fail('cannot assign to this expression', target);
    return type;
  }

  protected load(target: Expr): void {
    if (target.k === 'var') this.expr(target);
    else if (target.k === 'global') this.emit(Op.LOAD_GLOBAL, this.globalRef(target.name, target));
    else if (target.k === 'reg') this.emit(Op.LOAD_REG, target.id);
  }

  /**
   * Convert the value on top of the stack from `from` to `to` (C's conversion on assignment, cast,
   * argument and return). Registers are untyped and take the value as it is, so a double keeps its
   * bit pattern there; globals are `unsigned long long` and convert.
   */
  protected convert(from: VType, to: VType, at: Pos): void {
    if (isStruct(from) || isStruct(to)) {
      if (from !== to)
        fail(
          `cannot convert ${from === null ? 'a value' : typeName(from)} to ${to === null ? 'a value' : typeName(to)}`,
          at,
        );
      return;
    }
    if (to === null || to.pointee) {
      if (to?.pointee && from?.float) fail('cannot convert a floating-point value to a pointer', at);
      return;
    }
    if (to.float) {
      if (!from?.float) this.emit(Op.CVT, from !== null && !from.signed ? CVT_U64_TO_F64 : CVT_I64_TO_F64);
      if (to.width === 4 && !(from?.float && from.width === 4)) this.emit(Op.CVT, CVT_ROUND_F32);
      return;
    }
    if (from?.float) this.emit(Op.CVT, CVT_F64_TO_I64);
    else if (from && !from.pointee && from.width === to.width && from.signed === to.signed) return; // already in shape
    if (to.width < 8) this.emit(Op.EXT, to.width, to.signed ? 1 : 0);
  }

  /** Load a value of type `t` from the address on top of the stack. */
  protected loadMem(t: ScalarType): void {
    this.emit(Op.LOAD_MEM, t.width, t.signed && !t.float ? 1 : 0);
    if (t.float && t.width === 4) this.emit(Op.CVT, CVT_F32_BITS_TO_F64);
  }

  /** Store the value on top (of type `from`) as a `t` at the address below it. */
  protected storeMem(t: ScalarType, from: VType, at: Pos): void {
    this.convert(from, t, at);
    if (t.float && t.width === 4) this.emit(Op.CVT, CVT_F64_TO_F32_BITS);
    this.emit(Op.STORE_MEM, t.width);
  }

  /** A condition's value, as 0/1 for doubles (so -0.0 is false, as in C). */
  protected condition(e: Expr): void {
    if (scalarOrFail(this.expr(e), e)?.float) {
      this.emit(Op.PUSH_I32, 0);
      this.emit(Op.FOP, FOP_NE);
    }
  }

  /** The static type of `e`, found by compiling it and dropping the code. Memoised per node, so
   * nested operands are compiled for their type once, not once per enclosing operator. */
  protected staticType(e: Expr): VType {
    if (this.types.has(e)) return this.types.get(e)!;
    const mark = this.code.length;
    const t = this.expr(e);
    this.code.length = mark;
    this.types.set(e, t);
    return t;
  }

  protected expr(e: Expr): VType {
    switch (e.k) {
      case 'num':
        this.pushNumber(e.value);
        return null;
      case 'float':
        F64[0] = e.value;
        this.pushNumber(F64_BITS[0]);
        return DOUBLE;
      case 'str':
        this.emit(Op.PUSH_STR, this.stringRef(e.text, e.wide, e));
        return null;
      case 'reg':
        this.emit(Op.LOAD_REG, e.id);
        return null;
      case 'pseudo':
        this.emit(Op.LOAD_PSEUDO, e.id);
        return null;
      case 'global':
        this.emit(Op.LOAD_GLOBAL, this.globalRef(e.name, e));
        return U64;
      case 'var': {
        const local = this.fn.locals.get(e.name);
        if (!local) fail(`undefined variable '${e.name}'`, e);
        if (inMemory(local)) return this.valueAt(this.placeOf(e));
        this.emit(Op.LOAD_LOCAL, local.slot);
        const t = local.type as ScalarType;
        // A narrow slot may have been written through a pointer (low bytes only): re-extend it.
        if (t.width < 8 && !t.float) this.emit(Op.EXT, t.width, t.signed ? 1 : 0);
        return t;
      }
      case 'index':
      case 'member':
        return this.valueAt(this.placeOf(e));
      case 'assign':
        return this.assign(e.target, '=', e.value, true, e);
      case 'sizeof': {
        // Compile for the type only, then drop the code: sizeof never evaluates its operand.
        const mark = this.code.length;
        let size = 8;
        if (this.isPlace(e.e) || (e.e.k === 'var' && this.fn.locals.has(e.e.name))) {
          const place = this.placeOf(e.e);
          size = sizeOf(place.type, place.dims);
        } else {
          const t = this.expr(e.e);
          size = t === null ? 8 : sizeOf(t);
        }
        this.code.length = mark;
        this.pushNumber(BigInt(size));
        return null;
      }
      case 'cast': {
        const from = scalarOrFail(this.expr(e.e), e);
        if (e.type.pointee && from?.float) fail('cannot cast a floating-point value to a pointer', e);
        this.convert(from, e.type, e);
        return e.type;
      }
      case 'unary':
        switch (e.op) {
          case '&':
            return this.address(e.e);
          case '*': {
            // Through a typed pointer: what it points to; otherwise a qword (`*@rsp`).
            const untyped = !this.staticType(e.e);
            const place = this.placeOf(e);
            if (untyped) {
              this.emit(Op.LOAD_MEM, 8, 0);
              return null;
            }
            return this.valueAt(place);
          }
          case '!':
            if (scalarOrFail(this.expr(e.e), e)?.float) {
              this.emit(Op.PUSH_I32, 0);
              this.emit(Op.FOP, FOP_EQ);
            } else this.emit(Op.LNOT);
            return { width: 4, signed: true, isVoid: false };
          default: {
            const t = scalarOrFail(this.expr(e.e), e);
            if (t?.float) {
              if (e.op === '~') fail("operator '~' needs an integer operand", e);
              this.emit(Op.FNEG);
              return DOUBLE;
            }
            this.emit(e.op === '-' ? Op.NEG : Op.NOT);
            return this.narrow(t, t);
          }
        }
      case 'binary': {
        const ta = this.expr(e.a);
        return this.binary(e.op, ta, e.b, e);
      }
      case 'logical': {
        // Short-circuit to 0/1: a && b → a ? (b ? 1 : 0) : 0.
        const isAnd = e.op === '&&';
        this.condition(e.a);
        const first = this.jump(isAnd ? Op.JZ : Op.JNZ);
        this.condition(e.b);
        const second = this.jump(isAnd ? Op.JZ : Op.JNZ);
        this.emit(Op.PUSH_I32, isAnd ? 1 : 0);
        const end = this.jump(Op.JMP);
        this.patch(first);
        this.patch(second);
        this.emit(Op.PUSH_I32, isAnd ? 0 : 1);
        this.patch(end);
        return null;
      }
      case 'call':
        return this.call(e);
    }
  }

  /** `&x`: push the address of a variable, element or member; returns the pointer's type. */
  protected address(e: Expr): ScalarType {
    if (e.k === 'var' && !this.fn.locals.has(e.name)) fail(`undefined variable '${e.name}'`, e);
    const place = this.placeOf(e);
    return pointerTo(place.type); // `&t` of an array points at its first element here
  }

  /** Left operand already on the stack; compiles the right one and the operator. */
  protected binary(op: BinaryOp, taAny: VType, b: Expr, at: Pos): VType {
    const ta = scalarOrFail(taAny, at);
    const tbStatic = scalarOrFail(this.staticType(b), b);
    if (ta?.float || tbStatic?.float) return this.floatBinary(op, ta, b, at);
    const tb = tbStatic;
    this.expr(b);
    if ((op === '+' || op === '-') && (ta?.pointee || tb?.pointee)) return this.pointerArithmetic(op, ta, tb, at);
    // C-like: typed operands decide width and signedness; untyped ones count as signed for
    // comparisons (SPEC: untyped `<` is signed) and as unsigned for division and shifts.
    const signedCompare = (ta === null || ta.signed) && (tb === null || tb.signed);
    const typedSigned = (ta !== null || tb !== null) && signedCompare;
    switch (op) {
      case '<':
        this.emit(signedCompare ? Op.LTS : Op.LTU);
        return null;
      case '>':
        this.emit(signedCompare ? Op.GTS : Op.GTU);
        return null;
      case '<=':
        this.emit(signedCompare ? Op.LES : Op.LEU);
        return null;
      case '>=':
        this.emit(signedCompare ? Op.GES : Op.GEU);
        return null;
      case '==':
        this.emit(Op.EQ);
        return null;
      case '!=':
        this.emit(Op.NE);
        return null;
      case '/':
      case '%':
        if (typedSigned) this.emit(Op.CHECK, CHECK_DIVIDE, resultBits(ta, tb));
        this.emit(op === '/' ? (typedSigned ? Op.DIVS : Op.DIVU) : typedSigned ? Op.MODS : Op.MODU);
        break;
      case '<<':
      case '>>':
        // A typed left operand (after promotion to int) may not be shifted by its width or more.
        if (ta !== null) this.emit(Op.CHECK, CHECK_SHIFT, resultBits(ta, null));
        if (op === '<<') this.emit(Op.SHL);
        else this.emit(ta?.signed ? Op.SHRS : Op.SHRU);
        return this.narrow(ta, ta);
      default:
        if (!(op in ARITH)) fail(`unsupported operator '${op}'`, at);
        this.emit(ARITH[op]);
    }
    return this.narrow(ta, tb);
  }

  /** Arithmetic and comparisons with a double operand: the other one converts (C's usual
   * conversions; untyped values count as signed). */
  protected floatBinary(op: BinaryOp, ta: ScalarType | null, b: Expr, at: Pos): VType {
    const kind = FLOAT_OPS[op];
    if (kind === undefined) fail(`operator '${op}' needs integer operands`, at);
    if (ta?.pointee) fail('cannot mix a pointer and a floating-point value', at);
    this.convert(ta, DOUBLE, at);
    const tb = scalarOrFail(this.expr(b), b);
    if (tb?.pointee) fail('cannot mix a pointer and a floating-point value', at);
    this.convert(tb, DOUBLE, at);
    this.emit(Op.FOP, kind);
    return kind <= FOP_DIV ? DOUBLE : null;
  }

  /** `p + n`, `p - n` scale n by the pointee's size; `p - q` is a signed element count. */
  protected pointerArithmetic(op: '+' | '-', ta: ScalarType | null, tb: ScalarType | null, at: Pos): VType {
    if (!ta?.pointee) fail('put the pointer first: write p + n', at);
    if (tb?.pointee) {
      if (op === '+') fail('cannot add two pointers', at);
      this.emit(Op.SUB);
      const size = sizeOf(ta.pointee);
      if (size > 1) {
        this.emit(Op.PUSH_I32, size);
        this.emit(Op.DIVS);
      }
      return { width: 8, signed: true, isVoid: false };
    }
    this.scale(ta.pointee, at);
    this.emit(op === '+' ? Op.ADD : Op.SUB);
    return ta;
  }

  /** Result type of arithmetic on typed operands (C promotion to at least int), narrowing the value. */
  protected narrow(ta: ScalarType | null, tb: ScalarType | null): VType {
    if (ta === null && tb === null) return null;
    const width = Math.max(4, ta?.width ?? 4, tb?.width ?? 4) as 4 | 8;
    const signed = (ta === null || ta.signed) && (tb === null || tb.signed);
    if (width < 8) this.emit(Op.EXT, width, signed ? 1 : 0);
    return { width, signed, isVoid: false };
  }

  protected call(e: Expr & { k: 'call' }): VType {
    const name = e.name;
    if (name === 'printf') fail("'printf' has no value", e);
    if (name === 'not' || name === 'neg') {
      this.expr(e.args[0]);
      this.emit(name === 'not' ? Op.NOT : Op.NEG);
      return null;
    }
    if (name === 'reference') return this.address(e.args[0]);
    const user = this.functionIndex.get(name);
    if (user) {
      if (user.decl.ret.isVoid) fail(`'${name}' returns void and has no value`, e);
      this.userCall(user.decl, user.index, e.args);
      return user.decl.ret;
    }
    const id = BUILTIN_IDS.get(name)!;
    if (!BUILTINS[id].value) fail(`'${name}' has no value`, e);
    for (const a of e.args) this.expr(a);
    this.emit(Op.CALL_BUILTIN, id, e.args.length);
    return null;
  }

  /** Arguments are converted to the parameter types (by value), then CALL. */
  protected userCall(decl: FunctionDecl, index: number, args: Expr[]): void {
    args.forEach((a, i) => {
      this.convert(this.expr(a), decl.params[i].type, a);
    });
    this.emit(Op.CALL, index);
  }
}
