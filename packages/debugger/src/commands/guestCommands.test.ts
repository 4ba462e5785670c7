/**
 * `.process`, `.thread`, `cpuid`, `cpu`, `flush`, `settings`, `.sym reload`, `.cls`: parsing and
 * formatting tables, then each command against a fake daemon (real round trips, recorded requests).
 */
import { HvdbgError, type ProcessInfo, type ThreadInfo } from '@hvdbg/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { DebugSession } from '../session.js';
import { ClientSettings } from '../settings.js';
import { FakeDaemon } from '../testing/fakeDaemon.js';
import { tokenize } from '../tokenize.js';
import { type CpuidRegs, describeCpu, familyModel, formatCpuid } from './cpuid.js';
import { formatProcesses, formatThreads, parseListOrOne } from './guestCommands.js';

const PROCESSES: ProcessInfo[] = [
  { pid: 2, name: 'cpuid', state: 'live', address: 0xffffffff80120078n, cr3: 0x321000n, threads: 1, vcpus: [] },
  {
    pid: 0xb,
    name: 'threads',
    state: 'dying',
    address: 0xffffffff801200f0n,
    cr3: 0x40c000n,
    threads: 2,
    vcpus: [0, 1],
  },
];
const THREADS: ThreadInfo[] = [
  { tid: 2, pid: 2, state: 'sleeping', address: 0xffffffff80130030n },
  { tid: 0xc, pid: 0xb, state: 'running', address: 0xffffffff80130060n },
];

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof HvdbgError ? err.code : 'not an HvdbgError';
  }
  return 'no error';
};

describe('parsing', () => {
  it.each([
    ['', { kind: 'list' }],
    ['list', { kind: 'list' }],
    ['LIST', { kind: 'list' }],
    ['pid 5', { kind: 'one', id: '5' }],
    ['PID @rax + 1', { kind: 'one', id: '@rax + 1' }],
  ])('.process %j', (text, expected) => {
    expect(parseListOrOne(tokenize(text), '.process', 'pid')).toEqual(expected);
  });

  it.each(['pid', 'tid 5', 'list 5', '{ 5 }', 'all'])('refuses .process %j', (text) => {
    expect(code(() => parseListOrOne(tokenize(text), '.process', 'pid'))).toBe('E_BAD_PARAMETER');
  });

  it('settings: defaults, switches, and syntax intel only', () => {
    const st = new ClientSettings();
    expect([st.show('autoflush'), st.show('autounpause'), st.show('syntax'), st.show('addressconversion')]).toEqual([
      'off',
      'on',
      'intel',
      'on',
    ]);
    expect(st.set('autoflush', 'ON')).toBe('on');
    expect(st.autoflush).toBe(true);
    expect(st.set('syntax', 'intel')).toBe('intel');
    expect(() => st.set('syntax', 'att')).toThrow(/not supported yet/);
    expect(() => st.set('syntax', 'masm')).toThrow(/not supported yet/);
    expect(() => st.set('syntax', 'gas')).toThrow(/unknown syntax/);
    expect(code(() => st.set('addressconversion', 'maybe'))).toBe('E_BAD_PARAMETER');
  });
});

describe('formatting', () => {
  it('prints processes as a table, marking those a vCPU runs', () => {
    expect(formatProcesses(PROCESSES)).toEqual([
      '   pid  name     state  threads  cr3               process object    vcpus',
      '   0x2  cpuid    live   1        0000000000321000  ffffffff80120078  -',
      '*  0xb  threads  dying  2        000000000040c000  ffffffff801200f0  0,1',
    ]);
    expect(formatProcesses([])).toEqual(['no processes (the guest kernel has not started any)']);
  });

  it('prints threads with their process names', () => {
    expect(formatThreads(THREADS, PROCESSES)).toEqual([
      'tid  pid  process  state     thread object',
      '0x2  0x2  cpuid    sleeping  ffffffff80130030',
      '0xc  0xb  threads  running   ffffffff80130060',
    ]);
  });

  it('decodes family/model and describes a CPU from its leaves', async () => {
    expect(familyModel(0x000506e3)).toEqual({ family: 6, model: 0x5e, stepping: 3 });
    expect(familyModel(0x00a20f10)).toEqual({ family: 0x19, model: 0x21, stepping: 0 });
    const words = (s: string) =>
      [0, 4, 8, 12].map(
        (i) => s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24),
      );
    const brand = words('test CPU\0\0\0\0\0\0\0\0').concat(words('\0'.repeat(16)), words('\0'.repeat(16)));
    const leaves = new Map<number, number[]>([
      [0, [7, 0x756e6547, 0x6c65746e, 0x49656e69]],
      [1, [0x000506e3, 0, 1 << 23, (1 << 4) | (1 << 15)]],
      [7, [0, 1 << 3, 0, 0]],
      [0x80000000, [0x80000008, 0, 0, 0]],
      [0x80000001, [0, 0, 1, 1 << 29]],
      [0x80000002, brand.slice(0, 4)],
      [0x80000003, brand.slice(4, 8)],
      [0x80000004, brand.slice(8, 12)],
      [0x80000008, [(48 << 8) | 39, 0, 0, 0]],
    ]);
    const asked: number[] = [];
    const query = async (leaf: number): Promise<CpuidRegs> => {
      asked.push(leaf);
      const [eax, ebx, ecx, edx] = leaves.get(leaf) ?? [0, 0, 0, 0];
      return { eax: eax! >>> 0, ebx: ebx! >>> 0, ecx: ecx! >>> 0, edx: edx! >>> 0 };
    };
    expect(await describeCpu(query)).toEqual([
      'vendor:    GenuineIntel',
      'family:    0x6  model: 0x5e  stepping: 0x3',
      'brand:     test CPU',
      'addresses: 39 bits physical, 48 bits virtual',
      'features:  tsc cmov popcnt bmi1 lm lahf_lm',
    ]);
    expect(asked).not.toContain(0x80000005);
    expect(formatCpuid({ eax: 0x506e3, ebx: 0x10800, ecx: 0x800000, edx: 0xffffffff })).toBe(
      'eax=000506e3 ebx=00010800 ecx=00800000 edx=ffffffff',
    );
  });
});

