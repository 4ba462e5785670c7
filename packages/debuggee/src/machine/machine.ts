/**
 * The guest machine: sparse RAM, the kernel image, the vCPUs and their devices (16550 UART on the
 * I/O bus, one local APIC per vCPU), and deterministic run slices.
 *
 * Scheduling of vCPUs: round robin with a fixed quantum of retired instructions; a halted vCPU
 * spends its quantum idle (its timer clock advances as if it had run). The round-robin position
 * and the rest of the current quantum persist across slices, so running N instructions gives the
 * same guest state however the work is cut into slices.
 *
 * Hypercalls: the machine installs a default exit handler on every vCPU that claims VMCALL and
 * serves the machine's own hypercalls (start a vCPU, awareness, boot announcement). A hypervisor
 * that installs its own `exitHandler` must keep EXIT_WANT_PRE in `exitMask[EXIT_REASON_VMCALL]` and
 * call `machine.handleHypercall(cpu)` from its VMCALL pre handler (returning EXIT_SKIP when that
 * returns true), or delegate to `machine.exitHandler`.
 */
import { type GuestDescription, type GuestModule, HvdbgError, type SymbolInfo } from '@hvdbg/protocol';
import {
  Cpu,
  REG_R10,
  REG_RAX,
  REG_RDI,
  REG_RDX,
  REG_RSI,
  RUN_BUDGET,
  RUN_EXIT_HALT,
  RUN_HLT,
  RUN_SHUTDOWN,
  RUN_TRIPLE_FAULT,
} from '../cpu/cpu.js';
import { EXIT_EMULATE, EXIT_REASON_VMCALL, EXIT_SKIP, EXIT_WANT_PRE, type ExitHandler } from '../cpu/exits.js';
import { type Awareness, readAwareness, readGuestString } from './awareness.js';
import { applyBootState, BOOT_INFO, BOOT_STACK_TOP, writeBootStructures } from './boot.js';
import { LAPIC_BASE, LAPIC_SIZE, LocalApicBank } from './devices/lapic.js';
import { COM1_BASE, UART_PORT_COUNT, Uart16550 } from './devices/uart.js';
import {
  HC_ANNOUNCE,
  HC_AWARENESS,
  HC_BANNER_MAX,
  HC_ERROR,
  HC_MAGIC,
  HC_MAGIC_MASK,
  HC_OK,
  HC_START_CPU,
} from './hypercalls.js';
import { readDefaultImage } from './image.js';
import { IoPortBus } from './ioBus.js';
import { type ElfImage, loadElf } from './loader.js';
import { PAGE_SIZE, PhysicalMemory } from './memory.js';

export const WORKLOADS = ['mixed', 'compute', 'syscalls'] as const;
export type Workload = (typeof WORKLOADS)[number];

export const MIN_MEMORY = 4 * 1024 * 1024;
/** RAM may reach 4 GiB (the local APIC page stays MMIO); the kernel itself uses the first 1 GiB. */
export const MAX_MEMORY = 4 * 1024 * 1024 * 1024;
export const MAX_VCPUS = 4;
/** Local-APIC timer period the machine suggests to the kernel, in instructions. */
export const DEFAULT_TIMER_PERIOD = 20_000;
/** Instructions a vCPU runs before the next one gets its turn. */
export const DEFAULT_QUANTUM = 10_000;

export interface MachineConfig {
  memoryBytes: number;
  vcpus: number;
  workload: string;
  /** ELF image; default: the committed guest kernel. */
  image?: Uint8Array;
  timerPeriod?: number;
  quantum?: number;
}

export type SliceStop = 'budget' | 'exit-halt' | 'triple-fault' | 'shutdown';

export interface MachineSlice {
  /** Instructions retired by all vCPUs in this slice. */
  instructions: number;
  stop: SliceStop;
  /** The vCPU that stopped the slice (for 'exit-halt' and machine stops), else the next to run. */
  vcpu: number;
}

function configError(message: string): never {
  throw new HvdbgError('E_CONFIG', message);
}

export class Machine {
  readonly memoryBytes: number;
  readonly vcpuCount: number;
  readonly workload: Workload;
  readonly quantum: number;
  readonly memory: PhysicalMemory;
  /** Second-level trap bits, one byte per 4 KiB guest-physical frame, shared by all vCPUs. */
  readonly ept: Uint8Array;
  readonly cpus: Cpu[];
  readonly io = new IoPortBus();
  readonly uart = new Uart16550(COM1_BASE);
  readonly lapic: LocalApicBank;
  readonly image: ElfImage;
  readonly symbols: SymbolInfo[];
  /** Whether each vCPU has been started (vCPU 0 at reset, the others by START_CPU). */
  readonly started: boolean[];
  /** Awareness block registered by each vCPU (guest virtual address, 0n = none). */
  readonly awarenessAddress: bigint[];
  /** The banner the kernel announced (empty until it does). */
  banner = '';
  /** Set when the machine stopped for good (triple fault or shutdown). */
  stopped: SliceStop | null = null;
  /** The default exit handler: machine hypercalls only. */
  readonly exitHandler: ExitHandler<Cpu>;

