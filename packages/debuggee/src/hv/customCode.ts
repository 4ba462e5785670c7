/**
 * Custom code and machine-code conditions (SPEC §3.2, §3.5; seed "Custom Code"): raw x86-64 run by
 * the emulated CPU in a hypervisor-private context the guest cannot see.
 *
 * Design: the private context is a separate core object over a separate physical memory (the
 * "hypervisor's own RAM"), not a save/restore of the guest vCPU. Why:
 *  - invisibility by construction: no guest page table, EPT entry or physical address can reach the
 *    code, stack, buffer or GUEST_REGS, so the guest can neither see nor corrupt them;
 *  - the guest is unharmed whatever the code does (fault, runaway, wild writes): its architectural
 *    state is never touched except through GUEST_REGS after a clean return;
 *  - speed: the private core keeps its TLB and decoded code across runs (a save/restore of the guest
 *    core would flush both on every firing);
 *  - no exits: the private core has no exit handler, so actions never re-enter the dispatch.
 * The code still runs "on" the intercepting vCPU in the sense that matters: synchronously inside
 * that vCPU's exit, with that vCPU's registers in GUEST_REGS and its context in R8.
 *
 * Private memory layout (4 KiB pages, built lazily): page tables low, then a stack with an
 * unmapped guard page below, identity-mapped; code and buffer slots from physical SLOTS_BASE, each
 * followed by an unmapped guard page so running off the end faults instead of executing a
 * neighbour. Slots are mapped high, at SLOT_VA_BASE in the kernel half, so a buffer address
 * (`$buffer`, RCX) cannot be mistaken for a guest user address; the script host serves the
 * firing's own buffer range from here.
 *
 * A code slot is laid out as [GUEST_REGS: 128 bytes][HLT = the sentinel][INT3][code…]: the block,
 * the return target and the code share one page for code under ~4 KiB, so a run touches two pages
 * (this one and the stack) — the translations a run needs are few, which is what a run costs.
 * The code returns with `ret` to the slot's sentinel, whose HLT ends the run: RIP == sentinel + 1
 * is the one clean exit. Anything else (triple fault from an exception with no IDT, budget, a stray HLT) is
 * reported and GUEST_REGS is discarded.
 */
import { HvdbgError } from '@hvdbg/protocol';
import type { ActionError, CodeExecutor, Firing, MachineCode } from '../events/actions.js';
import type { EventBuffer } from '../events/registry.js';
import type { PhysicalMemory } from '../machine/memory.js';
import { checkMachineCode } from './codeCheck.js';
import { REG_RCX, REG_RDX, REG_RSP } from './vcpu.js';

const REG_RAX = 0;
const REG_R8 = 8;

/** RUN_* codes of the CPU (cpu.ts) this module distinguishes. */
export const RUN_BUDGET = 0;
export const RUN_HLT = 2;

/** What the private core must offer (the real Cpu does). */
export interface PrivateCore {
  readonly lo: Int32Array;
  /** Shutdown state after a triple fault (the real Cpu refuses to run until it is cleared). */
  shutdown?: boolean;
  /** RIP as a canonical signed number, when the core exposes it (the real Cpu does). */
  readonly rip?: number;
  readonly hi: Int32Array;
  halted: boolean;
  readonly instructions: number;
  run(maxInstructions: number): number;
  setRip(v: bigint): void;
  getRip(): bigint;
  setRflags(v: bigint): void;
  setCr(n: number, v: bigint): void;
  getReg(r: number): bigint;
  setReg(r: number, v: bigint): void;
}

/** The guest side: registers as Int32 halves when available (the real Cpu), else through BigInt. */
interface GuestRegs {
  readonly index: number;
  getReg(r: number): bigint;
  setReg(r: number, v: bigint): void;
}

