/**
 * Architectural state of one vCPU (SDM Vol. 1 ch. 3 "Basic Execution Environment", Vol. 3A ch. 2
 * "System Architecture Overview"), kept in typed arrays and plain number fields so the hot loop never
 * touches BigInt or allocates.
 *
 * 64-bit registers are two Int32 halves (`lo`/`hi`). RIP, segment bases, CR2 and descriptor-table
 * bases are canonical linear addresses, which are exact as JS numbers in [-2^47, 2^47).
 */
import type { PhysicalMemory } from '../machine/memory.js';
import type { InterruptSource, IoBus } from './bus.js';
import { EXIT_REASON_COUNT, type ExitHandler } from './exits.js';

export const REG_RAX = 0;
export const REG_RCX = 1;
export const REG_RDX = 2;
export const REG_RBX = 3;
export const REG_RSP = 4;
export const REG_RBP = 5;
export const REG_RSI = 6;
export const REG_RDI = 7;
export const REG_R8 = 8;
export const REG_R9 = 9;
export const REG_R10 = 10;
export const REG_R11 = 11;
export const REG_R12 = 12;
export const REG_R13 = 13;
export const REG_R14 = 14;
export const REG_R15 = 15;

export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;

// RFLAGS (SDM Vol. 1 §3.4.3).
export const FLAG_CF = 1 << 0;
export const FLAG_PF = 1 << 2;
export const FLAG_AF = 1 << 4;
export const FLAG_ZF = 1 << 6;
export const FLAG_SF = 1 << 7;
export const FLAG_TF = 1 << 8;
export const FLAG_IF = 1 << 9;
export const FLAG_DF = 1 << 10;
export const FLAG_OF = 1 << 11;
export const FLAG_IOPL = 3 << 12;
export const FLAG_NT = 1 << 14;
export const FLAG_RF = 1 << 16;
export const FLAG_VM = 1 << 17;
export const FLAG_AC = 1 << 18;
export const FLAG_ID = 1 << 21;
export const FLAGS_ARITH = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF;
/** Bits software can change with POPF at CPL 0 (IOPL/IF further restricted by CPL). */
export const FLAGS_WRITABLE = FLAGS_ARITH | FLAG_TF | FLAG_IF | FLAG_DF | FLAG_IOPL | FLAG_NT | FLAG_AC | FLAG_ID;

// Control registers (SDM Vol. 3A §2.5).
export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;
export const CR4_VME = 1 << 0;
export const CR4_PVI = 1 << 1;
export const CR4_TSD = 1 << 2;
export const CR4_DE = 1 << 3;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_MCE = 1 << 6;
export const CR4_PGE = 1 << 7;
export const CR4_PCE = 1 << 8;
export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;
export const CR4_UMIP = 1 << 11;
export const CR4_FSGSBASE = 1 << 16;
export const CR4_SMEP = 1 << 20;
export const CR4_SMAP = 1 << 21;
export const CR4_OSXSAVE = 1 << 18;
/** XCR0 (XFEATURE_ENABLED_MASK, SDM Vol. 1 §13.3): bit 0 (x87) is always set. */
export const XCR0_X87 = 1;
/**
 * XCR0 bits XSETBV accepts: x87 only (there is no SSE/AVX state). CPUID does not advertise XSAVE
 * (leaf 1 ECX bit 26, leaf 0DH), so guests that probe it see the same CPU as before; CR4.OSXSAVE is
 * accepted anyway so that XSETBV/XGETBV can run (and `!xsetbv` fire).
 */
export const XCR0_SUPPORTED = XCR0_X87;

export const EFER_SCE = 1 << 0;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;
export const EFER_NXE = 1 << 11;

// MSR indices (SDM Vol. 4).
export const MSR_IA32_TSC = 0x10;
export const MSR_IA32_APIC_BASE = 0x1b;
export const MSR_IA32_SYSENTER_CS = 0x174;
export const MSR_IA32_SYSENTER_ESP = 0x175;
export const MSR_IA32_SYSENTER_EIP = 0x176;
export const MSR_IA32_PAT = 0x277;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
export const MSR_EFER = 0xc0000080;
export const MSR_STAR = 0xc0000081;
export const MSR_LSTAR = 0xc0000082;
export const MSR_CSTAR = 0xc0000083;
export const MSR_FMASK = 0xc0000084;
export const MSR_FS_BASE = 0xc0000100;
export const MSR_GS_BASE = 0xc0000101;
export const MSR_KERNEL_GS_BASE = 0xc0000102;
export const MSR_TSC_AUX = 0xc0000103;