  private readonly consoleListeners = new Set<(text: string) => void>();
  private next = 0;
  private left: number;

  constructor(config: MachineConfig) {
    const { memoryBytes, vcpus, workload } = config;
    if (!Number.isInteger(memoryBytes) || memoryBytes < MIN_MEMORY || memoryBytes > MAX_MEMORY) {
      configError(`memory must be between ${MIN_MEMORY} and ${MAX_MEMORY} bytes`);
    }
    if (memoryBytes % PAGE_SIZE !== 0) configError('memory must be a multiple of 4 KiB');
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) configError(`vcpus must be 1 to ${MAX_VCPUS}`);
    if (!(WORKLOADS as readonly string[]).includes(workload)) {
      configError(`unknown workload '${workload}' (expected ${WORKLOADS.join(', ')})`);
    }
    const timerPeriod = config.timerPeriod ?? DEFAULT_TIMER_PERIOD;
    const quantum = config.quantum ?? DEFAULT_QUANTUM;
    if (!Number.isInteger(timerPeriod) || timerPeriod < 100 || timerPeriod > 0xffffffff) {
      configError('timerPeriod must be an integer from 100 to 2^32-1');
    }
    if (!Number.isInteger(quantum) || quantum < 1) configError('quantum must be a positive integer');

    this.memoryBytes = memoryBytes;
    this.vcpuCount = vcpus;
    this.workload = workload as Workload;
    this.quantum = quantum;
    this.left = quantum;
    this.memory = new PhysicalMemory(memoryBytes);
    this.ept = new Uint8Array(Math.ceil(memoryBytes / PAGE_SIZE));
    this.image = loadElf(config.image ?? readDefaultImage(), this.memory);
    this.symbols = this.image.symbols;
    writeBootStructures(this.memory, { memoryBytes, vcpus, cmdline: `workload=${workload}`, timerPeriod });

