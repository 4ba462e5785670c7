/**
 * The debugger's state and its one entry point, `execute(line)`: it tracks the connection, run
 * state, main core and symbols; turns notifications into printable output; and runs commands from
 * the table, turning any error into one line (plus a caret for script syntax errors). The REPL,
 * batch mode and e2e tests all drive this class; only printing differs.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import {
  type HaltInfo,
  HvdbgError,
  type LogRecord,
  type Mode,
  type RequestArgs,
  type RequestOp,
  type RequestResults,
  type Role,
  type StateChangedNotice,
  type WelcomeMessage,
} from '@hvdbg/protocol';
import { type ConnectOptions, DebuggerClient } from './client.js';
import { findCommand } from './commands/table.js';
import type { CommandContext, ParsedLine } from './commands/types.js';
import { ConsoleLines } from './consoleLines.js';
import { disassemble, formatInstruction } from './disasm.js';
import { type ExprEnv, evaluate } from './expr.js';
import { formatCaret, formatError, formatHaltReason, formatLog, formatStateChange } from './format.js';
import { hex, readLE } from './numbers.js';
import { type CompileMode, defaultCompiler, type ScriptCompiler } from './scriptc.js';
import { ClientSettings } from './settings.js';
import { SymbolTable } from './symbols.js';
import { tokenize } from './tokenize.js';
import { Transcript } from './transcript.js';

export type SessionState = 'disconnected' | 'running' | 'halted' | 'stopped';

/** Something to print that did not come from the command being run. */
export type SessionOutput =
  | { kind: 'halt'; lines: string[]; halt: HaltInfo; symbol?: string }
  | { kind: 'log'; lines: string[]; records: LogRecord[] }
  | { kind: 'console'; lines: string[]; text: string }
  | { kind: 'info'; lines: string[] };

export interface CommandOutcome {
  command: string;
  ok: boolean;
  lines: string[];
  data?: unknown;
  error?: { code: string; message: string };
}

export interface SessionEvents {
  output: [SessionOutput];
  /** State, core or connection changed (the REPL redraws its prompt). */
  state: [];
  /** `exit` was run. */
  exit: [];
  /** `.cls`: the terminal should clear its screen. */
  clear: [];
}

/** A local daemon started by `.connect local` or `hvdbg local`. */
export interface LocalDaemon {
  url: string;
  stop(): Promise<void>;
}

export interface SessionOptions {
  compiler?: ScriptCompiler;
  /** Starts a local daemon for `.connect local`. */
  spawnLocal?: () => Promise<LocalDaemon>;
  /** Colour changed registers (terminals only). */
  color?: boolean;
  clientName?: string;
  /** Default for `.wait halt` and stepping, milliseconds. */
  haltTimeoutMs?: number;
}

export class DebugSession extends EventEmitter<SessionEvents> {
  readonly client = new DebuggerClient();
  readonly options: SessionOptions;
  welcome: WelcomeMessage | undefined = undefined;
  state: SessionState = 'disconnected';
  halt: HaltInfo | undefined = undefined;
  /** Main core: the core of the last halt or `~ n`. */
  vcpu = 0;
  /** Where `db`/`u` without an address continue. */
  nextDump: bigint | undefined = undefined;
  nextDisasm: bigint | undefined = undefined;
  /** Halts seen on this connection; tells a stale `resumed` from a fresh one. */
  haltCount = 0;
  /** The last command Enter repeats. */
  lastRepeatable: string | undefined = undefined;
  private symbolTable: SymbolTable | undefined = undefined;
  private symbolFetch: Promise<SymbolTable> | undefined = undefined;
  private haltWaiters: ((halt: HaltInfo) => void)[] = [];
  /** Registers at the current halt and at the one before it, for highlighting changes. */
  private haltRegs: Promise<Record<string, bigint> | undefined> = Promise.resolve(undefined);
  private prevHaltRegs: Promise<Record<string, bigint> | undefined> = Promise.resolve(undefined);
  private readonly consoleLines = new ConsoleLines((text) => this.emitConsole(text));
  private localDaemon: LocalDaemon | undefined = undefined;
  /** The `.logopen` copy of the session. */
  readonly transcript = new Transcript();
  /** `settings`: client-side options. */
  readonly settings = new ClientSettings();
  /** Set while this side closes the connection, so the close is not reported as a loss. */
  private leaving = false;