describe('commands against a daemon', () => {
  let daemon: FakeDaemon | undefined;
  let session: DebugSession | undefined;
  afterEach(async () => {
    await session?.disconnect();
    await daemon?.stop();
    daemon = undefined;
    session = undefined;
  });

  async function attach() {
    let queued = 3;
    let symbolFetches = 0;
    daemon = await FakeDaemon.start({
      'symbols.get': () => {
        symbolFetches++;
        return {
          modules: [{ name: 'kernel', base: 0xffffffff80000000n, size: 0x100000n }],
          symbols: [{ name: 'main', module: 'kernel', address: 0xffffffff80001000n, size: 0x10n, kind: 'function' }],
        };
      },
      'guest.processes': () => ({ processes: PROCESSES }),
      'guest.threads': () => ({ threads: THREADS }),
      'cpu.cpuid': ({ leaf, subleaf, vcpu }) => ({ eax: leaf, ebx: subleaf ?? 0, ecx: vcpu ?? 0, edx: 0 }),
      'queue.flush': () => {
        const discarded = queued;
        queued = 0;
        return { discarded };
      },
      'event.modify': () => ({ affected: 1 }),
    });
    session = new DebugSession();
    await session.connect(daemon.url);
    return { daemon, session, fetches: () => symbolFetches };
  }

  it('.process and .thread list the tables and show one entry', async () => {
    const { session } = await attach();
    expect((await session.execute('.process')).lines).toEqual(formatProcesses(PROCESSES));
    expect((await session.execute('.process pid b')).lines).toEqual(formatProcesses([PROCESSES[1]!]));
    expect(await session.execute('.process pid 7')).toMatchObject({ ok: false, error: { code: 'E_BAD_PARAMETER' } });
    expect((await session.execute('.thread list')).lines).toEqual(formatThreads(THREADS, PROCESSES));
    expect((await session.execute('.thread tid 0n12')).lines).toEqual(formatThreads([THREADS[1]!], PROCESSES));
    expect(await session.execute('.thread tid 99')).toMatchObject({ ok: false, error: { code: 'E_BAD_PARAMETER' } });
  });

  it('cpuid sends leaf, subleaf and the main core; cpu asks leaf 0 first', async () => {
    const { daemon, session } = await attach();
    session.vcpu = 1;
    expect((await session.execute('cpuid 80000001 2')).lines).toEqual([
      'eax=80000001 ebx=00000002 ecx=00000001 edx=00000000',
    ]);
    expect((await session.execute('cpuid 1')).lines).toEqual(['eax=00000001 ebx=00000000 ecx=00000001 edx=00000000']);
    expect(await session.execute('cpuid')).toMatchObject({ ok: false, error: { code: 'E_BAD_PARAMETER' } });
    expect(await session.execute('cpuid 100000000')).toMatchObject({ ok: false, error: { code: 'E_BAD_VALUE' } });
    const before = daemon.requests.length;
    const cpu = await session.execute('cpu');
    expect(cpu.ok).toBe(true);
    expect(daemon.requests.slice(before)[0]).toEqual({ op: 'cpu.cpuid', args: { leaf: 0, subleaf: 0, vcpu: 1 } });
  });

  it('flush reports the discarded count; autoflush flushes after events d|c', async () => {
    const { daemon, session } = await attach();
    expect((await session.execute('flush')).lines).toEqual(['flushed: 3 queued messages discarded']);
    expect((await session.execute('flush')).lines).toEqual(['flushed: 0 queued messages discarded']);
    const flushes = () => daemon.requests.filter((r) => r.op === 'queue.flush').length;
    await session.execute('events d 1');
    expect(flushes()).toBe(2);
    expect((await session.execute('settings autoflush on')).lines).toEqual(['autoflush is now on']);
    expect((await session.execute('events c all')).lines).toEqual([
      '1 event cleared',
      'autoflush: 0 queued messages discarded',
    ]);
    expect(flushes()).toBe(3);
  });

  it('settings shows and sets; .sym reload fetches symbols again; .cls asks the terminal to clear', async () => {
    const { session, fetches } = await attach();
    expect((await session.execute('settings')).lines).toEqual([
      'autoflush          off',
      'autounpause        on',
      'syntax             intel',
      'addressconversion  on',
    ]);
    expect((await session.execute('settings syntax')).lines).toEqual(['syntax is intel']);
    expect(await session.execute('settings syntax att')).toMatchObject({
      ok: false,
      error: { code: 'E_BAD_PARAMETER' },
    });
    expect(await session.execute('settings colour on')).toMatchObject({
      ok: false,
      error: { code: 'E_BAD_PARAMETER' },
    });
    const n = fetches();
    expect((await session.execute('.sym reload')).lines).toEqual(['1 module(s), 1 symbols loaded']);
    expect(fetches()).toBe(n + 1);
    expect(await session.execute('.sym load foo')).toMatchObject({ ok: false });
    let cleared = 0;
    session.on('clear', () => cleared++);
    expect(await session.execute('.cls')).toMatchObject({ ok: true, lines: [] });
    expect(cleared).toBe(1);
  });
});
