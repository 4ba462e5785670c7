/**
 * Scenario 2: a script action logs syscall numbers for a while, and the log agrees with the guest's
 * own syscall counter (kernel!syscall_count, incremented once per system call).
 *
 * One vCPU keeps the comparison exact: each firing reads the counter before the kernel increments
 * it, so consecutive firings must see consecutive counter values — any lost, duplicated or
 * reordered message shows up as a gap.
 */
import { describe, expect, it } from 'vitest';
import { readU64, sleep, symbolAddress, useDaemonWithController, waitFor } from './session.js';

describe('script action logging syscalls', () => {
  const fixture = useDaemonWithController({ workload: 'syscalls', vcpus: 1 });

  it('logs every syscall, in order, matching the guest counter', async () => {
    const { ctl } = fixture;
    const counter = await symbolAddress(ctl.session, 'syscall_count');
    await ctl.run(`!syscall imm no script { printf("%llx %llx\\n", @rax, poi(${counter.toString(16)})); }`);
    await sleep(1500);
    await ctl.run('pause');
    await waitFor('the pause', () => ctl.halts[0]);
    const finalCount = await readU64(ctl.session, counter);

    // Every message produced before the halt arrived before the halt notification.
    const haltAt = ctl.stream.indexOf('halt:pause');
    expect(haltAt).toBeGreaterThan(0);
    const records = ctl.logs.filter((r) => r.eventId === 0);
    expect(records.length).toBe(haltAt);
    expect(records.length).toBeGreaterThan(1000);

    const seen = records.map((r) => {
      const match = /^([0-9a-f]+) ([0-9a-f]+)\n$/.exec(r.text ?? '');
      expect(match, r.text).not.toBeNull();
      return { nr: BigInt(`0x${match![1]}`), count: BigInt(`0x${match![2]}`) };
    });
    for (let i = 1; i < seen.length; i++) {
      if (seen[i].count !== seen[i - 1].count + 1n) {
        throw new Error(`counter gap at message ${i}: ${seen[i - 1].count} then ${seen[i].count}`);
      }
    }
    // The last logged syscall is counted by now, and nothing ran unlogged after it (at most that one
    // may still be inside the kernel, not yet counted).
    const last = seen[seen.length - 1].count;
    expect(finalCount === last + 1n || finalCount === last).toBe(true);
    // sysloop calls getpid (0x27) in a loop and write (1) now and then.
    expect(seen.filter((s) => s.nr === 0x27n).length).toBeGreaterThan(seen.length * 0.9);
    // Sequence numbers ascend without holes.
    for (let i = 1; i < records.length; i++) expect(records[i].seq).toBe(records[i - 1].seq + 1n);
  });
});
