/**
 * Recursive-descent parser (SPEC §4.2–4.4): programs, functions, statements and expressions, over
 * declarations.ts (tokens, types, declarations). One function, `fail`, raises every syntax error,
 * so all messages end with `(line:column)`.
 *
 * The two expression contexts of SPEC §4.3 are a flag threaded through expression parsing: plain
 * expressions (right-hand sides, arguments, `?` one-liners) refuse comparison and logical operators;
 * conditions of if/elsif/while/for/do-while accept them.
 */
import type { AssignOp, BinaryOp, Expr, FunctionDecl, Pos, Program, Stmt } from './ast.js';
import { BUILTIN_IDS, BUILTINS, INTRINSICS, isBuiltinName } from './builtins.js';
import { DeclarationParser, MAX_NAME } from './declarations.js';
import { PSEUDO_REGISTERS } from './host.js';
import { describeToken, KEYWORDS, T, type Token } from './lexer.js';
import { registerId } from './registers.js';
import { isStruct, sizeOf } from './types.js';

export type ParseMode = 'statements' | 'expression' | 'condition';

export interface ParseOptions {
  /** Resolves `module!name` to an address; undefined = unknown symbol (a compile error). */
  symbols?: (name: string) => bigint | undefined;
  mode?: ParseMode;
  /** Told when a word that looks like a name lexes as a hex number (`face`, `add`; SPEC §4.10). */
  onWarning?: (message: string, line: number, column: number) => void;
}

// Binary precedence (higher binds tighter), SPEC §4.3. Comparisons sit between shifts and `&` as in C.
const BINARY_PREC: Record<string, number> = {
  '||': 1,
  '&&': 2,
  '|': 3,
  '^': 4,
  '&': 5,
  '<': 6,
  '>': 6,
  '<=': 6,
  '>=': 6,
  '==': 6,
  '!=': 6,
  '<<': 7,
  '>>': 7,
  '+': 8,
  '-': 8,
  '*': 9,
  '/': 9,
  '%': 9,
};
const CONDITION_ONLY_PREC = 6;
const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '<<=', '>>=', '&=', '^=', '|=']);
const MAX_NESTING = 200;
const MAX_OPERATORS = 1000;

export function parse(source: string, options: ParseOptions = {}): Program {
  return new Parser(source, options).parseProgram();
}

class Parser extends DeclarationParser {
  private readonly options: ParseOptions;
  private loopDepth = 0;
  /** Nesting of expressions and blocks, bounded so hostile input cannot exhaust the JS stack. */
  private depth = 0;
  private inFunction: FunctionDecl | undefined;

  constructor(source: string, options: ParseOptions) {
    super(source, options);
    this.options = options;
  }

  parseProgram(): Program {
    const mode = this.options.mode ?? 'statements';
    if (mode !== 'statements') {
      if (this.tok.kind === T.Eof) this.fail('expected an expression but found end of input');
      const expression = this.expr(mode === 'condition');
      if (!this.atEnd()) this.fail(`expected end of input but found ${describeToken(this.tok)}`);
      return { main: [], expression, functions: [] };
    }
    const main: Stmt[] = [];
    const functions: FunctionDecl[] = [];
    while (this.tok.kind !== T.Eof) {
      if (this.isTypeStart() && this.looksLikeFunction()) {
        functions.push(this.functionDecl());
      } else {
        const s = this.statement();
        if (s) main.push(s);
      }
    }
    return { main, expression: undefined, functions };
  }

  /** `type… name (` starts a function definition. */
  private looksLikeFunction(): boolean {
    const save = { pos: this.lx.pos, line: this.lx.line, lineStart: this.lx.lineStart };
    const tok = this.tok;
    const ahead = this.ahead;
    this.probing = true;
    try {
      this.type();
      if (this.tok.kind !== T.Ident && this.tok.kind !== T.Number) return false;
      this.advance();
      return this.is('(');
    } catch {
      return false;
    } finally {
      this.probing = false;
      this.lx.pos = save.pos;
      this.lx.line = save.line;
      this.lx.lineStart = save.lineStart;
      this.tok = tok;
      this.ahead = ahead;
    }
  }

  private functionDecl(): FunctionDecl {
    const at: Pos = { line: this.tok.line, column: this.tok.column };
    const ret = this.scalar(this.type(), at);
    const name = this.name('a function name');
    if (this.userFunctions.has(name)) this.fail(`function '${name}' is already defined`, at);
    const fn: FunctionDecl = { ...at, name, ret, params: [], body: [] };
    this.expect('(');
    if (!this.is(')')) {
      if (this.isWord('void') && this.peek().kind === T.Punct && this.peek().text === ')') this.advance();
      else
        do {
          const pat = this.tok;
          const type = this.scalar(this.type(), pat);
          if (type.isVoid) this.fail('a parameter cannot be void');
          const pname = this.name('a parameter name');
          if (fn.params.some((p) => p.name === pname)) this.fail(`duplicate parameter '${pname}'`);
          fn.params.push({ name: pname, type });
        } while (this.eat(','));
    }
    this.expect(')');
    this.userFunctions.set(name, fn); // before the body: recursion
    this.inFunction = fn;
    fn.body = this.block();
    this.inFunction = undefined;
    return fn;
  }

