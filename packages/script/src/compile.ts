/**
 * Compiler: syntax tree → bytecode buffer. The statement half lives here (control flow, loops with
 * break/continue, functions, printf); expressions.ts types and emits values, assembler.ts encodes.
 * Together with the parser these are the client's checks: names, arity, `void` values and printf
 * formats are syntax errors with positions.
 */
import type { Expr, FunctionDecl, Program, Stmt } from './ast.js';
import { BUILTIN_IDS, BUILTINS } from './builtins.js';
import { Op } from './bytecode.js';
import { syntaxError as fail } from './errors.js';
import { ExpressionCompiler, newFunctionState, scalarOrFail } from './expressions.js';
import { argumentCount, isFormatError, parseFormat } from './format.js';
import { type ParseOptions, parse } from './parser.js';
import { isStruct, leaves } from './types.js';

export { MAX_GLOBALS } from './assembler.js';

export type CompileOptions = ParseOptions;

/** Compile script source to a bytecode buffer; throws ScriptSyntaxError. */
export function compileScript(source: string, options: CompileOptions = {}): Uint8Array {
  const program = parse(source, options);
  return new Compiler(program).compile(options.mode !== undefined && options.mode !== 'statements');
}

class Compiler extends ExpressionCompiler {
  constructor(private readonly program: Program) {
    super();
  }

  compile(expressionMode: boolean): Uint8Array {
    const { program } = this;
    // Function 0 is main; user functions follow, in source order (declared before use).
    program.functions.forEach((decl, i) => {
      this.functionIndex.set(decl.name, { index: i + 1, decl });
    });
    this.functions.push({ entry: 0, params: 0, locals: 0 });
    this.fn = newFunctionState();
    if (program.expression) {
      this.expr(program.expression);
      this.emit(Op.RET);
    } else {
      this.block(program.main);
      this.emit(Op.PUSH_I32, 0);
      this.emit(Op.RET);
    }
    this.functions[0].locals = this.fn.count;
    for (const decl of program.functions) this.functionBody(decl);
    return this.encode(expressionMode);
  }

  protected functionBody(decl: FunctionDecl): void {
    this.fn = newFunctionState();
    this.returnType = decl.ret;
    for (const p of decl.params) this.declare(p.name, p.type, decl);
    const entry = this.code.length;
    this.block(decl.body);
    this.emit(Op.PUSH_I32, 0);
    this.emit(Op.RET);
    this.functions.push({ entry, params: decl.params.length, locals: this.fn.count });
  }

  protected block(body: Stmt[]): void {
    for (const s of body) this.stmt(s);
  }

