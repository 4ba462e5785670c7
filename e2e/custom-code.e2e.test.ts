/**
 * Scenario 3: custom code rewrites CPUID's result and the guest prints the faked value. The code runs
 * after CPUID (stage post), writes GUEST_REGS.rax through RDX, and stores a marker in its
 * pre-allocated buffer (RCX), whose content comes back to the client after each run.
 */
import { describe, expect, it } from 'vitest';
import { useDaemonWithController, waitFor } from './session.js';

describe('custom code on !cpuid', () => {
  const fixture = useDaemonWithController();

  it('fakes EAX of leaf 1 and returns its buffer', async () => {
    const { ctl } = fixture;
    // mov qword [rdx], 0x12345678   ; GUEST_REGS.rax
    // mov dword [rcx], 0x0eadbeef   ; the event buffer
    // ret
    await ctl.run('!cpuid 1 stage post buffer 10 code { 48 c7 02 78 56 34 12 c7 01 ef be ad 0e c3 }');
    const line = await waitFor('the faked value on the console', () =>
      ctl
        .console()
        .split('\n')
        .find((l) => /cpuid: round \d+ leaf 1 eax=12345678 /.test(l)),
    );
    expect(line).toContain('eax=12345678');
    const buffers = ctl.logs.filter((r) => r.eventId === 0 && r.bytes !== undefined);
    expect(buffers.length).toBeGreaterThan(0);
    expect([...buffers[0].bytes!.slice(0, 4)]).toEqual([0xef, 0xbe, 0xad, 0x0e]);
    expect(buffers[0].bytes!.length).toBe(0x10);
  });

  it('rejects a code buffer without ret when the event is added', async () => {
    const { ctl } = fixture;
    const outcome = await ctl.session.execute('!cpuid code { 90 90 90 }');
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.code).toBe('E_CODE_INVALID');
    const { events } = await ctl.session.request('event.list', {});
    expect(events.map((e) => e.id)).toEqual([0]);
  });
});
