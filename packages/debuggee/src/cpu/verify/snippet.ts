/**
 * Runs verification cases on the emulated CPU in the same picture the native oracle sees
 * (layout.ts): 64-bit user mode (CPL 3, CS 0x33, SS 0x2b as on Linux), the code page and the data
 * region mapped user-accessible at the oracle's linear addresses, FS/GS bases as there, an IDT whose
 * gates are DPL 0 except #BP/#OF (so INT n from user mode is #GP as on the host kernel).
 *
 * A run ends on the first exception, as the native one does: the INT3 after the snippet (or the
 * one a branch landed on) or a real fault. The EXIT_REASON_EXCEPTION_NMI exit is intercepted
 * before delivery and ends the run with EXIT_HALT, so no guest handler is needed.
 *
 * Also the base of the CPU benchmark (bench/cpu.mjs imports the built copy).
 */

import { PhysicalMemory } from '../../machine/memory.js';
import { Cpu, RUN_BUDGET } from '../cpu.js';
import { EXIT_EMULATE, EXIT_HALT, EXIT_REASON_EXCEPTION_NMI, EXIT_WANT_PRE, type ExitHandler } from '../exits.js';
import {
  type CaseInput,
  type CaseResult,
  CODE_ADDR,
  CODE_SIZE,
  DATA_ADDR,
  DATA_SIZE,
  diffRuns,
  FLAGS_COMPARED,
  FS_BASE,
  GS_BASE,
  hexToBytes,
  initialData,
  inputRegs,
  TRAPNO_TIMEOUT,
} from './layout.js';

const CR0_PE = 1n << 0n;
const CR0_MP = 1n << 1n;
const CR0_ET = 1n << 4n;
const CR0_NE = 1n << 5n;
const CR0_WP = 1n << 16n;
const CR0_PG = 1n << 31n;
const CR4_PAE = 1n << 5n;
const MSR_EFER = 0xc000_0080;
const MSR_FS_BASE = 0xc000_0100;
const MSR_GS_BASE = 0xc000_0101;
const EFER_SCE = 1n << 0n;
const EFER_LME = 1n << 8n;
const EFER_LMA = 1n << 10n;
const EFER_NXE = 1n << 11n;
const PTE_P = 1n;
const PTE_RW = 2n;
const PTE_US = 4n;
const RFLAGS_FIXED = 0x2n;
const RFLAGS_IF = 0x200n;

/** Physical layout of the test machine. */
const PML4 = 0x1000;
const PDPT = 0x2000;
const PD = 0x3000;
const PT_CODE = 0x4000;
const PT_DATA = 0x5000;
const PT_SYS = 0x6000;
const CODE_PHYS = 0x10000;
const DATA_PHYS = 0x20000;
const GDT_PHYS = 0x30000;
const IDT_PHYS = 0x31000;
/** Supervisor-only linear addresses of the GDT and IDT (unmapped for user code, like the host's). */
const SYS_LINEAR = 0x3000_0000;
const GDT_LINEAR = SYS_LINEAR;
const IDT_LINEAR = SYS_LINEAR + 0x1000;
const MEMORY_BYTES = 0x40000;

/** Linux x86-64 selectors: kernel CS 0x10, kernel DS 0x18, user CS32 0x23, user DS 0x2b, user CS64 0x33. */
const GDT = [
  0n,
  0n,
  0x00af9a000000ffffn, // 0x10 kernel code, L=1
  0x00cf92000000ffffn, // 0x18 kernel data
  0x00cffa000000ffffn, // 0x23 user code, 32-bit
  0x00cff2000000ffffn, // 0x2b user data
  0x00affa000000ffffn, // 0x33 user code, L=1
];
export const USER_CS = 0x33;
export const USER_SS = 0x2b;
const KERNEL_CS = 0x10;
/** Vectors the host kernel lets user code raise with INT n (gate DPL 3). */
const USER_GATES = new Set([3, 4]);
/** Instruction budget after which a snippet counts as looping forever (the oracle's watchdog). */
const MAX_STEPS = 2000;

