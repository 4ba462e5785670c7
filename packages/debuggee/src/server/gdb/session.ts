/**
 * One gdb connection: acks, packet dispatch and the stop-reply rule (gdb manual, Appendix E
 * "Packets", "Stop Reply Packets", "General Query Packets").
 *
 * All-stop model: gdb's c/s/vCont resumes the whole guest and then waits for exactly one stop
 * reply; while it waits, only an interrupt byte (→ target.pause) and guest console text (→ `O`
 * packets) travel. vCPUs are threads (id = vCPU + 1, since 0 and -1 mean "any" and "all").
 *
 * Breakpoints are the target's hidden breakpoints (EPT hooks, invisible to the guest); watchpoints
 * are `!monitor` events with a break action at the post stage, so the halt comes after the access
 * as with x86 debug registers, and the stop reply names the accessed address.
 *
 * Every handler returns its reply; a throw from the target becomes an `E` reply (user errors
 * carry the hvdbg code in the log), so no packet can take the daemon down.
 */
import { type HaltInfo, HvdbgError, type StateChange } from '@hvdbg/protocol';
import type { Logger } from 'pino';
import type { DebugTarget, TargetListener } from '../../target.js';
import {
  readMemoryPacket,
  readRegisterPacket,
  writeBinaryPacket,
  writeMemoryPacket,
  writeRegisterPacket,
} from './dataPackets.js';
import { runMonitorCommand } from './monitor.js';
import {
  E_BAD_PACKET,
  E_FAULT,
  E_TARGET,
  framePacket,
  MAX_PACKET_BYTES,
  PacketReader,
  parseHexNumber,
  type ReadItem,
  toHex,
} from './packets.js';
import { GdbPoints, MAX_WATCH_BYTES, type PointType, type WatchKind } from './points.js';
import { encodeAll, readAll, writeAll } from './registers.js';
import { EXIT_REPLY, type StopDetail, stopReplyFor, watchDetail } from './stopReply.js';
import { featuresReply } from './targetXml.js';

/** What the session needs from its transport. */
export interface GdbTransport {
  write(bytes: Buffer): void;
  /** Ends the connection after pending writes. */
  end(): void;
}

/** Hex characters of monitor output per `O` packet. */
const CONSOLE_CHUNK = 1024;

/** A watched access being completed by a one-instruction step. */
interface PendingWatch {
  eventId: number;
  hit: { kind: WatchKind; address: bigint } | undefined;
}

export class GdbSession implements TargetListener {
  private readonly reader = new PacketReader();
  private noAck = false;
  /** The last packet sent, for a `-` resend (ack mode only). */
  private lastSent: Buffer | undefined = undefined;
  /** gdb resumed the guest and waits for one stop reply. */
  private waiting = false;
  private swbreak = false;
  private hwbreak = false;
  /** Hg: the vCPU register and memory packets address; undefined = the halted (main) vCPU. */
  private gThread: number | undefined = undefined;
  /** Hc: the vCPU a step runs on. */
  private cThread: number | undefined = undefined;
  private readonly points: GdbPoints;
  /** A watchpoint hit whose access is being completed by a one-instruction step. */
  private finishingWatch: PendingWatch | undefined = undefined;
  private closed = false;

  constructor(
    private readonly target: DebugTarget,
    private readonly transport: GdbTransport,
    private readonly log: Logger,
    /** The client id halts and resumes are attributed to. */
    private readonly clientId: number | undefined,
    /** Tells hvdbg clients of a change this connection made. */
    private readonly announce: (change: StateChange) => void = () => {},
  ) {
    this.points = new GdbPoints(target, log);
  }

  /** Bytes from the socket. */
  receive(chunk: Buffer): void {
    if (this.closed) return;
    for (const item of this.reader.feed(chunk)) {
      this.handleItem(item);
      if (this.closed) return;
    }
  }