  private block(): Stmt[] {
    if (++this.depth > MAX_NESTING) this.fail(`nested more than ${MAX_NESTING} levels deep`);
    this.expect('{');
    const body: Stmt[] = [];
    while (!this.is('}')) {
      if (this.tok.kind === T.Eof) this.fail("expected '}' but found end of input");
      const s = this.statement();
      if (s) body.push(s);
    }
    this.advance();
    this.depth--;
    return body;
  }

  private loopBody(): Stmt[] {
    this.loopDepth++;
    const body = this.block();
    this.loopDepth--;
    return body;
  }

  private condition(): Expr {
    this.expect('(');
    const c = this.expr(true);
    this.expect(')');
    return c;
  }

  private statement(): Stmt | undefined {
    const t = this.tok;
    const at: Pos = { line: t.line, column: t.column };
    if (t.kind === T.Punct) {
      if (t.text === ';') {
        this.advance();
        return undefined;
      }
      if (t.text === '{') return { ...at, k: 'block', body: this.block() };
      if (t.text === '#') this.fail('#include must be expanded before compiling');
    }
    if (t.kind === T.Ident) {
      switch (t.text) {
        case 'if': {
          this.advance();
          const branches = [{ cond: this.condition(), body: this.block() }];
          let otherwise: Stmt[] | undefined;
          for (;;) {
            if (this.isWord('elsif')) {
              this.advance();
              branches.push({ cond: this.condition(), body: this.block() });
            } else if (this.isWord('else')) {
              this.advance();
              if (this.isWord('if')) this.fail("use 'elsif' instead of 'else if'");
              otherwise = this.block();
              break;
            } else break;
          }
          return { ...at, k: 'if', branches, otherwise };
        }
        case 'while': {
          this.advance();
          const cond = this.condition();
          return { ...at, k: 'while', cond, body: this.loopBody() };
        }
        case 'do': {
          this.advance();
          const body = this.loopBody();
          this.expectWord('while');
          const cond = this.condition();
          this.expect(';');
          return { ...at, k: 'do', body, cond };
        }
        case 'for': {
          this.advance();
          this.expect('(');
          const init = this.is(';') ? [] : this.simpleList();
          this.expect(';');
          const cond = this.is(';') ? undefined : this.expr(true);
          this.expect(';');
          const step = this.is(')') ? [] : this.simpleList();
          this.expect(')');
          return { ...at, k: 'for', init, cond, step, body: this.loopBody() };
        }
        case 'break':
        case 'continue':
          if (this.loopDepth === 0) this.fail(`'${t.text}' outside a loop`);
          this.advance();
          this.expect(';');
          return { ...at, k: t.text };
        case 'return': {
          if (!this.inFunction) this.fail("'return' outside a function");
          this.advance();
          const e = this.is(';') ? undefined : this.expr(false);
          if (e && this.inFunction.ret.isVoid)
            this.fail(`void function '${this.inFunction.name}' cannot return a value`, at);
          if (!e && !this.inFunction.ret.isVoid)
            this.fail(`function '${this.inFunction.name}' must return a value`, at);
          this.expect(';');
          return { ...at, k: 'return', e };
        }
        case 'else':
        case 'elsif':
          this.fail(`'${t.text}' without 'if'`);
          break;
        case 'typedef': {
          this.advance();
          const type = this.type();
          if (this.typedefs.has(this.tok.text)) this.fail(`type '${this.tok.text}' is already defined`);
          const name = this.name('a type name');
          this.expect(';');
          this.typedefs.set(name, type);
          return undefined;
        }
      }
      if (this.isTypeStart(t)) {
        if (this.looksLikeFunction()) this.fail('functions must be defined at the top level');
        const list = this.declaration();
        this.expect(';');
        return list.length === 1 ? list[0] : { ...at, k: 'block', body: list };
      }
    }
    const s = this.simple();
    this.expect(';');
    return s;
  }

  /** Comma-separated simple statements (for-loop init and step). */
  private simpleList(): Stmt[] {
    if (this.isTypeStart()) return this.declaration();
    const list = [this.simple()];
    while (this.eat(',')) list.push(this.simple());
    return list;
  }

