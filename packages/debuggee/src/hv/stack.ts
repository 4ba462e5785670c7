/**
 * Wiring of the emulated hypervisor over a set of vCPUs: EPT bits, breakpoints, the event table,
 * the action runner with its script host and custom-code core, the message queue, and the exit
 * handler installed on every vCPU. The debug target builds one over the guest machine; tests and
 * benchmarks build one over a bare CPU.
 */
import { Cpu } from '../cpu/cpu.js';
import { ActionRunner } from '../events/actions.js';
import { EventManager } from '../events/manager.js';
import { MessageQueue, type QueueOptions } from '../events/queue.js';
import { EventRegistry } from '../events/registry.js';
import { DaemonScriptHost } from '../events/scriptHost.js';
import { PhysicalMemory } from '../machine/memory.js';
import { BreakpointTable } from './breakpoints.js';
import { CustomCodeRunner, DEFAULT_CODE_BUDGET } from './customCode.js';
import { EptManager } from './ept.js';
import { Hypervisor } from './exits.js';
import type { Awareness, DebugCpu, HvCpu } from './vcpu.js';

export interface StackOptions {
  cpus: readonly DebugCpu[];
  memory: PhysicalMemory;
  ept: Uint8Array;
  mode: 'remote' | 'local';
  awareness: Awareness & { field(cpu: number, offset: number): number };
  lossless?: boolean;
  queue?: QueueOptions;
  codeBudget?: number;
  /** Whether the guest is halted (script `pause()` only logs then). */
  isHalted?: () => boolean;
  /** Called when a script changed the event list. */
  onEventsChanged?: () => void;
  /**
   * Physical address of `address` in process `pid`'s address space when no vCPU runs it (from the
   * CR3 in its process object); -1 when unknown. Without it, such hooks resolve through vCPU 0.
   */
  translateInProcess?: (address: bigint, pid: number) => number;
}

export interface HypervisorStack {
  queue: MessageQueue;
  registry: EventRegistry;
  events: EventManager;
  hv: Hypervisor;
  scripts: DaemonScriptHost;
  code: CustomCodeRunner;
  breakpoints: BreakpointTable;
  ept: EptManager;
}

/** Guest time for log records: the deterministic TSC (retired instructions + offset). */
export function guestTime(cpu: HvCpu): bigint {
  return BigInt(cpu.instructions) + (cpu as DebugCpu).tscOffset;
}

export function createHypervisorStack(o: StackOptions): HypervisorStack {
  const queue = new MessageQueue({ lossless: o.lossless ?? false, ...o.queue });
  const ept = new EptManager(o.ept);
  // Every vCPU compares the memory's translation epoch at run entry and after each exit call.
  ept.onChange = () => o.memory.invalidateTranslations();
  const registry = new EventRegistry();
  const breakpoints = new BreakpointTable(ept);
  const code = new CustomCodeRunner(
    (bytes) => new PhysicalMemory(bytes),
    (memory, privateEpt) => new Cpu(0, memory, privateEpt),
    o.codeBudget ?? DEFAULT_CODE_BUDGET,
  );
  let hv: Hypervisor | null = null;
  let events: EventManager | null = null;
  const scripts = new DaemonScriptHost({
    cpus: o.cpus,
    memory: o.memory,
    queue,
    mode: o.mode,
    firingOf: (vcpu) => hv!.firing(vcpu),
    awareness: (vcpu, which) => o.awareness.field(vcpu, which * 8),
    process: o.awareness,
    timeOf: guestTime,
    isHalted: o.isHalted ?? (() => false),
    eventControl: (op, id) => {
      events!.modify(id, op);
      o.onEventsChanged?.();
    },
  });
  const actions = new ActionRunner(queue, scripts, code, o.awareness, guestTime);
  hv = new Hypervisor(o.cpus, registry, actions, o.awareness, breakpoints, queue);
  /** Hooks and monitors resolve their addresses in the event's process (SPEC §2.2 `pid`). */
  const translate = (address: bigint, pid: number | undefined): number => {
    if (pid !== undefined) {
      for (let i = 0; i < o.cpus.length; i++) if (o.awareness.pid(i) === pid) return o.cpus[i]!.translate(address, 'x');
      if (o.translateInProcess !== undefined) return o.translateInProcess(address, pid);
    }
    return o.cpus[0]!.translate(address, 'x');
  };
  events = new EventManager(registry, ept, {
    mode: o.mode,
    vcpus: o.cpus.length,
    ept,
    translate,
    prepareScript: (buffer) => scripts.prepare(buffer),
    checkCode: (bytes, limit) => code.check(bytes, limit),
    loadCode: (bytes) => code.loadCode(bytes),
    allocBuffer: (size) => code.allocBuffer(size),
  });
  registry.onChange = () => hv!.sync();
  hv.install();
  return { queue, registry, events, hv, scripts, code, breakpoints, ept };
}
