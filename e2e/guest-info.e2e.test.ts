/**
 * Guest awareness and CPU information against the real daemon: `.process` / `.thread` read the
 * guest kernel's tables, `pid p` reads a process that no vCPU runs, `cpu` / `cpuid` describe the
 * emulated core, and `flush` answers with a count. An observer may list processes and threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, startDaemon } from './harness.js';
import { connect, type Recorder, sleep } from './session.js';

describe('guest information', () => {
  let daemon: RunningDaemon;
  let ctl: Recorder;

  beforeAll(async () => {
    daemon = await startDaemon({ local: true });
    ctl = await connect(daemon.url);
  });
  afterAll(async () => {
    await ctl?.close();
    await daemon?.stop();
  });

  it('lists the mixed workload’s processes and threads', async () => {
    // Right after boot the kernel may still be starting its processes.
    let table: string[] = [];
    for (const deadline = Date.now() + 30_000; table.length < 5 && Date.now() < deadline; await sleep(50)) {
      table = (await ctl.run('.process list')).lines;
    }
    expect(table[0]).toMatch(/pid\s+name\s+state\s+threads\s+cr3/);
    // hello (pid 1) exits early; the other four stay for the whole run.
    const names = table.slice(1).map((l) =>
      l
        .replace(/^\*?\s+/, '')
        .split(/\s+/)
        .slice(0, 2),
    );
    expect(names).toEqual(
      expect.arrayContaining([
        ['0x2', 'cpuid'],
        ['0x3', 'faulty'],
        ['0x4', 'threads'],
        ['0x5', 'sysloop'],
      ]),
    );
    const one = await ctl.run('.process pid 2');
    expect(one.lines[1]).toMatch(/0x2\s+cpuid\s+live/);
    const threads = await ctl.run('.thread');
    expect(threads.lines[0]).toMatch(/tid\s+pid\s+process\s+state/);
    expect(threads.lines.some((l) => /^0x2\s+0x2\s+cpuid\s/.test(l))).toBe(true);
  });

  it('reads and translates memory of another process with pid p', async () => {
    const va2pa = await ctl.run('!va2pa prog_cpuid pid 2');
    const physical = /-> (0x[0-9a-f]+)/.exec(va2pa.lines[0]!)![1]!;
    const virt = await ctl.run('db prog_cpuid l 10 pid 2');
    const phys = await ctl.run(`!db ${physical} l 10`);
    const bytes = (line: string) => line.split(/\s+/).slice(1, 17).join(' ');
    expect(bytes(virt.lines[0]!)).toBe(bytes(phys.lines[0]!));
    const bad = await ctl.session.execute('db 400000 l 10 pid 7f');
    expect(bad.error?.code).toBe('E_BAD_PARAMETER');
  });

  it('describes the CPU and answers cpuid without running the guest’s CPUID', async () => {
    const cpu = await ctl.run('cpu');
    expect(cpu.lines[0]).toBe('vendor:    GenuineIntel');
    expect(cpu.lines.join('\n')).toMatch(/brand:\s+hvdbg virtual x86-64 CPU/);
    expect(cpu.lines.at(-1)).toMatch(/features:.* lm/);
    const leaf = await ctl.run('cpuid 0');
    expect(leaf.lines[0]).toBe('eax=00000007 ebx=756e6547 ecx=6c65746e edx=49656e69');
  });

  it('flushes, and lets an observer list but not flush', async () => {
    expect((await ctl.run('flush')).lines[0]).toMatch(/^flushed: \d+ queued messages? discarded$/);
    const obs = await connect(daemon.url, 'observer', 'e2e-observer');
    try {
      expect((await obs.run('.process')).lines.length).toBeGreaterThan(1);
      expect((await obs.session.execute('flush')).error?.code).toBe('E_FORBIDDEN');
    } finally {
      await obs.close();
    }
  });
});
