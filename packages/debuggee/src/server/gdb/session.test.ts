import { HvdbgError } from '@hvdbg/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { framePacket, leHex } from './packets.js';
import { G_PACKET_BYTES, TARGET_XML } from './targetXml.js';
import { FAKE_MEMORY_BASE } from './testing/fakeTarget.js';
import { hexText, outputOf, SessionWire } from './testing/wire.js';

const BASE = FAKE_MEMORY_BASE.toString(16);
const at = (offset: number) => (FAKE_MEMORY_BASE + BigInt(offset)).toString(16);

/** A session whose guest is halted (gdb attached), past the handshake. */
function attached(options: { features?: string; vcpus?: number } = {}): SessionWire {
  const w = new SessionWire({ vcpus: options.vcpus ?? 2 });
  w.session.attach();
  w.handshake(options.features);
  return w;
}

/** The stop reply gdb expects for vCPU `vcpu` of the fake, with rbp/rsp/rip expedited. */
function expedited(w: SessionWire, vcpu = 0): string {
  const r = w.target.regs[vcpu]!;
  return `thread:${(vcpu + 1).toString(16)};06:${leHex(r.get('rbp')!, 8)};07:${leHex(r.get('rsp')!, 8)};10:${leHex(r.get('rip')!, 8)};`;
}

describe('acks and no-ack mode', () => {
  it('acks every good packet until QStartNoAckMode, then stops', () => {
    const w = new SessionWire();
    w.raw(framePacket('vMustReplyEmpty'));
    expect(w.takeRaw()).toBe('+$#00');
    w.raw(framePacket('QStartNoAckMode'));
    expect(w.takeRaw()).toBe('+$OK#9a');
    w.raw(framePacket('vMustReplyEmpty'));
    expect(w.takeRaw()).toBe('$#00');
  });

  it('nacks a corrupt packet in ack mode and resends its last packet on -', () => {
    const w = new SessionWire();
    w.raw('$g#00');
    expect(w.takeRaw()).toBe('-');
    w.raw(framePacket('qC'));
    const first = w.takeRaw();
    w.raw('-');
    expect(`+${w.takeRaw()}`).toBe(first);
    w.raw('+');
    w.raw('-');
    expect(w.takeRaw()).toBe(''); // acked: nothing left to resend
  });

  it('ignores corrupt packets silently in no-ack mode', () => {
    const w = attached();
    w.raw('$g#00');
    expect(w.takeRaw()).toBe('');
  });
});

describe('queries', () => {
  it('answers qSupported with its features and swbreak/hwbreak only when offered', () => {
    const w = new SessionWire();
    const reply = w.ask('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386');
    expect(reply.split(';')).toEqual([
      'PacketSize=4000',
      'qXfer:features:read+',
      'QStartNoAckMode+',
      'vContSupported+',
      'swbreak+',
      'hwbreak+',
    ]);
    expect(new SessionWire().ask('qSupported:multiprocess+')).not.toMatch(/break/);
  });

  it('gives the empty reply to vMustReplyEmpty and every unknown packet', () => {
    const w = attached();
    for (const p of ['vMustReplyEmpty', 'qTStatus', 'qOffsets', 'QPassSignals:e', 'vFile:open:', '!', 'bc', 'jFoo']) {
      expect(w.ask(p)).toBe('');
    }
  });

  it('serves target.xml in pieces through qXfer:features:read', () => {
    const w = attached();
    let xml = '';
    for (let off = 0; ; off += 0x200) {
      const reply = w.ask(`qXfer:features:read:target.xml:${off.toString(16)},200`);
      xml += reply.slice(1);
      if (reply[0] === 'l') break;
      expect(reply[0]).toBe('m');
    }
    expect(xml).toBe(TARGET_XML);
    expect(w.ask('qXfer:features:read:other.xml:0,100')).toBe('E00');
    expect(w.ask('qXfer:features:read:target.xml:zz')).toBe('E01');
    expect(w.ask(`qXfer:features:read:target.xml:${(TARGET_XML.length + 5).toString(16)},10`)).toBe('E01');
  });

  it('reports vCPUs as threads', () => {
    const w = attached({ vcpus: 3 });
    expect(w.ask('qfThreadInfo')).toBe('m1,2,3');
    expect(w.ask('qsThreadInfo')).toBe('l');
    expect(w.ask('qC')).toBe('QC1');
    expect(w.ask('qAttached')).toBe('1');
    expect(Buffer.from(w.ask('qThreadExtraInfo,1'), 'hex').toString()).toBe('vCPU 0 (main)');
    expect(Buffer.from(w.ask('qThreadExtraInfo,3'), 'hex').toString()).toBe('vCPU 2');
    expect(w.ask('qThreadExtraInfo,9')).toBe('E01');
    expect(w.ask('T2')).toBe('OK');
    expect(w.ask('T4')).toBe('E01');
    expect(w.ask('T0')).toBe('OK');
    expect(w.ask('Tzz')).toBe('E01');
  });

  it('selects the register vCPU with Hg and refuses unknown threads', () => {
    const w = attached();
    w.target.regs[1]!.set('rax', 0xabcdn);
    expect(w.ask('Hg2')).toBe('OK');
    expect(w.ask('p0')).toBe(leHex(0xabcdn, 8));
    expect(w.ask('Hg0')).toBe('OK');
    expect(w.ask('p0')).toBe(leHex(w.target.regs[0]!.get('rax')!, 8));
    expect(w.ask('Hg5')).toBe('E01');
    expect(w.ask('Hx1')).toBe('E01');
    expect(w.ask('Hc-1')).toBe('OK');
  });
});

