/**
 * Custom code and conditions on the real CPU in the hypervisor-private context: calling convention
 * (RCX buffer, RDX GUEST_REGS, R8 context), register write-back only on a clean return, and runaway,
 * faulting and ret-less code stopped without touching the guest.
 */
import { describe, expect, it } from 'vitest';
import { Cpu } from '../cpu/cpu.js';
import { Firing } from '../events/actions.js';
import type { RegisteredEvent } from '../events/registry.js';
import { PhysicalMemory } from '../machine/memory.js';
import { CustomCodeRunner } from './customCode.js';
import type { HvCpu } from './vcpu.js';

const hex = (s: string) =>
  Uint8Array.from(
    s
      .replace(/\s+/g, '')
      .match(/../g)!
      .map((b) => Number.parseInt(b, 16)),
  );

function setup(budget = 10_000) {
  const runner = new CustomCodeRunner(
    (n) => new PhysicalMemory(n),
    (m, e) => new Cpu(0, m, e),
    budget,
  );
  const guestMemory = new PhysicalMemory(1 << 20);
  const guest = new Cpu(0, guestMemory, new Uint8Array(256));
  for (let r = 0; r < 16; r++) guest.setReg(r, BigInt(0x100 + r));
  const firing = new Firing(guest as unknown as HvCpu);
  const withBuffer = (size: number) => {
    const buffer = size > 0 ? runner.allocBuffer(size) : null;
    firing.ev = { buffer } as unknown as RegisteredEvent;
    return buffer;
  };
  return { runner, guest, firing, withBuffer };
}

describe('custom code (SPEC §3.5)', () => {
  it('gets RCX = buffer, RDX = GUEST_REGS, R8 = context; GUEST_REGS writes reach the guest', () => {
    const { runner, guest, firing, withBuffer } = setup();
    const buffer = withBuffer(0x100)!;
    firing.context = 0x3c;
    // mov [rcx], r8 ; mov rax, [rdx+8] ; mov [rcx+8], rax ; mov qword [rdx], 0x1234 ; ret
    const code = runner.loadCode(hex('4c8901 488b4208 48894108 48c70234120000 c3'));
    expect(runner.runCode(code, firing)).toBeNull();
    expect(guest.getReg(0)).toBe(0x1234n); // rax written through GUEST_REGS
    expect(guest.getReg(1)).toBe(0x101n); // others untouched
    const bytes = buffer.read();
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    expect(view.getBigUint64(0, true)).toBe(0x3cn);
    expect(view.getBigUint64(8, true)).toBe(0x101n); // the guest's rcx, read from GUEST_REGS
  });

  it('RCX is 0 without a buffer', () => {
    const { runner, guest, firing, withBuffer } = setup();
    withBuffer(0);
    // mov [rdx], rcx ; ret  (GUEST_REGS.rax = rcx)
    expect(runner.runCode(runner.loadCode(hex('48890a c3')), firing)).toBeNull();
    expect(guest.getReg(0)).toBe(0n);
  });

  it('stops runaway code at the budget and leaves the guest unharmed', () => {
    const { runner, guest, firing, withBuffer } = setup(5000);
    withBuffer(0);
    firing.context = 1;
    // mov qword [rdx], 0x99 ; test r8, r8 ; jnz loop ; ret ; loop: jmp loop
    const code = runner.loadCode(hex('48c70299000000 4d85c0 7501 c3 ebfe'));
    const err = runner.runCode(code, firing);
    expect(err).toMatchObject({ code: 'E_CODE_RUNTIME', message: expect.stringContaining('5000 instructions') });
    expect(guest.getReg(0)).toBe(0x100n); // the GUEST_REGS write was discarded
    // The same code with context 0 returns cleanly: the runner recovered.
    firing.context = 0;
    expect(runner.runCode(code, firing)).toBeNull();
    expect(guest.getReg(0)).toBe(0x99n);
  });

  it('reports faulting code (a wild read) and code that runs off its end', () => {
    const { runner, guest, firing, withBuffer } = setup();
    withBuffer(0);
    // mov qword [rdx], 7 ; mov rax, [0] ; ret
    const wild = runner.loadCode(hex('48c70207000000 488b042500000000 c3'));
    expect(runner.runCode(wild, firing)).toMatchObject({
      code: 'E_CODE_RUNTIME',
      message: expect.stringContaining('faulted'),
    });
    expect(guest.getReg(0)).toBe(0x100n);
    // No ret at all (loaded without the registration check): it runs into the guard page.
    const noRet = runner.loadCode(hex('90 90 90'));
    expect(runner.runCode(noRet, firing)).toMatchObject({ code: 'E_CODE_RUNTIME' });
    expect(runner.runCode(runner.loadCode(hex('c3')), firing)).toBeNull();
  });

  it('conditions: RCX = GUEST_REGS, RDX = context, non-zero RAX passes', () => {
    const { runner, guest, firing, withBuffer } = setup();
    withBuffer(0);
    // mov rax, rdx ; ret
    const cond = runner.loadCode(hex('4889d0 c3'));
    firing.context = 0;
    expect(runner.runCondition(cond, firing)).toBe(false);
    firing.context = 5;
    expect(runner.runCondition(cond, firing)).toBe(true);
    // mov rax, [rcx] (the guest's rax) ; xor rax, 0x100 ; ret  → passes when guest rax != 0x100
    const regs = runner.loadCode(hex('488b01 483500010000 c3'));
    expect(runner.runCondition(regs, firing)).toBe(false);
    guest.setReg(0, 0x101n);
    expect(runner.runCondition(regs, firing)).toBe(true);
  });

  it('registration check: size limit and a reachable ret', () => {
    const { runner } = setup();
    expect(runner.check(hex('c3'), 10)).toBeNull();
    expect(runner.check(hex('90 90'), 10)).toMatch(/no ret/);
    expect(runner.check(new Uint8Array(11).fill(0xc3), 10)).toMatch(/over the limit/);
    expect(runner.check(new Uint8Array(0), 10)).toMatch(/empty/);
    // jmp over a ret-less block to a ret: reachable through the branch.
    expect(runner.check(hex('eb02 9090 c3'), 10)).toBeNull();
    // A ret only behind an unconditional jump away from it is unreachable.
    expect(runner.check(hex('ebfe c3'), 10)).toMatch(/no ret/);
    // Conditional jumps and calls follow both ways; an indirect jump ends the path.
    expect(runner.check(hex('7402 ebfe c3'), 10)).toBeNull();
    expect(runner.check(hex('e800000000 ebfe'), 10)).toMatch(/no ret/);
    expect(runner.check(hex('e801000000 f4 c3'), 10)).toBeNull();
    expect(runner.check(hex('ffe0 c3'), 10)).toMatch(/no ret/);
    // Bytes the CPU cannot execute end the path (0f 0b = ud2).
    expect(runner.check(hex('0f0b c3'), 10)).toMatch(/no ret/);
  });

  it('freed slots are unmapped and recycled clean', () => {
    const { runner } = setup();
    const a = runner.allocBuffer(16);
    runner.memory.write8(a.pa, 0xaa);
    a.release();
    const b = runner.allocBuffer(16);
    expect(b.address).toBe(a.address);
    expect(b.read()[0]).toBe(0);
  });
});
