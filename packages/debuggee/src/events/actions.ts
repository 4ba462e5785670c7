/**
 * Running an event's actions (SPEC §3.1–3.5, seed "actions"): break, script and custom code, in
 * insertion order, gated by the machine-code condition. A failing action is reported as an error
 * log record carrying the event id and the action, its earlier side effects stand, and the next
 * action still runs.
 *
 * One `Firing` object per vCPU is reused for every intercept, so running actions allocates nothing
 * unless an action produces output.
 */
import { LOG_KIND_BUFFER, LOG_KIND_ERROR } from '@hvdbg/protocol';
import type { Awareness, HvCpu } from '../hv/vcpu.js';
import type { MessageQueue } from './queue.js';
import type { RegisteredEvent } from './registry.js';

/** Machine code placed in hypervisor-private memory (custom code or a condition). */
export interface MachineCode {
  readonly size: number;
  release(): void;
}

export type CompiledAction =
  | { readonly type: 'break'; release?: undefined }
  | { readonly type: 'script'; readonly buffer: Uint8Array; readonly program: unknown; release?: () => void }
  | { readonly type: 'code'; readonly code: MachineCode; release(): void };

/** The state of one event firing on one vCPU: what scripts see as `$event_*`, `$context` … */
export class Firing {
  cpu: HvCpu;
  ev: RegisteredEvent | null = null;
  /** 0 pre, 1 post. */
  stage = 0;
  /** `$context` (SPEC §2.1), canonical signed for addresses. */
  context = 0;
  /** Short-circuit decision of this firing (event_sc in pre). */
  sc = false;
  /** A break action or script `pause()` asked for a halt. */
  breakRequested = false;

  constructor(cpu: HvCpu) {
    this.cpu = cpu;
  }
}

export interface ActionError {
  code: string;
  message: string;
}

/** Runs verified script buffers (the script engine behind a narrow interface). */
export interface ScriptExecutor {
  run(program: unknown, buffer: Uint8Array, firing: Firing): ActionError | null;
}

/** Runs machine code on the hypervisor's private context. */
export interface CodeExecutor {
  /** Custom code `f(buffer, GUEST_REGS*, context)`; GUEST_REGS written back on a clean return. */
  runCode(code: MachineCode, firing: Firing): ActionError | null;
  /** Condition `f(GUEST_REGS*, context)`: whether the RAX it returns is non-zero, or an error. */
  runCondition(code: MachineCode, firing: Firing): boolean | ActionError;
}

/** Where the walk stopped: -1 = all actions ran, otherwise the index of the next action to run. */
export const ACTIONS_DONE = -1;

export class ActionRunner {
  constructor(
    private readonly queue: MessageQueue,
    private readonly scripts: ScriptExecutor,
    private readonly code: CodeExecutor,
    private readonly awareness: Awareness,
    private readonly timeOf: (cpu: HvCpu) => bigint,
  ) {}

  /** Evaluates the condition; true = run the actions. A failing condition is reported and counts as false. */
  condition(f: Firing): boolean {
    const ev = f.ev!;
    if (ev.condition === null) return true;
    const r = this.code.runCondition(ev.condition, f);
    if (typeof r === 'boolean') return r;
    this.report(f, 'condition', r);
    return false;
  }

  /**
   * Runs the actions from index `from`. Stops right after a break (or a script that called
   * `pause()`) when `stopOnBreak` (pre stage: the halt happens before the effect) and returns the
   * index to resume at; otherwise runs them all and returns ACTIONS_DONE.
   */
  run(f: Firing, from: number, stopOnBreak: boolean): number {
    const actions = f.ev!.actions;
    for (let i = from; i < actions.length; i++) {
      const a = actions[i]!;
      if (a.type === 'break') {
        f.breakRequested = true;
      } else if (a.type === 'script') {
        const err = this.scripts.run(a.program, a.buffer, f);
        if (err !== null) this.report(f, 'script', err);
      } else {
        const err = this.code.runCode(a.code, f);
        if (err !== null) this.report(f, 'code', err);
        this.shipBuffer(f);
      }
      if (f.breakRequested && stopOnBreak) return i + 1;
    }
    return ACTIONS_DONE;
  }

  /** After a custom-code run the event buffer travels to the client (SPEC §3.5). */
  private shipBuffer(f: Firing): void {
    const ev = f.ev!;
    if (ev.buffer === null) return;
    const vcpu = f.cpu.index;
    const a = this.awareness;
    const stage = f.stage === 0 ? 'pre' : 'post';
    const bytes = ev.buffer.read();
    this.queue.push(
      ev.id,
      LOG_KIND_BUFFER,
      vcpu,
      a.pid(vcpu),
      a.tid(vcpu),
      this.timeOf(f.cpu),
      stage,
      ev.imm,
      undefined,
      bytes,
    );
  }

  /** A failed action or condition becomes an error record (always immediate: the user must see it). */
  report(f: Firing, what: string, err: ActionError): void {
    const ev = f.ev!;
    const vcpu = f.cpu.index;
    const { awareness: a } = this;
    const text = `event 0x${ev.id.toString(16)}: ${what} failed: ${err.code}: ${err.message}`;
    this.queue.push(
      ev.id,
      LOG_KIND_ERROR,
      vcpu,
      a.pid(vcpu),
      a.tid(vcpu),
      this.timeOf(f.cpu),
      f.stage === 0 ? 'pre' : 'post',
      true,
      text,
    );
  }
}
