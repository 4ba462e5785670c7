/** Scenario 1: break on !syscall for one pid; read registers and memory; step; continue. */
import { describe, expect, it } from 'vitest';
import { readU64, useDaemonWithController, waitFor } from './session.js';

describe('break on a syscall of one process', () => {
  const fixture = useDaemonWithController();

  it('halts in the sysloop process, reads state, steps and continues', async () => {
    const { ctl } = fixture;
    // sysloop is pid 5 in the mixed workload (guest/BOOT.md); getpid is syscall 0x27.
    const added = await ctl.run('!syscall 27 pid 5');
    expect(added.lines.join('\n')).toMatch(/event 0x0 registered/);
    const halt = await waitFor('the break', () => ctl.halts[0]);
    expect(halt.reason).toBe('event');
    expect(halt.eventId).toBe(0);
    expect(halt.stage).toBe('pre');
    // The pre stage halts before SYSCALL executes: RIP is at the 0f 05 itself.
    expect([...halt.bytes.slice(0, 2)]).toEqual([0x0f, 0x05]);

    const { regs } = await ctl.session.request('regs.get', { vcpu: halt.vcpu });
    expect(regs.rax).toBe(0x27n);
    expect(regs.rip).toBe(halt.rip);
    expect(regs.cs & 3n).toBe(3n); // still in ring 3
    const pid = await ctl.session.request('script.eval', {
      buffer: ctl.session.compile('$pid', 'expression'),
      vcpu: halt.vcpu,
    });
    expect(pid.error).toBeUndefined();

    // The stack holds what the user program pushed; reading it must agree with a direct read.
    const top = await readU64(ctl.session, regs.rsp);
    const dump = await ctl.run(`dq ${regs.rsp.toString(16)} l 8`);
    expect(dump.lines.join('\n')).toContain(top.toString(16).padStart(16, '0'));

    // Step into: the syscall lands on the kernel's entry point in ring 0.
    await ctl.run('events c all');
    const before = ctl.halts.length;
    await ctl.run('t');
    const stepped = await waitFor('the step', () => ctl.halts[before]);
    expect(stepped.reason).toBe('step');
    const kernelRegs = (await ctl.session.request('regs.get', { vcpu: stepped.vcpu })).regs;
    expect(kernelRegs.cs & 3n).toBe(0n);
    const lstar = (await ctl.session.request('cpu.rdmsr', { msr: 0xc0000082, vcpu: stepped.vcpu })).value;
    expect(stepped.rip).toBe(lstar);
    expect(kernelRegs.rcx).toBe(halt.rip + 2n); // SYSCALL saved the return address

    await ctl.run('g');
    await waitFor('the guest to run', () => (ctl.session.state === 'running' ? true : undefined));
    const status = await ctl.session.request('status', {});
    expect(status.state).toBe('running');
  });
});
