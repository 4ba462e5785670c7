/**
 * Guest-kernel awareness: each vCPU registers (hypercall AWARENESS) the address of a block the
 * kernel keeps current on every context switch — pid, tid, process and thread objects, process
 * name — so the debugger can offer $pid, $tid, $proc, $thread and $pname (guest/BOOT.md).
 */
import type { Cpu } from '../cpu/cpu.js';

export const AWARENESS_SIZE = 0x28;
const NAME_MAX = 32;

export interface Awareness {
  pid: bigint;
  tid: bigint;
  /** Kernel address of the current process object (0 when idle). */
  process: bigint;
  /** Kernel address of the current thread object. */
  thread: bigint;
  /** Kernel address of the process name. */
  name: bigint;
  /** The name itself ('' when unavailable). */
  processName: string;
}

const NONE: Awareness = { pid: 0n, tid: 0n, process: 0n, thread: 0n, name: 0n, processName: '' };

/** What a machine must expose for awareness reads. */
export interface AwarenessSource {
  readonly cpus: readonly Cpu[];
  /** Registered awareness block per vCPU (guest virtual address; 0n = not registered). */
  readonly awarenessAddress: readonly bigint[];
}

/** Reads vCPU `vcpu`'s awareness block; all zeros when the kernel has not registered one (or it is unmapped). */
export function readAwareness(machine: AwarenessSource, vcpu: number): Awareness {
  const cpu = machine.cpus[vcpu];
  const va = machine.awarenessAddress[vcpu];
  if (cpu === undefined || va === undefined || va === 0n) return NONE;
  const bytes = cpu.readVirtual(va, AWARENESS_SIZE);
  if (bytes === null) return NONE;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const name = view.getBigUint64(0x20, true);
  return {
    pid: view.getBigUint64(0x00, true),
    tid: view.getBigUint64(0x08, true),
    process: view.getBigUint64(0x10, true),
    thread: view.getBigUint64(0x18, true),
    name,
    processName: name === 0n ? '' : readGuestString(cpu, name, NAME_MAX),
  };
}

/** Reads a NUL-terminated ASCII string of at most `max` bytes at a guest virtual address (stops at an unmapped byte). */
export function readGuestString(cpu: Cpu, va: bigint, max: number): string {
  let out = '';
  for (let i = 0; i < max; i++) {
    const b = cpu.readVirtual(va + BigInt(i), 1);
    if (b === null || b[0] === 0) break;
    out += String.fromCharCode(b[0]!);
  }
  return out;
}
