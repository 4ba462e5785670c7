/**
 * One example of every protocol message, op arguments and op result, in the normalised form the
 * validators produce. The mapped types make the compiler refuse a table that misses an op or a
 * notification, so the round-trip and interoperability tests cover each new message on their own.
 * Values sit at the edges where encodings change: 2^64-1, 2^63, 2^53, 2^32, zero, empty bins.
 */
import type {
  ClientMessage,
  HaltInfo,
  HelloMessage,
  Notification,
  RequestArgs,
  RequestOp,
  RequestResults,
  ServerMessage,
  WelcomeMessage,
} from './messages.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;

export const SAMPLE_HALT: HaltInfo = {
  reason: 'event',
  vcpu: 1,
  rip: 0xffff_ffff_8100_0000n,
  rflags: 0x246n,
  bytes: new Uint8Array([0x0f, 0x05]),
  eventId: 3,
  stage: 'pre',
  context: 0x3cn,
  byClient: 2,
  lastSeq: 1n << 53n,
};

export const SAMPLE_HELLO: HelloMessage = {
  t: 'hello',
  protocolVersion: 1,
  role: 'controller',
  token: 's3cret',
  clientName: 'hvdbg 0.1.0',
};

export const SAMPLE_ARGS: { readonly [Op in RequestOp]: RequestArgs[Op] } = {
  'event.add': {
    kind: 'monitor',
    param: 0x3cn,
    mask: U64_MAX,
    access: 'rw',
    rangeStart: 0xffff_f800_0020_0000n,
    rangeEnd: 0xffff_f800_0020_0fffn,
    space: 'virtual',
    direction: 'ku',
    pid: 0x1a,
    core: 0,
    stage: 'all',
    sc: false,
    imm: true,
    bufferSize: 8,
    condition: new Uint8Array([0x31, 0xc0, 0xc3]),
    actions: [
      { type: 'break' },
      { type: 'script', buffer: new Uint8Array([1, 2, 3]), source: 'printf("%llx\\n", @rip);' },
      { type: 'code', bytes: new Uint8Array([0xf0, 0x48, 0xff, 0x01, 0xc3]) },
    ],
    text: '!monitor rw fffff80000200000 l 1000',
  },
  'event.list': {},
  'event.modify': { id: 'all', action: 'disable' },
  'event.setSc': { on: true },
  'event.readBuffer': { id: 7 },
  'exec.continue': {},
  'exec.pause': {},
  'exec.step': { kind: 'over', count: 1_000_000, vcpu: 3 },
  'exec.switchCore': { vcpu: 0xffff_ffff },
  'exec.detach': {},
  'regs.get': { vcpu: 0, names: ['rax', 'rip', 'cr3'] },
  'regs.set': { vcpu: 1, name: 'rax', value: U64_MAX },
  'mem.read': { address: 0n, length: 4096, space: 'physical', vcpu: 0, pid: 4 },
  'mem.write': { address: 1n << 63n, bytes: new Uint8Array(0), space: 'virtual' },
  'mem.translate': { address: 0x7fff_ffff_f000n, pid: 1 },
  'symbols.get': {},
  'symbols.lookup': { name: 'kernel!do_open' },
  'script.eval': { buffer: new Uint8Array([9, 8, 7]), vcpu: 2 },
  'bp.add': { address: 0xffff_ffff_8100_1234n, pid: 1, tid: 2, core: 3 },
  'bp.list': {},
  'bp.modify': { id: 12, action: 'clear' },
  'cpu.rdmsr': { msr: 0xc000_0082 },
  'cpu.wrmsr': { msr: 0xc000_0080, value: 0xd01n, vcpu: 0 },
  'cpu.cpuid': { leaf: 0x8000_0001, subleaf: 0, vcpu: 1 },
  'guest.processes': {},
  'guest.threads': { pid: 4 },
  'queue.flush': {},
  status: {},
  'control.take': {},
  disconnect: {},
};

const SAMPLE_SYMBOL = {
  name: 'do_open',
  module: 'kernel',
  address: 0xffff_ffff_8100_2000n,
  size: 0x80n,
  kind: 'function',
} as const;

