/**
 * A small DebugTarget for the gdb stub's tests: registers, one mapped memory window, MSRs, events
 * and breakpoints in plain maps, and halts the test triggers itself (`halt()`), so every stop reply
 * is deterministic. Errors follow the real contract (E_NOT_HALTED, E_BAD_ADDRESS, E_BAD_VCPU …).
 */
import {
  type BreakpointInfo,
  type EventInfo,
  type EventSpec,
  type GuestDescription,
  type HaltInfo,
  type HaltReason,
  HvdbgError,
  type MemorySpace,
  type Mode,
  type ProcessInfo,
  type RunState,
  type StepKind,
  type ThreadInfo,
} from '@hvdbg/protocol';
import { FULL_REGISTERS } from '@hvdbg/script';
import type { DebugTarget, SliceResult, TargetListener } from '../../../target.js';

/** The fake's one mapped window of virtual memory (the kernel image in the real guest). */
export const FAKE_MEMORY_BASE = 0xffff_ffff_8010_0000n;
export const FAKE_MEMORY_BYTES = 0x2000;

const NO_LISTENER: TargetListener = {
  onLog() {},
  onDropped() {},
  onConsole() {},
  onHalt() {},
  onResume() {},
  onEventsChanged() {},
};

export interface StepCall {
  kind: StepKind;
  count: number;
  vcpu: number | undefined;
  byClient: number | undefined;
}

export class FakeGdbTarget implements DebugTarget {
  mode: Mode = 'remote';
  readonly lossless = false;
  listener: TargetListener = NO_LISTENER;
  runState: RunState = 'running';
  halt: HaltInfo | undefined = undefined;
  readonly regs: Map<string, bigint>[];
  readonly memory = new Uint8Array(FAKE_MEMORY_BYTES);
  readonly msrs = new Map<number, bigint>();
  readonly events = new Map<number, EventInfo & { spec: EventSpec }>();
  readonly breakpoints = new Map<number, BreakpointInfo>();
  readonly steps: StepCall[] = [];
  pauses = 0;
  resumes: (number | undefined)[] = [];
  private nextEvent = 1;
  private nextBreakpoint = 1;

  constructor(readonly vcpus = 2) {
    this.regs = Array.from({ length: vcpus }, (_, v) => {
      const m = new Map<string, bigint>();
      FULL_REGISTERS.forEach((name, i) => {
        m.set(name, BigInt(v * 0x1000 + i));
      });
      m.set('rip', FAKE_MEMORY_BASE + 0x10n);
      m.set('rflags', 0x246n);
      return m;
    });
    this.msrs.set(0xc000_0080, 0x501n);
    for (let i = 0; i < this.memory.length; i++) this.memory[i] = i & 0xff;
  }

  setListener(listener: TargetListener): void {
    this.listener = listener;
  }

  description(): GuestDescription {
    return {
      name: 'fake',
      vcpus: this.vcpus,
      memoryBytes: 64n << 20n,
      workload: 'mixed',
      kernelBase: FAKE_MEMORY_BASE,
      modules: [],
    };
  }

  state(): RunState {
    return this.runState;
  }

  haltInfo(): HaltInfo | undefined {
    return this.halt;
  }

  runSlice(): SliceResult {
    return { instructions: 0, idle: true };
  }

  tick(): void {}

  instructions(): bigint {
    return 1234n;
  }

  /** Halts the guest as a break, step or pause inside the target would. */
  haltWith(reason: HaltReason, vcpu = 0, extra: Partial<HaltInfo> = {}): HaltInfo {
    const info: HaltInfo = {
      reason,
      vcpu,
      rip: this.regs[vcpu]!.get('rip')!,
      rflags: this.regs[vcpu]!.get('rflags')!,
      bytes: new Uint8Array(0),
      lastSeq: 0n,
      ...extra,
    };
    this.runState = 'halted';
    this.halt = info;
    this.listener.onHalt(info);
    return info;
  }

  pause(byClient?: number): void {
    this.pauses++;
    if (this.runState !== 'running') return;
    this.haltWith('pause', 0, byClient === undefined ? {} : { byClient });
  }

  resume(byClient?: number): void {
    this.requireHalted();
    this.resumes.push(byClient);
    this.runState = 'running';
    this.halt = undefined;
    this.listener.onResume(false);
  }

  step(kind: StepKind, count: number, vcpu?: number, byClient?: number): void {
    this.requireHalted();
    this.steps.push({ kind, count, vcpu, byClient });
    this.runState = 'running';
    this.halt = undefined;
    this.listener.onResume(true);
  }

  switchCore(vcpu: number): HaltInfo {
    this.requireHalted();
    return this.haltWith(this.halt!.reason, vcpu);
  }

  readRegisters(vcpu: number, names?: string[]): Record<string, bigint> {
    const regs = this.cpu(vcpu);
    const out: Record<string, bigint> = {};
    for (const n of names ?? FULL_REGISTERS) {
      const v = regs.get(n);
      if (v === undefined) throw new HvdbgError('E_BAD_REGISTER', `no register named '${n}'`);
      out[n] = v;
    }
    return out;
  }

  writeRegister(vcpu: number, name: string, value: bigint): void {
    const regs = this.cpu(vcpu);
    if (!regs.has(name)) throw new HvdbgError('E_BAD_REGISTER', `no register named '${name}'`);
    regs.set(name, BigInt.asUintN(64, value));
  }

