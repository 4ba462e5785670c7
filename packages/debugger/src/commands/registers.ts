/**
 * Registers and evaluation: `r` (show all, one, or assign), `?` and `print` (run through the
 * script engine on the daemon, against the main core's real state) and `.formats` (evaluated here).
 */
import { HvdbgError } from '@hvdbg/protocol';
import { changedRegisters, formatFormats, formatRegisters } from '../format.js';
import { hexPad } from '../numbers.js';
import type { CommandContext, CommandSpec } from './types.js';

export type RegisterArgs =
  | { kind: 'all' }
  | { kind: 'one'; name: string }
  | { kind: 'set'; name: string; expression: string };

const REG_NAME = /^@?([A-Za-z][A-Za-z0-9]*)$/;

/** `r`, `r rax`, `r rax = expr`, `r @rax=expr`. */
export function parseRegisterArgs(rest: string): RegisterArgs {
  const text = rest.trim();
  if (text === '') return { kind: 'all' };
  const eq = text.indexOf('=');
  const namePart = (eq < 0 ? text : text.slice(0, eq)).trim();
  const m = REG_NAME.exec(namePart);
  if (m === null) throw new HvdbgError('E_BAD_PARAMETER', `'${namePart}' is not a register name`);
  const name = m[1]!.toLowerCase();
  if (eq < 0) return { kind: 'one', name };
  const expression = text.slice(eq + 1).trim();
  if (expression === '') throw new HvdbgError('E_BAD_PARAMETER', `missing value after 'r ${name} ='`);
  return { kind: 'set', name, expression };
}

/** Runs a compiled buffer on the daemon and prints its output; a run-time error fails the command. */
async function runScript(ctx: CommandContext, source: string, asExpression: boolean): Promise<void> {
  const s = ctx.session;
  s.requireConnection();
  await s.symbols().catch(() => undefined);
  let buffer: Uint8Array;
  if (asExpression) {
    // `? 1+2` is a value to show; `? @rax = 1; …` is a program. Try the value reading first.
    let program = source;
    try {
      s.compile(source, 'expression');
      program = `print(${source});`;
    } catch {
      // Not a single expression: compile it as statements below, with that error if any.
    }
    buffer = s.compile(program, 'statements');
  } else buffer = s.compile(source, 'statements');
  const r = await s.request('script.eval', { buffer, vcpu: s.vcpu });
  for (const out of r.output) for (const l of out.replace(/\n$/, '').split('\n')) ctx.print(l);
  ctx.setData({ output: r.output });
  if (r.error !== undefined) throw HvdbgError.fromBody(r.error);
}

export const REGISTER_COMMANDS: CommandSpec[] = [
  {
    name: 'r',
    aliases: [],
    syntax: 'r [reg [= expr]]',
    summary: 'show or set registers',
    details:
      'r shows every register of the main core, highlighting those that changed since the previous halt; r rax shows one; r rax = expr assigns (expr may use symbols, registers and poi()).',
    local: false,
    group: 'registers and evaluation',
    repeatable: true,
    async run(ctx, line) {
      const s = ctx.session;
      s.requireHalted();
      const a = parseRegisterArgs(line.rest);
      if (a.kind === 'all') {
        const { regs, previous } = await s.registersWithChanges();
        const changed = changedRegisters(previous, regs);
        for (const l of formatRegisters(regs, { changed, color: s.options.color ?? false })) ctx.print(l);
        ctx.setData({ vcpu: s.vcpu, regs, changed: [...changed] });
      } else if (a.kind === 'one') {
        const r = await s.request('regs.get', { vcpu: s.vcpu, names: [a.name] });
        const v = r.regs[a.name];
        if (v === undefined) throw new HvdbgError('E_BAD_REGISTER', `no register ${a.name}`);
        ctx.print(`${a.name}=${hexPad(v, 16)}`);
        ctx.setData({ vcpu: s.vcpu, regs: r.regs });
      } else {
        s.requireController();
        const value = await s.evaluate(a.expression);
        await s.request('regs.set', { vcpu: s.vcpu, name: a.name, value });
        ctx.print(`${a.name}=${hexPad(value, 16)}`);
        ctx.setData({ vcpu: s.vcpu, name: a.name, value });
      }
    },
  },
  {
    name: '?',
    aliases: [],
    syntax: '? expr | ? {script}',
    summary: 'evaluate an expression or run a script',
    details:
      'Compiles the text with the script engine and runs it once on the main core (the real state, read between slices). A single expression prints its value; statements run as a script, e.g. `? { .count = 0; }` or `? printf("%llx\\n", poi(@rsp));`.',
    local: true,
    group: 'registers and evaluation',
    repeatable: true,
    async run(ctx, line) {
      if (line.rest === '') throw new HvdbgError('E_BAD_PARAMETER', '? needs an expression or a script');
      const only = line.args.length === 1 && line.args[0]!.block ? line.args[0]!.text : undefined;
      await runScript(ctx, only ?? line.rest, only === undefined);
    },
  },
  {
    name: 'print',
    aliases: [],
    syntax: 'print expr',
    summary: 'print an expression (hex)',
    details: 'Same as ? print(expr); — evaluates expr with the script engine and prints it in hex.',
    local: true,
    group: 'registers and evaluation',
    repeatable: true,
    async run(ctx, line) {
      if (line.rest === '') throw new HvdbgError('E_BAD_PARAMETER', 'print needs an expression');
      await runScript(ctx, `print(${line.rest});`, false);
    },
  },
  {
    name: '.formats',
    aliases: [],
    syntax: '.formats expr',
    summary: 'show a value in every base',
    details:
      'Evaluates expr (symbols, registers, poi()) and shows it as hex, signed decimal, octal, binary, characters and a double.',
    local: true,
    group: 'registers and evaluation',
    repeatable: true,
    async run(ctx, line) {
      if (line.rest === '') throw new HvdbgError('E_BAD_PARAMETER', '.formats needs an expression');
      const value = await ctx.session.evaluate(line.rest);
      for (const l of formatFormats(value)) ctx.print(l);
      ctx.setData({ value });
    },
  },
];
