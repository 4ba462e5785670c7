/** Shared helpers for the script tests: compile → verify → run against a SnapshotHost. */
import { compileScript } from '../compile.js';
import { newScriptContext, type ScriptContext } from '../host.js';
import type { ParseMode } from '../parser.js';
import { SnapshotHost, type SnapshotOptions } from '../snapshot.js';
import { verifyScript } from '../verify.js';
import { type ScriptLimits, ScriptVM } from '../vm.js';

export interface Run {
  host: SnapshotHost;
  vm: ScriptVM;
  output: string;
  value: bigint | undefined;
  error: string | undefined;
}

export const DEFAULT_REGS = {
  rax: 0x3cn,
  rbx: 0x1122334455667788n,
  rcx: 0xfffff80000001000n,
  rsp: 0x7000n,
  rip: 0x401000n,
  rflags: 0x246n,
};

export function newHost(options: SnapshotOptions = {}): SnapshotHost {
  const host = new SnapshotHost({
    registers: { ...DEFAULT_REGS, ...options.registers },
    ...options,
    pseudo: { pid: 0x1an, tid: 0x2bn, ...options.pseudo },
  });
  // A mapped page with a C string, a wide string and some qwords.
  const page = new Uint8Array(0x100);
  page.set(Buffer.from('hello\0'), 0);
  page.set(Buffer.from('w\0i\0d\0e\0\0\0', 'latin1'), 0x20);
  new DataView(page.buffer).setBigUint64(0x40, 0xdeadbeefcafebaben, true);
  host.mapVirtual(0x5000n, page);
  host.mapPhysical(0x9000n, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  return host;
}

export function run(
  source: string,
  opts: {
    mode?: ParseMode;
    host?: SnapshotHost;
    vm?: ScriptVM;
    ctx?: Partial<ScriptContext>;
    limits?: Partial<ScriptLimits>;
  } = {},
): Run {
  const host = opts.host ?? newHost();
  const vm = opts.vm ?? new ScriptVM(host, opts.limits);
  const script = verifyScript(
    compileScript(source, {
      mode: opts.mode,
      symbols: (n) => (n === 'kernel!start' ? 0xfffff80000100000n : undefined),
    }),
  );
  const before = host.output.length;
  const r = vm.run(script, { ...newScriptContext(), ...opts.ctx });
  return {
    host,
    vm,
    output: host.output.slice(before).join(''),
    value: r.ok ? r.value : undefined,
    error: r.ok ? undefined : r.error.message,
  };
}

/** Value of an expression (condition grammar allowed). */
export function value(source: string): bigint | string {
  const r = run(source, { mode: 'condition' });
  return r.error ?? r.value!;
}

export function output(source: string): string {
  const r = run(source);
  return r.error !== undefined ? `error: ${r.error}` : r.output;
}
