/**
 * The declaration half of the parser: tokens, names, types (type words, typedefs, structs and
 * their layout) and declarations with their `{…}` initialisers. parser.ts adds statements and
 * expressions on top. Struct tags and member names have their own namespaces, so hex-looking words
 * (`a`, `dead`) are accepted there while the lexer reads them as numbers elsewhere (SPEC §4.1).
 */
import type { Expr, FunctionDecl, Pos, Stmt } from './ast.js';
import { isBuiltinName } from './builtins.js';
import { ScriptSyntaxError } from './errors.js';
import { describeToken, KEYWORDS, Lexer, T, type Token, TYPE_WORDS } from './lexer.js';
import type { ParseOptions } from './parser.js';
import {
  type CType,
  DOUBLE,
  FLOAT,
  isStruct,
  layOut,
  leaves,
  parts,
  pointerTo,
  type ScalarType,
  type StructType,
  sizeOf,
  VOID,
} from './types.js';

/** Longest name of a variable, function or type. */
export const MAX_NAME = 64;
/** Elements of one array (it must fit the per-run stack with room to spare). */
export const MAX_ARRAY_ELEMENTS = 0x400;
/** Bytes of one local array or struct (it lives in the 256-slot stack). */
const MAX_OBJECT_BYTES = 1600;

export abstract class DeclarationParser {
  protected readonly lx: Lexer;
  protected tok: Token;
  protected ahead: Token | undefined;
  protected readonly userFunctions = new Map<string, FunctionDecl>();
  protected readonly typedefs = new Map<string, CType>();
  protected readonly structs = new Map<string, StructType>();
  /** Set while looking ahead for a function definition: a struct body must not be parsed then. */
  protected probing = false;

  constructor(source: string, options: ParseOptions) {
    this.lx = new Lexer(source, (w) => isBuiltinName(w) || this.userFunctions.has(w) || this.typedefs.has(w));
    const warned = new Set<number>(); // look-ahead may lex a word twice
    this.lx.onHexWord = options.onWarning
      ? (t) => {
          if (warned.has(t.offset)) return;
          warned.add(t.offset);
          options.onWarning?.(`'${t.text}' is read as the hex number 0x${t.value.toString(16)}`, t.line, t.column);
        }
      : undefined;
    this.tok = this.lx.next();
  }

  /** Expressions (initialisers) are parsed by the subclass. */
  protected abstract expr(cond: boolean): Expr;

  protected fail(reason: string, at: Pos = this.tok): never {
    throw new ScriptSyntaxError(reason, at.line, at.column);
  }

  protected advance(): Token {
    const t = this.tok;
    this.tok = this.ahead ?? this.lx.next();
    this.ahead = undefined;
    return t;
  }

  protected peek(): Token {
    this.ahead ??= this.lx.next();
    return this.ahead;
  }

  /** A type word or a typedef name starts a type. */
  protected isTypeStart(t: Token = this.tok): boolean {
    return t.kind === T.Ident && (TYPE_WORDS.has(t.text) || t.text === 'struct' || this.typedefs.has(t.text));
  }

  protected atEnd(): boolean {
    return this.tok.kind === T.Eof;
  }

  protected is(text: string): boolean {
    return this.tok.kind === T.Punct && this.tok.text === text;
  }

  protected isWord(text: string): boolean {
    return this.tok.kind === T.Ident && this.tok.text === text;
  }

  protected eat(text: string): boolean {
    if (this.is(text)) {
      this.advance();
      return true;
    }
    return false;
  }

  protected expect(text: string): Token {
    if (!this.is(text)) this.fail(`expected '${text}' but found ${describeToken(this.tok)}`);
    return this.advance();
  }

  protected expectWord(text: string): void {
    if (!this.isWord(text)) this.fail(`expected '${text}' but found ${describeToken(this.tok)}`);
    this.advance();
  }

  protected name(what: string): string {
    if (this.tok.kind === T.Number && /^[A-Za-z]/.test(this.tok.text))
      this.fail(`'${this.tok.text}' is a hex number here and cannot be used as a name`);
    if (this.tok.kind !== T.Ident || KEYWORDS.has(this.tok.text) || this.isTypeStart())
      this.fail(`expected ${what} but found ${describeToken(this.tok)}`);
    if (isBuiltinName(this.tok.text)) this.fail(`'${this.tok.text}' is a built-in function`);
    if (this.tok.text.length > MAX_NAME) this.fail(`name longer than ${MAX_NAME} characters`);
    return this.advance().text;
  }

