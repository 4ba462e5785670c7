/**
 * Drives the guest: one bounded `runSlice()` at a time, with a turn of the event loop between
 * slices (setImmediate) so sockets are read and written while the guest runs; a pause request is
 * therefore served within one slice. `tick()` ships due log batches after every slice, and from a
 * timer while the guest is halted or throttled, so partial batches still leave within
 * LIMITS.batchFlushMs. Nothing spins while there is nothing to run.
 */
import type { Logger } from 'pino';
import type { DebugTarget } from '../target.js';

export interface RunLoopOptions {
  /** Period of tick() while idle (halted, stopped or throttled). */
  idleTickMs: number;
  /** True while slices must wait (lossless mode, controller behind); polled every idle tick. */
  throttled: () => boolean;
  /** Called around each slice and its tick (the server corks client sockets meanwhile). */
  beforeSlice: () => void;
  afterSlice: () => void;
  log: Logger;
}

/**
 * Instruction-times per slice for the real target in the daemon. A pause request, a queued request
 * and a batch of log output all wait for the slice in progress, so the slice bounds their latency:
 * at the emulator's ~28-45 MIPS, 25,000 instruction-times take about 0.5 ms (p99 0.7 ms) where the
 * target's default of 200,000 took 3.6 ms (p99 4.4-6 ms), and the extra turns of the event loop
 * cost no measurable guest speed.
 */
export const DAEMON_SLICE_INSTRUCTIONS = 25_000;

/** Back-off after the target threw from runSlice/tick (a bug): never spin on a failing target. */
const FAULT_BACKOFF_MS = 100;

export class RunLoop {
  private running = false;
  private immediate: NodeJS.Immediate | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** Slices run since start, for diagnostics. */
  slices = 0;

  constructor(
    private readonly target: DebugTarget,
    private readonly options: RunLoopOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Run the next slice at once (after a resume or a step), instead of at the next idle tick. */
  wake(): void {
    if (!this.running || this.immediate !== undefined) return;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.immediate = undefined;
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (delayMs === 0) {
      this.immediate = setImmediate(this.turn);
    } else {
      this.timer = setTimeout(this.turn, delayMs);
    }
  }

  private readonly turn = (): void => {
    this.immediate = undefined;
    this.timer = undefined;
    if (!this.running) return;
    let idle = true;
    this.options.beforeSlice();
    try {
      if (!this.options.throttled()) {
        idle = this.target.runSlice().idle;
        this.slices++;
      }
      this.target.tick(Date.now());
    } catch (err) {
      this.options.log.error({ err }, 'the target failed during a slice');
      if (this.running) this.schedule(FAULT_BACKOFF_MS);
      return;
    } finally {
      this.options.afterSlice();
    }
    // A listener (a halt, a request handled in between) may have scheduled us already.
    if (!this.running || this.immediate !== undefined) return;
    this.schedule(idle ? this.options.idleTickMs : 0);
  };
}
