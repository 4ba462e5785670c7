/**
 * The emulated hypervisor's VM-exit handler: installed on every vCPU, it turns exits into event
 * firings with the dispatch of SPEC §2.4 (pre walk, short-circuit, emulate, post walk).
 *
 * - Cost when unhooked: `exitMask` bits are set only for reasons some enabled event (or breakpoint,
 *   or the machine's own handler) needs, per vCPU, so the CPU never calls us for anything else.
 * - Pre-stage breaks halt before the effect. The CPU then re-executes the instruction and calls us
 *   again, so the walk's position (event, action, sc, matched post events) is parked per vCPU and
 *   picked up when the same exit recurs at the same RIP; a changed RIP (the user moved it) drops it.
 * - Post-stage breaks run the rest of the post walk, then halt after the instruction.
 * - No re-entry: while an action runs, exits of that vCPU go straight to the machine.
 * - The handler found on the CPU at install time (the machine's: hypercalls, devices) is chained:
 *   it is the "emulate" step of reasons it wants, so `sc` skips it too.
 */
import {
  EXIT_EMULATE,
  EXIT_HALT,
  EXIT_REASON_EPT_EXECUTE,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_MONITOR_TRAP_FLAG,
  EXIT_SKIP,
  EXIT_WANT_POST,
  EXIT_WANT_PRE,
  type ExitHandler,
} from '../cpu/exits.js';
import { ACTIONS_DONE, type ActionRunner, Firing } from '../events/actions.js';
import { type EventRegistry, KIND_CODE, type RegisteredEvent } from '../events/registry.js';
import type { BreakpointTable } from './breakpoints.js';
import { ANY_FILTER } from './filters.js';
import { contextOf, matchContext, ripOf, syncRipForPost } from './match.js';
import { type DecodedFlow, flowAt } from './stepper.js';
import type { Awareness, HvCpu } from './vcpu.js';

export interface HaltRequest {
  vcpu: number;
  /** 'throttle': not a halt — the slice ends early so queued output can ship (or drain) first. */
  reason: 'event' | 'breakpoint' | 'step' | 'throttle';
  eventId?: number;
  stage?: 'pre' | 'post';
  context?: bigint;
  breakpointId?: number;
}

/** Decides, at each monitor-trap exit of a stepping vCPU, whether the step is over. */
export type StepHook = (cpu: HvCpu) => boolean;

const K = KIND_CODE;
/** `!trace` types as their context values (SPEC §2.1). */
const TRACE_STEP_OUT = 2;

class CoreState {
  readonly firing: Firing;
  inAction = false;
  prevHandler: ExitHandler<HvCpu> | null = null;
  prevMask: Uint8Array;
  stepHook: StepHook | null = null;
  /**
   * `!trace step-out` on this core: like `p`, it fires for the traced code but not inside the
   * functions it calls, so the call depth is tracked from the instruction that just retired.
   */
  traceOut = false;
  traceDepth = 0;
  traceLast: DecodedFlow | null = null;
  /** Events matched in the pre walk that want the post pass, with their contexts. */
  readonly postEvents: RegisteredEvent[] = [];
  readonly postContexts: number[] = [];
  postCount = 0;
  postReason = -1;
  postInstruction = -1;
  // Parked pre walk (after a pre-stage halt).
  parked = false;
  parkedReason = -1;
  parkedRip = 0;
  parkedList: readonly RegisteredEvent[] = [];
  parkedEvent = 0;
  parkedAction = 0;
  parkedSc = false;
  parkedBpDone = false;

  constructor(cpu: HvCpu, mask: Uint8Array) {
    this.firing = new Firing(cpu);
    this.prevMask = mask;
  }
}

export class Hypervisor implements ExitHandler<HvCpu> {
  /** Set by the first break of a slice; the target consumes it when the slice ends. */
  haltRequest: HaltRequest | null = null;
  /** Debugger commands running: events are off (SPEC §2.4). */
  suspended = false;
  private readonly cores: CoreState[];

  constructor(
    private readonly cpus: readonly HvCpu[],
    private readonly registry: EventRegistry,
    private readonly actions: ActionRunner,
    private readonly awareness: Awareness,
    private readonly breakpoints: BreakpointTable,
    /** The message queue: while it asks to yield, runs end after the current firing. */
    private readonly output: { readonly shouldYield: boolean } = { shouldYield: false },
  ) {
    this.cores = cpus.map((cpu) => new CoreState(cpu, new Uint8Array(cpu.exitMask)));
  }