const INT3 = 0xcc;

function write64(memory: PhysicalMemory, pa: number, v: bigint): void {
  memory.write32(pa, Number(v & 0xffff_ffffn));
  memory.write32(pa + 4, Number((v >> 32n) & 0xffff_ffffn));
}

/** Exception intercept: remembers the vector (and error code) and ends the run before delivery. */
class ExceptionTrap implements ExitHandler<Cpu> {
  vector = -1;
  error = -1;
  rip = 0n;
  cr2 = 0n;
  /** Instruction length for a software exception (INT3, INT n), else 0. */
  size = 0;
  pre(cpu: Cpu, reason: number, qual: number): number {
    if (reason !== EXIT_REASON_EXCEPTION_NMI) return EXIT_EMULATE;
    const vector = qual & 0xff;
    // INT n is a software interrupt, not an exception: let delivery run its gate checks (a DPL-0
    // gate from CPL 3 then raises the #GP we do stop on). INT3 / INT 3 / INTO are #BP/#OF traps.
    if (cpu.exitSize > 0 && vector !== 3 && vector !== 4) return EXIT_EMULATE;
    this.vector = vector;
    this.rip = cpu.getRip();
    this.size = cpu.exitSize;
    this.error = Number(cpu.exitValue);
    this.cr2 = BigInt.asUintN(64, cpu.getCr(2));
    return EXIT_HALT;
  }
  post(): number {
    return EXIT_EMULATE;
  }
}

export class SnippetMachine {
  readonly memory = new PhysicalMemory(MEMORY_BYTES);
  readonly cpu: Cpu;
  private readonly trap = new ExceptionTrap();
  private readonly page = new Uint8Array(CODE_SIZE).fill(INT3);
  private readonly snapshot: ReturnType<Cpu['saveState']>;