  /**
   * The connection is gone (or the stub closes): take gdb's breakpoints and watchpoints out of the
   * target. The guest's run state is left to the controller-loss policy.
   */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.points.clear();
  }

  /** Takes the guest the way a debugger attaching does: halted, so `?` has a stop to report. */
  attach(): void {
    if (this.target.state() === 'running') this.target.pause(this.clientId);
  }

  // -- TargetListener ---------------------------------------------------------------------------

  onHalt(info: HaltInfo): void {
    if (!this.waiting || this.closed) return;
    const finishing = this.finishingWatch;
    if (finishing !== undefined) {
      this.finishingWatch = undefined;
      this.points.setEnabled(finishing.eventId, true);
      if (finishing.hit === undefined && info.reason === 'step') {
        // An access to the gap between merged watchpoints: nobody's stop; run on.
        this.resumeQuietly(info);
        return;
      }
      this.reply(info, watchDetail(finishing.hit));
      return;
    }
    const cause = this.points.classify(info);
    if (cause?.kind === 'watch') {
      if (info.stage !== 'post') {
        // Deferred: the target is still inside its halt report.
        queueMicrotask(() => this.completeAccess(info, cause.eventId, cause.hit));
      } else if (cause.hit === undefined) {
        this.resumeQuietly(info);
      } else {
        this.reply(info, watchDetail(cause.hit));
      }
      return;
    }
    this.reply(info, cause?.kind === 'breakpoint' ? { kind: cause.type === 0 ? 'swbreak' : 'hwbreak' } : undefined);
  }

  private reply(info: HaltInfo, detail: StopDetail | undefined): void {
    this.waiting = false;
    this.send(this.stopReply(info, detail));
  }

  /** Resumes after a halt gdb must not hear about; if that fails, gdb gets the halt after all. */
  private resumeQuietly(info: HaltInfo): void {
    try {
      this.target.resume(this.clientId);
    } catch (err) {
      this.log.debug({ err }, 'could not resume past a watch gap');
      this.reply(info, undefined);
    }
  }

  /**
   * A watchpoint halts before the access (pre stage); x86 data watchpoints, and gdb, expect the
   * stop after it. So the instruction is stepped with the watch disabled (as a debugger steps
   * over a breakpoint: an instruction may touch the range more than once), and the stop after the
   * step is reported as the watchpoint hit.
   */
  private completeAccess(info: HaltInfo, eventId: number, hit: PendingWatch['hit']): void {
    if (this.closed || !this.waiting) return;
    try {
      this.points.setEnabled(eventId, false);
      this.finishingWatch = { eventId, hit };
      this.target.step('instr', 1, info.vcpu, this.clientId);
    } catch (err) {
      this.log.debug({ err }, 'could not step past the watched access');
      this.finishingWatch = undefined;
      this.points.setEnabled(eventId, true);
      this.reply(info, watchDetail(hit));
    }
  }

  onConsole(text: string): void {
    // O packets are only valid while gdb waits for a stop reply.
    if (!this.waiting || this.closed) return;
    this.sendOutput(text);
  }

  onLog(): void {}
  onDropped(): void {}
  onResume(): void {}
  onEventsChanged(): void {}

  // -- framing ----------------------------------------------------------------------------------

  private handleItem(item: ReadItem): void {
    switch (item.type) {
      case 'ack':
        this.lastSent = undefined;
        return;
      case 'nack':
        if (!this.noAck && this.lastSent !== undefined) this.transport.write(this.lastSent);
        return;
      case 'interrupt':
        this.interrupt();
        return;
      case 'bad':
        this.log.debug({ reason: item.reason }, 'bad packet');
        if (!this.noAck) this.transport.write(Buffer.from('-'));
        return;
      case 'packet': {
        if (!this.noAck) this.transport.write(Buffer.from('+'));
        const text = item.data.toString('latin1');
        let reply: string | undefined;
        try {
          reply = this.dispatch(text, item.data);
        } catch (err) {
          reply = this.errorReply(err, text);
        }
        if (reply !== undefined) this.send(reply);
        if (text === 'QStartNoAckMode') this.noAck = true;
      }
    }
  }

  private send(payload: string | Buffer): void {
    if (this.closed) return;
    const frame = framePacket(payload);
    this.lastSent = this.noAck ? undefined : frame;
    this.transport.write(frame);
  }

  /** Text as `O` packets (hex-encoded), in chunks that fit the packet size. */
  private sendOutput(text: string): void {
    const hex = Buffer.from(text, 'utf8').toString('hex');
    for (let i = 0; i < hex.length; i += CONSOLE_CHUNK) this.send(`O${hex.slice(i, i + CONSOLE_CHUNK)}`);
  }

  private errorReply(err: unknown, packet: string): string {
    if (err instanceof HvdbgError) {
      this.log.debug({ code: err.code, message: err.message, packet: packet.slice(0, 40) }, 'packet refused');
      return err.code === 'E_BAD_ADDRESS' ? E_FAULT : E_TARGET;
    }
    this.log.error({ err, packet: packet.slice(0, 40) }, 'gdb packet handler failed');
    return E_TARGET;
  }

  // -- dispatch ---------------------------------------------------------------------------------

  /** Returns the reply; undefined when none is due now (a resume waits for its stop reply). */
  private dispatch(p: string, raw: Buffer): string | undefined {
    switch (p[0]) {
      case '?':
        return this.haltReason();
      case 'q':
        return this.query(p);
      case 'Q':
        return p === 'QStartNoAckMode' ? 'OK' : '';
      case 'H':
        return this.setThread(p);
      case 'T':
        return this.threadOf(p.slice(1)) !== undefined ? 'OK' : E_BAD_PACKET;
      case 'g':
        return p.length === 1 ? encodeAll(readAll(this.target, this.regVcpu())) : E_BAD_PACKET;
      case 'G':
        return this.announced(writeAll(this.target, this.regVcpu(), p.slice(1)) === 'ok' ? 'OK' : E_BAD_PACKET, () => ({
          what: 'registers',
          vcpu: this.regVcpu(),
          detail: 'all (gdb G)',
        }));
      case 'p':
        return readRegisterPacket(this.target, this.regVcpu(), p.slice(1));
      case 'P':
        return this.announced(writeRegisterPacket(this.target, this.regVcpu(), p.slice(1)), () => ({
          what: 'registers',
          vcpu: this.regVcpu(),
          detail: `gdb register ${p.slice(1, p.indexOf('='))}`,
        }));
      case 'm':
        return readMemoryPacket(this.target, this.regVcpu(), p.slice(1));
      case 'M':
        return this.announced(writeMemoryPacket(this.target, this.regVcpu(), p.slice(1)), () => this.memoryChange(p));
      case 'X':
        return this.announced(writeBinaryPacket(this.target, this.regVcpu(), raw), () => this.memoryChange(p));
      case 'c':
      case 'C':
        return this.resume();
      case 's':
      case 'S':
        return this.step(this.cThread);
      case 'v':
        return this.vPacket(p);
      case 'Z':
      case 'z':
        return this.breakpoint(p);
      case 'D':
        this.detach('OK');
        return undefined;
      case 'k':
        // No reply: gdb closes the connection right after sending it.
        this.detach(undefined);
        return undefined;
      default:
        // Unknown packets get the empty reply: gdb probes features this way (vMustReplyEmpty).
        return '';
    }
  }

  private query(p: string): string {
    if (p.startsWith('qSupported')) return this.supported(p);
    if (p.startsWith('qXfer:features:read:'))
      return featuresReply(p.slice('qXfer:features:read:'.length), MAX_PACKET_BYTES - 16);
    if (p === 'qAttached' || p.startsWith('qAttached:')) return '1'; // quitting gdb detaches, never kills
    if (p === 'qC') return `QC${this.threadId(this.mainVcpu())}`;
    if (p === 'qfThreadInfo') {
      const n = this.target.description().vcpus;
      return `m${Array.from({ length: n }, (_, i) => this.threadId(i)).join(',')}`;
    }
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qThreadExtraInfo,')) {
      const vcpu = this.threadOf(p.slice('qThreadExtraInfo,'.length));
      if (vcpu === undefined) return E_BAD_PACKET;
      return toHex(Buffer.from(`vCPU ${vcpu}${vcpu === this.mainVcpu() ? ' (main)' : ''}`));
    }
    if (p.startsWith('qRcmd,')) return this.monitor(p.slice('qRcmd,'.length));
    if (p === 'qSymbol::') return 'OK';
    return '';
  }

  private supported(p: string): string {
    const offered = p.slice('qSupported:'.length).split(';');
    this.swbreak = offered.includes('swbreak+');
    this.hwbreak = offered.includes('hwbreak+');
    const features = [
      `PacketSize=${MAX_PACKET_BYTES.toString(16)}`,
      'qXfer:features:read+',
      'QStartNoAckMode+',
      'vContSupported+',
    ];
    if (this.swbreak) features.push('swbreak+');
    if (this.hwbreak) features.push('hwbreak+');
    return features.join(';');
  }

  private monitor(hex: string): string {
    const bytes = Buffer.from(hex, 'hex');
    if (bytes.length * 2 !== hex.length) return E_BAD_PACKET;
    const command = bytes.toString('utf8');
    let output: string;
    try {
      output = runMonitorCommand(command, { target: this.target, vcpu: this.regVcpu(), clientId: this.clientId });
    } catch (err) {
      const e = err instanceof HvdbgError ? err : undefined;
      if (e === undefined) this.log.error({ err, command }, 'monitor command failed');
      // An E reply would abort gdb's command file; the error text is what the user needs.
      output = e !== undefined ? `error: ${e.code}: ${e.message}\n` : 'error: E_INTERNAL: the command failed\n';
    }
    if (output !== '') this.sendOutput(output);
    return 'OK';
  }

  // -- threads ----------------------------------------------------------------------------------

  private threadId(vcpu: number): string {
    return (vcpu + 1).toString(16);
  }

  /** gdb thread id → vCPU; 0 (any) and -1 (all) → the main vCPU; undefined when there is none. */
  private threadOf(text: string): number | undefined {
    if (text === '-1' || text === '0') return this.mainVcpu();
    const id = parseHexNumber(text);
    if (id === undefined || id === 0n) return undefined;
    const vcpu = Number(id) - 1;
    return vcpu < this.target.description().vcpus ? vcpu : undefined;
  }

  private setThread(p: string): string {
    const which = p[1];
    const text = p.slice(2);
    const vcpu = this.threadOf(text);
    if (vcpu === undefined || (which !== 'g' && which !== 'c')) return E_BAD_PACKET;
    const chosen = text === '0' || text === '-1' ? undefined : vcpu;
    if (which === 'g') this.gThread = chosen;
    else this.cThread = chosen;
    return 'OK';
  }

  private mainVcpu(): number {
    return this.target.haltInfo()?.vcpu ?? this.target.mainVcpu();
  }

  private regVcpu(): number {
    return this.gThread ?? this.mainVcpu();
  }

  // -- execution --------------------------------------------------------------------------------

  /** `?`: the current stop; a running guest is halted first (the reply follows the halt). */
  private haltReason(): string | undefined {
    const halt = this.target.haltInfo();
    if (this.target.state() === 'halted' && halt !== undefined) return this.stopReply(halt);
    if (this.target.state() === 'stopped') return this.exitReply(false);
    this.waiting = true;
    try {
      this.target.pause(this.clientId);
    } catch (err) {
      // gdb takes any reply to `?` as a stop (an error, or console text, leaves it waiting
      // forever), so the only clear answer is an exit; the reason goes to the daemon's log.
      this.waiting = false;
      this.log.error({ err }, 'the guest could not be halted for gdb');
      return EXIT_REPLY;
    }
    return undefined;
  }

  private resume(): string | undefined {
    if (this.target.state() === 'stopped') return this.exitReply();
    this.waiting = true;
    try {
      // Someone else already resumed it: the next halt is still this resume's stop.
      if (this.target.state() === 'halted') this.target.resume(this.clientId);
    } catch (err) {
      // gdb reads an error reply to a resume as "still stopped", which is the truth here.
      this.waiting = false;
      throw err;
    }
    return undefined;
  }

  private step(thread: number | undefined): string | undefined {
    if (this.target.state() === 'stopped') return this.exitReply();
    if (this.target.state() !== 'halted') return E_TARGET;
    this.waiting = true;
    try {
      // 'instr': one instruction on that vCPU with interrupts and the timer masked.
      this.target.step('instr', 1, thread ?? this.mainVcpu(), this.clientId);
    } catch (err) {
      this.waiting = false;
      throw err;
    }
    return undefined;
  }

  private vPacket(p: string): string | undefined {
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p.startsWith('vCont;')) {
      // All-stop: a step action anywhere wins (the rest of the guest waits, as 'instr' steps do).
      for (const action of p.slice(6).split(';')) {
        const [verb, thread] = action.split(':');
        if (verb === undefined || !/^[cCsS]([0-9a-fA-F]{2})?$/.test(verb)) return E_BAD_PACKET;
        if (verb[0] === 's' || verb[0] === 'S') {
          const vcpu = thread === undefined ? this.cThread : this.threadOf(thread);
          if (thread !== undefined && vcpu === undefined) return E_BAD_PACKET;
          return this.step(vcpu);
        }
      }
      return this.resume();
    }
    if (p === 'vKill' || p.startsWith('vKill;')) {
      this.detach('OK');
      return undefined;
    }
    return '';
  }

  private interrupt(): void {
    if (!this.waiting) return;
    try {
      this.target.pause(this.clientId);
    } catch (err) {
      // gdb keeps waiting; a second Ctrl+C lets the user give up on the connection.
      this.log.error({ err }, 'interrupt: the guest could not be halted');
      this.sendOutput(`hvdbg: the guest could not be halted (${messageOf(err)})\n`);
      return;
    }
    // pause() is a no-op on a guest that halted meanwhile without telling us (or a fake target).
    const halt = this.target.haltInfo();
    if (this.waiting && this.target.state() === 'halted' && halt !== undefined) this.onHalt(halt);
  }

  /** D, k, vKill: gdb's breakpoints go, the guest runs on, the connection closes. */
  private detach(reply: string | undefined): void {
    this.points.clear();
    this.waiting = false;
    if (this.target.state() === 'halted') {
      try {
        this.target.resume(this.clientId);
      } catch (err) {
        this.log.warn({ err }, 'resume on detach failed');
      }
    }
    if (reply !== undefined) this.send(reply);
    this.closed = true;
    this.transport.end();
  }

  private stopReply(info: HaltInfo, detail?: StopDetail): string {
    if (this.target.state() === 'stopped') return this.exitReply();
    return stopReplyFor(this.target, info, detail, { swbreak: this.swbreak, hwbreak: this.hwbreak });
  }

  /** The machine is gone. `explain` adds a console line, which gdb accepts only while it waits for a stop. */
  private exitReply(explain = true): string {
    const halt = this.target.haltInfo();
    if (explain) this.sendOutput(`hvdbg: the guest machine has stopped (${halt?.reason ?? 'stopped'})\n`);
    return EXIT_REPLY;
  }

  // -- breakpoints and watchpoints --------------------------------------------------------------

  private breakpoint(p: string): string {
    const m = /^([Zz])([0-4]),([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(p);
    if (m === null) return E_BAD_PACKET;
    const type = Number(m[2]) as PointType;
    const address = BigInt(`0x${m[3]}`);
    const length = Number.parseInt(m[4]!, 16);
    if (type >= 2 && (length === 0 || length > MAX_WATCH_BYTES)) return E_BAD_PACKET;
    if (m[1] === 'Z') this.points.insert(type, address, length);
    else this.points.remove(type, address, length);
    // Watchpoints are events: the target reports those as eventsChanged itself.
    if (type < 2)
      this.announce({ what: 'breakpoints', address, detail: m[1] === 'Z' ? 'added (gdb)' : 'removed (gdb)' });
    return 'OK';
  }

  // -- announcements ----------------------------------------------------------------------------

  /** Announces `change` when the write's reply says it succeeded; returns the reply unchanged. */
  private announced(reply: string, change: () => StateChange | undefined): string {
    if (reply === 'OK') {
      const c = change();
      if (c !== undefined) this.announce(c);
    }
    return reply;
  }

  /** M/X `addr,length:…`; a zero-length write (gdb probing for X support) changed nothing. */
  private memoryChange(p: string): StateChange | undefined {
    const m = /^[MX]([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8}):/.exec(p);
    if (m === null) return undefined;
    const length = Number.parseInt(m[2]!, 16);
    if (length === 0) return undefined;
    return { what: 'memory', vcpu: this.regVcpu(), address: BigInt(`0x${m[1]}`), length, detail: 'virtual (gdb)' };
  }
}

function messageOf(err: unknown): string {
  return err instanceof HvdbgError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
}