  /** Assignment, `x++`/`x--`, or a call used as a statement. */
  private simple(): Stmt {
    const at: Pos = { line: this.tok.line, column: this.tok.column };
    if (this.tok.kind === T.Number && /^[A-Za-z]/.test(this.tok.text)) {
      const next = this.peek();
      if (next.kind === T.Punct && (ASSIGN_OPS.has(next.text) || next.text === '++' || next.text === '--'))
        this.fail(`'${this.tok.text}' is a hex number here and cannot be used as a name`);
    }
    const target = this.unary(false);
    if (this.tok.kind === T.Punct && (this.tok.text === '++' || this.tok.text === '--')) {
      const op = this.advance().text === '++' ? '+=' : '-=';
      this.checkLvalue(target);
      return { ...at, k: 'assign', target, op, value: { ...at, k: 'num', value: 1n } };
    }
    if (this.tok.kind === T.Punct && ASSIGN_OPS.has(this.tok.text)) {
      const op = this.advance().text as AssignOp;
      this.checkLvalue(target);
      // `a = b = e`: parse the right side as a chain, innermost first.
      if (op === '=') {
        const value = this.simpleRhs();
        return { ...at, k: 'assign', target, op, value };
      }
      return { ...at, k: 'assign', target, op, value: this.expr(false) };
    }
    if (target.k === 'call') return { ...at, k: 'expr', e: target };
    if (this.tok.kind === T.Punct && BINARY_PREC[this.tok.text] !== undefined)
      this.fail(`expected an assignment or a call but found ${describeToken(this.tok)}`);
    return this.fail(`expected '=', '++', '--' or a call but found ${describeToken(this.tok)}`);
  }

  /** Right side of `=`: either `lvalue = …` (chained) or an expression. Chains become nested assigns. */
  private simpleRhs(): Expr {
    const e = this.expr(false);
    if (this.is('=')) {
      this.checkLvalue(e);
      const at = this.advance();
      const inner = this.simpleRhs();
      return { line: at.line, column: at.column, k: 'assign', target: e, value: inner };
    }
    return e;
  }

  private checkLvalue(e: Expr): void {
    if (['var', 'global', 'reg', 'index', 'member'].includes(e.k) || (e.k === 'unary' && e.op === '*')) return;
    if (e.k === 'pseudo') this.fail(`'$${e.name}' is read-only`, e);
    this.fail('the left side of an assignment must be a variable, a register, an element, a member or *pointer', e);
  }

  protected expr(cond: boolean, minPrec = 1): Expr {
    if (++this.depth > MAX_NESTING) this.fail(`nested more than ${MAX_NESTING} levels deep`);
    try {
      return this.binaryChain(cond, minPrec);
    } finally {
      this.depth--;
    }
  }

  private binaryChain(cond: boolean, minPrec: number): Expr {
    let left = this.unary(cond);
    for (let operators = 1; ; operators++) {
      if (operators > MAX_OPERATORS) this.fail(`more than ${MAX_OPERATORS} operators in one expression`);
      const t = this.tok;
      if (t.kind !== T.Punct) return left;
      const prec = BINARY_PREC[t.text];
      if (prec === undefined || prec < minPrec) return left;
      if (!cond && (prec === CONDITION_ONLY_PREC || prec <= 2))
        this.fail(`operator '${t.text}' is only allowed in a condition`);
      this.advance();
      const right = this.expr(cond, prec + 1);
      left =
        t.text === '&&' || t.text === '||'
          ? { line: left.line, column: left.column, k: 'logical', op: t.text, a: left, b: right }
          : { line: left.line, column: left.column, k: 'binary', op: t.text as BinaryOp, a: left, b: right };
    }
  }

  private unary(cond: boolean): Expr {
    if (++this.depth > MAX_NESTING) this.fail(`nested more than ${MAX_NESTING} levels deep`);
    try {
      return this.unaryInner(cond);
    } finally {
      this.depth--;
    }
  }

