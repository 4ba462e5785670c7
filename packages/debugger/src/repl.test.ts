import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { complete, runRepl } from './repl.js';
import { DebugSession } from './session.js';
import { type FakeGuest, SCHED, startFakeGuest } from './testing/fakeGuest.js';

/** A terminal stand-in: keystrokes in, everything written out (ANSI stripped on demand). */
class Screen extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  plain(): string {
    return this.text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  }
}

let dir: string;
let guest: FakeGuest | undefined;
let session: DebugSession | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hvdbg-repl-'));
});

afterEach(async () => {
  await session?.disconnect();
  await guest?.daemon.stop();
  session = undefined;
  guest = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: { mode?: 'local' | 'remote'; halted?: boolean } = {}) {
  guest = await startFakeGuest(options);
  session = new DebugSession({ haltTimeoutMs: 2000 });
  await session.connect(guest.daemon.url);
  const input = new PassThrough();
  const screen = new Screen();
  const historyFile = join(dir, 'history');
  const done = runRepl(session, { input, output: screen, terminal: true, historyFile });
  return { guest, session, input, screen, historyFile, done };
}

/** Waits until the screen shows `text` (the REPL answers asynchronously). */
async function until(screen: Screen, text: string, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!screen.plain().includes(text)) {
    if (Date.now() > end) throw new Error(`screen never showed ${JSON.stringify(text)}:\n${screen.plain()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('REPL', () => {
  it('runs commands, shows the state prompt and quits on exit', async () => {
    const { input, screen, done } = await start();
    await until(screen, 'hvdbg [halted vcpu 0 kernel!sched]> ');
    input.write('db kernel!sched l 4\r');
    await until(screen, 'ffffffff80001010  55 48 89 e5');
    input.write('exit\r');
    await done;
  });

  it('keeps history across runs in the history file', async () => {
    const first = await start();
    first.input.write('dd kernel!sched l 4\r');
    await until(first.screen, 'e5894855');
    first.input.write('exit\r');
    await first.done;
    expect(readFileSync(first.historyFile, 'utf8')).toBe('dd kernel!sched l 4\nexit\n');
    // A second REPL on the same file recalls it with the Up arrow.
    writeFileSync(first.historyFile, 'dd kernel!sched l 4\n');
    const input = new PassThrough();
    const screen = new Screen();
    const done = runRepl(session!, { input, output: screen, terminal: true, historyFile: first.historyFile });
    input.write('\x1b[A\r');
    await until(screen, 'e5894855');
    input.write('exit\r');
    await done;
  });

  it('completes commands, registers and symbols', async () => {
    const { session, input, screen, guest, done } = await start();
    expect(complete(session, '!sysr')[0]).toEqual(['!sysret', '!sysret2']);
    expect(complete(session, 'r @ra')).toEqual([['@rax'], '@ra']);
    expect(complete(session, 'u kernel!sc')).toEqual([['kernel!sched'], 'kernel!sc']);
    expect(complete(session, '!syscall sc')[0]).toContain('script');
    expect(complete(session, 'settings auto')).toEqual([['autoflush', 'autounpause'], 'auto']);
    // Keystrokes one chunk at a time, as a terminal sends them (a pasted tab is not a completion).
    input.write('u kernel!sch');
    await until(screen, 'u kernel!sch');
    input.write('\t');
    await until(screen, 'u kernel!sched');
    input.write(' l 1\r');
    await until(screen, 'kernel!sched:');
    expect(guest.daemon.received('mem.read').some((r) => r.address === SCHED)).toBe(true);
    input.write('exit\r');
    await done;
  });

  it('pauses the guest on Ctrl+C instead of quitting', async () => {
    const { input, screen, guest, done } = await start({ halted: false });
    await until(screen, 'hvdbg [running]> ');
    input.write('\x03');
    await until(screen, 'paused, vcpu 0');
    expect(guest.daemon.received('exec.pause')).toHaveLength(1);
    await until(screen, 'hvdbg [halted vcpu 0 kernel!sched]> ');
    input.write('exit\r');
    await done;
  });

  it('pauses on Ctrl+C even while a command waits for a halt', async () => {
    const { input, screen, guest, done } = await start({ halted: false });
    input.write('.wait halt\r');
    await until(screen, '.wait halt');
    input.write('\x03');
    await until(screen, 'paused, vcpu 0');
    await until(screen, 'hvdbg [halted vcpu 0 kernel!sched]> ');
    expect(guest.daemon.received('exec.pause')).toHaveLength(1);
    input.write('exit\r');
    await done;
  });

  it('only explains Ctrl+C in local mode', async () => {
    const { input, screen, guest, done } = await start({ mode: 'local', halted: false });
    input.write('\x03');
    await until(screen, 'local mode: the guest cannot be paused');
    expect(guest.daemon.received('exec.pause')).toHaveLength(0);
    input.write('exit\r');
    await done;
  });

  it('prints log lines above the line being typed and redraws it', async () => {
    const { input, screen, guest, done } = await start();
    input.write('db kernel!sc');
    await until(screen, 'db kernel!sc');
    const before = screen.text.length;
    guest.daemon.notify({
      t: 'log',
      batch: [
        {
          seq: 1n,
          eventId: 2,
          kind: 5,
          vcpu: 1,
          pid: 1,
          tid: 1,
          time: 0n,
          stage: 'pre',
          text: 'hello from the guest\n',
        },
      ],
    });
    await until(screen, '[event 0x2 vcpu 1] hello from the guest');
    const after = screen.text.slice(before);
    // Cleared line, the log on its own line, then the prompt and the half-typed text again.
    expect(after).toMatch(/\x1b\[2K/);
    expect(after.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')).toContain(
      '[event 0x2 vcpu 1] hello from the guest\nhvdbg [halted vcpu 0 kernel!sched]> db kernel!sc',
    );
    input.write('hed l 2\r');
    await until(screen, 'ffffffff80001010  55 48');
    input.write('exit\r');
    await done;
  });

  it('repeats the last command on an empty line, continuing dumps', async () => {
    const { input, screen, done } = await start();
    input.write('db kernel!sched l 4\r');
    await until(screen, 'ffffffff80001010  55');
    input.write('\r');
    await until(screen, 'ffffffff80001014  0f 05 c3 00');
    input.write('exit\r');
    await done;
  });

  it('continues an open { block on the next line', async () => {
    const { input, screen, guest, done } = await start();
    input.write('!syscall script {\r');
    await until(screen, '... ');
    input.write('print(1); }\r');
    await until(screen, 'event 0x1 registered');
    expect(guest.daemon.received('event.add')[0]!.text).toBe('!syscall script {\nprint(1); }');
    input.write('exit\r');
    await done;
  });
});

describe('REPL on piped input', () => {
  it('runs every piped line, printing halts that arrive after the end of input', async () => {
    guest = await startFakeGuest({ halted: false });
    session = new DebugSession({ haltTimeoutMs: 2000 });
    await session.connect(guest.daemon.url);
    const input = new PassThrough();
    const screen = new Screen();
    const done = runRepl(session, { input, output: screen, terminal: false, historyFile: '' });
    input.end('pause\ndb kernel!sched l 2\nexit\ndb 0 l 1\n');
    await done;
    const text = screen.plain();
    expect(text).toContain('paused, vcpu 0');
    expect(text).toContain('ffffffff80001010  55 48');
    expect(guest.daemon.received('mem.read').filter((r) => r.address === 0n)).toEqual([]);
  });
});
