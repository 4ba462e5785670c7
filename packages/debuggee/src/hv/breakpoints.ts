/**
 * Debugger breakpoints (`bp`, SPEC §5) as hidden execution hooks: HyperDbg writes 0xCC into guest
 * memory; hvdbg traps execution of the page through the EPT bits instead, so nothing is patched and
 * the guest cannot see or corrupt its breakpoints. Ids start at 1 as in HyperDbg.
 */
import type { BreakpointInfo } from '@hvdbg/protocol';
import { HvdbgError } from '@hvdbg/protocol';
import { EPT_EXEC_TRAP } from '../cpu/exits.js';
import { EPT_OWNER_DEBUGGER, type EptManager } from './ept.js';
import { ANY_FILTER } from './filters.js';

export interface Breakpoint {
  readonly id: number;
  /** Canonical signed linear address. */
  readonly address: number;
  readonly addressBig: bigint;
  readonly frame: number;
  enabled: boolean;
  readonly pid: number;
  readonly tid: number;
  readonly core: number;
  hits: number;
}

export class BreakpointTable {
  list: readonly Breakpoint[] = [];
  private nextId = 1;

  constructor(private readonly ept: EptManager) {}

  add(address: bigint, physical: number, filter: { pid?: number; tid?: number; core?: number }): number {
    const bp: Breakpoint = {
      id: this.nextId++,
      address: Number(BigInt.asIntN(64, address)),
      addressBig: BigInt.asUintN(64, address),
      frame: Math.floor(physical / 4096),
      enabled: true,
      pid: filter.pid ?? ANY_FILTER,
      tid: filter.tid ?? ANY_FILTER,
      core: filter.core ?? ANY_FILTER,
      hits: 0,
    };
    this.ept.add(`b${bp.id}`, [bp.frame], EPT_EXEC_TRAP, EPT_OWNER_DEBUGGER);
    this.list = [...this.list, bp];
    return bp.id;
  }

  modify(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const targets = id === 'all' ? this.list : this.list.filter((b) => b.id === id);
    if (id !== 'all' && targets.length === 0) throw new HvdbgError('E_BAD_BREAKPOINT', `no breakpoint has id ${id}`);
    for (const bp of targets) {
      if (action === 'clear') {
        this.ept.remove(`b${bp.id}`);
      } else if (action === 'enable' && !bp.enabled) {
        bp.enabled = true;
        this.ept.add(`b${bp.id}`, [bp.frame], EPT_EXEC_TRAP, EPT_OWNER_DEBUGGER);
      } else if (action === 'disable' && bp.enabled) {
        bp.enabled = false;
        this.ept.remove(`b${bp.id}`);
      }
    }
    if (action === 'clear') this.list = this.list.filter((b) => !targets.includes(b));
    return targets.length;
  }

  info(): BreakpointInfo[] {
    return this.list.map((b) => {
      const out: BreakpointInfo = { id: b.id, address: b.addressBig, enabled: b.enabled, hits: BigInt(b.hits) };
      if (b.pid !== ANY_FILTER) out.pid = b.pid;
      if (b.tid !== ANY_FILTER) out.tid = b.tid;
      if (b.core !== ANY_FILTER) out.core = b.core;
      return out;
    });
  }
}
