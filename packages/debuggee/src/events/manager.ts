/**
 * Event management as the debugger sees it (SPEC §2.3): add = validate everything, then register
 * atomically (registry entry, EPT bits, exit masks); modify by id or all; changes made while the
 * guest is halted apply at once.
 */
import type { EventInfo, EventSpec } from '@hvdbg/protocol';
import type { EptManager } from '../hv/ept.js';
import { EPT_OWNER_EXCLUSIVE, EPT_OWNER_SHARED } from '../hv/ept.js';
import type { EventRegistry } from './registry.js';
import { buildEvent, type ValidationContext } from './validate.js';

export class EventManager {
  constructor(
    readonly registry: EventRegistry,
    private readonly ept: EptManager,
    private readonly validation: ValidationContext,
  ) {}

  add(spec: EventSpec): { id: number; tag: bigint; warnings: string[] } {
    const id = this.registry.peekId();
    const { ev, eptBits, warnings } = buildEvent(spec, id, this.validation);
    try {
      if (ev.frames.length > 0) {
        this.ept.add(`e${id}`, ev.frames, eptBits, ev.kind === 'epthook' ? EPT_OWNER_SHARED : EPT_OWNER_EXCLUSIVE);
      }
      this.registry.add(ev);
    } catch (err) {
      this.ept.remove(`e${id}`);
      ev.buffer?.release();
      ev.condition?.release();
      for (const a of ev.actions) a.release?.();
      throw err;
    }
    return { id, tag: ev.tag, warnings };
  }

  modify(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const targets = id === 'all' ? [...this.registry.all()] : this.registry.all().filter((e) => e.id === id);
    const n = this.registry.modify(id, action);
    // Disabled hooks keep their EPT bits (cheap: the walk skips them); cleared ones give them back.
    if (action === 'clear') for (const ev of targets) this.ept.remove(`e${ev.id}`);
    return n;
  }

  list(): EventInfo[] {
    return this.registry.info();
  }
}
