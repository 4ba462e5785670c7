/** Guest memory: virtual (through the vCPU's or a process's page tables) or physical. */
import { HvdbgError, LIMITS } from '@hvdbg/protocol';
import { type Handlers, vcpuOf } from './types.js';

function checkLength(length: number): void {
  if (length > LIMITS.maxMemoryBytes) {
    throw new HvdbgError('E_TOO_LARGE', `at most ${LIMITS.maxMemoryBytes} bytes per memory request`, { length });
  }
}

export const memHandlers: Handlers<'mem.read' | 'mem.write' | 'mem.translate'> = {
  'mem.read': (ctx, args) => {
    checkLength(args.length);
    return {
      bytes: ctx.target.readMemory(args.space, args.address, args.length, vcpuOf(ctx, args.vcpu), args.pid),
    };
  },
  'mem.write': (ctx, args) => {
    checkLength(args.bytes.length);
    const vcpu = vcpuOf(ctx, args.vcpu);
    const written = ctx.target.writeMemory(args.space, args.address, args.bytes, vcpu, args.pid);
    const where = args.pid === undefined ? args.space : `${args.space}, pid 0x${args.pid.toString(16)}`;
    // A physical write does not go through any vCPU's page tables: naming one would mislead.
    const change = { what: 'memory', address: args.address, length: written, detail: where } as const;
    ctx.announce(args.space === 'virtual' && args.pid === undefined ? { ...change, vcpu } : change);
    return { written };
  },
  'mem.translate': (ctx, args) => ctx.target.translate(args.address, vcpuOf(ctx, args.vcpu), args.pid),
};