  constructor() {
    const m = this.memory;
    this.cpu = new Cpu(0, m, new Uint8Array(MEMORY_BYTES >> 12));
    const user = PTE_P | PTE_RW | PTE_US;
    write64(m, PML4, BigInt(PDPT) | user);
    write64(m, PDPT, BigInt(PD) | user);
    write64(m, PD + ((CODE_ADDR >>> 21) & 511) * 8, BigInt(PT_CODE) | user);
    write64(m, PD + ((DATA_ADDR >>> 21) & 511) * 8, BigInt(PT_DATA) | user);
    write64(m, PD + ((SYS_LINEAR >>> 21) & 511) * 8, BigInt(PT_SYS) | user);
    write64(m, PT_CODE + ((CODE_ADDR >>> 12) & 511) * 8, BigInt(CODE_PHYS) | user);
    for (let i = 0; i < DATA_SIZE >> 12; i++) {
      write64(m, PT_DATA + (((DATA_ADDR >>> 12) + i) & 511) * 8, BigInt(DATA_PHYS + i * 0x1000) | user);
    }
    write64(m, PT_SYS + ((GDT_LINEAR >>> 12) & 511) * 8, BigInt(GDT_PHYS) | PTE_P | PTE_RW);
    write64(m, PT_SYS + ((IDT_LINEAR >>> 12) & 511) * 8, BigInt(IDT_PHYS) | PTE_P | PTE_RW);
    for (let i = 0; i < GDT.length; i++) write64(m, GDT_PHYS + i * 8, GDT[i]!);
    // 64-bit interrupt gates to an (unused) handler: deliveries are intercepted before they happen.
    for (let v = 0; v < 256; v++) {
      const dpl = USER_GATES.has(v) ? 3 : 0;
      const handler = SYS_LINEAR + 0x2000 + v * 16;
      m.write32(IDT_PHYS + v * 16, (KERNEL_CS << 16) | (handler & 0xffff));
      m.write32(IDT_PHYS + v * 16 + 4, ((handler & 0xffff0000) | 0x8e00 | (dpl << 13)) >>> 0);
      m.write32(IDT_PHYS + v * 16 + 8, 0);
      m.write32(IDT_PHYS + v * 16 + 12, 0);
    }
    const cpu = this.cpu;
    cpu.setMsr(MSR_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
    cpu.setCr(4, CR4_PAE);
    cpu.setCr(0, CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG);
    cpu.setCr(3, BigInt(PML4));
    cpu.setDescriptorTable('gdtr', BigInt(GDT_LINEAR), GDT.length * 8 - 1);
    cpu.setDescriptorTable('idtr', BigInt(IDT_LINEAR), 256 * 16 - 1);
    cpu.setSegmentSelector(1, USER_CS);
    cpu.setSegmentSelector(2, USER_SS);
    for (const seg of [0, 3, 4, 5]) cpu.setSegmentSelector(seg, 0);
    cpu.setMsr(MSR_FS_BASE, BigInt(FS_BASE));
    cpu.setMsr(MSR_GS_BASE, BigInt(GS_BASE));
    cpu.setRflags(RFLAGS_FIXED | RFLAGS_IF);
    cpu.setRip(BigInt(CODE_ADDR));
    cpu.exitHandler = this.trap;
    cpu.exitMask[EXIT_REASON_EXCEPTION_NMI] = EXIT_WANT_PRE;
    this.snapshot = cpu.saveState();
  }

  /**
   * Puts `code` at CODE_ADDR + offset (the rest of the page INT3, the snippet cut at the page end,
   * beyond which nothing is mapped) and returns to the initial user-mode state with RIP at the code.
   */
  load(code: Uint8Array, offset = 0): void {
    this.page.fill(INT3);
    this.page.set(code.subarray(0, CODE_SIZE - offset), offset);
    this.memory.writeBytes(CODE_PHYS, this.page);
    this.cpu.restoreState(this.snapshot);
    this.cpu.setRip(BigInt(CODE_ADDR + offset));
  }

  /** Runs one case; the result has the oracle's shape. Never throws for guest behaviour. */
  run(c: CaseInput): CaseResult {
    const code = hexToBytes(c.c);
    const start = c.o ?? 0;
    this.load(code, start);
    const data = initialData(c);
    this.memory.writeBytes(DATA_PHYS, data);
    const cpu = this.cpu;
    const regs = inputRegs(c);
    for (let i = 0; i < 16; i++) cpu.setReg(i, regs[i]!);
    cpu.setRflags(BigInt(c.f & FLAGS_COMPARED) | RFLAGS_FIXED | RFLAGS_IF);
    const trap = this.trap;
    trap.vector = -1;
    // One run with a generous budget, as the machine runs the CPU (fast paths and instruction
    // chaining included); the INT3 after the snippet ends it through the exception exit.
    const status = cpu.run(MAX_STEPS);
    let t = TRAPNO_TIMEOUT;
    let rip = 0n;
    if (trap.vector >= 0) {
      t = trap.vector;
      // #BP/#OF are traps: the host reports the RIP after INT3 / INT 3 / INTO, the exit the
      // instruction's own address and its length.
      rip = t === 3 || t === 4 ? trap.rip + BigInt(trap.size) : trap.rip;
    } else if (status !== RUN_BUDGET) {
      t = -status; // triple fault, shutdown, HLT: never expected from a user-mode snippet
      rip = cpu.getRip();
    }
    if (t === TRAPNO_TIMEOUT) rip = cpu.getRip();
    const after = this.memory.readBytes(DATA_PHYS, DATA_SIZE);
    const r: Record<string, string> = {};
    for (let i = 0; i < 16; i++) {
      const v = BigInt.asUintN(64, cpu.getReg(i));
      if (v !== regs[i]) r[i] = v.toString(16);
    }
    return {
      t,
      e: t === 3 ? 0 : trap.error,
      a: t === 14 ? trap.cr2.toString(16) : '0',
      i: BigInt.asUintN(64, rip).toString(16),
      f: Number(cpu.getRflags() & BigInt(FLAGS_COMPARED)),
      r,
      d: diffRuns(data, after),
    };
  }
}