/** Segment descriptor attribute bits as cached (type:4, S, DPL:2, P, AVL, L, D/B, G in bits 0..11). */
export const SEG_ATTR_P = 1 << 7;
export const SEG_ATTR_L = 1 << 9;
export const SEG_ATTR_DB = 1 << 10;

export const TWO_32 = 4294967296;

export class CpuState {
  readonly index: number;
  readonly memory: PhysicalMemory;
  readonly ept: Uint8Array;

  /** General-purpose registers, low and high 32-bit halves. */
  readonly lo = new Int32Array(16);
  readonly hi = new Int32Array(16);

  /** RFLAGS without the arithmetic flags while `lzOp` != 0 (see flags.ts). */
  rflags = 2;

  readonly segSel = new Uint16Array(6);
  readonly segBase = new Float64Array(6);
  readonly segLimit = new Uint32Array(6);
  readonly segAttr = new Uint16Array(6);
  gdtrBase = 0;
  gdtrLimit = 0xffff;
  idtrBase = 0;
  idtrLimit = 0xffff;
  trSel = 0;
  trBase = 0;
  trLimit = 0xffff;
  trAttr = 0x8b;
  ldtrSel = 0;

  cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_NE | CR0_WP;
  cr2 = 0;
  cr3 = 0;
  cr4 = CR4_PAE;
  cr8 = 0;
  readonly dr = new BigUint64Array(8);
  efer = EFER_LME | EFER_LMA;
  star = 0n;
  lstar = 0;
  cstar = 0;
  fmask = 0;
  kernelGsBase = 0;
  tscAux = 0;
  /** Extended control register 0 (written by XSETBV, read by XGETBV). */
  xcr0 = XCR0_X87;
  readonly msrs = new Map<number, bigint>();

  /** Current privilege level (0 or 3 in practice). */
  cpl_ = 0;
  halted = false;
  /** Retired instruction count; also the deterministic time base of the TSC. */
  instructions = 0;
  tscOffset = 0n;

  io: IoBus | null = null;
  interrupts: InterruptSource | null = null;
  exitHandler: ExitHandler<never> | null = null;
  readonly exitMask = new Uint8Array(EXIT_REASON_COUNT);
  exitAddress = 0;
  exitLinear = 0;
  exitSize = 0;
  exitAccess = 0;
  exitValue = 0n;
  /** Monitor trap flag: call EXIT_REASON_MONITOR_TRAP_FLAG after every retired instruction. */
  mtf = false;
  /** Debugger stepping: suppress external interrupts. */
  interruptsMasked = false;

  /** Set whenever something must be looked at between instructions (interrupts, exits, injections). */
  eventPending = true;

  // Decode state of the current instruction.
  /** REX byte (0 when absent). */
  rex = 0;
  /** Operand size in bytes (2, 4 or 8) for the current instruction. */
  osize = 4;
  /** Address size in bytes (4 or 8). */
  asize = 8;
  /** 0, 0xF2 or 0xF3. */
  repPrefix = 0;
  has66 = false;
  lock = false;
  /** Segment base to add to memory operands (FS/GS overrides only; others are zero in 64-bit mode). */
  segOverrideBase = 0;

  constructor(index: number, memory: PhysicalMemory, ept: Uint8Array) {
    this.index = index;
    this.memory = memory;
    this.ept = ept;
    // Flat 64-bit kernel segments until the guest loads its own GDT.
    for (let i = 0; i < 6; i++) {
      this.segLimit[i] = 0xffffffff;
      this.segAttr[i] = 0x93 | (1 << 11);
    }
    this.segAttr[SEG_CS] = 0x9b | SEG_ATTR_L | (1 << 11);
    this.segSel[SEG_CS] = 0x08;
    this.segSel[SEG_SS] = 0x10;
  }

  get cpl(): number {
    return this.cpl_;
  }
}