  /** Take over every vCPU's exit handler, chaining the one already installed (the machine's). */
  install(): void {
    for (const cpu of this.cpus) {
      const st = this.cores[cpu.index]!;
      if (cpu.exitHandler !== this) {
        st.prevHandler = cpu.exitHandler as ExitHandler<HvCpu> | null;
        st.prevMask = new Uint8Array(cpu.exitMask);
      }
      cpu.exitHandler = this as ExitHandler<HvCpu>;
    }
    this.sync();
  }

  firing(vcpu: number): Firing {
    return this.cores[vcpu]!.firing;
  }

  /** Install a step hook on a vCPU (null to stop stepping); MTF follows. */
  setStepHook(vcpu: number, hook: StepHook | null): void {
    this.cores[vcpu]!.stepHook = hook;
    this.sync();
  }

  /** `events sc on|off` while halted by a pre-stage event: the decision the resumed walk starts from. */
  setParkedSc(vcpu: number, on: boolean): boolean {
    const st = this.cores[vcpu]!;
    if (!st.parked) return false;
    st.parkedSc = on;
    return true;
  }

  /** Forget a parked walk (the user changed state so that the instruction is not re-executed). */
  dropParked(vcpu: number): void {
    this.cores[vcpu]!.parked = false;
  }

  /** Recompute exit masks and MTF from the registered events, breakpoints and step hooks. */
  sync(): void {
    const events = this.registry.all();
    const anyBp = this.breakpoints.list.some((b) => b.enabled);
    for (const cpu of this.cpus) {
      const st = this.cores[cpu.index]!;
      const mask = cpu.exitMask;
      mask.set(st.prevMask);
      let trace = false;
      let traceOut = false;
      for (const ev of events) {
        if (!ev.enabled || (ev.core !== ANY_FILTER && ev.core !== cpu.index)) continue;
        const bits = EXIT_WANT_PRE | (ev.post ? EXIT_WANT_POST : 0);
        for (const r of ev.reasons) mask[r]! |= bits;
        if (ev.code === K.trace) {
          trace = true;
          if (ev.param === TRACE_STEP_OUT) traceOut = true;
        }
      }
      if (anyBp) mask[EXIT_REASON_EPT_EXECUTE]! |= EXIT_WANT_PRE;
      // A walk parked at a pre-stage halt must get its exit back even if its events were cleared
      // meanwhile: it still owes the rest of the walk and the short-circuit decision.
      if (st.parked) mask[st.parkedReason]! |= EXIT_WANT_PRE;
      if (traceOut && !st.traceOut) {
        st.traceDepth = 0;
        st.traceLast = flowAt(cpu);
      }
      st.traceOut = traceOut;
      const mtf = trace || st.stepHook !== null;
      if (mtf) mask[EXIT_REASON_MONITOR_TRAP_FLAG]! |= EXIT_WANT_PRE;
      cpu.mtf = mtf;
    }
  }

  pre(cpu: HvCpu, reason: number, qual: number): number {
    const st = this.cores[cpu.index]!;
    if (st.inAction || this.suspended) return this.chainPre(st, cpu, reason, qual);
    const rip = ripOf(cpu);
    let list = this.registry.byReason[reason]!;
    let start = 0;
    let startAction = 0;
    let sc = false;
    let bpDone = false;
    if (st.parked) {
      st.parked = false;
      if (st.parkedReason === reason && st.parkedRip === rip) {
        list = st.parkedList;
        start = st.parkedEvent;
        startAction = st.parkedAction;
        sc = st.parkedSc;
        bpDone = st.parkedBpDone;
      } else {
        this.resetPost(st, cpu, reason);
      }
    } else {
      this.resetPost(st, cpu, reason);
    }
    if (reason === EXIT_REASON_EPT_EXECUTE && !bpDone && this.breakpoints.list.length > 0) {
      const bp = this.breakpointHit(cpu);
      if (bp !== 0) {
        this.park(st, reason, rip, list, 0, 0, false, true);
        this.haltRequest ??= { vcpu: cpu.index, reason: 'breakpoint', breakpointId: bp };
        return EXIT_HALT;
      }
    }
    if (reason === EXIT_REASON_MONITOR_TRAP_FLAG && start === 0 && startAction === 0) {
      if (st.traceOut) {
        const last = st.traceLast;
        if (last?.call) st.traceDepth++;
        else if (last?.ret && st.traceDepth > 0) st.traceDepth--;
        st.traceLast = flowAt(cpu);
      }
      // Trace events first, then the debugger's own stepping.
      const r = this.walkPre(st, cpu, reason, qual, rip, list, 0, 0, false);
      if (r === EXIT_HALT) return r;
      if (st.stepHook?.(cpu)) {
        this.haltRequest ??= { vcpu: cpu.index, reason: 'step' };
        return EXIT_HALT;
      }
      return EXIT_EMULATE;
    }
    const r = this.walkPre(st, cpu, reason, qual, rip, list, start, startAction, sc);
    if (r !== EXIT_EMULATE) return r;
    return this.chainPre(st, cpu, reason, qual);
  }