  readMemory(space: MemorySpace, address: bigint, length: number, vcpu: number): Uint8Array {
    this.cpu(vcpu);
    const off = this.offset(space, address, length);
    return this.memory.slice(off, off + length);
  }

  writeMemory(space: MemorySpace, address: bigint, bytes: Uint8Array, vcpu: number): number {
    this.cpu(vcpu);
    this.memory.set(bytes, this.offset(space, address, bytes.length));
    return bytes.length;
  }

  translate(address: bigint): { physical: bigint; entries: bigint[] } {
    return { physical: BigInt(this.offset('virtual', address, 1)) + 0x10_0000n, entries: [] };
  }

  readMsr(vcpu: number, msr: number): bigint {
    this.cpu(vcpu);
    const v = this.msrs.get(msr);
    if (v === undefined) throw new HvdbgError('E_BAD_VALUE', `MSR ${msr.toString(16)} is not implemented`);
    return v;
  }

  writeMsr(vcpu: number, msr: number, value: bigint): void {
    this.cpu(vcpu);
    this.msrs.set(msr, value);
  }

  mainVcpu(): number {
    return this.halt?.vcpu ?? 0;
  }

  addEvent(spec: EventSpec): { id: number; tag: bigint; warnings: string[] } {
    const id = this.nextEvent++;
    this.events.set(id, { id, tag: BigInt(id), enabled: true, kind: spec.kind, text: spec.text, hits: 0n, spec });
    this.listener.onEventsChanged();
    return { id, tag: BigInt(id), warnings: [] };
  }

  listEvents(): EventInfo[] {
    return [...this.events.values()].map(({ spec: _spec, ...info }) => info);
  }

  modifyEvent(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const ids = id === 'all' ? [...this.events.keys()] : [id];
    for (const i of ids) {
      const e = this.events.get(i);
      if (e === undefined) throw new HvdbgError('E_BAD_EVENT_ID', `no event has id 0x${i.toString(16)}`);
      if (action === 'clear') this.events.delete(i);
      else e.enabled = action === 'enable';
    }
    this.listener.onEventsChanged();
    return ids.length;
  }

  setShortCircuit(): void {}

  readEventBuffer(): Uint8Array {
    return new Uint8Array(0);
  }

  evalScript(buffer: Uint8Array): { output: string[]; error?: { code: string; message: string } } {
    return { output: [`evaluated ${buffer.length} bytes`] };
  }

  addBreakpoint(address: bigint, filter: { pid?: number; tid?: number; core?: number }): number {
    this.offset('virtual', address, 1);
    const id = this.nextBreakpoint++;
    this.breakpoints.set(id, { id, address, enabled: true, hits: 0n, ...filter });
    return id;
  }

  listBreakpoints(): BreakpointInfo[] {
    return [...this.breakpoints.values()];
  }

  modifyBreakpoint(id: number | 'all', action: 'enable' | 'disable' | 'clear'): number {
    const ids = id === 'all' ? [...this.breakpoints.keys()] : [id];
    for (const i of ids) {
      const b = this.breakpoints.get(i);
      if (b === undefined) throw new HvdbgError('E_BAD_BREAKPOINT', `no breakpoint has id ${i}`);
      if (action === 'clear') this.breakpoints.delete(i);
      else b.enabled = action === 'enable';
    }
    return ids.length;
  }

  symbols() {
    return {
      modules: [],
      symbols: [
        { name: 'kmain', module: 'kernel', address: FAKE_MEMORY_BASE + 0x100n, size: 0x40n, kind: 'function' as const },
        { name: 'jiffies', module: 'kernel', address: FAKE_MEMORY_BASE + 0x800n, size: 8n, kind: 'object' as const },
      ],
    };
  }

  queueDepth(): number {
    return 0;
  }

  drops(): bigint {
    return 0n;
  }

  flushQueue(): number {
    return 0;
  }

  processes(): ProcessInfo[] {
    return [];
  }

  threads(): ThreadInfo[] {
    return [];
  }

  cpuid(): { eax: number; ebx: number; ecx: number; edx: number } {
    return { eax: 0, ebx: 0, ecx: 0, edx: 0 };
  }

  shutdown(): void {
    this.runState = 'stopped';
  }

  private cpu(vcpu: number): Map<string, bigint> {
    const regs = this.regs[vcpu];
    if (regs === undefined) throw new HvdbgError('E_BAD_VCPU', `no vCPU ${vcpu}`);
    return regs;
  }

  private offset(space: MemorySpace, address: bigint, length: number): number {
    const base = space === 'virtual' ? FAKE_MEMORY_BASE : 0x10_0000n;
    const off = address - base;
    if (off < 0n || off + BigInt(length) > BigInt(FAKE_MEMORY_BYTES)) {
      throw new HvdbgError('E_BAD_ADDRESS', `0x${address.toString(16)} (length ${length}) is not mapped`);
    }
    return Number(off);
  }

  private requireHalted(): void {
    if (this.runState === 'stopped') throw new HvdbgError('E_GUEST_STOPPED');
    if (this.runState !== 'halted') throw new HvdbgError('E_NOT_HALTED');
  }
}
