import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HvdbgError } from '@hvdbg/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { runBatch, splitBatch } from './batch.js';
import type { ScriptCompiler } from './scriptc.js';
import { DebugSession, type SessionOutput } from './session.js';
import { type FakeGuest, type FakeGuestOptions, KERNEL, SCHED, startFakeGuest } from './testing/fakeGuest.js';

/** Compiles to the source's bytes; `oops` is a syntax error at its column. */
const fakeCompiler: ScriptCompiler = (source) => {
  const at = source.indexOf('oops');
  if (at >= 0)
    throw new HvdbgError('E_SCRIPT_SYNTAX', `unexpected oops (1:${at + 1})`, { line: 1, column: at + 1, source });
  return new TextEncoder().encode(source);
};

let guest: FakeGuest | undefined;
let session: DebugSession | undefined;

afterEach(async () => {
  await session?.disconnect();
  await guest?.daemon.stop();
  session = undefined;
  guest = undefined;
});

async function attach(options: FakeGuestOptions = {}) {
  guest = await startFakeGuest(options);
  session = new DebugSession({ compiler: fakeCompiler, haltTimeoutMs: 2000 });
  const outputs: SessionOutput[] = [];
  session.on('output', (o) => outputs.push(o));
  await session.connect(guest.daemon.url);
  return { guest, session, outputs };
}

