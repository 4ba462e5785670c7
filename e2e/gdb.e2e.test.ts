/**
 * Stock gdb against the real daemon's remote-protocol stub (`--gdb`), with the committed guest
 * kernel ELF for symbols: connect, registers, a breakpoint on a kernel function, disassembly,
 * stepi, a watchpoint on a kernel variable, monitor commands, detach. An hvdbg observer connected
 * at the same time must see the halts gdb causes. gdb is required: CI installs it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunningDaemon, startDaemon } from './harness.js';
import { connect, type Recorder, waitFor } from './session.js';

const KERNEL_ELF = join(ROOT, 'packages/debuggee/guest/hvdbg-kernel.elf');
const GDB_TIMEOUT_MS = 90_000;

function requireGdb(): void {
  const probe = spawnSync('gdb', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error('gdb is not installed: the gdb e2e test needs it (apt-get install gdb; .ci/run installs it)');
  }
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs `gdb -batch` with a command file; resolves with everything it printed. stdout and stderr
 * share one file, so gdb's own messages, monitor output and guest console text stay in order.
 */
function runGdb(
  commands: string[],
  dir: string,
  onSpawn?: (child: ChildProcess) => void,
): Promise<{ code: number | null; output: string }> {
  const file = join(dir, 'commands.gdb');
  const log = join(dir, `gdb-${Date.now()}.out`);
  writeFileSync(file, `${commands.join('\n')}\n`);
  const fd = openSync(log, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn('gdb', ['-batch', '-nx', '-x', file, KERNEL_ELF], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    onSpawn?.(child);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gdb timed out; its output so far:\n${readFileSync(log, 'utf8')}`));
    }, GDB_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: readFileSync(log, 'utf8') });
    });
  });
}

/** The output between `echo @@name` markers. */
function sections(output: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = output.split(/^@@(\w+)$/m);
  for (let i = 1; i < parts.length; i += 2) out.set(parts[i]!, parts[i + 1]!);
  return out;
}

describe('gdb remote protocol', () => {
  let daemon: RunningDaemon;
  let observer: Recorder;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    requireGdb();
    dir = mkdtempSync(join(tmpdir(), 'hvdbg-gdb-'));
    port = await freePort();
    daemon = await startDaemon({ extraArgs: ['--gdb', `127.0.0.1:${port}`] });
    observer = await connect(daemon.url, 'observer', 'gdb-e2e-observer');
  });

  /** Waits until no gdb holds the controller role (the stub saw the last connection close). */
  async function gdbGone(): Promise<void> {
    for (let i = 0; i < 250; i++) {
      const { clients } = await observer.session.request('status', {});
      if (!clients.some((c) => c.name === 'gdb')) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('the gdb connection was never released');
  }

  afterAll(async () => {
    await observer?.close();
    await daemon?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('attaches stock gdb: registers, breakpoint, disassembly, stepi, watchpoint, monitor, detach', async () => {
    const { code, output } = await runGdb(
      [
        'set pagination off',
        'set confirm off',
        `target remote 127.0.0.1:${port}`,
        'echo @@regs\\n',
        'info registers',
        'info registers cr3 efer fs_base gs_base',
        'echo @@break\\n',
        'break syscall_dispatch',
        'continue',
        'echo @@disasm\\n',
        'x/4i $pc',
        'echo @@stepi\\n',
        'stepi',
        'info registers rip',
        'delete',
        'echo @@watch\\n',
        'watch *(unsigned long *)&jiffies',
        'continue',
        'delete',
        'echo @@threads\\n',
        'info threads',
        'echo @@monitor\\n',
        'monitor !cpuid script { printf("cpuid seen from gdb\\n"); }',
        'monitor events',
        'monitor r rip',
        'monitor nonsense',
        'echo @@detach\\n',
        'detach',
        'echo @@end\\n',
      ],
      dir,
    );
    const failure = `gdb output:\n${output}\ndaemon stderr:\n${daemon.stderr()}`;
    expect(code, failure).toBe(0);
    expect(output, failure).not.toMatch(/packet reply is too long|Remote failure|Protocol error|Error in sourced/);
    const s = sections(output);
    expect([...s.keys()], failure).toEqual([
      'regs',
      'break',
      'disasm',
      'stepi',
      'watch',
      'threads',
      'monitor',
      'detach',
      'end',
    ]);

    // The full amd64 register file, with the system registers from the target description.
    const regs = s.get('regs')!;
    for (const name of [
      'rax',
      'rbx',
      'rsp',
      'r15',
      'rip',
      'cs',
      'ss',
      'gs',
      'fs_base',
      'gs_base',
      'cr0',
      'cr3',
      'efer',
    ]) {
      expect(regs, `${name} in info registers\n${failure}`).toMatch(new RegExp(`^${name}\\s+0x[0-9a-f]+`, 'm'));
    }
    expect(regs).toMatch(/^eflags\s+0x[0-9a-f]+\s+\[/m);
    expect(regs).toMatch(/^cr0\s+0x8\d{7}\b/m); // paging on

    const brk = s.get('break')!;
    expect(brk).toMatch(/Breakpoint 1 at 0xffffffff8[0-9a-f]+/);
    const hit = /Breakpoint 1, (0x[0-9a-f]+) in syscall_dispatch \(\)/.exec(brk);
    expect(hit, failure).not.toBeNull();

    // Four instructions from the breakpoint, the first at the function's entry.
    const disasm = s.get('disasm')!;
    expect(disasm).toMatch(new RegExp(`=> ${hit![1]} <syscall_dispatch>:\\s+\\w+`));
    expect(disasm.match(/<syscall_dispatch\+?\d*>:/g)).toHaveLength(4);

    // One instruction further, still in syscall_dispatch (the timer handler was masked).
    const stepi = s.get('stepi')!;
    const stepped = /^rip\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+ <syscall_dispatch\+(\d+)>/m.exec(stepi);
    expect(stepped, failure).not.toBeNull();
    expect(Number(stepped![2])).toBeGreaterThan(0);
    expect(Number(stepped![2])).toBeLessThanOrEqual(15);

    // The timer handler increments jiffies: gdb sees the old and the new value.
    const watch = s.get('watch')!;
    expect(watch).toMatch(/Hardware watchpoint 2: \*\(unsigned long \*\)&jiffies/);
    expect(watch).toMatch(/hit Hardware watchpoint 2: \*\(unsigned long \*\)&jiffies/);
    const values = /Old value = (\d+)\s+New value = (\d+)/.exec(watch);
    expect(values, failure).not.toBeNull();
    expect(BigInt(values![2]!)).toBe(BigInt(values![1]!) + 1n);

    const threads = s.get('threads')!;
    expect(threads).toMatch(/Thread 1 \(vCPU 0/);
    expect(threads).toMatch(/Thread 2 \(vCPU 1/);

    const monitor = s.get('monitor')!;
    expect(monitor).toMatch(/event [0-9a-f]+ added/);
    expect(monitor).toMatch(/enabled\s+!cpuid script \{ printf\("cpuid seen from gdb\\n"\); \}/);
    expect(monitor).toMatch(/^rip=ffffffff8[0-9a-f]{7}$/m);
    expect(monitor).toMatch(/error: E_UNKNOWN_REQUEST: unknown monitor command 'nonsense'/);

    expect(s.get('detach')).toMatch(/\[Inferior 1 \(Remote target\) detached\]/);

    // The hvdbg observer saw the halts gdb caused, and the guest runs again after detach.
    const reasons = observer.halts.map((h) => h.reason);
    expect(reasons).toContain('breakpoint');
    expect(reasons).toContain('step');
    // The watchpoint's halt (a !monitor break) reaches observers too.
    expect(reasons).toContain('event');
    expect(observer.halts.every((h) => h.vcpu >= 0)).toBe(true);
    await gdbGone();
    const status = await observer.session.request('status', {});
    expect(status.state).toBe('running');
    // The event added through monitor lives on for hvdbg clients: its script output arrives.
    await waitFor('the monitor-added event to log', () =>
      observer.logs.some((r) => r.text === 'cpuid seen from gdb\n') ? true : undefined,
    );
  });

  it('refuses a second gdb while one is attached, clearly and at once', async () => {
    // gdb exiting and the daemon seeing its socket close are not the same instant.
    await gdbGone();
    // The first debugger holds the port with a bare connection; its stop reply shows it attached.
    const holder = netConnect(port, '127.0.0.1');
    let received = '';
    holder.setEncoding('latin1').on('data', (text: string) => {
      received += text;
    });
    holder.write('$?#3f');
    await waitFor(
      'the first connection to attach',
      () => (/\$T02thread:/.test(received) ? true : undefined),
      10_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nreceived: ${received}\ndaemon stderr:\n${daemon.stderr()}`);
    });
    const started = Date.now();
    const second = await runGdb([`target remote 127.0.0.1:${port}`], dir);
    expect(Date.now() - started, second.output).toBeLessThan(10_000);
    expect(second.output).toMatch(/Remote failure reply: E\.hvdbg: another gdb is already attached to this guest/);
    expect(second.output).toMatch(/Remote connection closed/);
    // When the first leaves, the port takes the next gdb.
    holder.destroy();
    await gdbGone();
    const third = await runGdb([`target remote 127.0.0.1:${port}`, 'info registers rip', 'detach'], dir);
    expect(third.output).toMatch(/^rip\s+0x[0-9a-f]+/m);
    expect(third.output).toMatch(/\[Inferior 1 \(Remote target\) detached\]/);
  });

  it('Ctrl+C in gdb interrupts the running guest (0x03 → pause → SIGINT stop)', async () => {
    await gdbGone();
    const resumes = () => observer.stream.filter((e) => e === 'resumed').length;
    const before = resumes();
    const run = runGdb(
      [`target remote 127.0.0.1:${port}`, 'continue', 'echo @@stopped\\n', 'info registers rip', 'detach'],
      dir,
      (child) => {
        // Interrupt once gdb's continue has resumed the guest, as a user pressing Ctrl+C would.
        void waitFor('gdb to resume the guest', () => (resumes() > before ? true : undefined)).then(
          () => child.kill('SIGINT'),
          () => child.kill('SIGKILL'),
        );
      },
    );
    const { output } = await run;
    const stopped = sections(output).get('stopped') ?? '';
    expect(output).toMatch(/received signal SIGINT, Interrupt\./);
    // The pause lands wherever the guest happens to be: kernel or user code.
    expect(stopped).toMatch(/^rip\s+0x(ffffffff8[0-9a-f]+|[0-9a-f]{1,12})\s/m);
    expect(output).toMatch(/\[Inferior 1 \(Remote target\) detached\]/);
  });
});