export const SAMPLE_RESULTS: { readonly [Op in RequestOp]: RequestResults[Op] } = {
  'event.add': { id: 1, tag: 0x1_0000_0001n, warnings: ['stage post ignored'] },
  'event.list': {
    events: [{ id: 1, tag: 0x1_0000_0001n, enabled: true, kind: 'syscall', text: '!syscall 3c', hits: 1n << 40n }],
  },
  'event.modify': { affected: 4 },
  'event.setSc': {},
  'event.readBuffer': { bytes: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]) },
  'exec.continue': {},
  'exec.pause': {},
  'exec.step': {},
  'exec.switchCore': { halt: SAMPLE_HALT },
  'exec.detach': {},
  'regs.get': { vcpu: 0, regs: { rax: 0n, rip: 0xffff_ffff_8100_0000n, rflags: 2n, r15: U64_MAX } },
  'regs.set': {},
  'mem.read': { bytes: new Uint8Array([0x90, 0x90, 0xc3]) },
  'mem.write': { written: 0 },
  'mem.translate': { physical: 0x20_0000n, entries: [0x1003n, 0x2003n, 0x3083n, U64_MAX] },
  'symbols.get': {
    modules: [{ name: 'kernel', base: 0xffff_ffff_8100_0000n, size: 0x10_0000n }],
    symbols: [SAMPLE_SYMBOL, { ...SAMPLE_SYMBOL, name: 'jiffies', kind: 'object', size: 8n }],
  },
  'symbols.lookup': { symbols: [SAMPLE_SYMBOL] },
  'script.eval': {
    output: ['0x10', ''],
    error: { code: 'E_SCRIPT_RUNTIME', message: 'division by zero', data: { pc: 12, nested: [1, 'x'] } },
  },
  'bp.add': { id: 2 },
  'bp.list': {
    breakpoints: [{ id: 2, address: 0x40_1000n, enabled: false, pid: 1, tid: 1, core: 0, hits: 0n }],
  },
  'bp.modify': { affected: 1 },
  'cpu.rdmsr': { value: 0xffff_ffff_8100_0040n },
  'cpu.wrmsr': {},
  'cpu.cpuid': { eax: 0x506e3, ebx: 0x1_0800, ecx: 0x80_0000, edx: 0x1_a250 },
  'guest.processes': {
    processes: [
      {
        pid: 4,
        name: 'threads',
        state: 'live',
        address: 0xffff_ffff_8012_0168n,
        cr3: 0x0032_1000n,
        threads: 2,
        vcpus: [1],
      },
    ],
  },
  'guest.threads': { threads: [{ tid: 6, pid: 4, state: 'sleeping', address: 0xffff_ffff_8012_1a40n }] },
  'queue.flush': { discarded: 17 },
  status: {
    state: 'halted',
    mode: 'remote',
    halt: SAMPLE_HALT,
    vcpus: 2,
    instructions: 123_456_789_012n,
    clients: [
      { id: 1, role: 'controller', name: 'hvdbg' },
      { id: 2, role: 'observer', name: 'watcher' },
    ],
    controllerId: 1,
    events: 3,
    drops: 0n,
    lossless: true,
    queueDepth: 0,
  },
  'control.take': { role: 'controller' },
  disconnect: {},
};

export const SAMPLE_WELCOME: WelcomeMessage = {
  t: 'welcome',
  sessionId: 42,
  protocolVersion: 1,
  serverVersion: '0.1.0',
  role: 'observer',
  capabilities: ['gdb', 'lossless'],
  guest: {
    name: 'hvdbg-guest',
    vcpus: 2,
    memoryBytes: 64n << 20n,
    workload: 'default',
    kernelBase: 0xffff_ffff_8100_0000n,
    modules: [{ name: 'kernel', base: 0xffff_ffff_8100_0000n, size: 0x10_0000n }],
  },
  mode: 'remote',
  state: 'halted',
  halt: { ...SAMPLE_HALT, reason: 'startup' },
  controllerId: 1,
};

export const SAMPLE_NOTIFICATIONS: { readonly [T in Notification['t']]: Extract<Notification, { t: T }> } = {
  halted: { t: 'halted', ...SAMPLE_HALT },
  resumed: { t: 'resumed', byClient: 1, step: true },
  log: {
    t: 'log',
    batch: [
      {
        seq: 0n,
        eventId: 1,
        kind: 5,
        vcpu: 0,
        pid: 0x1a,
        tid: 0x1a,
        time: 0xffff_ffffn,
        stage: 'pre',
        text: 'open /etc/passwd\n',
      },
      {
        seq: U64_MAX,
        eventId: 2,
        kind: 6,
        vcpu: 1,
        pid: 0,
        tid: 0,
        time: 1n << 53n,
        stage: 'post',
        late: true,
        bytes: new Uint8Array([1]),
      },
    ],
  },
  console: { t: 'console', text: 'hello from the guest\r\n' },
  eventsChanged: { t: 'eventsChanged', byClient: 2 },
  stateChanged: {
    t: 'stateChanged',
    what: 'memory',
    byClient: 2,
    vcpu: 1,
    address: 0xffff_8000_0000_1000n,
    length: 16,
    detail: 'virtual',
  },
  clientJoined: { t: 'clientJoined', clientId: 2, role: 'observer', name: 'watcher' },
  clientLeft: { t: 'clientLeft', clientId: 2, reason: 'disconnect' },
  roleChanged: { t: 'roleChanged', clientId: 2, role: 'controller' },
  dropped: {
    t: 'dropped',
    count: 10n,
    firstSeq: 100n,
    lastSeq: 109n,
    bytes: 4096n,
    eventIds: [1, 2],
    reason: 'client-slow',
  },
  sessionClosed: { t: 'sessionClosed', reason: 'daemon shutting down' },
};

/** Every client message: the hello and one request per op. */
export function sampleClientMessages(): ClientMessage[] {
  const requests = (Object.keys(SAMPLE_ARGS) as RequestOp[]).map(
    (op, i): ClientMessage => ({ t: 'req', id: i + 1, op, args: SAMPLE_ARGS[op] }),
  );
  return [SAMPLE_HELLO, ...requests];
}

/**
 * Every server message kind except successful responses, whose result needs its op to validate
 * (see SAMPLE_RESULTS).
 */
export function sampleServerMessages(): ServerMessage[] {
  return [
    SAMPLE_WELCOME,
    { t: 'refused', error: { code: 'E_VERSION', message: 'version mismatch', data: { client: 2, server: 1 } } },
    { t: 'res', id: 9, ok: false, error: { code: 'E_NOT_HALTED', message: 'the guest must be halted' } },
    ...Object.values(SAMPLE_NOTIFICATIONS),
  ];
}
