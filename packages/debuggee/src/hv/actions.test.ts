/**
 * Actions and options end to end on a real vCPU (a `cpuid` loop): break, script and custom code,
 * conditions, buffers, imm vs batched output, stage, core and pid filters, mid-walk changes, and the
 * message queue overflowing in both modes.
 */

import type { EventSpec } from '@hvdbg/protocol';
import { LOG_KIND_BUFFER, LOG_KIND_ERROR, LOG_KIND_SCRIPT, LOG_KIND_WARNING } from '@hvdbg/protocol';
import { compileScript } from '@hvdbg/script';
import { describe, expect, it } from 'vitest';
import { RUN_BUDGET, RUN_EXIT_HALT } from '../cpu/cpu.js';
import { BareGuest, type BareGuestOptions, hex } from './testing/bareGuest.js';

/** cpuid ; jmp back: one CPUID exit every two instructions, forever. */
const CPUID_LOOP = '0fa2 ebfc';

function setup(options: BareGuestOptions = {}) {
  const g = new BareGuest(options).load(hex(CPUID_LOOP));
  const add = (spec: Partial<EventSpec>) =>
    g.stack.events.add({
      kind: 'cpuid',
      stage: 'pre',
      sc: false,
      imm: true,
      bufferSize: 0,
      text: '!cpuid',
      actions: [],
      ...spec,
    });
  const script = (source: string) => ({ type: 'script' as const, buffer: compileScript(source) });
  const code = (h: string) => ({ type: 'code' as const, bytes: hex(h) });
  return { g, cpu: g.cpus[0]!, add, script, code };
}

