/**
 * Syntax tree of a script. Every node carries the position of its first token so the compiler's
 * semantic errors (unknown variable, arity, `void` value) point at the right spot.
 */

export interface Pos {
  line: number;
  column: number;
}

/** A declared C type, reduced to what the VM needs: width in bytes and signedness. */
export interface ScalarType {
  width: 1 | 2 | 4 | 8;
  signed: boolean;
  isVoid: boolean;
  /** For pointers: the type pointed to (pointer arithmetic scales by its width). */
  pointee?: ScalarType;
  /** float (width 4) or double (width 8). */
  float?: boolean;
}

export const DOUBLE: ScalarType = { width: 8, signed: true, isVoid: false, float: true };
export const FLOAT: ScalarType = { width: 4, signed: true, isVoid: false, float: true };

export function pointerTo(t: ScalarType): ScalarType {
  return { width: 8, signed: false, isVoid: false, pointee: t };
}

export const U64: ScalarType = { width: 8, signed: false, isVoid: false };
export const VOID: ScalarType = { width: 8, signed: false, isVoid: true };

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
    /** Element of a local array: `t[i]`, `m[i][j]`. */
    | { k: 'index'; name: string; indices: Expr[] }
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
        type: ScalarType;
        init: Expr | undefined;
        /** Array dimensions (empty for a scalar) and its flattened initialiser (holes are zero). */
        dims: number[];
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
