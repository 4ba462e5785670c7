/**
 * Every event kind, fired by real instructions on the real CPU (hand-assembled programs on a bare
 * guest), with real compiled scripts and custom code as actions.
 */
import type { EventSpec } from '@hvdbg/protocol';
import { compileScript } from '@hvdbg/script';
import { describe, expect, it } from 'vitest';
import type { IoBus } from '../cpu/bus.js';
import { RUN_BUDGET, RUN_EXIT_HALT, RUN_HLT, RUN_TRIPLE_FAULT } from '../cpu/cpu.js';
import { EPT_EXEC_TRAP } from '../cpu/exits.js';
import { BareGuest, type BareGuestOptions, CODE, DATA, hex } from './testing/bareGuest.js';

const MSR_EFER = 0xc0000080;
const MSR_STAR = 0xc0000081;
const MSR_LSTAR = 0xc0000082;

function guest(code: string, options: BareGuestOptions = {}) {
  const g = new BareGuest(options).load(hex(code));
  const add = (spec: Partial<EventSpec> & Pick<EventSpec, 'kind'>, script?: string) =>
    g.stack.events.add({
      stage: 'pre',
      sc: false,
      imm: true,
      bufferSize: 0,
      text: `!${spec.kind}`,
      actions: script === undefined ? [{ type: 'break' }] : [{ type: 'script', buffer: compileScript(script) }],
      ...spec,
    });
  return { g, cpu: g.cpus[0]!, add };
}

