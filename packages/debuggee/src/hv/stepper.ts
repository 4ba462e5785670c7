/**
 * Debugger stepping (SPEC §5 `t`, `p`, `i`, `gu`; §6.1 duty 6) on the monitor trap flag: the CPU
 * calls the MTF exit after every retired instruction of the stepping vCPU, and the step hook
 * decides when the step is over.
 *
 * - into / instr: one instruction per count (`instr` also keeps the other vCPUs and interrupts
 *   still — the target runs only the main core).
 * - over: a CALL is run to its return address on the same stack depth (no breakpoint is written:
 *   the hook compares RIP and RSP); anything else is one instruction.
 * - out: run until a RET at the current call depth has executed (calls and returns in between are
 *   counted).
 */

import type { StepKind } from '@hvdbg/protocol';
import { callOrReturnAt } from './codeCheck.js';
import type { HvCpu } from './vcpu.js';

const REG_RSP = 4;

export interface DecodedFlow {
  length: number;
  call: boolean;
  ret: boolean;
}

/** Length and call/return nature of the instruction at RIP (null when unreadable or invalid). */
export function flowAt(cpu: HvCpu): DecodedFlow | null {
  const rip = cpu.getRip();
  let bytes: Uint8Array | null = null;
  for (let n = 15; n > 0 && bytes === null; n--) bytes = cpu.readVirtual(rip, n);
  return bytes === null ? null : callOrReturnAt(bytes, 0);
}

export class StepState {
  remaining: number;
  /** over: the return address and stack pointer a CALL returns to (-1 = single instruction). */
  private overRip = -1n;
  private overRsp = 0n;
  /** out: call depth relative to the start, and whether the instruction just retired was a RET. */
  private depth = 0;
  private lastFlow: DecodedFlow | null = null;

  constructor(
    readonly kind: StepKind,
    count: number,
    readonly vcpu: number,
  ) {
    this.remaining = count;
  }

  /** Called once before the vCPU runs. */
  begin(cpu: HvCpu): void {
    this.arm(cpu);
  }

  /** The MTF hook: true when the whole step (all counts) is done. */
  readonly hook = (cpu: HvCpu): boolean => {
    if (!this.unitDone(cpu)) return false;
    this.remaining--;
    if (this.remaining <= 0) return true;
    this.arm(cpu);
    return false;
  };

  private arm(cpu: HvCpu): void {
    this.overRip = -1n;
    this.depth = 0;
    this.lastFlow = null;
    if (this.kind === 'over') {
      const flow = flowAt(cpu);
      if (flow?.call) {
        this.overRip = BigInt.asUintN(64, cpu.getRip() + BigInt(flow.length));
        this.overRsp = BigInt.asUintN(64, cpu.getReg(REG_RSP));
      }
    } else if (this.kind === 'out') {
      this.lastFlow = flowAt(cpu);
    }
  }

  /** Whether one unit of the step finished with the instruction that just retired. */
  private unitDone(cpu: HvCpu): boolean {
    switch (this.kind) {
      case 'into':
      case 'instr':
        return true;
      case 'over':
        if (this.overRip < 0n) return true;
        return (
          BigInt.asUintN(64, cpu.getRip()) === this.overRip && BigInt.asUintN(64, cpu.getReg(REG_RSP)) >= this.overRsp
        );
      case 'out': {
        const last = this.lastFlow;
        if (last?.ret) {
          if (this.depth === 0) return true;
          this.depth--;
        } else if (last?.call) {
          this.depth++;
        }
        this.lastFlow = flowAt(cpu);
        return false;
      }
    }
  }
}