export const PRIVATE_MEMORY_BYTES = 1024 * 1024 * 1024;
const PML4 = 0x1000;
const PDPT_LO = 0x2000;
const PD_LO = 0x3000;
const PDPT_HI = 0x4000;
const PD_HI = 0x5000;
const PT_LO_BASE = 0x6000; // tables for the low (identity) region: PD_LO index 1 only
const PT_HI_BASE = 0x8000; // up to 512 tables for the slot region
/** Where slots appear to code and scripts (PML4 slot 0x120). */
export const SLOT_VA_BASE = 0xffff900000000000n;
const SLOT_VA_HI = Number(SLOT_VA_BASE >> 32n) | 0;
const SLOT_PML4_INDEX = Number((SLOT_VA_BASE >> 39n) & 511n);
const STACK_LOW = 0x213000; // 0x212000 stays unmapped: stack overflow faults
const STACK_TOP = 0x21b000;
const SLOTS_BASE = 0x400000;
const PAGE = 0x1000;
/** Instructions one custom-code or condition run may retire. */
export const DEFAULT_CODE_BUDGET = 100_000;
/** Code slot header: GUEST_REGS (16 x u64), then the sentinel HLT, then an INT3 pad. */
const REGS_BYTES = 128;
const SENTINEL_OFFSET = REGS_BYTES;
const CODE_OFFSET = REGS_BYTES + 2;
const RET_SLOT = STACK_TOP - 8;
const TWO_32 = 4294967296;

export class Slot implements MachineCode, EventBuffer {
  /** Virtual address (what RCX, RIP and `$buffer` hold). */
  readonly address: bigint;
  /** Physical address in the private memory. */
  readonly pa: number;
  /** Code slots: where execution starts, and the RIP after the sentinel HLT (a clean return). */
  readonly entry: bigint;
  readonly cleanRip: bigint;
  /** `cleanRip` as the CPU's canonical signed number, compared without allocating. */
  readonly cleanRipNumber: number;
  /** Code slots: GUEST_REGS at the start of the slot's first frame, as (lo, hi) int32 pairs. */
  regs: Int32Array | null = null;
  constructor(
    private readonly owner: CustomCodeRunner,
    /** Offset from SLOTS_BASE / SLOT_VA_BASE. */
    readonly offset: number,
    readonly pages: number,
    readonly size: number,
  ) {
    this.address = SLOT_VA_BASE + BigInt(offset);
    this.pa = SLOTS_BASE + offset;
    this.entry = this.address + BigInt(CODE_OFFSET);
    this.cleanRip = this.address + BigInt(SENTINEL_OFFSET + 1);
    this.cleanRipNumber = Number(BigInt.asIntN(64, this.cleanRip));
  }
  read(): Uint8Array {
    return this.owner.memory.readBytes(this.pa, this.size);
  }
  /** Script access to the buffer: `offset` bytes in; false when outside it. */
  readAt(offset: number, out: Uint8Array, size: number): boolean {
    if (offset < 0 || offset + size > this.size) return false;
    out.set(this.owner.memory.readBytes(this.pa + offset, size));
    return true;
  }
  writeAt(offset: number, data: Uint8Array, size: number): boolean {
    if (offset < 0 || offset + size > this.size) return false;
    this.owner.memory.writeBytes(this.pa + offset, data.subarray(0, size));
    return true;
  }
  release(): void {
    this.owner.free(this);
  }
}

export class CustomCodeRunner implements CodeExecutor {
  private mem: PhysicalMemory | null = null;
  private coreObj: PrivateCore | null = null;
  /** Next free slot offset (from SLOTS_BASE). */
  private nextSlot = 0;
  private readonly freeSlots = new Map<number, number[]>();
  private readonly tablesMapped = new Set<number>();
  /** The stack's top frame, where each run's return address goes (set by init). */
  private stackView: DataView = new DataView(new ArrayBuffer(8));

  constructor(
    private readonly makeMemory: (bytes: number) => PhysicalMemory,
    private readonly makeCore: (memory: PhysicalMemory, ept: Uint8Array) => PrivateCore,
    private readonly budget = DEFAULT_CODE_BUDGET,
  ) {}

  /** The private RAM, created on first use: a target that never loads code pays nothing for it. */
  get memory(): PhysicalMemory {
    if (this.mem === null) this.init();
    return this.mem!;
  }

  private get core(): PrivateCore {
    if (this.coreObj === null) this.init();
    return this.coreObj!;
  }

  private init(): void {
    const m = this.makeMemory(PRIVATE_MEMORY_BYTES);
    this.mem = m;
    this.coreObj = this.makeCore(m, new Uint8Array(PRIVATE_MEMORY_BYTES / PAGE));
    m.write32(PML4, PDPT_LO | 3);
    m.write32(PML4 + SLOT_PML4_INDEX * 8, PDPT_HI | 3);
    m.write32(PDPT_LO, PD_LO | 3);
    m.write32(PDPT_HI, PD_HI | 3);
    m.write32(PD_LO + 8, PT_LO_BASE | 3);
    this.mapLow(STACK_LOW, (STACK_TOP - STACK_LOW) / PAGE);
    m.write32(RET_SLOT, 0);
    this.stackView = m.view(Math.floor(RET_SLOT / PAGE));
    this.coreObj.setCr(3, BigInt(PML4));
  }

