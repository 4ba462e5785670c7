/**
 * Scenarios 4 and 5: an !epthook is invisible to the guest's own checksum of its code, and !monitor
 * reports writes to a kernel variable without stopping them.
 */
import { describe, expect, it } from 'vitest';
import { readU64, sleep, symbolAddress, useDaemonWithController, waitFor } from './session.js';

const checksums = (text: string) => [...text.matchAll(/code checksum: ([0-9a-f]{8})/g)].map((m) => m[1]);

describe('hidden hooks', () => {
  const fixture = useDaemonWithController();

  it('!epthook fires but the guest checksum of its code is unchanged', async () => {
    const { ctl } = fixture;
    const first = await waitFor('a heartbeat checksum', () => checksums(ctl.console())[0], 60_000);
    const target = await symbolAddress(ctl.session, 'do_getpid');
    const before = await ctl.session.request('mem.read', { address: target, length: 16, space: 'virtual' });

    await ctl.run('!epthook kernel!do_getpid script { printf("getpid by %x\\n", $pid); }');
    const seenBefore = checksums(ctl.console()).length;
    await waitFor('a checksum after the hook', () => checksums(ctl.console())[seenBefore], 60_000);
    const hits = ctl.logs.filter((r) => r.eventId === 0);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits[0].text).toMatch(/^getpid by [0-9a-f]+\n$/);
    for (const sum of checksums(ctl.console())) expect(sum).toBe(first);

    // Reads through the debugger also see the original bytes: nothing was patched.
    const after = await ctl.session.request('mem.read', { address: target, length: 16, space: 'virtual' });
    expect([...after.bytes]).toEqual([...before.bytes]);
    await ctl.run('events c all');
  });

  it('!monitor w on a kernel variable reports the writes and lets them happen', async () => {
    const { ctl } = fixture;
    const jiffies = await symbolAddress(ctl.session, 'jiffies');
    const start = await readU64(ctl.session, jiffies);
    const added = await ctl.run(
      `!monitor w ${jiffies.toString(16)} l 8 script { printf("write %llx at %llx\\n", $context, @rip); }`,
    );
    const id = Number(/event 0x([0-9a-f]+) registered/.exec(added.lines.join('\n'))![1]);
    await waitFor('monitor hits', () => (ctl.logs.filter((r) => r.eventId === id).length >= 3 ? true : undefined));
    await sleep(200);
    const end = await readU64(ctl.session, jiffies);
    expect(end).toBeGreaterThan(start);
    const hits = ctl.logs.filter((r) => r.eventId === id);
    const context = new RegExp(`^write ${jiffies.toString(16)} at ffffffff8[0-9a-f]+\\n$`);
    for (const hit of hits) expect(hit.text).toMatch(context);
  });
});