describe('actions', () => {
  it('break halts the vCPU before the instruction and reports the event', () => {
    const { g, cpu, add } = setup();
    const { id } = add({ actions: [{ type: 'break' }] });
    expect(g.run(100)).toBe(RUN_EXIT_HALT);
    expect(cpu.instructions).toBe(0);
    expect(g.stack.hv.haltRequest).toMatchObject({ reason: 'event', eventId: id, stage: 'pre', vcpu: 0 });
  });

  it('script output carries the event id, vCPU and stage; globals persist across firings', () => {
    const { g, add, script } = setup();
    const { id } = add({
      stage: 'all',
      actions: [script('.n = .n + 1; printf("n=%d stage=%d id=%x\\n", .n, $event_stage, $event_id);')],
    });
    g.run(4); // two cpuids
    expect(g.logs.map((r) => [r.kind, r.eventId, r.vcpu, r.stage, r.text])).toEqual([
      [LOG_KIND_SCRIPT, id, 0, 'pre', 'n=1 stage=0 id=0\n'],
      [LOG_KIND_SCRIPT, id, 0, 'post', 'n=2 stage=1 id=0\n'],
      [LOG_KIND_SCRIPT, id, 0, 'pre', 'n=3 stage=0 id=0\n'],
      [LOG_KIND_SCRIPT, id, 0, 'post', 'n=4 stage=1 id=0\n'],
    ]);
    expect(g.logs.map((r) => r.seq)).toEqual([1n, 2n, 3n, 4n]);
  });

  it('custom code runs first and its buffer is shipped after each run; the script sees $buffer', () => {
    const { g, add, script, code } = setup();
    // inc qword [rcx] ; ret — counts firings in the event buffer.
    add({ bufferSize: 16, actions: [code('48ff01 c3'), script('printf("%x\\n", dq($buffer));')] });
    g.run(4);
    expect(g.texts().filter((t) => t !== '')).toEqual(['1\n', '2\n']);
    const buffers = g.logs.filter((r) => r.kind === LOG_KIND_BUFFER).map((r) => r.bytes![0]);
    expect(buffers).toEqual([1, 2]);
    const [ev] = g.stack.registry.all();
    expect(ev!.buffer!.read()[0]).toBe(2);
  });

  it('a condition gates every action; custom code writing GUEST_REGS changes the guest', () => {
    const { g, cpu, add, code } = setup();
    cpu.setReg(3, 5n); // rbx
    // condition: mov rax, [rcx+0x18] (guest rbx) ; ret → non-zero passes
    // action: mov qword [rdx+0x18], 0 ; ret → clears the guest's rbx (cpuid then overwrites it anyway)
    add({ condition: hex('488b4118 c3'), sc: true, actions: [code('48c7421800000000 c3')] });
    g.run(2);
    expect(cpu.getReg(3)).toBe(0n); // first firing passed and cleared rbx; sc kept cpuid from writing it
    const [ev] = g.stack.registry.all();
    g.run(2);
    expect(ev!.hits).toBe(1); // second firing: the condition saw rbx = 0
  });

  it('a failing action is reported with the event id and the next action still runs', () => {
    const { g, add, script, code } = setup({ codeBudget: 1000 });
    // test r8, r8 ; jnz loop ; ret ; loop: jmp loop — R8 = context = the leaf: 0 returns, 1 runs away.
    const { id } = add({ sc: true, actions: [code('4d85c0 7501 c3 ebfe'), script('printf("after\\n");')] });
    g.run(2);
    expect(g.texts()).toEqual(['after\n']);
    g.cpus[0]!.setReg(0, 1n);
    g.run(2);
    const err = g.logs.find((r) => r.kind === LOG_KIND_ERROR)!;
    expect(err.eventId).toBe(id);
    expect(err.text).toMatch(/^event 0x0: code failed: E_CODE_RUNTIME: did not return within 1000 instructions/);
    expect(g.texts().at(-1)).toBe('after\n');
  });

  it('a script run-time error is reported and the guest goes on', () => {
    const { g, cpu, add, script } = setup();
    add({ actions: [script('x = poi(7f0000000000);')] });
    expect(g.run(4)).toBe(RUN_BUDGET);
    expect(cpu.instructions).toBe(4);
    expect(g.logs[0]!.kind).toBe(LOG_KIND_ERROR);
    expect(g.logs[0]!.text).toMatch(/script failed: E_SCRIPT_RUNTIME/);
  });

  it('script pause() breaks like a break action; event_sc() short-circuits', () => {
    const { g, cpu, add, script } = setup();
    cpu.setReg(0, 1n);
    add({ actions: [script('event_sc(1); @rax = 99; pause();')] });
    expect(g.run(10)).toBe(RUN_EXIT_HALT);
    expect(cpu.getReg(0)).toBe(0x99n); // numbers are hex in scripts
    expect(g.run(1)).toBe(RUN_BUDGET); // resumed walk: sc stands, cpuid skipped
    expect(cpu.getReg(0)).toBe(0x99n);
  });

  it('event_clear from a script while the walk is under way is safe', () => {
    const { g, add, script } = setup();
    add({ actions: [script('printf("a\\n"); event_clear(1);')] });
    add({ actions: [script('printf("b\\n");')] });
    add({ actions: [script('printf("c\\n");')] });
    g.run(4);
    const output = g.logs.filter((r) => r.kind === LOG_KIND_SCRIPT).map((r) => r.text);
    expect(output).toEqual(['a\n', 'c\n', 'a\n', 'c\n']);
    // The second event_clear(1) finds nothing to clear: a warning, not a failure.
    expect(g.logs.some((r) => r.kind === LOG_KIND_WARNING && /no event has id 0x1/.test(r.text ?? ''))).toBe(true);
    expect(g.stack.registry.size).toBe(2);
  });
});

