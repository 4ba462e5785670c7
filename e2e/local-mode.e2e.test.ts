/** Scenario 7: local mode refuses a break action with a clear message; scripts still work. */
import { describe, expect, it } from 'vitest';
import { runCli } from './harness.js';
import { useDaemonWithController, waitFor } from './session.js';

describe('local mode', () => {
  const fixture = useDaemonWithController({ local: true });

  it('refuses an event whose action is a break, from the command and from a raw request', async () => {
    const { ctl } = fixture;
    const outcome = await ctl.session.execute('!syscall');
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.code).toBe('E_LOCAL_MODE');
    expect(outcome.lines.join('\n')).toMatch(/local mode/);
    const raw = await ctl.session.client
      .request('event.add', {
        kind: 'syscall',
        stage: 'pre',
        sc: false,
        imm: true,
        bufferSize: 0,
        actions: [{ type: 'break' }],
        text: '!syscall',
      })
      .then(() => 'accepted')
      .catch((err: { code: string; message: string }) => `${err.code}: ${err.message}`);
    expect(raw).toMatch(/^E_LOCAL_MODE: .*local mode/);
    expect((await ctl.session.request('event.list', {})).events).toEqual([]);
  });

  it('still runs scripts', async () => {
    const { ctl } = fixture;
    await ctl.run('!cpuid script { printf("leaf %x\\n", @eax); }');
    const hit = await waitFor('a script message', () => ctl.logs[0]);
    expect(hit.text).toMatch(/^leaf [0-9a-f]+\n$/);
  });

  it('makes a batch file with a break fail with the same message', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'hvdbg-')), 'break.hds');
    writeFileSync(file, '!syscall\n');
    // `--local` starts a fresh local daemon of its own for the batch.
    const result = await runCli(['run', '-x', file, '--local']);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/E_LOCAL_MODE/);
  });
});