describe('DebugSession', () => {
  it('shows state and place in the prompt', async () => {
    const { session } = await attach();
    expect(session.prompt()).toBe('hvdbg [halted vcpu 0 kernel!sched]> ');
    await session.execute('g');
    expect(session.prompt()).toBe('hvdbg [running]> ');
  });

  it('dumps memory and continues the dump on repeat', async () => {
    const { session } = await attach();
    const first = await session.execute('db kernel!sched l 8');
    expect(first.lines).toEqual(['ffffffff80001010  55 48 89 e5 0f 05 c3 00                          UH......']);
    expect(session.lastRepeatable).toBe('db');
    const again = await session.execute(session.lastRepeatable!);
    expect(again.lines[0]!.startsWith('ffffffff80001018  00')).toBe(true);
  });

  it('evaluates register-dependent arguments through the daemon', async () => {
    const { session } = await attach();
    const out = await session.execute('dq @rbp l 10');
    expect(out.lines).toEqual(['ffffffff80008000  ffffffff80008040 ffffffff80001005']);
  });

  it('steps, waits for the halt and highlights changed registers', async () => {
    const { session, outputs } = await attach();
    await session.execute('r');
    const step = await session.execute('t');
    expect(step.ok).toBe(true);
    expect(outputs.find((o) => o.kind === 'halt')?.lines[0]).toBe('step finished, vcpu 0');
    const regs = await session.execute('r');
    expect(regs.lines[0]).toContain('rax=0000000000000001*');
    expect(regs.lines.join('\n')).toContain('rip=ffffffff80001011*');
    expect(regs.lines[0]).not.toContain('rbx=0000000000000000*');
  });

  it('sets a register from an expression', async () => {
    const { session, guest } = await attach();
    expect((await session.execute('r rcx = kernel!sched + 2')).lines).toEqual(['rcx=ffffffff80001012']);
    expect(guest.regs.rcx).toBe(SCHED + 2n);
  });

  it('disassembles at RIP with symbols, and walks the stack', async () => {
    const { session } = await attach();
    const u = await session.execute('u kernel!start l 5');
    expect(u.lines).toEqual(['kernel!start:', 'ffffffff80001000  e80b000000           call kernel!sched']);
    const k = await session.execute('k');
    expect(k.lines).toEqual([
      ' #  frame             return            symbol',
      '00  ffffffff80008000  ffffffff80001010  kernel!sched',
      '01  ffffffff80008040  ffffffff80001005  kernel!start+0x5',
    ]);
  });

  it('shows the raw stack with symbols and 32-bit disassembly', async () => {
    const { session, guest } = await attach();
    guest.regs.rsp = KERNEL + 0x8000n;
    expect((await session.execute('kq l 2')).lines).toEqual([
      'ffffffff80008000  ffffffff80008040  kernel+0x8040',
      'ffffffff80008008  ffffffff80001005  kernel!start+0x5',
    ]);
    expect((await session.execute('kd base kernel!sched l 1')).lines).toEqual(['ffffffff80001010  e5894855']);
    expect((await session.execute('u32 kernel!sched l 4')).lines).toEqual([
      'kernel!sched:',
      'ffffffff80001010  55                   push ebp',
      'ffffffff80001011  48                   dec eax',
      'ffffffff80001012  89e5                 mov ebp, esp',
    ]);
  });

  it('registers an event with a compiled script and lists it', async () => {
    const { session, guest } = await attach();
    const add = await session.execute('!syscall 3c script { printf("x"); }');
    expect(add.lines).toEqual(['event 0x1 registered']);
    const spec = guest.daemon.received('event.add')[0]!;
    expect(spec.param).toBe(0x3cn);
    expect(spec.actions[0]).toMatchObject({ type: 'script', source: ' printf("x"); ' });
    expect((await session.execute('events')).lines).toEqual([
      '01 (enabled) !syscall 3c script { printf("x"); }  [hits 0]',
    ]);
    expect((await session.execute('events d 1')).lines).toEqual(['1 event disabled']);
    expect((await session.execute('events c 9')).lines).toEqual([
      'error: no event has that id (see `events`) [E_BAD_EVENT_ID]',
    ]);
  });

  it('shows a script syntax error with a caret and sends nothing', async () => {
    const { session, guest } = await attach();
    const out = await session.execute('!syscall script {x = oops;}');
    expect(out.ok).toBe(false);
    expect(out.lines).toEqual(['error: unexpected oops (1:5)', '  x = oops;', '      ^']);
    expect(guest.daemon.received('event.add')).toEqual([]);
  });

  it('refuses halting commands in local mode before sending', async () => {
    const { session, guest } = await attach({ mode: 'local', halted: false });
    expect((await session.execute('t')).lines).toEqual([
      'error: t is not available in local mode: the guest never halts there [E_LOCAL_MODE]',
    ]);
    const brk = await session.execute('!epthook kernel!sched');
    expect(brk.error?.code).toBe('E_LOCAL_MODE');
    expect(guest.daemon.received('event.add')).toEqual([]);
    expect((await session.execute('pause')).lines).toEqual([
      'local mode: the guest cannot be paused (the debugger would halt its own machine)',
    ]);
    expect((await session.execute('!cpuid script {print(1);}')).ok).toBe(true);
  });

  it('runs ? through script.eval', async () => {
    const { session, guest } = await attach();
    const out = await session.execute('? {print(1);}');
    expect(out.lines).toEqual(['ran 9 bytes']);
    expect(guest.daemon.received('script.eval')).toHaveLength(1);
  });

  it('pauses and waits for the halt; .wait halt times out when nothing halts', async () => {
    const { session } = await attach({ halted: false });
    expect((await session.execute('.wait halt 0n50')).error?.code).toBe('E_TIMEOUT');
    expect((await session.execute('pause')).ok).toBe(true);
    expect(session.state).toBe('halted');
    expect((await session.execute('.wait halt')).ok).toBe(true);
  });

  it('treats the guest as running after g even before the resumed notice', async () => {
    const { session, guest } = await attach();
    guest.daemon.handlers['exec.continue'] = () => ({});
    expect((await session.execute('g')).ok).toBe(true);
    expect(session.state).toBe('running');
    const wait = session.execute('.wait halt 0n2000');
    setTimeout(() => guest.halt('breakpoint'), 20);
    expect((await wait).ok).toBe(true);
    expect(session.state).toBe('halted');
  });

  it('lets observers read but not change, until they take control', async () => {
    const { session, guest } = await attach({ role: 'observer' });
    expect(session.prompt()).toBe('hvdbg [observer halted vcpu 0 kernel!sched]> ');
    expect((await session.execute('db kernel!sched l 1')).ok).toBe(true);
    expect((await session.execute('g')).lines).toEqual([
      'error: observers cannot change guest state (connect without --observe to control) [E_FORBIDDEN]',
    ]);
    expect((await session.execute('!cpuid script {print(1);}')).error?.code).toBe('E_FORBIDDEN');
    expect(guest.daemon.received('exec.continue')).toEqual([]);
    expect((await session.execute('.take')).lines).toEqual(['this client is now controller']);
    expect((await session.execute('g')).ok).toBe(true);
  });

  it('reports unknown commands and connection loss in one line', async () => {
    const { session, guest } = await attach();
    expect((await session.execute('frobnicate')).lines).toEqual([
      "error: unknown command 'frobnicate' (try help) [E_BAD_PARAMETER]",
    ]);
    guest.daemon.dropClients();
    await new Promise((r) => session.once('state', () => r(undefined)));
    expect((await session.execute('db 0')).lines).toEqual([
      'error: not connected to a daemon (use .connect) [E_DISCONNECTED]',
    ]);
  });
});

