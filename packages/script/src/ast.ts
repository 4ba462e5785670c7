/**
 * Syntax tree of a script. Every node carries the position of its first token so the compiler's
 * semantic errors (unknown variable, arity, `void` value) point at the right spot.
 */

export interface Pos {
  line: number;
  column: number;
}

import type { CType, ScalarType } from './types.js';

export type { CType, ScalarType } from './types.js';

export type BinaryOp =
  | '*'
  | '/'
  | '%'
  | '+'
  | '-'
  | '<<'
  | '>>'
  | '&'
  | '^'
  | '|'
  | '<'
  | '>'
  | '<='
  | '>='
  | '=='
  | '!=';

export type Expr = Pos &
  (
    | { k: 'num'; value: bigint }
    | { k: 'float'; value: number }
    | { k: 'str'; text: string; wide: boolean }
    | { k: 'reg'; id: number; name: string }
    | { k: 'pseudo'; id: number; name: string }
    | { k: 'var'; name: string }
    /** `base[index]`: an array element, or `*(base + index)` for a pointer. */
    | { k: 'index'; base: Expr; index: Expr }
    /** `base.field`, or `base->field` with `arrow`. */
    | { k: 'member'; base: Expr; field: string; arrow: boolean }
    | { k: 'global'; name: string }
    | { k: 'unary'; op: '-' | '~' | '!' | '*' | '&'; e: Expr }
    | { k: 'binary'; op: BinaryOp; a: Expr; b: Expr }
    | { k: 'logical'; op: '&&' | '||'; a: Expr; b: Expr }
    | { k: 'call'; name: string; args: Expr[] }
    | { k: 'cast'; type: ScalarType; e: Expr }
    /** `sizeof expr`: the size of its static type (8 for untyped values), no code runs. */
    | { k: 'sizeof'; e: Expr }
    /** Inner link of a chained assignment `a = b = e` (only as the value of an assign statement). */
    | { k: 'assign'; target: Expr; value: Expr }
  );

export type AssignOp = '=' | '+=' | '-=' | '*=' | '/=' | '%=' | '<<=' | '>>=' | '&=' | '^=' | '|=';

export type Stmt = Pos &
  (
    | { k: 'assign'; target: Expr; op: AssignOp; value: Expr }
    | {
        k: 'decl';
        name: string;
        type: CType;
        init: Expr | undefined;
        /** Array dimensions (empty for a scalar or struct). */
        dims: number[];
        /** A `{…}` initialiser, one entry per scalar leaf of the object (holes are zero). */
        inits: (Expr | undefined)[] | undefined;
      }
    | { k: 'expr'; e: Expr }
    | { k: 'if'; branches: { cond: Expr; body: Stmt[] }[]; otherwise: Stmt[] | undefined }
    | { k: 'while'; cond: Expr; body: Stmt[] }
    | { k: 'do'; body: Stmt[]; cond: Expr }
    | { k: 'for'; init: Stmt[]; cond: Expr | undefined; step: Stmt[]; body: Stmt[] }
    | { k: 'break' }
    | { k: 'continue' }
    | { k: 'return'; e: Expr | undefined }
    | { k: 'block'; body: Stmt[] }
  );

export interface FunctionDecl extends Pos {
  name: string;
  ret: ScalarType;
  params: { name: string; type: ScalarType }[];
  body: Stmt[];
}

export interface Program {
  /** Top-level statements (function 0), or the single expression in expression mode. */
  main: Stmt[];
  expression: Expr | undefined;
  functions: FunctionDecl[];
}