  /** Registration check: size and a reachable ret. */
  check(bytes: Uint8Array, limit: number): string | null {
    return checkMachineCode(bytes, limit);
  }

  loadCode(bytes: Uint8Array): Slot {
    const slot = this.alloc(CODE_OFFSET + bytes.length);
    const header = new Uint8Array(CODE_OFFSET);
    header[SENTINEL_OFFSET] = 0xf4; // HLT
    header[SENTINEL_OFFSET + 1] = 0xcc; // INT3: never executed by a clean return
    this.memory.writeBytes(slot.pa, header);
    this.memory.writeBytes(slot.pa + CODE_OFFSET, bytes);
    // GUEST_REGS is copied in and out on every run: a typed array straight over the frame (the
    // slot is page-aligned; x86-64 and every host Node runs on here are little-endian).
    const frame = this.memory.frame(slot.pa / PAGE);
    slot.regs = new Int32Array(frame.buffer, frame.byteOffset, 32);
    return slot;
  }

  allocBuffer(size: number): Slot {
    const slot = this.alloc(size);
    // A recycled slot must not leak a previous event's data.
    this.memory.writeBytes(slot.pa, new Uint8Array(slot.pages * PAGE));
    return slot;
  }

  runCode(code: MachineCode, f: Firing): ActionError | null {
    const slot = code as Slot;
    const guest = f.cpu as unknown as GuestRegs;
    const regs = slot.regs!;
    this.loadGuestRegs(guest, regs);
    const core = this.core;
    const buffer = f.ev?.buffer as Slot | null | undefined;
    if (buffer) {
      core.lo[REG_RCX] = buffer.offset;
      core.hi[REG_RCX] = SLOT_VA_HI;
    } else {
      setNumber(core, REG_RCX, 0);
    }
    core.lo[REG_RDX] = slot.offset;
    core.hi[REG_RDX] = SLOT_VA_HI;
    setNumber(core, REG_R8, f.context);
    const err = this.call(slot);
    if (err !== null) return err;
    this.storeGuestRegs(guest, regs);
    return null;
  }

  runCondition(code: MachineCode, f: Firing): boolean | ActionError {
    const slot = code as Slot;
    const guest = f.cpu as unknown as GuestRegs;
    const regs = slot.regs!;
    this.loadGuestRegs(guest, regs);
    const core = this.core;
    core.lo[REG_RCX] = slot.offset;
    core.hi[REG_RCX] = SLOT_VA_HI;
    setNumber(core, REG_RDX, f.context);
    const err = this.call(slot);
    if (err !== null) return err;
    // Writes through the pointer change the guest (SPEC §3.2).
    this.storeGuestRegs(guest, regs);
    return (core.lo[REG_RAX]! | core.hi[REG_RAX]!) !== 0;
  }

  free(slot: Slot): void {
    for (let p = 0; p < slot.pages; p++) this.unmapSlotPage(slot.offset + p * PAGE);
    let list = this.freeSlots.get(slot.pages);
    if (list === undefined) this.freeSlots.set(slot.pages, (list = []));
    list.push(slot.offset);
    this.core.setCr(3, BigInt(PML4)); // flush the private TLB
  }