describe('options', () => {
  it('core filter: only the named vCPU fires (and only its exit mask is set)', () => {
    const { g, add, script } = setup({ vcpus: 2 });
    add({ core: 1, actions: [script('printf("core %d\\n", $core);')] });
    expect(g.cpus[0]!.exitMask.some((b) => b !== 0)).toBe(false);
    g.run(2, 0);
    g.run(2, 1);
    expect(g.texts()).toEqual(['core 1\n']);
  });

  it('pid filter uses the awareness data', () => {
    const { g, add, script } = setup();
    add({ pid: 7, actions: [script('printf("pid %d\\n", $pid);')] });
    g.run(2);
    g.pid = 7;
    g.run(2);
    expect(g.texts()).toEqual(['pid 7\n']);
  });

  it('imm no batches output until the batch fills or is flushed; imm yes ships one by one', () => {
    const { g, add, script } = setup();
    add({ imm: false, actions: [script('printf("x\\n");')] });
    g.stack.queue.setNow(0);
    g.cpus[0]!.run(20);
    g.stack.queue.pump(1);
    expect(g.logs).toHaveLength(0); // 10 small records: far from 4 KiB, not yet 100 ms old
    g.stack.queue.pump(200);
    expect(g.logs).toHaveLength(10);
  });

  it('local mode refuses break actions and an event without script or code', () => {
    const { add } = setup({ mode: 'local' });
    expect(() => add({ actions: [{ type: 'break' }] })).toThrow(expect.objectContaining({ code: 'E_LOCAL_MODE' }));
  });

  it('a bad script buffer is rejected with E_SCRIPT_VERIFY and nothing is registered', () => {
    const { g, add } = setup();
    const buffer = compileScript('printf("x\\n");');
    buffer[0] ^= 0xff;
    expect(() => add({ actions: [{ type: 'script', buffer }] })).toThrow(
      expect.objectContaining({ code: 'E_SCRIPT_VERIFY' }),
    );
    expect(g.stack.registry.size).toBe(0);
  });
});

describe('message queue under load', () => {
  it('default mode: a full queue drops and reports the exact seq range', () => {
    const { g, add, script } = setup({ queue: { capacity: 8 } });
    add({ actions: [script('printf("m\\n");')] });
    g.stack.queue.blocked = true;
    g.cpus[0]!.run(40); // 20 messages
    expect(g.stack.queue.depth).toBe(8);
    expect(g.stack.queue.drops).toBe(12n);
    g.stack.queue.blocked = false;
    g.stack.queue.pump(0, true);
    expect(g.logs.map((r) => r.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    expect(g.drops).toEqual([{ count: 12n, firstSeq: 9n, lastSeq: 20n, bytes: expect.any(BigInt), eventIds: [0] }]);
  });

  it('default mode with a willing consumer: a full queue ends the run early instead of dropping', () => {
    const { g, cpu, add, script } = setup({ queue: { capacity: 8 } });
    add({ actions: [script('printf("m\\n");')] });
    expect(cpu.run(40)).toBe(RUN_EXIT_HALT);
    expect(g.stack.hv.haltRequest).toMatchObject({ reason: 'throttle' });
    g.stack.hv.haltRequest = null;
    g.stack.queue.pump(0, true);
    cpu.run(40);
    g.stack.queue.pump(0, true);
    expect(g.stack.queue.drops).toBe(0n);
    expect(g.logs.map((r) => r.seq)).toEqual(Array.from({ length: 16 }, (_, i) => BigInt(i + 1)));
  });

  it('lossless mode: nothing is dropped; a full queue ends the run until it drains', () => {
    const { g, cpu, add, script } = setup({ lossless: true, queue: { capacity: 8, lowWater: 2 } });
    add({ actions: [script('printf("m\\n");')] });
    g.stack.queue.blocked = true;
    expect(cpu.run(40)).toBe(RUN_EXIT_HALT); // stopped before the effect of the 8th cpuid
    expect(g.stack.hv.haltRequest).toMatchObject({ reason: 'throttle' });
    g.stack.hv.haltRequest = null;
    expect(g.stack.queue.depth).toBe(8);
    expect(g.stack.queue.throttled).toBe(true);
    expect(g.stack.queue.drops).toBe(0n);
    g.stack.queue.blocked = false;
    g.stack.queue.pump(0, true);
    expect(g.stack.queue.throttled).toBe(false);
    // The interrupted walk finishes without running the action again (cpuid, jmp), then the next
    // cpuid fires once more.
    expect(cpu.run(3)).toBe(RUN_BUDGET);
    g.stack.queue.pump(0, true);
    expect(g.logs.map((r) => r.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n]);
  });
});
