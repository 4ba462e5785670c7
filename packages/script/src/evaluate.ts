/**
 * Client-side evaluation of command arguments (`u kernel!f+10`, `db 1000 l 0n32`) without a
 * machine: compile in expression mode and run against a host that refuses every machine access, so
 * an argument that needs registers, memory or pseudo-registers is reported instead of guessed.
 */
import { HvdbgError } from '@hvdbg/protocol';
import { type CompileOptions, compileScript } from './compile.js';
import { newScriptContext, type ScriptHost } from './host.js';
import { verifyScript } from './verify.js';
import { ScriptVM } from './vm.js';

class MachineNeeded extends Error {}

const refuse = (): never => {
  throw new MachineNeeded('the expression reads machine state (registers, memory or pseudo-registers)');
};

/** A host with no machine behind it: every access throws, the VM reports it as a run-time error. */
const NO_MACHINE: ScriptHost = {
  readRegister: refuse,
  writeRegister: refuse,
  readVirtual: refuse,
  writeVirtual: refuse,
  readPhysical: refuse,
  writePhysical: refuse,
  virtualToPhysical: refuse,
  physicalToVirtual: refuse,
  checkAddress: refuse,
  pseudo: refuse,
  emit: refuse,
  pause: refuse,
  flush: refuse,
  eventControl: refuse,
  eventSc: refuse,
  eventInject: refuse,
  eventTrace: refuse,
  rdtsc: refuse,
  disassembleLen: refuse,
  microsleep: refuse,
  testStatement: refuse,
  now: refuse,
};

let vm: ScriptVM | undefined;

/**
 * Value of a constant expression (numbers, symbols, operators). Throws ScriptSyntaxError for bad
 * syntax and HvdbgError E_SCRIPT_RUNTIME when the expression needs a machine or fails (`/0`).
 * Globals are not visible here (they live in the daemon).
 */
export function evaluateConstant(source: string, options: Omit<CompileOptions, 'mode'> = {}): bigint {
  const script = verifyScript(compileScript(source, { ...options, mode: 'expression' }));
  if (script.globalNames.length > 0)
    throw new HvdbgError('E_SCRIPT_RUNTIME', 'globals live in the daemon; evaluate there');
  vm ??= new ScriptVM(NO_MACHINE);
  const result = vm.run(script, newScriptContext());
  if (!result.ok) {
    const message = result.error.message.replace(/^internal error: /, '');
    throw new HvdbgError('E_SCRIPT_RUNTIME', message);
  }
  return result.value;
}