  /** Calls the slot with a fresh stack whose top holds the sentinel return address. */
  private call(slot: Slot): ActionError | null {
    const core = this.core;
    const stack = this.stackView;
    stack.setInt32(RET_SLOT & 0xfff, slot.offset + SENTINEL_OFFSET, true);
    stack.setInt32((RET_SLOT & 0xfff) + 4, SLOT_VA_HI, true);
    setNumber(core, REG_RSP, RET_SLOT);
    core.setRflags(2n);
    core.halted = false;
    // A previous run that faulted left the private core in shutdown; each run starts afresh.
    if (core.shutdown === true) core.shutdown = false;
    core.setRip(slot.entry);
    const before = core.instructions;
    const r = core.run(this.budget);
    if (
      r === RUN_HLT &&
      (core.rip !== undefined ? core.rip === slot.cleanRipNumber : core.getRip() === slot.cleanRip)
    ) {
      return null;
    }
    const rip = BigInt.asUintN(64, core.getRip());
    core.halted = false;
    if (r === RUN_BUDGET) {
      return { code: 'E_CODE_RUNTIME', message: `did not return within ${this.budget} instructions` };
    }
    if (r === RUN_HLT) {
      return { code: 'E_CODE_RUNTIME', message: `stopped at a HLT at 0x${rip.toString(16)} instead of returning` };
    }
    return {
      code: 'E_CODE_RUNTIME',
      message: `faulted after ${core.instructions - before} instructions near 0x${rip.toString(16)} (or did not end in ret)`,
    };
  }

  private loadGuestRegs(g: GuestRegs, v: Int32Array): void {
    const fast = g as GuestRegs & { lo?: Int32Array; hi?: Int32Array };
    if (fast.lo !== undefined && fast.hi !== undefined) {
      const lo = fast.lo;
      const hi = fast.hi;
      for (let r = 0; r < 16; r++) {
        v[2 * r] = lo[r]!;
        v[2 * r + 1] = hi[r]!;
      }
      return;
    }
    for (let r = 0; r < 16; r++) {
      const value = BigInt.asUintN(64, g.getReg(r));
      v[2 * r] = Number(value & 0xffffffffn) | 0;
      v[2 * r + 1] = Number(value >> 32n) | 0;
    }
  }

  /** Applies GUEST_REGS to the guest; only changed registers are written. */
  private storeGuestRegs(g: GuestRegs, v: Int32Array): void {
    const fast = g as GuestRegs & { lo?: Int32Array; hi?: Int32Array };
    const glo = fast.lo;
    const ghi = fast.hi;
    for (let r = 0; r < 16; r++) {
      const lo = v[2 * r]!;
      const hi = v[2 * r + 1]!;
      if (glo !== undefined && ghi !== undefined && glo[r] === lo && ghi[r] === hi) continue;
      const value = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
      if (glo === undefined && BigInt.asUintN(64, g.getReg(r)) === value) continue;
      g.setReg(r, value);
    }
  }

  private alloc(size: number): Slot {
    const pages = Math.max(1, Math.ceil(size / PAGE));
    const reuse = this.freeSlots.get(pages);
    let offset: number;
    if (reuse !== undefined && reuse.length > 0) {
      offset = reuse.pop()!;
    } else {
      offset = this.nextSlot;
      if (SLOTS_BASE + offset + (pages + 1) * PAGE > PRIVATE_MEMORY_BYTES) {
        throw new HvdbgError(
          'E_CODE_INVALID',
          'hypervisor memory for code and buffers is exhausted; clear some events',
        );
      }
      this.nextSlot = offset + (pages + 1) * PAGE; // +1: unmapped guard page
    }
    for (let p = 0; p < pages; p++) this.mapSlotPage(offset + p * PAGE);
    return new Slot(this, offset, pages, size);
  }

  /** Identity-maps low pages (the stack: inside PD_LO entry 1). */
  private mapLow(base: number, pages: number): void {
    for (let p = 0; p < pages; p++) {
      const va = base + p * PAGE;
      this.memory.write32(PT_LO_BASE + ((va >>> 12) & 511) * 8, va | 3);
    }
  }

  private mapSlotPage(offset: number): void {
    const m = this.memory;
    const pdIndex = Math.floor(offset / 0x200000);
    const pt = PT_HI_BASE + pdIndex * PAGE;
    if (!this.tablesMapped.has(pdIndex)) {
      m.write32(PD_HI + pdIndex * 8, pt | 3);
      this.tablesMapped.add(pdIndex);
    }
    m.write32(pt + ((offset >>> 12) & 511) * 8, (SLOTS_BASE + offset) | 3);
  }

  private unmapSlotPage(offset: number): void {
    const pt = PT_HI_BASE + Math.floor(offset / 0x200000) * PAGE;
    this.memory.write32(pt + ((offset >>> 12) & 511) * 8, 0);
  }
}

function setNumber(core: PrivateCore, r: number, v: number): void {
  core.lo[r] = v | 0;
  core.hi[r] = Math.floor(v / TWO_32) | 0;
}