  constructor(options: SessionOptions = {}) {
    super();
    this.options = options;
    this.client.on('halted', (halt) => this.onHalted(halt));
    this.client.on('resumed', () => this.setState('running'));
    this.client.on('log', (records) => this.publish({ kind: 'log', lines: records.map(formatLog), records }));
    this.client.on('console', (text) => this.consoleLines.push(text));
    this.client.on('dropped', (d) =>
      this.info(
        `warning: ${d.count.toString()} log messages (${d.bytes.toString()} bytes) were dropped (${d.reason}), events ${d.eventIds.map(hex).join(', ') || '-'}`,
      ),
    );
    this.client.on('eventsChanged', (e) => {
      if (e.byClient !== undefined && e.byClient !== this.welcome?.sessionId)
        this.info(`events changed by client ${e.byClient}`);
    });
    this.client.on('stateChanged', (c) => this.onStateChanged(c));
    this.client.on('clientJoined', (c) => this.info(`client ${c.clientId} (${c.name}) joined as ${c.role}`));
    this.client.on('clientLeft', (c) => this.info(`client ${c.clientId} left (${c.reason})`));
    this.client.on('roleChanged', (c) => {
      if (c.clientId === this.welcome?.sessionId && this.welcome !== undefined) this.welcome.role = c.role;
      this.info(`client ${c.clientId} is now ${c.role}`);
      this.emit('state');
    });
    this.client.on('sessionClosed', (s) => this.info(`the daemon closed the session: ${s.reason}`));
    this.client.on('protocolError', (err) => this.info(formatError(err)));
    this.client.on('close', () => {
      this.consoleLines.flush();
      if (this.state !== 'disconnected' && !this.leaving) this.info('the connection to the daemon was lost');
      this.welcome = undefined;
      this.halt = undefined;
      this.symbolTable = undefined;
      this.symbolFetch = undefined;
      this.setState('disconnected');
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  get mode(): Mode | undefined {
    return this.welcome?.mode;
  }

  get role(): Role | undefined {
    return this.welcome?.role;
  }

  get isLocal(): boolean {
    return this.welcome?.mode === 'local';
  }

  /** Connects, loads symbols and adopts the daemon's run state. */
  async connect(target: string, options: ConnectOptions = {}): Promise<WelcomeMessage> {
    if (this.client.connected) throw new HvdbgError('E_BAD_PARAMETER', 'already connected; use .disconnect first');
    const welcome = await this.client.connect(target, { clientName: this.options.clientName ?? 'hvdbg', ...options });
    this.welcome = welcome;
    this.halt = welcome.halt;
    if (welcome.halt !== undefined) this.vcpu = welcome.halt.vcpu;
    this.state = welcome.state;
    this.prevHaltRegs = Promise.resolve(undefined);
    this.haltRegs = welcome.halt === undefined ? Promise.resolve(undefined) : this.snapshotRegisters(welcome.halt.vcpu);
    this.emit('state');
    await this.symbols().catch(() => SymbolTable.empty());
    return welcome;
  }

  /** Starts a local daemon (through the CLI's spawner) and connects as controller. */
  async connectLocal(): Promise<WelcomeMessage> {
    if (this.options.spawnLocal === undefined)
      throw new HvdbgError('E_CONFIG', 'this client cannot start a local daemon');
    const daemon = await this.options.spawnLocal();
    try {
      const welcome = await this.connect(daemon.url, { role: 'controller' });
      this.localDaemon = daemon;
      return welcome;
    } catch (err) {
      await daemon.stop();
      throw err;
    }
  }

  /** Leaves the daemon (an orderly detach); a daemon this session started is stopped. */
  async disconnect(): Promise<void> {
    if (this.client.connected) {
      this.leaving = true;
      try {
        await this.client.request('disconnect', {}, { timeoutMs: 2000 }).catch(() => undefined);
        await this.client.close();
      } finally {
        this.leaving = false;
      }
    }
    this.consoleLines.flush();
    const daemon = this.localDaemon;
    this.localDaemon = undefined;
    if (daemon !== undefined) await daemon.stop();
  }

  request<Op extends RequestOp>(op: Op, args: RequestArgs[Op], timeoutMs?: number): Promise<RequestResults[Op]> {
    return this.client.request(op, args, timeoutMs === undefined ? {} : { timeoutMs });
  }

  /** The symbol table, fetched once per connection. */
  symbols(): Promise<SymbolTable> {
    if (this.symbolTable !== undefined) return Promise.resolve(this.symbolTable);
    if (!this.client.connected) return Promise.resolve(SymbolTable.empty());
    this.symbolFetch ??= this.request('symbols.get', {}).then(
      (r) => {
        this.symbolTable = new SymbolTable(r.modules, r.symbols);
        return this.symbolTable;
      },
      (err) => {
        this.symbolFetch = undefined;
        throw err;
      },
    );
    return this.symbolFetch;
  }

  /** `.sym reload`: forgets the table and fetches it again. */
  reloadSymbols(): Promise<SymbolTable> {
    this.symbolTable = undefined;
    this.symbolFetch = undefined;
    return this.symbols();
  }

  /** Symbols already loaded (empty before the first fetch): for prompts and completion. */
  get loadedSymbols(): SymbolTable {
    return this.symbolTable ?? SymbolTable.empty();
  }

  symbolize(address: bigint): string | undefined {
    return this.loadedSymbols.symbolize(address);
  }

  /** The environment expressions evaluate in: symbols locally, registers and memory from the daemon. */
  exprEnv(): ExprEnv {
    const register = async (name: string) => {
      const r = await this.request('regs.get', { vcpu: this.vcpu, names: [name] });
      const v = r.regs[name];
      if (v === undefined) throw new HvdbgError('E_BAD_REGISTER', `no register @${name}`);
      return v;
    };
    return {
      symbol: (name) => this.loadedSymbols.resolve(name),
      register,
      pseudo: async (name) => {
        const eventId = this.halt?.eventId;
        switch (name) {
          case 'ip':
            return register('rip');
          case 'core':
            return BigInt(this.vcpu);
          case 'event_id':
            return BigInt(eventId ?? 0);
          case 'event_tag':
            // SPEC §2.3: tags start at 0x1000000 and id = tag - 0x1000000.
            return eventId === undefined ? 0n : BigInt(eventId) + 0x1000000n;
          case 'event_stage':
            return this.halt?.stage === 'post' ? 1n : 0n;
          case 'context':
            return this.halt?.context ?? 0n;
          default:
            throw new HvdbgError('E_BAD_PARAMETER', `$${name} is only available inside scripts (use ? or print)`);
        }
      },
      memory: async (address, size) => {
        const r = await this.request('mem.read', { address, length: size, space: 'virtual', vcpu: this.vcpu });
        return readLE(r.bytes, 0, size);
      },
    };
  }

  async evaluate(expression: string): Promise<bigint> {
    await this.symbols().catch(() => undefined);
    return evaluate(expression, this.exprEnv());
  }

  /** Compiles a script for an event or `?`; a syntax error carries the source for the caret. */
  compile(source: string, mode: CompileMode = 'statements'): Uint8Array {
    const compiler = this.options.compiler ?? defaultCompiler;
    return compiler(source, mode, this.loadedSymbols);
  }

  readFile(path: string): string {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new HvdbgError('E_BAD_PARAMETER', `cannot read ${path}: ${(err as Error).message}`);
    }
  }

  /** Resolves at the next halt notification, or rejects with E_TIMEOUT. */
  waitForHalt(timeoutMs = this.options.haltTimeoutMs ?? 10_000): Promise<HaltInfo> {
    return new Promise((resolve, reject) => {
      const waiter = (halt: HaltInfo) => {
        clearTimeout(timer);
        resolve(halt);
      };
      const timer = setTimeout(() => {
        this.haltWaiters = this.haltWaiters.filter((w) => w !== waiter);
        reject(new HvdbgError('E_TIMEOUT', `no halt within ${timeoutMs} ms`));
      }, timeoutMs);
      this.haltWaiters.push(waiter);
    });
  }

  /** Registers of the main core now, and the set that changed since the previous halt. */
  async registersWithChanges(): Promise<{
    regs: Record<string, bigint>;
    previous: Record<string, bigint> | undefined;
  }> {
    const [now, previous] = await Promise.all([this.request('regs.get', { vcpu: this.vcpu }), this.prevHaltRegs]);
    return { regs: now.regs, previous };
  }

  /** Fails unless the session may change the guest: connected, controller, not local for halting commands. */
  requireController(): void {
    this.requireConnection();
    if (this.role === 'observer') throw new HvdbgError('E_FORBIDDEN');
  }

  requireConnection(): void {
    if (!this.client.connected) throw new HvdbgError('E_DISCONNECTED');
  }

  /** The guest's state is frozen: halted, or stopped for good (state still readable, post mortem). */
  requireHalted(): void {
    this.requireConnection();
    if (this.state !== 'halted' && this.state !== 'stopped') throw new HvdbgError('E_NOT_HALTED');
  }

  /** The guest can be resumed or stepped. */
  requireResumable(): void {
    this.requireConnection();
    if (this.state === 'stopped') throw new HvdbgError('E_GUEST_STOPPED');
    if (this.state !== 'halted') throw new HvdbgError('E_NOT_HALTED');
  }

  /** The REPL prompt: run state, main core and where it stopped. */
  prompt(): string {
    const tags: string[] = [];
    if (this.role === 'observer') tags.push('observer');
    if (this.isLocal) tags.push('local');
    if (this.state === 'halted' && this.halt !== undefined) {
      const where = this.symbolize(this.halt.rip) ?? hex(this.halt.rip);
      tags.push(`halted vcpu ${this.vcpu} ${where}`);
    } else tags.push(this.state);
    return `hvdbg [${tags.join(' ')}]> `;
  }

  /** Runs one command line and reports what it printed; never throws. */
  async execute(text: string): Promise<CommandOutcome> {
    const lines: string[] = [];
    const outcome: CommandOutcome = { command: text.trim(), ok: true, lines };
    const ctx: CommandContext = {
      session: this,
      print: (line) => lines.push(line),
      setData: (data) => {
        outcome.data = data;
      },
    };
    try {
      const tokens = tokenize(text);
      const head = tokens[0];
      if (head === undefined) return outcome;
      if (head.block) throw new HvdbgError('E_BAD_PARAMETER', 'a command cannot start with a {…} block');
      const spec = findCommand(head.text);
      if (spec === undefined) throw new HvdbgError('E_BAD_PARAMETER', `unknown command '${head.text}' (try help)`);
      if (this.isLocal && !spec.local) {
        throw new HvdbgError(
          'E_LOCAL_MODE',
          `${spec.name} is not available in local mode: the guest never halts there`,
        );
      }
      const rest = text.slice(head.start + head.text.length).trim();
      const parsed: ParsedLine = { text: text.trim(), word: head.text, args: tokens.slice(1), rest };
      // Set before running: dumps and `u` replace it with their address-less continuation.
      this.lastRepeatable = spec.repeatable ? text.trim() : undefined;
      await spec.run(ctx, parsed);
    } catch (err) {
      outcome.ok = false;
      const code = err instanceof HvdbgError ? err.code : 'E_INTERNAL';
      outcome.error = { code, message: err instanceof Error ? err.message : String(err) };
      const data = err instanceof HvdbgError ? err.data : undefined;
      if (code === 'E_SCRIPT_SYNTAX' && typeof data?.source === 'string' && typeof data.line === 'number') {
        lines.push(
          ...formatCaret(data.source, data.line, Number(data.column ?? 1), err instanceof Error ? err.message : ''),
        );
      } else lines.push(formatError(err));
    }
    this.transcript.append([`hvdbg> ${outcome.command}`, ...lines]);
    return outcome;
  }

  /** Lines describing a halt: the reason, then the current instruction under its symbol. */
  describeHalt(halt: HaltInfo): string[] {
    const where = this.symbolize(halt.rip);
    const lines = [
      `${formatHaltReason(halt)}, vcpu ${halt.vcpu}${halt.byClient === undefined || halt.byClient === this.welcome?.sessionId ? '' : ` (by client ${halt.byClient})`}`,
    ];
    if (where !== undefined) lines.push(`${where}:`);
    const [ins] = disassemble(halt.bytes, halt.rip, (a) => this.symbolize(a), 1);
    lines.push(ins === undefined ? `${hex(halt.rip)}  ??` : formatInstruction(ins));
    return lines;
  }

  /**
   * After a successful continue: the guest runs, unless a halt already arrived since `haltCount`
   * was read (a fast event can overtake the response and its `resumed` notice).
   */
  markRunning(haltCountBefore: number): void {
    if (this.haltCount === haltCountBefore && this.state === 'halted') this.setState('running');
  }

  private onHalted(halt: HaltInfo): void {
    this.haltCount++;
    this.consoleLines.flush();
    this.halt = halt;
    this.vcpu = halt.vcpu;
    this.nextDisasm = undefined;
    this.state = halt.reason === 'triple-fault' || halt.reason === 'shutdown' ? 'stopped' : 'halted';
    this.prevHaltRegs = this.haltRegs;
    this.haltRegs = this.snapshotRegisters(halt.vcpu);
    const symbol = this.symbolize(halt.rip);
    // State first, so a prompt redrawn under the halt report already shows the halt.
    this.emit('state');
    this.publish({ kind: 'halt', lines: this.describeHalt(halt), halt, ...(symbol ? { symbol } : {}) });
    const waiters = this.haltWaiters;
    this.haltWaiters = [];
    for (const w of waiters) w(halt);
  }

  /**
   * A client changed the guest's state. Others' changes are reported; any change (this client's
   * too: it arrives before the response) refreshes what this session keeps about the halt.
   */
  private onStateChanged(change: Omit<StateChangedNotice, 't'>): void {
    const own = change.byClient === this.welcome?.sessionId;
    if (!own) this.info(formatStateChange(change));
    const halt = this.halt;
    if (halt === undefined || this.state !== 'halted') return;
    switch (change.what) {
      case 'registers':
        // The next halt highlights against this snapshot: written values must not look like the guest's doing.
        if (change.vcpu === undefined || change.vcpu === halt.vcpu) this.haltRegs = this.snapshotRegisters(halt.vcpu);
        return;
      case 'memory':
        if (change.vcpu === halt.vcpu && overlaps(change, halt.rip, halt.bytes.length)) this.refreshHaltBytes(halt);
        return;
      case 'core':
        // `~ n` of this client already adopted the core's halt from its response.
        if (!own) this.followCore();
        return;
      default:
        // Breakpoints, MSRs, short-circuiting and the queue: nothing of them is kept here.
        return;
    }
  }

  /** The instruction bytes shown at the halt were overwritten: read them again. */
  private refreshHaltBytes(halt: HaltInfo): void {
    this.request('mem.read', { address: halt.rip, length: halt.bytes.length, space: 'virtual', vcpu: halt.vcpu }).then(
      (r) => {
        if (this.halt === halt) this.halt = { ...halt, bytes: r.bytes };
      },
      () => undefined, // unreadable now: the old bytes stay, as they did before the write
    );
  }

  /** Another client switched the main core: adopt it and its halt, as `~ n` does. */
  private followCore(): void {
    const count = this.haltCount;
    this.request('status', {}).then(
      (s) => {
        if (s.halt === undefined || this.haltCount !== count || this.state !== 'halted') return;
        this.halt = s.halt;
        this.vcpu = s.halt.vcpu;
        this.nextDisasm = undefined;
        this.emit('state');
      },
      () => undefined,
    );
  }

  /** Registers at a halt, kept to highlight what the next halt changed. */
  private snapshotRegisters(vcpu: number): Promise<Record<string, bigint> | undefined> {
    return this.request('regs.get', { vcpu }).then(
      (r) => r.regs,
      () => undefined,
    );
  }

  private emitConsole(text: string): void {
    const lines = text.split('\n').map((l) => `[guest] ${l.replace(/\r$/, '')}`);
    this.publish({ kind: 'console', lines, text });
  }

  /** Sends output to listeners and to the `.logopen` file. */
  private publish(output: SessionOutput): void {
    this.transcript.append(output.lines);
    this.emit('output', output);
  }

  private info(line: string): void {
    this.publish({ kind: 'info', lines: [line] });
  }

  private setState(state: SessionState): void {
    if (state === 'running') this.halt = undefined;
    this.state = state;
    this.emit('state');
  }
}

/** Whether a changed memory range touches [address, address + length). */
function overlaps(change: { address?: bigint; length?: number }, address: bigint, length: number): boolean {
  if (change.address === undefined || change.length === undefined) return true;
  return change.address < address + BigInt(length) && address < change.address + BigInt(change.length);
}