    this.cpus = [];
    for (let i = 0; i < vcpus; i++) this.cpus.push(new Cpu(i, this.memory, this.ept));
    this.lapic = new LocalApicBank(this.cpus);
    this.memory.registerMmio(LAPIC_BASE, LAPIC_SIZE, this.lapic);
    this.io.register(COM1_BASE, UART_PORT_COUNT, this.uart);
    this.exitHandler = {
      pre: (cpu, reason) => (reason === EXIT_REASON_VMCALL && this.handleHypercall(cpu) ? EXIT_SKIP : EXIT_EMULATE),
      post: () => EXIT_EMULATE,
    };
    for (const cpu of this.cpus) {
      cpu.io = this.io;
      cpu.interrupts = this.lapic;
      cpu.exitHandler = this.exitHandler;
      cpu.exitMask[EXIT_REASON_VMCALL] = EXIT_WANT_PRE;
    }
    this.started = this.cpus.map((_, i) => i === 0);
    this.awarenessAddress = this.cpus.map(() => 0n);
    applyBootState(this.cpus[0]!, this.image.entry, BOOT_STACK_TOP, BigInt(BOOT_INFO));
  }

  /** Subscribes to console output; returns the unsubscribe function. */
  onConsole(listener: (text: string) => void): () => void {
    this.consoleListeners.add(listener);
    return () => this.consoleListeners.delete(listener);
  }

  /** Hands buffered UART output to the listeners (done at the end of every slice). */
  flushConsole(): void {
    const text = this.uart.drain();
    if (text.length === 0) return;
    for (const listener of this.consoleListeners) listener(text);
  }

  /** Total instructions retired by all vCPUs. */
  get instructions(): number {
    let n = 0;
    for (const cpu of this.cpus) n += cpu.instructions;
    return n;
  }

  awareness(vcpu: number): Awareness {
    return readAwareness(this, vcpu);
  }

  /**
   * Serves a machine hypercall on `cpu` (called in the VMCALL exit before the instruction retires).
   * Returns false when RAX does not carry the machine's magic: the VMCALL is not the machine's.
   */
  handleHypercall(cpu: Cpu): boolean {
    const rax = Number(cpu.getReg(REG_RAX) & 0xffffffffn);
    if ((rax & HC_MAGIC_MASK) >>> 0 !== HC_MAGIC || cpu.getReg(REG_RAX) >> 32n !== 0n) return false;
    const arg0 = cpu.getReg(REG_RDI);
    let result = HC_ERROR;
    switch (rax & 0xffff) {
      case HC_ANNOUNCE:
        if (cpu.readVirtual(arg0, 1) !== null) {
          this.banner = readGuestString(cpu, arg0, HC_BANNER_MAX);
          result = HC_OK;
        }
        break;
      case HC_START_CPU: {
        const index = Number(arg0 & 0xffn);
        if (arg0 < BigInt(this.vcpuCount) && index !== cpu.index && !this.started[index]) {
          applyBootState(this.cpus[index]!, cpu.getReg(REG_RSI), cpu.getReg(REG_RDX), cpu.getReg(REG_R10));
          this.started[index] = true;
          result = HC_OK;
        }
        break;
      }
      case HC_AWARENESS:
        if (cpu.readVirtual(arg0, 0x28) !== null) {
          this.awarenessAddress[cpu.index] = arg0;
          result = HC_OK;
        }
        break;
    }
    cpu.setReg(REG_RAX, result);
    return true;
  }

  /**
   * Runs vCPU `index` alone for at most `max` instructions (debugger stepping) and returns a RUN_*
   * code. A halted vCPU first lets time pass up to its timer deadline (at most `max`), so stepping
   * a vCPU that waits in HLT for its tick wakes it as running the machine would.
   */
  runVcpu(index: number, max: number): number {
    const cpu = this.cpus[index]!;
    if (cpu.halted && !this.lapic.pending(cpu)) {
      this.lapic.idle(index, Math.min(max, this.lapic.untilTimer(index)));
      if (!this.lapic.pending(cpu)) return RUN_HLT;
    }
    return this.execute(index, max);
  }

  private execute(index: number, max: number): number {
    this.lapic.current = index;
    return this.cpus[index]!.run(max);
  }

  /**
   * Runs the guest for `budget` instruction-times (retired instructions plus time halted vCPUs
   * spend idle), vCPUs interleaved round robin. Stops early when an exit handler halts the run or
   * the machine stops.
   */
  runSlice(budget: number): MachineSlice {
    let retired = 0;
    let remaining = budget;
    if (this.stopped !== null) return { instructions: 0, stop: this.stopped, vcpu: this.next };
    while (remaining > 0) {
      const i = this.next;
      const cpu = this.cpus[i]!;
      if (!this.started[i]) {
        this.rotate();
        continue;
      }
      let n = Math.min(this.left, remaining);
      const untilTimer = this.lapic.untilTimer(i);
      if (untilTimer > 0 && untilTimer < n) n = untilTimer;
      let consumed: number;
      if (cpu.halted && !this.lapic.pending(cpu)) {
        this.lapic.idle(i, n);
        consumed = n;
      } else {
        const before = cpu.instructions;
        const code = this.execute(i, n);
        const done = cpu.instructions - before;
        retired += done;
        consumed = done;
        if (code === RUN_HLT) {
          this.lapic.idle(i, n - done);
          consumed = n;
        } else if (code === RUN_EXIT_HALT) {
          this.left -= done;
          this.flushConsole();
          return { instructions: retired, stop: 'exit-halt', vcpu: i };
        } else if (code === RUN_TRIPLE_FAULT || code === RUN_SHUTDOWN) {
          this.stopped = code === RUN_TRIPLE_FAULT ? 'triple-fault' : 'shutdown';
          this.flushConsole();
          return { instructions: retired, stop: this.stopped, vcpu: i };
        } else if (code === RUN_BUDGET && done === 0) {
          consumed = n;
        }
      }
      this.left -= consumed;
      remaining -= consumed;
      if (this.left <= 0) this.rotate();
    }
    this.flushConsole();
    return { instructions: retired, stop: 'budget', vcpu: this.next };
  }

  private rotate(): void {
    this.next = (this.next + 1) % this.cpus.length;
    this.left = this.quantum;
  }

  /** Modules for symbol resolution: the kernel (higher half) and the user image. */
  modules(): GuestModule[] {
    const modules: GuestModule[] = [];
    const { kernelBase, kernelEnd } = this.image;
    if (kernelEnd > kernelBase) modules.push({ name: 'kernel', base: kernelBase, size: kernelEnd - kernelBase });
    let base = -1n;
    let end = 0n;
    for (const seg of this.image.segments) {
      if (seg.vaddr >= kernelBase && kernelBase !== 0n) continue;
      if (base < 0n || seg.vaddr < base) base = seg.vaddr;
      if (seg.vaddr + BigInt(seg.memsz) > end) end = seg.vaddr + BigInt(seg.memsz);
    }
    if (base >= 0n) modules.push({ name: 'user', base, size: end - base });
    return modules;
  }

  description(name = 'hvdbg-guest'): GuestDescription {
    return {
      name,
      vcpus: this.vcpuCount,
      memoryBytes: BigInt(this.memoryBytes),
      workload: this.workload,
      kernelBase: this.image.kernelBase,
      modules: this.modules(),
    };
  }
}
