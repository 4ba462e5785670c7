/**
 * @hvdbg/script — HyperDbg's script language: compiled by the client to a versioned bytecode
 * buffer, verified by the daemon when an event is added, run by the VM at event time.
 *
 *   client:  compileScript(source, { symbols, mode })  → Uint8Array
 *   daemon:  verifyScript(buffer)                      → VerifiedScript (once, on event add)
 *            new ScriptVM(host).run(verified, ctx)     → ScriptResult (every firing)
 */
export type { AssignOp, BinaryOp, Expr, FunctionDecl, Program, ScalarType, Stmt } from './ast.js';
export { BUILTINS, type BuiltinInfo } from './builtins.js';
export { FLAG_EXPRESSION, HEADER_BYTES, MAGIC, OPCODES, Op, VERSION } from './bytecode.js';
export { type CompileOptions, compileScript, MAX_GLOBALS } from './compile.js';
export { disassemble } from './disasm.js';
export { ScriptSyntaxError, ScriptVerifyError, syntaxError } from './errors.js';
export { evaluateConstant } from './evaluate.js';
export { type FormatParts, type FormatSpec, parseFormat } from './format.js';
export {
  type EmitKind,
  newScriptContext,
  PSEUDO_COUNT,
  PSEUDO_HOST,
  PSEUDO_REGISTERS,
  type ScriptContext,
  type ScriptHost,
} from './host.js';
export { type ParseMode, type ParseOptions, parse } from './parser.js';
export {
  FULL_REGISTER_COUNT,
  FULL_REGISTERS,
  type FullRegisterName,
  REGISTER_BASE,
  REGISTER_COUNT,
  REGISTER_NAMES,
  REGISTER_SHIFT,
  REGISTER_WIDTH,
  REGISTERS,
  registerId,
} from './registers.js';
export { type RecordedCall, SnapshotHost, type SnapshotOptions } from './snapshot.js';
export type { CType, Field, StructType } from './types.js';
export { STACK_SLOTS, type VerifiedScript, verifyScript } from './verify.js';
export {
  DEFAULT_LIMITS,
  type ScriptFailure,
  ScriptGlobals,
  type ScriptLimits,
  type ScriptOk,
  type ScriptResult,
  ScriptVM,
} from './vm.js';