  /** Type words in any order, validated like C (SPEC §4.4), a typedef name or a struct; then `*`s
   * if `stars`. */
  protected type(stars = true): CType {
    const at = this.tok;
    let type: CType;
    const alias = this.tok.kind === T.Ident ? this.typedefs.get(this.tok.text) : undefined;
    if (alias) {
      this.advance();
      type = alias;
    } else if (this.isWord('struct')) {
      type = this.structSpecifier();
    } else {
      const words: string[] = [];
      while (this.tok.kind === T.Ident && TYPE_WORDS.has(this.tok.text)) words.push(this.advance().text);
      if (words.length === 0) this.fail(`expected a type but found ${describeToken(this.tok)}`);
      const t = scalarType(words);
      if (t === undefined) this.fail(`invalid type '${words.join(' ')}'`, at);
      type = t;
    }
    if (stars) while (this.eat('*')) type = pointerTo(type);
    return type;
  }

  /** Functions, casts: scalar types only (structs go by pointer). */
  protected scalar(t: CType, at: Pos): ScalarType {
    if (isStruct(t)) this.fail(`struct ${t.struct} cannot be used by value here; use a pointer`, at);
    return t;
  }

  /** A word used as a struct tag or member name: those live in their own namespaces, so hex-looking
   * words (`a`, `dead`) are fine there. */
  protected memberName(what: string): string {
    const t = this.tok;
    if ((t.kind === T.Ident && !KEYWORDS.has(t.text)) || (t.kind === T.Number && /^[A-Za-z_]/.test(t.text))) {
      this.advance();
      return t.text;
    }
    return this.fail(`expected ${what} but found ${describeToken(t)}`);
  }

  /** `struct tag`, `struct tag { members }` (definition) — forward references allowed. */
  protected structSpecifier(): StructType {
    this.advance(); // struct
    const at = this.tok;
    const tag = this.memberName('a struct name');
    let st = this.structs.get(tag);
    if (!st) {
      st = { struct: tag, fields: new Map(), size: 0, align: 1, complete: false };
      this.structs.set(tag, st);
    }
    if (!this.is('{')) return st;
    if (this.probing) throw new Error('probe stops at a struct body');
    if (st.complete) this.fail(`struct ${tag} is already defined`, at);
    this.advance();
    const members: { name: string; type: CType; dims: number[] }[] = [];
    while (!this.eat('}')) {
      const base = this.type(false);
      do {
        const mat = this.tok;
        let type = base;
        while (this.eat('*')) type = pointerTo(type);
        const name = this.memberName('a member name');
        if (members.some((m) => m.name === name)) this.fail(`duplicate member '${name}'`, mat);
        if (isStruct(type) && !type.complete)
          this.fail(`member '${name}' has the incomplete type struct ${type.struct}`, mat);
        if (!isStruct(type) && type.isVoid) this.fail(`member '${name}' cannot be void`, mat);
        members.push({ name, type, dims: this.dimensions(name, mat) });
      } while (this.eat(','));
      this.expect(';');
    }
    if (members.length === 0) this.fail(`struct ${tag} has no members`, at);
    layOut(st, members);
    if (st.size > MAX_OBJECT_BYTES) this.fail(`struct ${tag} is larger than ${MAX_OBJECT_BYTES} bytes`, at);
    return st;
  }

  /** `[N][M]…` after a declarator. */
  protected dimensions(name: string, at: Pos): number[] {
    const dims: number[] = [];
    while (this.eat('[')) {
      const t = this.tok;
      if (t.kind !== T.Number || t.value === 0n || t.value > BigInt(MAX_ARRAY_ELEMENTS))
        this.fail(`an array size must be a number from 1 to 0x${MAX_ARRAY_ELEMENTS.toString(16)}`);
      dims.push(Number(t.value));
      this.advance();
      this.expect(']');
    }
    if (dims.reduce((n, d) => n * d, 1) > MAX_ARRAY_ELEMENTS)
      this.fail(`array '${name}' has more than 0x${MAX_ARRAY_ELEMENTS.toString(16)} elements`, at);
    return dims;
  }

