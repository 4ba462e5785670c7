/**
 * The built-in functions of SPEC §4.7 as one declarative table: the compiler reads it for names and
 * arity, the verifier for stack effects, the VM dispatches on the index. A built-in's id is its index,
 * so entries may only ever be appended (ids are part of the bytecode format).
 *
 * `value: false` marks the statement-only built-ins ("-" in the SPEC): they push nothing and the
 * compiler refuses them inside expressions. `printf`, `reference`, `not`, `neg` and `sizeof` are not
 * here: the compiler turns them into opcodes.
 */

export interface BuiltinInfo {
  readonly name: string;
  readonly argc: number;
  readonly value: boolean;
}

const V = true;
const S = false;

export const BUILTINS: readonly BuiltinInfo[] = (
  [
    ['poi', 1, V],
    ['dq', 1, V],
    ['dd', 1, V],
    ['dw', 1, V],
    ['db', 1, V],
    ['hi', 1, V],
    ['low', 1, V],
    ['poi_pa', 1, V],
    ['dq_pa', 1, V],
    ['dd_pa', 1, V],
    ['dw_pa', 1, V],
    ['db_pa', 1, V],
    ['hi_pa', 1, V],
    ['low_pa', 1, V],
    ['eb', 2, V],
    ['ed', 2, V],
    ['eq', 2, V],
    ['eb_pa', 2, V],
    ['ed_pa', 2, V],
    ['eq_pa', 2, V],
    ['memcpy', 3, S],
    ['memcpy_pa', 3, S],
    ['memcmp', 3, V],
    ['strlen', 1, V],
    ['wcslen', 1, V],
    ['strcmp', 2, V],
    ['strncmp', 3, V],
    ['wcscmp', 2, V],
    ['wcsncmp', 3, V],
    ['check_address', 1, V],
    ['virtual_to_physical', 1, V],
    ['physical_to_virtual', 1, V],
    ['disassemble_len', 1, V],
    ['disassemble_len64', 1, V],
    ['disassemble_len32', 1, V],
    ['interlocked_increment', 1, V],
    ['interlocked_decrement', 1, V],
    ['interlocked_exchange', 2, V],
    ['interlocked_exchange_add', 2, V],
    ['interlocked_compare_exchange', 3, V],
    ['spinlock_lock', 1, S],
    ['spinlock_unlock', 1, S],
    ['spinlock_lock_custom_wait', 2, S],
    ['event_enable', 1, S],
    ['event_disable', 1, S],
    ['event_clear', 1, S],
    ['event_sc', 1, S],
    ['event_inject', 2, S],
    ['event_inject_error_code', 3, S],
    ['pause', 0, S],
    ['flush', 0, S],
    ['print', 1, S],
    ['formats', 1, S],
    ['test_statement', 1, S],
    ['microsleep', 1, S],
    ['rdtsc', 0, V],
    ['rdtscp', 0, V],
    ['lbr_save', 0, V],
    ['lbr_print', 0, V],
    ['lbr_dump', 0, V],
    ['lbr_check', 0, V],
    ['lbr_restore', 0, V],
    ['lbr_restore_by_filter', 1, V],
    ['event_trace_step', 0, S],
    ['event_trace_step_in', 0, S],
    ['event_trace_instrumentation_step', 0, S],
    ['event_trace_instrumentation_step_in', 0, S],
    ['event_trace_step_out', 0, S],
  ] as const
).map(([name, argc, value]) => ({ name, argc, value }));

export const BUILTIN_IDS: ReadonlyMap<string, number> = new Map(BUILTINS.map((b, i) => [b.name, i]));

/** Names the compiler lowers to opcodes, with their arity. */
export const INTRINSICS: ReadonlyMap<string, number> = new Map([
  ['not', 1],
  ['neg', 1],
  ['reference', 1],
]);

export function isBuiltinName(name: string): boolean {
  return BUILTIN_IDS.has(name) || INTRINSICS.has(name) || name === 'printf';
}

/** Built-in ids used by name in the VM's dispatch (kept in sync with the table by construction). */
export const B = Object.fromEntries(BUILTINS.map((b, i) => [b.name, i])) as Record<string, number>;