  protected stmt(s: Stmt): void {
    switch (s.k) {
      case 'block':
        this.block(s.body);
        return;
      case 'decl': {
        // Without an initialiser nothing is stored: locals start at zero in every run (SPEC §4.6).
        const local = this.declare(s.name, s.type, s, s.dims);
        if (s.init && isStruct(local.type)) {
          this.emit(Op.ADDR_LOCAL, local.slot); // struct copy
          this.convert(this.expr(s.init), local.type, s.init);
          this.emit(Op.PUSH_I32, local.type.size);
          this.emit(Op.CALL_BUILTIN, BUILTIN_IDS.get('memcpy')!, 3);
        } else if (s.init) {
          this.convert(this.expr(s.init), local.type, s.init);
          this.emit(Op.STORE_LOCAL, local.slot);
        }
        if (s.inits) {
          // Every scalar leaf is written (holes as 0), so a declaration in a loop re-initialises.
          const all = leaves(local.type, local.dims);
          s.inits.forEach((init, i) => {
            this.emit(Op.ADDR_LOCAL, local.slot);
            if (all[i].offset > 0) {
              this.emit(Op.PUSH_I32, all[i].offset);
              this.emit(Op.ADD);
            }
            if (init) this.storeMem(all[i].type, this.expr(init), init);
            else {
              this.emit(Op.PUSH_I32, 0); // all-zero bits: 0 and +0.0 alike
              this.emit(Op.STORE_MEM, all[i].type.width);
            }
          });
        }
        return;
      }
      case 'assign':
        this.assign(s.target, s.op, s.value, false, s);
        return;
      case 'expr': {
        const e = s.e;
        if (e.k === 'call' && this.callStatement(e)) return;
        this.expr(e);
        this.emit(Op.POP);
        return;
      }
      case 'if': {
        const ends: number[] = [];
        for (const b of s.branches) {
          this.condition(b.cond);
          const skip = this.jump(Op.JZ);
          this.block(b.body);
          ends.push(this.jump(Op.JMP));
          this.patch(skip);
        }
        if (s.otherwise) this.block(s.otherwise);
        for (const j of ends) this.patch(j);
        return;
      }
      case 'while': {
        const top = this.code.length;
        this.condition(s.cond);
        const exit = this.jump(Op.JZ);
        const jumps = this.loopBody(s.body);
        for (const j of jumps.continues) this.patch(j, top);
        this.jump(Op.JMP, top);
        this.patch(exit);
        for (const j of jumps.breaks) this.patch(j);
        return;
      }
      case 'do': {
        const top = this.code.length;
        const jumps = this.loopBody(s.body);
        for (const j of jumps.continues) this.patch(j);
        this.condition(s.cond);
        this.jump(Op.JNZ, top);
        for (const j of jumps.breaks) this.patch(j);
        return;
      }
      case 'for': {
        this.block(s.init);
        const top = this.code.length;
        let exit = -1;
        if (s.cond) {
          this.condition(s.cond);
          exit = this.jump(Op.JZ);
        }
        const jumps = this.loopBody(s.body);
        for (const j of jumps.continues) this.patch(j);
        this.block(s.step);
        this.jump(Op.JMP, top);
        if (exit >= 0) this.patch(exit);
        for (const j of jumps.breaks) this.patch(j);
        return;
      }
      case 'break':
        this.fn.breaks[this.fn.breaks.length - 1].push(this.jump(Op.JMP));
        return;
      case 'continue':
        this.fn.continues[this.fn.continues.length - 1].push(this.jump(Op.JMP));
        return;
      case 'return':
        if (s.e) this.convert(this.expr(s.e), this.returnType, s.e);
        else this.emit(Op.PUSH_I32, 0);
        this.emit(Op.RET);
        return;
    }
  }

  /** A loop body; returns its `break` and `continue` jumps for the caller to patch. */
  private loopBody(body: Stmt[]): { breaks: number[]; continues: number[] } {
    const jumps = { breaks: [] as number[], continues: [] as number[] };
    this.fn.breaks.push(jumps.breaks);
    this.fn.continues.push(jumps.continues);
    this.block(body);
    this.fn.breaks.pop();
    this.fn.continues.pop();
    return jumps;
  }

  /** A call in statement position; returns false if it is an ordinary value call. */
  protected callStatement(e: Expr & { k: 'call' }): boolean {
    if (e.name === 'printf') {
      this.printf(e);
      return true;
    }
    const user = this.functionIndex.get(e.name);
    if (user) {
      this.userCall(user.decl, user.index, e.args);
      this.emit(Op.POP);
      return true;
    }
    const id = BUILTIN_IDS.get(e.name);
    if (id !== undefined && !BUILTINS[id].value) {
      for (const a of e.args) this.expr(a);
      this.emit(Op.CALL_BUILTIN, id, e.args.length);
      return true;
    }
    return false;
  }

  protected printf(e: Expr & { k: 'call' }): void {
    const [fmt, ...args] = e.args;
    if (fmt?.k !== 'str' || fmt.wide) fail("printf's first argument must be a string literal", fmt ?? e);
    const parts = parseFormat(fmt.text);
    if (isFormatError(parts)) fail(parts.message, fmt);
    const want = argumentCount(parts);
    if (want !== args.length)
      fail(`printf format needs ${want} argument${want === 1 ? '' : 's'}, got ${args.length}`, e);
    if (args.length > 0xff) fail('too many printf arguments', e);
    const specs = parts.filter((p) => typeof p !== 'string');
    args.forEach((a, i) => {
      const t = scalarOrFail(this.expr(a), a);
      const conv = specs[i].conv;
      // %f takes a double, or a 64-bit value holding one's bits (globals, memory); the rest integers.
      if (t?.float && conv !== 'f') fail(`printf '%${conv}' given a floating-point value`, a);
      if (conv === 'f' && t !== null && !t.float && t.width < 8) fail("printf '%f' given an integer value", a);
    });
    this.emit(Op.PRINTF, this.stringRef(fmt.text, false, fmt), args.length);
  }
}