  protected declaration(): Stmt[] {
    const base = this.type(false); // `int *p, q`: each declarator has its own stars
    const list: Stmt[] = [];
    if (this.is(';') && isStruct(base)) return list; // `struct s {…};` or `struct s;`
    do {
      const at: Pos = { line: this.tok.line, column: this.tok.column };
      let type = base;
      while (this.eat('*')) type = pointerTo(type);
      if (!isStruct(type) && type.isVoid) this.fail('a variable cannot be void', at);
      if (isStruct(type) && !type.complete) this.fail(`struct ${type.struct} is incomplete`, at);
      const name = this.name('a variable name');
      const dims = this.dimensions(name, at);
      if (sizeOf(type, dims) > MAX_OBJECT_BYTES) this.fail(`'${name}' is larger than ${MAX_OBJECT_BYTES} bytes`, at);
      let init: Expr | undefined;
      let inits: (Expr | undefined)[] | undefined;
      if (this.eat('=')) {
        if ((dims.length > 0 || isStruct(type)) && this.is('{')) {
          inits = new Array(leaves(type, dims).length).fill(undefined);
          this.braced(type, dims, inits, 0);
        } else if (dims.length > 0) this.fail("an array's initialiser needs braces");
        else init = this.expr(false);
      }
      list.push({ ...at, k: 'decl', name, type, init, dims, inits });
    } while (this.eat(','));
    return list;
  }

  /**
   * `{…}` initialiser of an aggregate (array or struct), filling `out` (one entry per scalar leaf)
   * from leaf `start`. A nested `{…}` initialises one part; bare values fill parts' leaves in order
   * (C's brace elision). Missing values stay undefined, i.e. zero.
   */
  protected braced(type: CType, dims: number[], out: (Expr | undefined)[], start: number): void {
    this.expect('{');
    let leaf = start;
    const list = parts(type, dims);
    let k = 0;
    while (!this.is('}')) {
      if (k >= list.length) this.fail('too many values in the initialiser');
      const part = list[k++];
      const count = leaves(part.type, part.dims).length;
      const aggregate = part.dims.length > 0 || isStruct(part.type);
      if (this.is('{')) {
        if (!aggregate) this.fail('too many braces in the initialiser');
        this.braced(part.type, part.dims, out, leaf);
      } else if (!aggregate) out[leaf] = this.expr(false);
      else
        for (let j = 0; j < count; j++) {
          out[leaf + j] = this.expr(false);
          if (j + 1 === count || !this.is(',') || this.peek().text === '}') break;
          this.advance();
        }
      leaf += count;
      if (!this.eat(',')) break;
    }
    this.expect('}');
  }
}

/** C's valid combinations of type words (order-insensitive), or undefined. */
function scalarType(words: string[]): ScalarType | undefined {
  const count = (w: string) => words.filter((x) => x === w).length;
  const longs = count('long');
  const uns = count('unsigned');
  const sig = count('signed');
  if (uns + sig > 1 || longs > 2) return undefined;
  for (const w of words) if (w !== 'long' && count(w) > 1) return undefined;
  const core = words.filter((w) => w !== 'long' && w !== 'unsigned' && w !== 'signed');
  if (core.length > 1) return undefined;
  const base = core[0];
  const signed = uns === 0;
  if (base === 'void' || base === 'bool' || base === 'float' || base === 'double') {
    if (uns + sig > 0) return undefined;
    if (base === 'double' && longs > 0) return undefined;
    if (base !== 'double' && longs > 0) return undefined;
    if (base === 'void') return VOID;
    if (base === 'bool') return { width: 1, signed: false, isVoid: false };
    return base === 'float' ? FLOAT : DOUBLE;
  }
  if (base === 'char') return longs > 0 ? undefined : { width: 1, signed, isVoid: false };
  if (base === 'short') return longs > 0 ? undefined : { width: 2, signed, isVoid: false };
  if (base === undefined && longs === 0) return { width: 4, signed, isVoid: false }; // `unsigned`, `signed`
  if (longs > 0) return { width: 8, signed, isVoid: false };
  return { width: 4, signed, isVoid: false }; // int
}