  post(cpu: HvCpu, reason: number, qual: number): number {
    const st = this.cores[cpu.index]!;
    if (st.inAction || this.suspended || st.postReason !== reason || st.postCount === 0) {
      return this.chainPost(st, cpu, reason, qual);
    }
    const n = st.postCount;
    st.postCount = 0;
    st.postReason = -1;
    syncRipForPost(cpu);
    const f = st.firing;
    f.breakRequested = false;
    let haltEvent: RegisteredEvent | null = null;
    let haltContext = 0;
    for (let i = 0; i < n; i++) {
      const ev = st.postEvents[i]!;
      if (!ev.enabled) continue; // cleared or disabled by an earlier action
      f.ev = ev;
      f.stage = 1;
      f.context = st.postContexts[i]!;
      f.sc = false;
      st.inAction = true;
      if (this.actions.condition(f)) {
        ev.hits++;
        this.actions.run(f, 0, false);
      }
      st.inAction = false;
      if (f.breakRequested && haltEvent === null) {
        haltEvent = ev;
        haltContext = f.context;
      }
    }
    st.postEvents.fill(null as unknown as RegisteredEvent, 0, n);
    const chained = this.chainPost(st, cpu, reason, qual);
    if (haltEvent === null && this.output.shouldYield) {
      this.haltRequest ??= { vcpu: cpu.index, reason: 'throttle' };
      return EXIT_HALT;
    }
    if (haltEvent !== null) {
      this.haltRequest ??= {
        vcpu: cpu.index,
        reason: 'event',
        eventId: haltEvent.id,
        stage: 'post',
        context: BigInt.asUintN(64, BigInt(haltContext)),
      };
      return EXIT_HALT;
    }
    return chained;
  }

  /**
   * A new pre walk forgets post events left by an exit whose post never came (the instruction
   * faulted), but not those of the same instruction and reason: a read-modify-write reports its
   * read and its write, and the one post call after the instruction covers both.
   */
  private resetPost(st: CoreState, cpu: HvCpu, reason: number): void {
    if (st.postCount > 0 && st.postReason === reason && st.postInstruction === cpu.instructions) return;
    st.postCount = 0;
  }

