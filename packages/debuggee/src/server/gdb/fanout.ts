/**
 * A TargetListener that forwards every report to several listeners, in registration order.
 *
 * The target has one listener slot. With the gdb stub enabled, the hvdbg server stays first (its
 * clients see every halt, log batch and console line, including halts gdb caused) and the stub
 * second; a listener that throws must not starve the ones after it, so each call is isolated.
 */
import type { DropReport, TargetListener } from '../../target.js';

export class ListenerFanout implements TargetListener {
  private readonly listeners: TargetListener[];

  constructor(
    listeners: TargetListener[],
    private readonly onError: (err: unknown) => void,
  ) {
    this.listeners = [...listeners];
  }

  add(listener: TargetListener): void {
    this.listeners.push(listener);
  }

  remove(listener: TargetListener): void {
    const i = this.listeners.indexOf(listener);
    if (i >= 0) this.listeners.splice(i, 1);
  }

  onLog(batch: Parameters<TargetListener['onLog']>[0]): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) this.call(ls[i]!, 'onLog', batch);
  }

  onDropped(report: DropReport): void {
    for (const l of this.listeners) this.call(l, 'onDropped', report);
  }

  onConsole(text: string): void {
    for (const l of this.listeners) this.call(l, 'onConsole', text);
  }

  onHalt(info: Parameters<TargetListener['onHalt']>[0]): void {
    for (const l of this.listeners) this.call(l, 'onHalt', info);
  }

  onResume(step: boolean): void {
    for (const l of this.listeners) this.call(l, 'onResume', step);
  }

  onEventsChanged(): void {
    for (const l of this.listeners) this.call(l, 'onEventsChanged', undefined);
  }

  private call<K extends keyof TargetListener>(listener: TargetListener, method: K, arg: unknown): void {
    try {
      (listener[method] as (a: unknown) => void).call(listener, arg);
    } catch (err) {
      this.onError(err);
    }
  }
}
