/**
 * Guest information that needs no halt: the kernel's process and thread tables (`.process`,
 * `.thread`) and CPUID as the emulated core answers it (`cpuid`, `cpu`).
 */
import { type Handlers, vcpuOf } from './types.js';

export const guestHandlers: Handlers<'guest.processes' | 'guest.threads' | 'cpu.cpuid'> = {
  'guest.processes': (ctx) => ({ processes: ctx.target.processes() }),
  'guest.threads': (ctx, args) => ({ threads: ctx.target.threads(args.pid) }),
  'cpu.cpuid': (ctx, args) => ctx.target.cpuid(vcpuOf(ctx, args.vcpu), args.leaf, args.subleaf ?? 0),
};