describe('registers and memory', () => {
  it('g returns exactly the described register file; G writes it back', () => {
    const w = attached();
    const g = w.ask('g');
    expect(g).toHaveLength(G_PACKET_BYTES * 2);
    expect(g.slice(0, 16)).toBe(leHex(w.target.regs[0]!.get('rax')!, 8));
    const changed = `${leHex(0x77n, 8)}${g.slice(16)}`;
    expect(w.ask(`G${changed}`)).toBe('OK');
    expect(w.target.regs[0]!.get('rax')).toBe(0x77n);
    expect(w.ask('G123')).toBe('E01');
    expect(w.ask('gx')).toBe('E01');
  });

  it('p/P read and write one register by gdb number', () => {
    const w = attached();
    expect(w.ask('P10=efbeadde00000000')).toBe('OK');
    expect(w.target.regs[0]!.get('rip')).toBe(0xdeadbeefn);
    expect(w.ask('p10')).toBe('efbeadde00000000');
    expect(w.ask('p18')).toBe('00000000000000000000'); // st0: 80 bits of absent x87 state
    expect(w.ask('p999')).toBe('E01');
    expect(w.ask('pz')).toBe('E01');
    expect(w.ask('P10=12')).toBe('E01');
    expect(w.ask('P10')).toBe('E01');
  });

  it('reads memory, short at an unmapped page and E0e when nothing is mapped', () => {
    const w = attached();
    expect(w.ask(`m${BASE},4`)).toBe('00010203');
    expect(w.ask(`m${at(0x1ffe)},2`)).toBe('feff');
    // Crosses from the last mapped page into nothing: the readable part only.
    expect(w.ask(`m${at(0x1ff0)},40`)).toBe('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
    expect(w.ask(`m${at(0x3000)},4`)).toBe('E0e');
    expect(w.ask(`m${BASE},0`)).toBe('');
    expect(w.ask('mzz,4')).toBe('E01');
    expect(w.ask(`m${BASE}`)).toBe('E01');
  });

  it('writes memory with M and with binary X (escaped bytes included)', () => {
    const w = attached();
    expect(w.ask(`M${BASE},3:aabbcc`)).toBe('OK');
    expect([...w.target.memory.subarray(0, 3)]).toEqual([0xaa, 0xbb, 0xcc]);
    const data = Buffer.from([0x24, 0x23, 0x7d, 0x2a, 0x03]);
    expect(w.ask(Buffer.concat([Buffer.from(`X${at(8)},5:`), data]))).toBe('OK');
    expect([...w.target.memory.subarray(8, 13)]).toEqual([...data]);
    expect(w.ask(`X${BASE},0:`)).toBe('OK'); // gdb's probe for X support
    expect(w.ask(`M${BASE},2:aa`)).toBe('E01');
    expect(w.ask(`X${BASE},4:ab`)).toBe('E01');
    expect(w.ask(`M${at(0x5000)},1:00`)).toBe('E0e');
  });
});

describe('execution and stop replies', () => {
  it('halts a running guest on attach and reports it to ?', () => {
    const w = attached();
    expect(w.target.pauses).toBe(1);
    expect(w.ask('?')).toBe(`T02${expedited(w)}`);
  });

  it('? on a running guest pauses it and replies when it halts', () => {
    const w = new SessionWire();
    w.handshake();
    expect(w.send('?')).toEqual([`T02${expedited(w)}`]);
  });

  it('sends exactly one stop reply per continue, with swbreak when negotiated', () => {
    const w = attached();
    expect(w.ask(`Z0,${at(0x100)},1`)).toBe('OK');
    expect(w.send('c')).toEqual([]);
    expect(w.target.resumes).toEqual([7]);
    const bp = [...w.target.breakpoints.values()][0]!;
    w.target.regs[0]!.set('rip', bp.address);
    w.target.haltWith('breakpoint', 0, { eventId: bp.id });
    expect(w.packets()).toEqual([`T05swbreak:;${expedited(w)}`]);
    w.target.haltWith('pause', 1); // a halt nobody asked gdb about: no second reply
    expect(w.packets()).toEqual([]);
  });

  it('leaves swbreak out when gdb did not offer it', () => {
    const w = attached({ features: 'multiprocess+' });
    w.ask(`Z0,${at(0x100)},1`);
    w.send('vCont;c');
    const bp = [...w.target.breakpoints.values()][0]!;
    w.target.haltWith('breakpoint', 1, { eventId: bp.id });
    expect(w.packets()).toEqual([`T05${expedited(w, 1)}`]);
  });

  it('steps one instruction with interrupts masked on the chosen thread', () => {
    const w = attached();
    expect(w.send('s')).toEqual([]);
    expect(w.target.steps).toEqual([{ kind: 'instr', count: 1, vcpu: 0, byClient: 7 }]);
    w.target.haltWith('step', 0);
    expect(w.packets()).toEqual([`T05${expedited(w)}`]);
    expect(w.ask('Hc2')).toBe('OK');
    w.send('s');
    expect(w.target.steps[1]!.vcpu).toBe(1);
  });

  it('implements vCont with step taking precedence, and rejects bad actions', () => {
    const w = attached();
    expect(w.ask('vCont?')).toBe('vCont;c;C;s;S');
    expect(w.send('vCont;s:2;c')).toEqual([]);
    expect(w.target.steps[0]!.vcpu).toBe(1);
    w.target.haltWith('step', 1);
    expect(w.packets()).toEqual([`T05${expedited(w, 1)}`]);
    expect(w.ask('vCont;x')).toBe('E01');
    expect(w.ask('vCont;s:9')).toBe('E01');
    expect(w.send('vCont;C05')).toEqual([]);
    expect(w.target.state()).toBe('running');
  });

  it('turns the interrupt byte into a pause and a SIGINT stop', () => {
    const w = attached();
    w.send('c');
    w.raw('\x03');
    expect(w.target.pauses).toBe(2);
    expect(w.packets()).toEqual([`T02${expedited(w)}`]);
    w.raw('\x03'); // not waiting: ignored
    expect(w.packets()).toEqual([]);
  });

  it('sends guest console text as O packets only while gdb waits', () => {
    const w = attached();
    w.session.onConsole('before\n');
    expect(w.packets()).toEqual([]);
    w.send('c');
    w.session.onConsole('hello\n');
    expect(w.packets()).toEqual([`O${hexText('hello\n')}`]);
  });

  it('reports a stopped machine as an exit, with a console line only where gdb accepts one', () => {
    const w = attached();
    w.target.runState = 'stopped';
    const replies = w.send('c');
    expect(outputOf(replies)).toMatch(/the guest machine has stopped/);
    expect(replies.at(-1)).toBe('X06');
    expect(w.send('?')).toEqual(['X06']);
  });

  it('steps while running are refused; a resume while already running waits for the next halt', () => {
    const w = new SessionWire();
    w.handshake();
    expect(w.ask('s')).toBe('E02');
    expect(w.send('c')).toEqual([]);
    w.target.haltWith('event', 1, { eventId: 99 });
    expect(w.packets()).toEqual([`T05${expedited(w, 1)}`]);
  });
});

describe('breakpoints and watchpoints', () => {
  it('Z0/z0 add and clear hidden breakpoints once per address', () => {
    const w = attached();
    expect(w.ask(`Z0,${at(0x100)},1`)).toBe('OK');
    expect(w.ask(`Z0,${at(0x100)},1`)).toBe('OK');
    expect(w.target.listBreakpoints().map((b) => b.address)).toEqual([FAKE_MEMORY_BASE + 0x100n]);
    expect(w.ask(`z0,${at(0x100)},1`)).toBe('OK');
    expect(w.target.listBreakpoints()).toEqual([]);
    expect(w.ask(`z0,${at(0x100)},1`)).toBe('OK');
    expect(w.ask('Z0,ffff000000000000,1')).toBe('E0e');
    expect(w.ask('Z0,zz,1')).toBe('E01');
    expect(w.ask('Z9,0,1')).toBe('E01');
  });

  it('Z1 is a hardware breakpoint with its own stop reason', () => {
    const w = attached();
    expect(w.ask(`Z1,${at(0x40)},1`)).toBe('OK');
    w.send('c');
    const bp = [...w.target.breakpoints.values()][0]!;
    w.target.haltWith('breakpoint', 0, { eventId: bp.id });
    expect(w.packets()).toEqual([`T05hwbreak:;${expedited(w)}`]);
  });

  it('Z2 watches writes with a monitor event and stops after the access', async () => {
    const w = attached();
    expect(w.ask(`Z2,${at(0x800)},8`)).toBe('OK');
    const [event] = [...w.target.events.values()];
    expect(event!.spec).toMatchObject({
      kind: 'monitor',
      access: 'w',
      rangeStart: FAKE_MEMORY_BASE + 0x800n,
      rangeEnd: FAKE_MEMORY_BASE + 0x807n,
      space: 'virtual',
      actions: [{ type: 'break' }],
    });
    w.send('c');
    w.target.haltWith('event', 0, { eventId: event!.id, stage: 'pre', context: FAKE_MEMORY_BASE + 0x804n });
    expect(w.packets()).toEqual([]); // not yet: the access has not happened
    await Promise.resolve();
    expect(w.target.steps).toEqual([{ kind: 'instr', count: 1, vcpu: 0, byClient: 7 }]);
    expect(event!.enabled).toBe(false); // stepped over with the watch off
    w.target.haltWith('step', 0);
    expect(w.packets()).toEqual([`T05watch:${at(0x804)};${expedited(w)}`]);
    expect(event!.enabled).toBe(true);
    expect(w.ask(`z2,${at(0x800)},8`)).toBe('OK');
    expect(w.target.events.size).toBe(0);
  });

  it('Z3 and Z4 report rwatch and awatch at the range start when the context is outside it', async () => {
    const w = attached();
    expect(w.ask(`Z3,${at(0x900)},4`)).toBe('OK');
    expect(w.ask(`Z4,${at(0x1a00)},2`)).toBe('OK');
    const [read, access] = [...w.target.events.values()];
    expect(read!.spec.access).toBe('r');
    expect(access!.spec.access).toBe('rw');
    w.send('c');
    w.target.haltWith('event', 0, { eventId: access!.id, stage: 'post', context: -5n });
    expect(w.packets()).toEqual([`T05awatch:${at(0x1a00)};${expedited(w)}`]);
    w.send('c');
    w.target.haltWith('event', 0, { eventId: read!.id, stage: 'pre' });
    await Promise.resolve();
    w.target.haltWith('step', 0);
    expect(w.packets()).toEqual([`T05rwatch:${at(0x900)};${expedited(w)}`]);
    expect(w.ask(`Z2,${at(0x900)},0`)).toBe('E01');
  });
  it('a hit in the gap between merged watchpoints is stepped over and not reported', async () => {
    const w = attached();
    w.ask(`Z2,${at(0x800)},8`);
    w.ask(`Z2,${at(0x840)},8`);
    const [event] = [...w.target.events.values()];
    expect(w.target.events.size).toBe(1);
    w.send('c');
    w.target.haltWith('event', 0, { eventId: event!.id, stage: 'pre', context: FAKE_MEMORY_BASE + 0x820n });
    await Promise.resolve();
    w.target.haltWith('step', 0);
    expect(w.packets()).toEqual([]);
    expect(w.target.state()).toBe('running'); // resumed quietly, gdb still waiting
    expect(event!.enabled).toBe(true);
    w.target.haltWith('event', 0, { eventId: event!.id, stage: 'pre', context: FAKE_MEMORY_BASE + 0x840n });
    await Promise.resolve();
    w.target.haltWith('step', 0);
    expect(w.packets()).toEqual([`T05watch:${at(0x840)};${expedited(w)}`]);
  });

  it('a refused watchpoint is an error reply, and the others stay', () => {
    const w = attached();
    w.ask(`Z2,${at(0x800)},8`);
    w.target.addEvent = () => {
      throw new HvdbgError('E_HOOK_CONFLICT', 'page already hooked by an hvdbg event');
    };
    expect(w.ask(`Z2,${at(0x1800)},8`)).toBe('E02');
    expect(w.target.events.size).toBe(1);
  });
});

describe('monitor commands', () => {
  it('runs hvdbg commands and sends their output as O packets, then OK', () => {
    const w = attached();
    const help = w.send(`qRcmd,${hexText('help')}`);
    expect(help.at(-1)).toBe('OK');
    expect(outputOf(help)).toMatch(/events e\|d\|c ID\|all/);
    const added = w.send(`qRcmd,${hexText('!syscall 1 script { printf("%x\\n", @rax); }')}`);
    expect(outputOf(added)).toBe('event 1 added\n');
    const list = outputOf(w.send(`qRcmd,${hexText('events')}`));
    expect(list).toMatch(/ 1 +enabled +!syscall 1 script/);
    expect(outputOf(w.send(`qRcmd,${hexText('r rax')}`))).toBe(`rax=${'0'.repeat(16)}\n`);
  });

  it('reports command errors as text with an OK, so gdb scripts go on', () => {
    const w = attached();
    const replies = w.send(`qRcmd,${hexText('frobnicate')}`);
    expect(outputOf(replies)).toMatch(/^error: E_UNKNOWN_REQUEST: unknown monitor command 'frobnicate'/);
    expect(replies.at(-1)).toBe('OK');
    expect(w.ask('qRcmd,zz')).toBe('E01');
  });
});

describe('detach and kill', () => {
  it('D removes gdb breakpoints, resumes the guest, replies OK and closes', () => {
    const w = attached();
    w.ask(`Z0,${at(0x100)},1`);
    w.ask(`Z2,${at(0x800)},8`);
    expect(w.send('D')).toEqual(['OK']);
    expect(w.target.breakpoints.size).toBe(0);
    expect(w.target.events.size).toBe(0);
    expect(w.target.state()).toBe('running');
    expect(w.ended).toBe(true);
    expect(w.send('g')).toEqual([]); // closed: nothing more is served
  });

  it('k detaches the same way without a reply; the daemon lives on', () => {
    const w = attached();
    w.ask(`Z0,${at(0x100)},1`);
    expect(w.send('k')).toEqual([]);
    expect(w.target.breakpoints.size).toBe(0);
    expect(w.target.state()).toBe('running');
    expect(w.ended).toBe(true);
  });

  it('a dropped connection takes gdb breakpoints out but leaves the run state alone', () => {
    const w = attached();
    w.ask(`Z1,${at(0x100)},1`);
    w.session.dispose();
    expect(w.target.breakpoints.size).toBe(0);
    expect(w.target.state()).toBe('halted');
  });
});

describe('malformed input', () => {
  it('answers garbage packets without throwing and keeps serving', () => {
    fc.assert(
      // D and k are real packets (detach, kill) that end the session by design.
      fc.property(
        fc.uint8Array({ maxLength: 200 }).filter((b) => b[0] !== 0x44 && b[0] !== 0x6b),
        (bytes) => {
          const w = attached();
          expect(() => w.send(Buffer.from(bytes))).not.toThrow();
          expect(w.ask('qC')).toBe('QC1');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers malformed forms of every packet family with an error or the empty reply', () => {
    const w = attached();
    for (const p of [
      'g1',
      'Gzz',
      'p',
      'P=',
      'm',
      'M1',
      'X',
      'Z0',
      'z1,',
      'H',
      'T',
      'qRcmd,1',
      'vCont;',
      'qThreadExtraInfo,',
    ]) {
      expect(w.ask(p)).toMatch(/^(E[0-9a-f]{2}|)$/);
    }
    expect(w.ask('qC')).toBe('QC1');
  });

  it('answers ? with an exit when the guest cannot be halted (never an E or O gdb would wait on)', () => {
    const w = new SessionWire();
    w.handshake();
    w.target.pause = () => {
      throw new ReferenceError('broken CPU');
    };
    expect(w.send('?')).toEqual(['X06']);
  });

  it('a failing interrupt is reported as text and gdb keeps waiting; a failing resume is an E reply', () => {
    const w = attached();
    w.send('c');
    w.target.pause = () => {
      throw new TypeError('no pause today');
    };
    w.raw('\x03');
    expect(outputOf(w.packets())).toBe('hvdbg: the guest could not be halted (no pause today)\n');
    const w2 = attached();
    w2.target.resume = () => {
      throw new TypeError('no resume today');
    };
    expect(w2.ask('c')).toBe('E02');
    w2.session.onConsole('not waiting any more\n');
    expect(w2.packets()).toEqual([]);
  });

  it('turns a target bug into E02 instead of an exception', () => {
    const w = attached();
    w.target.readRegisters = () => {
      throw new TypeError('boom');
    };
    expect(w.ask('g')).toBe('E02');
  });
});
