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
    const vcpu = vcpuOf(ctx, args.vcpu);
    ctx.target.writeRegister(vcpu, args.name, args.value);
    ctx.announce({ what: 'registers', vcpu, detail: args.name });
    return {};
  },
  'cpu.rdmsr': (ctx, args) => ({ value: ctx.target.readMsr(vcpuOf(ctx, args.vcpu), args.msr) }),
  'cpu.wrmsr': (ctx, args) => {
    const vcpu = vcpuOf(ctx, args.vcpu);
    ctx.target.writeMsr(vcpu, args.msr, args.value);
    ctx.announce({ what: 'msr', vcpu, detail: `msr 0x${args.msr.toString(16)}` });
    return {};
  },
};