describe('commands on the fake guest', () => {
  it('runs .script files with arguments and stops at a failure', async () => {
    const { session } = await attach();
    const dir = mkdtempSync(join(tmpdir(), 'hvdbg-script-'));
    const file = join(dir, 'dump.ds');
    writeFileSync(file, '# dump then fail\ndb $arg1 l 2\nr nosuch\ndb 0 l 1\n');
    const out = await session.execute(`.script ${file} kernel!sched`);
    rmSync(dir, { recursive: true });
    expect(out.ok).toBe(false);
    expect(out.lines).toEqual([
      'hvdbg> db kernel!sched l 2',
      'ffffffff80001010  55 48                                            UH',
      'hvdbg> r nosuch',
      'error: no such register [E_BAD_REGISTER]',
      `error: ${file} stopped at: r nosuch [E_BAD_PARAMETER]`,
    ]);
  });

  it('searches memory and saves a range to a file', async () => {
    const { session } = await attach();
    expect((await session.execute('sb kernel!start l 40 0f 05')).lines).toEqual(['ffffffff80001014  kernel!sched+0x4']);
    expect((await session.execute('sd kernel!start l 40 e5894855')).lines).toEqual(['ffffffff80001010  kernel!sched']);
    expect((await session.execute('sq kernel!start l 40 1')).lines).toEqual(['not found']);
    const dir = mkdtempSync(join(tmpdir(), 'hvdbg-dump-'));
    const file = join(dir, 'sched.bin');
    expect((await session.execute(`.dump kernel!sched kernel!sched+7 path ${file}`)).lines).toEqual([
      `saved 0x7 bytes to ${file}`,
    ]);
    expect(Array.from(readFileSync(file))).toEqual([0x55, 0x48, 0x89, 0xe5, 0x0f, 0x05, 0xc3]);
    rmSync(dir, { recursive: true });
  });

  it('copies commands and notifications to a .logopen file', async () => {
    const { session, guest } = await attach({ halted: false });
    const dir = mkdtempSync(join(tmpdir(), 'hvdbg-log-'));
    const file = join(dir, 'session.log');
    await session.execute(`.logopen ${file}`);
    await session.execute('db kernel!sched l 2');
    guest.halt('pause');
    await session.execute('.wait halt');
    await session.execute('.logclose');
    await session.execute('db kernel!sched l 2');
    expect(readFileSync(file, 'utf8')).toBe(
      [
        `hvdbg> .logopen ${file}`,
        `logging to ${file}`,
        'hvdbg> db kernel!sched l 2',
        'ffffffff80001010  55 48                                            UH',
        'paused, vcpu 0',
        'kernel!sched:',
        'ffffffff80001010  55                   push rbp',
        'hvdbg> .wait halt',
        '',
      ].join('\n'),
    );
    rmSync(dir, { recursive: true });
  });

  it('translates addresses and reads MSRs', async () => {
    const { session, guest } = await attach();
    guest.daemon.handlers['mem.translate'] = ({ address }) => ({
      physical: address & 0xfffffn,
      entries: [0x2003n, 0x3003n, 0x4083n],
    });
    guest.daemon.handlers['cpu.rdmsr'] = ({ msr }) => ({ value: BigInt(msr) * 2n });
    expect((await session.execute('!pte kernel!sched')).lines).toEqual([
      'PML4E  0000000000002003  P W',
      'PDPTE  0000000000003003  P W',
      'PDE    0000000000004083  P W PS',
      '0xffffffff80001010 -> 0x1010',
    ]);
    expect((await session.execute('rdmsr c0000080')).lines).toEqual(['msr[c0000080] = 0000000180000100']);
  });
});

describe('batch mode', () => {
  it('splits files into commands, joining open blocks', () => {
    expect(splitBatch('# comment\ng\n\n!syscall script {\n  print(1);\n}\n// note\n.sleep 10\n')).toEqual([
      'g',
      '!syscall script {\n  print(1);\n}',
      '.sleep 10',
    ]);
  });

  it('prints a transcript and reports failure', async () => {
    const { session } = await attach();
    const lines: string[] = [];
    const ok = await runBatch(session, ['db kernel!sched l 4', 'r nosuch', 'exit', 'g'], {
      write: (l) => lines.push(l),
    });
    expect(ok).toBe(false);
    expect(lines).toEqual([
      'hvdbg> db kernel!sched l 4',
      'ffffffff80001010  55 48 89 e5                                      UH..',
      'hvdbg> r nosuch',
      'error: no such register [E_BAD_REGISTER]',
      'hvdbg> exit',
    ]);
  });

  it('prints one JSON object per result and halt', async () => {
    const { session } = await attach();
    const lines: string[] = [];
    const ok = await runBatch(session, ['t', 'dq kernel!start l 8'], { json: true, write: (l) => lines.push(l) });
    expect(ok).toBe(true);
    const objects = lines.map((l) => JSON.parse(l));
    expect(objects.map((o) => o.type)).toEqual(['halt', 'command', 'command']);
    expect(objects[0]).toMatchObject({ reason: 'step', rip: '0xffffffff80001011', symbol: 'kernel!sched+0x1' });
    expect(objects[2]).toMatchObject({
      command: 'dq kernel!start l 8',
      ok: true,
      data: { address: `0x${(KERNEL + 0x1000n).toString(16)}` },
    });
  });
});