  /** The pre walk of SPEC §2.4. Returns EXIT_EMULATE, EXIT_SKIP or EXIT_HALT. */
  private walkPre(
    st: CoreState,
    cpu: HvCpu,
    reason: number,
    qual: number,
    rip: number,
    list: readonly RegisteredEvent[],
    start: number,
    startAction: number,
    sc: boolean,
  ): number {
    const f = st.firing;
    const base = contextOf(cpu, reason, qual);
    for (let i = start; i < list.length; i++) {
      const ev = list[i]!;
      const resuming = i === start && startAction > 0;
      if (!resuming) {
        if (!ev.enabled) continue;
        if (ev.core !== ANY_FILTER && ev.core !== cpu.index) continue;
        const ctx = matchContext(ev, cpu, reason, qual, base);
        if (Number.isNaN(ctx)) continue; // NO_MATCH
        if (ev.pid !== ANY_FILTER && this.awareness.pid(cpu.index) !== ev.pid) continue;
        if (reason === EXIT_REASON_EPT_VIOLATION) {
          // One firing per instruction (as HyperDbg's EPT violation + restore/step does): the CPU
          // reports each access once, but a read-modify-write makes a read and a write access.
          if (ev.lastCore === cpu.index && ev.lastInstruction === cpu.instructions) continue;
          ev.lastCore = cpu.index;
          ev.lastInstruction = cpu.instructions;
        }
        f.context = ctx;
        if (ev.post) {
          st.postEvents[st.postCount] = ev;
          st.postContexts[st.postCount] = ctx;
          st.postCount++;
          st.postReason = reason;
          st.postInstruction = cpu.instructions;
        }
        if (!ev.pre) continue;
        if (ev.code === K.trace && ev.param === TRACE_STEP_OUT && st.traceDepth > 0) continue;
        f.ev = ev;
        f.stage = 0;
        f.breakRequested = false;
        st.inAction = true;
        const pass = this.actions.condition(f);
        st.inAction = false;
        if (!pass) continue;
        ev.hits++;
        f.sc = ev.sc;
      } else {
        if (ev.cleared) continue;
        f.ev = ev;
        f.stage = 0;
        f.breakRequested = false;
        f.context = matchContext(ev, cpu, reason, qual, base);
        f.sc = sc;
      }
      st.inAction = true;
      const next = this.actions.run(f, resuming ? startAction : 0, true);
      st.inAction = false;
      sc = f.sc;
      if (next === ACTIONS_DONE && this.output.shouldYield) {
        // The queue is full: stop the run here, before the effect, and finish the walk when the
        // queue has shipped or drained and the CPU re-executes the instruction.
        this.park(st, reason, rip, list, i + 1, 0, sc, true);
        this.haltRequest ??= { vcpu: cpu.index, reason: 'throttle' };
        return EXIT_HALT;
      }
      if (next !== ACTIONS_DONE) {
        // A break before the effect: park here; the walk resumes when the CPU re-executes.
        if (next < ev.actions.length) this.park(st, reason, rip, list, i, next, sc, true);
        else this.park(st, reason, rip, list, i + 1, 0, sc, true);
        this.haltRequest ??= {
          vcpu: cpu.index,
          reason: 'event',
          eventId: ev.id,
          stage: 'pre',
          context: BigInt.asUintN(64, BigInt(f.context)),
        };
        return EXIT_HALT;
      }
    }
    if (sc) {
      st.postCount = 0;
      return EXIT_SKIP;
    }
    return EXIT_EMULATE;
  }

  private park(
    st: CoreState,
    reason: number,
    rip: number,
    list: readonly RegisteredEvent[],
    event: number,
    action: number,
    sc: boolean,
    bpDone: boolean,
  ): void {
    st.parked = true;
    st.parkedReason = reason;
    st.parkedRip = rip;
    st.parkedList = list;
    st.parkedEvent = event;
    st.parkedAction = action;
    st.parkedSc = sc;
    st.parkedBpDone = bpDone;
    this.cpus[st.firing.cpu.index]!.exitMask[reason]! |= EXIT_WANT_PRE;
  }

  /** The id of the breakpoint this execution hits, or 0. */
  private breakpointHit(cpu: HvCpu): number {
    const addr = cpu.exitLinear;
    for (const bp of this.breakpoints.list) {
      if (!bp.enabled || bp.address !== addr) continue;
      if (bp.core !== ANY_FILTER && bp.core !== cpu.index) continue;
      if (bp.pid !== ANY_FILTER && this.awareness.pid(cpu.index) !== bp.pid) continue;
      if (bp.tid !== ANY_FILTER && this.awareness.tid(cpu.index) !== bp.tid) continue;
      bp.hits++;
      return bp.id;
    }
    return 0;
  }

  private chainPre(st: CoreState, cpu: HvCpu, reason: number, qual: number): number {
    const prev = st.prevHandler;
    if (prev !== null && (st.prevMask[reason]! & EXIT_WANT_PRE) !== 0) return prev.pre(cpu, reason, qual);
    return EXIT_EMULATE;
  }

  private chainPost(st: CoreState, cpu: HvCpu, reason: number, qual: number): number {
    const prev = st.prevHandler;
    if (prev !== null && (st.prevMask[reason]! & EXIT_WANT_POST) !== 0) return prev.post(cpu, reason, qual);
    return EXIT_EMULATE;
  }
}
