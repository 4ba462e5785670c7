/**
 * Execution control (SPEC §5, first group): continue, pause, the step family and core switching.
 * Steps and pauses wait for the halt they cause, so the next command (or batch line) sees the
 * guest halted; the halt itself is printed by the session as a notification.
 */
import { HvdbgError, LIMITS, type StepKind } from '@hvdbg/protocol';
import { changedRegisters, formatRegisters } from '../format.js';
import { expectSmall } from '../numbers.js';
import type { CommandContext, CommandSpec, ParsedLine } from './types.js';

function noArgs(line: ParsedLine): void {
  if (line.args.length > 0) throw new HvdbgError('E_BAD_PARAMETER', `${line.word} takes no arguments`);
}

async function showRegisters(ctx: CommandContext): Promise<void> {
  const { regs, previous } = await ctx.session.registersWithChanges();
  const lines = formatRegisters(regs, {
    changed: changedRegisters(previous, regs),
    color: ctx.session.options.color ?? false,
  });
  for (const l of lines) ctx.print(l);
}

function stepCommand(
  name: string,
  aliases: string[],
  kind: StepKind,
  summary: string,
  details: string,
  withRegisters = false,
): CommandSpec {
  return {
    name,
    aliases,
    syntax: `${name} [n]`,
    summary,
    details,
    local: false,
    group: 'execution',
    repeatable: true,
    async run(ctx, line) {
      const s = ctx.session;
      s.requireController();
      s.requireResumable();
      if (line.args.length > 1) throw new HvdbgError('E_BAD_PARAMETER', `${line.word} takes at most one count`);
      const count = line.args.length === 0 ? 1 : expectSmall(line.args[0]!.text, 'step count', LIMITS.maxStepCount);
      if (count === 0) throw new HvdbgError('E_BAD_VALUE', 'the step count must be at least 1');
      // Listen before asking: the halt may overtake the response.
      const halted = s.waitForHalt();
      halted.catch(() => undefined);
      await s.request('exec.step', { kind, count, vcpu: s.vcpu });
      await halted;
      if (withRegisters) await showRegisters(ctx);
    },
  };
}

const stepIntoHelp =
  'Steps n instructions (default 1) on the main core with the trap flag; the other cores run meanwhile. The guest halts again after the last step.';
const stepOverHelp =
  'Like t, but a CALL is stepped over as a whole (a breakpoint after the CALL); n counts instructions at this level.';
const stepInstrHelp =
  'Steps the main core only (monitor-trap style): other cores stay halted and interrupts are blocked; crosses rings.';

export const EXECUTION_COMMANDS: CommandSpec[] = [
  {
    name: 'g',
    aliases: ['go'],
    syntax: 'g',
    summary: 'resume all cores',
    details:
      'Continues every vCPU; the guest runs until an event breaks, a breakpoint hits or you pause it. In local mode the guest always runs.',
    local: true,
    group: 'execution',
    repeatable: true,
    async run(ctx, line) {
      noArgs(line);
      const s = ctx.session;
      s.requireController();
      if (s.isLocal) {
        ctx.print('the guest is running (local mode never halts it)');
        return;
      }
      if (s.state === 'stopped') throw new HvdbgError('E_GUEST_STOPPED');
      if (s.state !== 'halted') throw new HvdbgError('E_NOT_RUNNING', 'the guest is already running');
      const before = s.haltCount;
      await s.request('exec.continue', {});
      s.markRunning(before);
    },
  },
  {
    name: 'pause',
    aliases: [],
    syntax: 'pause',
    summary: 'halt all cores (also Ctrl+C)',
    details:
      'Asks the daemon to halt every vCPU at an instruction boundary and waits for the halt report. Needs the controller role; refused in local mode.',
    local: true,
    group: 'execution',
    async run(ctx, line) {
      noArgs(line);
      const s = ctx.session;
      s.requireController();
      if (s.isLocal) {
        ctx.print('local mode: the guest cannot be paused (the debugger would halt its own machine)');
        return;
      }
      if (s.state === 'halted' || s.state === 'stopped') {
        ctx.print(`the guest is already ${s.state}`);
        return;
      }
      const halted = s.waitForHalt();
      halted.catch(() => undefined);
      await s.request('exec.pause', {});
      await halted;
    },
  },
  stepCommand('t', [], 'into', 'step into (trap flag)', stepIntoHelp),
  stepCommand('tr', [], 'into', 'step into and show registers', stepIntoHelp, true),
  stepCommand('p', [], 'over', 'step over calls', stepOverHelp),
  stepCommand('pr', [], 'over', 'step over and show registers', stepOverHelp, true),
  stepCommand('i', [], 'instr', 'step the main core only', stepInstrHelp),
  stepCommand('ir', [], 'instr', 'step the main core only and show registers', stepInstrHelp, true),
  stepCommand(
    'gu',
    [],
    'out',
    'run until the current function returns',
    'Steps over instructions until a RET executes (n times), then halts after it.',
  ),
  {
    name: '~',
    aliases: [],
    syntax: '~ [core]',
    summary: 'show or switch the main core',
    details:
      'Without an argument prints the main core (the one commands like r, t and u use). With a core number makes that halted core the main core and shows where it stopped.',
    local: false,
    group: 'execution',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireHalted();
      if (line.args.length === 0) {
        ctx.print(`current core: ${s.vcpu} (of ${s.welcome?.guest.vcpus ?? '?'})`);
        ctx.setData({ vcpu: s.vcpu });
        return;
      }
      s.requireController();
      const vcpu = expectSmall(line.args[0]!.text, 'core number', 0xffff);
      const r = await s.request('exec.switchCore', { vcpu });
      s.vcpu = r.halt.vcpu;
      s.halt = r.halt;
      s.nextDisasm = undefined;
      s.emit('state');
      for (const l of s.describeHalt(r.halt)) ctx.print(l);
      ctx.setData(r.halt);
    },
  },
];