  private unaryInner(cond: boolean): Expr {
    const t = this.tok;
    const at: Pos = { line: t.line, column: t.column };
    if (t.kind === T.Punct) {
      switch (t.text) {
        case '-':
        case '~':
        case '!':
        case '*':
        case '&': {
          this.advance();
          const e = this.unary(cond);
          if (t.text === '&' && !['var', 'global', 'index', 'member'].includes(e.k))
            this.fail("'&' needs a variable", e);
          return { ...at, k: 'unary', op: t.text, e };
        }
        case '+':
          this.advance();
          return this.unary(cond);
        case '++':
        case '--':
          this.fail(`prefix '${t.text}' is not supported; write 'x${t.text};'`);
          break;
        case '(': {
          const next = this.peek();
          if (this.isTypeStart(next)) {
            this.advance();
            const type = this.scalar(this.type(), at);
            this.expect(')');
            if (type.isVoid) this.fail('cannot cast to void', at);
            return { ...at, k: 'cast', type, e: this.unary(cond) };
          }
          this.advance();
          const e = this.expr(cond);
          this.expect(')');
          return this.postfix(e);
        }
      }
    }
    if (t.kind === T.Ident && t.text === 'sizeof') {
      this.advance();
      this.expect('(');
      let size: number;
      if (this.isTypeStart()) {
        const type = this.type();
        if (isStruct(type) && !type.complete) this.fail(`struct ${type.struct} is incomplete`);
        size = sizeOf(type);
      } else {
        const e = this.expr(cond);
        this.expect(')');
        return { ...at, k: 'sizeof', e }; // the compiler knows the expression's type
      }
      this.expect(')');
      return { ...at, k: 'num', value: BigInt(size) };
    }
    return this.postfix(this.primary());
  }

  /** `[i]`, `.member` and `->member` chains. `.name` right after an expression is a member, not a
   * global (the lexer cannot tell them apart). */
  private postfix(e: Expr): Expr {
    for (;;) {
      const t = this.tok;
      if (this.eat('[')) {
        const index = this.expr(false);
        this.expect(']');
        e = { line: t.line, column: t.column, k: 'index', base: e, index };
      } else if (t.kind === T.Global) {
        this.advance();
        e = { line: t.line, column: t.column, k: 'member', base: e, field: t.text, arrow: false };
      } else if (this.is('.') || this.is('->')) {
        const arrow = this.advance().text === '->';
        e = { line: t.line, column: t.column, k: 'member', base: e, field: this.memberName('a member name'), arrow };
      } else return e;
    }
  }

  private primary(): Expr {
    const t = this.tok;
    const at: Pos = { line: t.line, column: t.column };
    switch (t.kind) {
      case T.Number:
        this.advance();
        return { ...at, k: 'num', value: t.value };
      case T.Float:
        this.advance();
        return { ...at, k: 'float', value: Number(t.text) };
      case T.String:
      case T.WString:
        this.advance();
        return { ...at, k: 'str', text: t.text, wide: t.kind === T.WString };
      case T.Register: {
        const id = registerId(t.text);
        if (id === undefined) this.fail(`unknown register '@${t.text}'`);
        this.advance();
        return { ...at, k: 'reg', id, name: t.text };
      }
      case T.Pseudo: {
        const id = Object.hasOwn(PSEUDO_REGISTERS, t.text) ? PSEUDO_REGISTERS[t.text] : undefined;
        if (id === undefined) this.fail(`unknown pseudo-register '$${t.text}'`);
        this.advance();
        return { ...at, k: 'pseudo', id, name: t.text };
      }
      case T.Global:
        if (t.text.length > MAX_NAME) this.fail(`name longer than ${MAX_NAME} characters`);
        this.advance();
        return { ...at, k: 'global', name: t.text };
      case T.Symbol: {
        const value = this.options.symbols?.(t.text);
        if (value === undefined) this.fail(`unknown symbol '${t.text}'`);
        this.advance();
        return { ...at, k: 'num', value: BigInt.asUintN(64, value) };
      }
      case T.Ident: {
        if (KEYWORDS.has(t.text) || this.isTypeStart(t)) this.fail(`unexpected '${t.text}'`);
        this.advance();
        if (this.is('(')) return this.call(t);
        if (isBuiltinName(t.text) || this.userFunctions.has(t.text))
          this.fail(`'${t.text}' is a function; call it with '('`, at);
        if (t.text.length > MAX_NAME) this.fail(`name longer than ${MAX_NAME} characters`, at);
        return { ...at, k: 'var', name: t.text };
      }
      default:
        return this.fail(`expected an expression but found ${describeToken(t)}`);
    }
  }

  private call(name: Token): Expr {
    const at: Pos = { line: name.line, column: name.column };
    this.expect('(');
    const args: Expr[] = [];
    if (!this.is(')'))
      do {
        args.push(this.expr(false));
      } while (this.eat(','));
    this.expect(')');
    const n = name.text;
    const user = this.userFunctions.get(n);
    if (!user && !isBuiltinName(n)) this.fail(`unknown function '${n}'`, at);
    const want = user ? user.params.length : (BUILTINS[BUILTIN_IDS.get(n) ?? -1]?.argc ?? INTRINSICS.get(n));
    if (want !== undefined && args.length !== want)
      this.fail(`'${n}' takes ${want} argument${want === 1 ? '' : 's'}, got ${args.length}`, at);
    return { ...at, k: 'call', name: n, args };
  }
}
