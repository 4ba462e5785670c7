/**
 * Command-argument expressions (`u kernel!f+@rcx`, `db @rsp+8`, `bp kernel!main`): the plain
 * expression grammar of SPEC §4.3 (no comparisons), evaluated in the client. Constant parts need
 * nothing; registers and memory reads go through an `ExprEnv` that the debugger backs with
 * `regs.get` / `mem.read`, so a register-dependent argument costs one round trip per value and
 * never a script compilation.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { parseNumber, U64_MASK } from './numbers.js';

export interface ExprEnv {
  /** `mod!name` or a bare name; undefined when unknown. */
  symbol(name: string): bigint | undefined;
  /** A register by name without `@` (rax, eax, al, rip, rflags …). */
  register(name: string): Promise<bigint>;
  /** A pseudo-register by name without `$`. */
  pseudo(name: string): Promise<bigint>;
  /** Reads `size` bytes of virtual memory, little-endian. */
  memory(address: bigint, size: number): Promise<bigint>;
}

type Node =
  | { k: 'num'; v: bigint }
  | { k: 'sym'; name: string }
  | { k: 'reg'; name: string }
  | { k: 'pseudo'; name: string }
  | { k: 'unary'; op: string; a: Node }
  | { k: 'bin'; op: string; a: Node; b: Node }
  | { k: 'call'; name: string; arg: Node };

/** Binary operators of the plain-expression context with C precedence (higher binds tighter). */
const BINARY_PRECEDENCE: Record<string, number> = {
  '*': 5,
  '/': 5,
  '%': 5,
  '+': 4,
  '-': 4,
  '<<': 3,
  '>>': 3,
  '&': 2,
  '^': 1,
  '|': 0,
};

/** Memory-reading built-ins and their widths in bytes. */
const READERS: Record<string, number> = { poi: 8, dq: 8, dd: 4, dw: 2, db: 1, hi: 8, low: 8 };
const FUNCTIONS = new Set([...Object.keys(READERS), 'not', 'neg']);