describe('event kinds on real instructions', () => {
  it('!cpuid: sc fakes the result; post stage sees the output with the leaf as context', () => {
    // mov eax, 1 ; cpuid ; mov eax, 0 ; cpuid ; hlt
    const { g, cpu, add } = guest('b801000000 0fa2 b800000000 0fa2 f4');
    add({ kind: 'cpuid', param: 1n, sc: true }, '@rax = 1234; @rbx = 0; @rcx = 0; @rdx = 0;');
    add({ kind: 'cpuid', param: 0n, stage: 'post' }, 'printf("leaf %x ebx=%x\\n", $context, @ebx);');
    expect(g.run()).toBe(RUN_HLT);
    expect(g.texts()).toEqual([`leaf 0 ebx=${(cpu.getReg(3) & 0xffffffffn).toString(16)}\n`]);
    // The leaf-0 cpuid really executed (vendor string), the leaf-1 one was faked and skipped.
    expect(cpu.getReg(3)).not.toBe(0n);
  });

  it('!cpuid 1 stage post clears ECX bit 31 (SPEC §7 example 4)', () => {
    const { g, cpu, add } = guest('b801000000 0fa2 f4');
    add({ kind: 'cpuid', param: 1n, stage: 'post' }, '@rcx = @rcx & not(80000000);');
    g.run();
    expect(cpu.getReg(1) & 0x80000000n).toBe(0n);
  });

  it('!tsc: context 0 for RDTSC, 1 for RDTSCP; sc supplies EDX:EAX', () => {
    const { g, cpu, add } = guest('0f31 0f01f9 f4');
    add({ kind: 'tsc', sc: true }, 'printf("tsc %x\\n", $context); @rax = 7; @rdx = 0;');
    g.run();
    expect(g.texts()).toEqual(['tsc 0\n', 'tsc 1\n']);
    expect(cpu.getReg(0)).toBe(7n);
  });

  it('!msrread / !msrwrite: the MSR index is the context; a short-circuited write is dropped', () => {
    // mov ecx, STAR ; rdmsr ; mov eax, 0x1234 ; xor edx, edx ; wrmsr ; hlt
    const { g, cpu, add } = guest('b9810000c0 0f32 b834120000 31d2 0f30 f4');
    cpu.setMsr(MSR_STAR, 0x55n);
    add({ kind: 'msrread', param: BigInt(MSR_STAR) }, 'printf("rd %x\\n", $context);');
    add({ kind: 'msrwrite', sc: true }, 'printf("wr %x %x\\n", $context, @eax);');
    g.run();
    expect(g.texts()).toEqual(['rd c0000081\n', 'wr c0000081 1234\n']);
    expect(cpu.getMsr(MSR_STAR)).toBe(0x55n);
  });

  it('!pmc, !vmcall, !dr fire with context 0', () => {
    // xor ecx, ecx ; rdpmc ; mov dr7, rax ; vmcall ; hlt
    const { g, add } = guest('31c9 0f33 0f23f8 0f01c1 f4');
    add({ kind: 'pmc' }, 'printf("pmc %x\\n", $context);');
    add({ kind: 'dr' }, 'printf("dr %x\\n", $context);');
    add({ kind: 'vmcall', sc: true }, 'printf("vmcall %x\\n", $context);');
    g.run();
    expect(g.texts()).toEqual(['pmc 0\n', 'dr 0\n', 'vmcall 0\n']);
  });

  it('!ioin / !ioout: port context, direction, and sc keeps the device untouched', () => {
    const written: number[] = [];
    const io: IoBus = { in: () => 0x41, out: (_p, _s, v) => written.push(v) };
    // mov dx, 0x3f8 ; in al, dx ; out dx, al ; mov dx, 0x80 ; out dx, al ; hlt
    const { g, add } = guest('66baf803 ec ee 66ba8000 ee f4', { io });
    add({ kind: 'ioin', param: 0x3f8n }, 'printf("in %x al=%x\\n", $context, @al);');
    add({ kind: 'ioout', param: 0x80n, sc: true }, 'printf("out %x\\n", $context);');
    g.run();
    expect(g.texts()).toEqual(['in 3f8 al=0\n', 'out 80\n']);
    expect(written).toEqual([0x41]);
  });

  it('!crwrite fires only when a masked bit changes', () => {
    // mov rax, cr4 ; xor rax, 0x100 ; mov cr4, rax ; xor rax, 0x80 ; mov cr4, rax ; hlt
    const { g, add } = guest('0f20e0 483500010000 0f22e0 483580000000 0f22e0 f4');
    add({ kind: 'crwrite', param: 4n, mask: 0x80n }, 'printf("cr%x old=%x\\n", $context, @cr4);');
    g.run();
    expect(g.texts()).toHaveLength(1);
    expect(g.texts()[0]).toMatch(/^cr4 old=/);
  });

  it('!syscall / !sysret / !mode: numbers, post stage in the kernel, ring transitions', () => {
    // kernel at CODE: mov rax, 0x3c ; syscall ; hlt     LSTAR → 0x10100: sysretq
    const { g, cpu, add } = guest('48c7c03c000000 0f05 f4');
    g.memory.writeBytes(CODE + 0x100, hex('480f07'));
    cpu.setMsr(MSR_EFER, cpu.getMsr(MSR_EFER) | 1n);
    cpu.setMsr(MSR_LSTAR, BigInt(CODE + 0x100));
    cpu.setMsr(MSR_STAR, (0x13n << 48n) | (0x08n << 32n));
    add(
      { kind: 'syscall', param: 0x3cn, stage: 'all' },
      'printf("sys %x stage %x rip %x\\n", $context, $event_stage, @rip);',
    );
    add({ kind: 'sysret' }, 'printf("sysret at %x\\n", $context);');
    add({ kind: 'mode', direction: 'ku' }, 'printf("mode %x\\n", $context);');
    // Start in user mode is not needed: syscall from CPL 0 still exercises the exits.
    g.run(10);
    const texts = g.texts();
    expect(texts[0]).toBe(`sys 3c stage 0 rip ${(CODE + 7).toString(16)}\n`);
    expect(texts[1]).toBe(`sys 3c stage 1 rip ${(CODE + 0x100).toString(16)}\n`);
    expect(texts[2]).toBe(`sysret at ${(CODE + 0x100).toString(16)}\n`);
    expect(texts).toContain('mode 3\n');
  });

  it('!exception: the vector is the context, @cr2 is set for #PF; sc drops the delivery', () => {
    // mov rax, 0x7f0000000000 ; mov rax, [rax] (unmapped) ; hlt
    const { g, add } = guest('48b800000000007f0000 488b00 f4');
    add({ kind: 'exception', param: 0xen }, 'printf("vec %x cr2 %llx\\n", $context, @cr2);');
    // No IDT: delivering the #PF escalates to a triple fault (the #DF on the way is vector 8).
    expect(g.run(3)).toBe(RUN_TRIPLE_FAULT);
    expect(g.texts()[0]).toBe('vec e cr2 7f0000000000\n');
    // With sc the #PF is not delivered: the access is retried and faults again, the vCPU survives.
    const sc = guest('48b800000000007f0000 488b00 f4');
    sc.add({ kind: 'exception', param: 0xen, sc: true }, 'printf("vec %x\\n", $context);');
    expect(sc.g.run(10)).toBe(RUN_BUDGET);
    expect(sc.g.texts().length).toBeGreaterThan(3);
    expect(new Set(sc.g.texts())).toEqual(new Set(['vec e\n']));
  });

  it('!interrupt: external vectors ≥ 0x20 before delivery', () => {
    let pending = true;
    const { g, cpu, add } = guest('fb 90 90 90 f4');
    cpu.interrupts = {
      pending: () => pending,
      acknowledge: () => {
        pending = false;
        return 0x20;
      },
    };
    add({ kind: 'interrupt', param: 0x20n, sc: true }, 'printf("int %x\\n", $context);');
    g.run(20);
    expect(g.texts()).toEqual(['int 20\n']);
  });

  it('!epthook is a hidden breakpoint: the guest reads its original code bytes', () => {
    // target: mov rax, [CODE] (reads its own first code bytes) ; nop ; hlt
    const { g, cpu, add } = guest('488b042500000100 90 f4');
    const before = g.memory.readBytes(CODE, 16);
    add({ kind: 'epthook', param: BigInt(CODE + 8) }, 'printf("hook %x\\n", $context);');
    expect(g.ept[CODE >> 12]! & EPT_EXEC_TRAP).toBe(EPT_EXEC_TRAP);
    g.run();
    expect(g.texts()).toEqual([`hook ${(CODE + 8).toString(16)}\n`]);
    expect(cpu.getReg(0)).toBe(new DataView(before.buffer).getBigUint64(0, true));
    expect(g.memory.readBytes(CODE, 16)).toEqual(before);
  });

  it('!epthook with a break halts before the instruction; continuing does not re-break', () => {
    const { g, cpu, add } = guest('90 90 90 f4');
    const { id } = add({ kind: 'epthook', param: BigInt(CODE + 1) });
    expect(g.run()).toBe(RUN_EXIT_HALT);
    expect(cpu.getRip()).toBe(BigInt(CODE + 1));
    expect(g.stack.hv.haltRequest).toMatchObject({ eventId: id, stage: 'pre' });
    expect(g.run()).toBe(RUN_HLT);
  });

  it('!epthook2 matches the physical address', () => {
    const { g, add } = guest('90 90 f4');
    add({ kind: 'epthook2', param: BigInt(CODE + 1) }, 'printf("hook2 %x\\n", $context);');
    g.run();
    expect(g.texts()).toEqual([`hook2 ${(CODE + 1).toString(16)}\n`]);
  });

  it('!monitor w on a range; reads do not fire it; sc skips the write', () => {
    // mov [DATA+8], rax ; mov rbx, [DATA+8] ; mov [DATA+0x20], rax ; hlt
    const { g, cpu, add } = guest('48890425 08000200 488b1c25 08000200 48890425 20000200 f4');
    cpu.setReg(0, 0x77n);
    add(
      { kind: 'monitor', access: 'w', rangeStart: BigInt(DATA), rangeEnd: BigInt(DATA + 0xf), sc: true },
      'printf("w %x\\n", $context);',
    );
    g.run();
    expect(g.texts()).toEqual([`w ${(DATA + 8).toString(16)}\n`]);
    expect(g.memory.read32(DATA + 8)).toBe(0); // short-circuited
    expect(g.memory.read32(DATA + 0x20)).toBe(0x77); // outside the range: written
  });

  it('!monitor w on a u64: one firing at its address; stage all runs the post pass after the store', () => {
    // mov [DATA+0x18], rax ; add qword [DATA+0x18], 1 ; hlt
    const { g, cpu, add } = guest('48890425 18000200 48830425 18000200 01 f4');
    cpu.setReg(0, 0x1122334455667788n);
    add(
      { kind: 'monitor', access: 'w', rangeStart: BigInt(DATA + 0x18), rangeEnd: BigInt(DATA + 0x1f), stage: 'all' },
      'printf("%x %llx rip=%x\\n", $context, dq($context), @rip);',
    );
    g.run();
    const p = (n: number) => n.toString(16);
    // pre (before the store), post (after it, RIP past the instruction), for each instruction.
    expect(g.texts()).toEqual([
      `${p(DATA + 0x18)} 0 rip=${p(CODE)}\n`,
      `${p(DATA + 0x18)} 1122334455667788 rip=${p(CODE + 8)}\n`,
      `${p(DATA + 0x18)} 1122334455667788 rip=${p(CODE + 8)}\n`,
      `${p(DATA + 0x18)} 1122334455667789 rip=${p(CODE + 17)}\n`,
    ]);
  });

  it('!xsetbv: ECX is the context; sc keeps XCR0 as it was', () => {
    // xor ecx, ecx ; mov eax, 1 ; xor edx, edx ; xsetbv ; hlt
    const { g, cpu, add } = guest('31c9 b801000000 31d2 0f01d1 f4');
    cpu.setCr(4, cpu.getCr(4) | (1n << 18n)); // CR4.OSXSAVE
    cpu.xcr0 = 5; // as if set before: the short-circuited write must not change it
    add({ kind: 'xsetbv', param: 0n, sc: true }, 'printf("xsetbv %x eax=%x\\n", $context, @eax);');
    expect(g.run()).toBe(RUN_HLT);
    expect(g.texts()).toEqual(['xsetbv 0 eax=1\n']);
    expect(cpu.xcr0).toBe(5);
  });

  it('!trace instrument-step fires once per instruction', () => {
    const { g, add } = guest('90 90 90 f4');
    add({ kind: 'trace', direction: 'instrument-step' }, 'printf("t %x\\n", $context);');
    g.run();
    expect(g.texts()).toEqual(['t 3\n', 't 3\n', 't 3\n', 't 3\n'].slice(0, g.texts().length));
    expect(g.texts().length).toBeGreaterThanOrEqual(3);
  });

  it('!trace step-out does not fire inside called functions; step-in does', () => {
    // call sub ; nop ; hlt ; sub: nop ; nop ; ret
    const program = 'e802000000 90 f4 90 90 c3';
    const counts: Record<string, number> = {};
    for (const direction of ['step-in', 'step-out']) {
      const { g, add } = guest(program);
      add({ kind: 'trace', direction }, 'printf("%x\\n", $context);');
      g.run(20);
      counts[direction] = g.texts().length;
      expect(new Set(g.texts())).toEqual(new Set([direction === 'step-in' ? '1\n' : '2\n']));
    }
    expect(counts['step-in']).toBeGreaterThanOrEqual(5);
    expect(counts['step-out']).toBe(counts['step-in']! - 3);
  });
});
