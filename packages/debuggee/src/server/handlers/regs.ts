/** Register and MSR access on one vCPU (the main core unless the request names one). */
import { HvdbgError, LIMITS } from '@hvdbg/protocol';
import { type Handlers, vcpuOf } from './types.js';

export const regsHandlers: Handlers<'regs.get' | 'regs.set' | 'cpu.rdmsr' | 'cpu.wrmsr'> = {
  'regs.get': (ctx, args) => {
    if (args.names !== undefined && args.names.length > LIMITS.maxRegisterNames) {
      throw new HvdbgError('E_TOO_LARGE', `at most ${LIMITS.maxRegisterNames} register names per request`);
    }
    const vcpu = vcpuOf(ctx, args.vcpu);
    return { vcpu, regs: ctx.target.readRegisters(vcpu, args.names) };
  },
  'regs.set': (ctx, args) => {
    ctx.target.writeRegister(vcpuOf(ctx, args.vcpu), args.name, args.value);
    return {};
  },
  'cpu.rdmsr': (ctx, args) => ({ value: ctx.target.readMsr(vcpuOf(ctx, args.vcpu), args.msr) }),
  'cpu.wrmsr': (ctx, args) => {
    ctx.target.writeMsr(vcpuOf(ctx, args.vcpu), args.msr, args.value);
    return {};
  },
};