const IDENT_CHAR = /[A-Za-z0-9_`!.]/;

function syntax(source: string, pos: number, message: string): never {
  throw new HvdbgError('E_BAD_PARAMETER', `${message} in '${source}' at column ${pos + 1}`);
}

class ExprParser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    const node = this.binary(0);
    this.skip();
    if (this.pos < this.src.length) syntax(this.src, this.pos, `unexpected '${this.src[this.pos]}'`);
    return node;
  }

  private skip(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos]!)) this.pos++;
  }

  private peekOperator(): string | undefined {
    this.skip();
    const two = this.src.slice(this.pos, this.pos + 2);
    if (two === '<<' || two === '>>') return two;
    const one = this.src[this.pos];
    return one !== undefined && one in BINARY_PRECEDENCE ? one : undefined;
  }

  private binary(minPrec: number): Node {
    let left = this.unary();
    for (;;) {
      const op = this.peekOperator();
      if (op === undefined) return left;
      const prec = BINARY_PRECEDENCE[op]!;
      if (prec < minPrec) return left;
      this.pos += op.length;
      const right = this.binary(prec + 1);
      left = { k: 'bin', op, a: left, b: right };
    }
  }

  private unary(): Node {
    this.skip();
    const ch = this.src[this.pos];
    if (ch === '-' || ch === '+' || ch === '~') {
      this.pos++;
      return { k: 'unary', op: ch, a: this.unary() };
    }
    return this.primary();
  }

  private word(): string {
    const start = this.pos;
    while (this.pos < this.src.length && IDENT_CHAR.test(this.src[this.pos]!)) this.pos++;
    return this.src.slice(start, this.pos);
  }

  private primary(): Node {
    this.skip();
    const start = this.pos;
    const ch = this.src[this.pos];
    if (ch === undefined) syntax(this.src, this.pos, 'expression expected');
    if (ch === '(') {
      this.pos++;
      const inner = this.binary(0);
      this.skip();
      if (this.src[this.pos] !== ')') syntax(this.src, this.pos, "')' expected");
      this.pos++;
      return inner;
    }
    if (ch === '@' || ch === '$') {
      this.pos++;
      const name = this.word();
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) syntax(this.src, start, 'register name expected');
      return ch === '@' ? { k: 'reg', name: name.toLowerCase() } : { k: 'pseudo', name: name.toLowerCase() };
    }
    const word = this.word();
    if (word.length === 0) syntax(this.src, start, `unexpected '${ch}'`);
    this.skip();
    if (FUNCTIONS.has(word) && this.src[this.pos] === '(') {
      this.pos++;
      const arg = this.binary(0);
      this.skip();
      if (this.src[this.pos] !== ')') syntax(this.src, this.pos, "')' expected");
      this.pos++;
      return { k: 'call', name: word, arg };
    }
    if (!word.includes('!')) {
      const n = parseNumber(word);
      if (n !== undefined) return { k: 'num', v: n };
    }
    if (/^[0-9]/.test(word) && !word.includes('!')) syntax(this.src, start, `bad number '${word}'`);
    return { k: 'sym', name: word };
  }
}

/** Parses an expression; syntax errors are user errors naming the column. */
export function parseExpression(source: string): Node {
  return new ExprParser(source).parse();
}

/** True when evaluating needs the target (registers, pseudo-registers or memory). */
export function isConstant(node: Node): boolean {
  switch (node.k) {
    case 'num':
    case 'sym':
      return true;
    case 'reg':
    case 'pseudo':
      return false;
    case 'unary':
      return isConstant(node.a);
    case 'bin':
      return isConstant(node.a) && isConstant(node.b);
    case 'call':
      return !(node.name in READERS) && isConstant(node.arg);
  }
}

function binaryOp(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '+':
      return (a + b) & U64_MASK;
    case '-':
      return (a - b) & U64_MASK;
    case '*':
      return (a * b) & U64_MASK;
    case '/':
    case '%':
      if (b === 0n) throw new HvdbgError('E_BAD_VALUE', 'division by zero');
      return op === '/' ? a / b : a % b;
    case '<<':
      return (a << (b & 63n)) & U64_MASK;
    case '>>':
      return a >> (b & 63n);
    case '&':
      return a & b;
    case '^':
      return a ^ b;
    default:
      return a | b;
  }
}

async function evalNode(node: Node, env: ExprEnv): Promise<bigint> {
  switch (node.k) {
    case 'num':
      return node.v;
    case 'sym': {
      const v = env.symbol(node.name);
      if (v === undefined) throw new HvdbgError('E_UNKNOWN_SYMBOL', `unknown symbol '${node.name}'`);
      return v;
    }
    case 'reg':
      return env.register(node.name);
    case 'pseudo':
      return env.pseudo(node.name);
    case 'unary': {
      const a = await evalNode(node.a, env);
      if (node.op === '-') return -a & U64_MASK;
      if (node.op === '~') return ~a & U64_MASK;
      return a;
    }
    case 'bin':
      return binaryOp(node.op, await evalNode(node.a, env), await evalNode(node.b, env));
    case 'call': {
      const a = await evalNode(node.arg, env);
      if (node.name === 'not') return ~a & U64_MASK;
      if (node.name === 'neg') return -a & U64_MASK;
      const v = await env.memory(a, READERS[node.name]!);
      // SPEC §4.7: hi() is bits 16-31 and low() bits 0-15 of the qword at the address.
      if (node.name === 'hi') return (v >> 16n) & 0xffffn;
      if (node.name === 'low') return v & 0xffffn;
      return v;
    }
  }
}

/** Parses and evaluates `source` against `env`. */
export async function evaluate(source: string, env: ExprEnv): Promise<bigint> {
  return evalNode(parseExpression(source), env);
}
