import { describe, expect, it } from 'vitest';
import { IoPortBus } from '../ioBus.js';
import { LAPIC_BASE, LocalApicBank } from './lapic.js';
import { COM1_BASE, UART_PORT_COUNT, Uart16550 } from './uart.js';

describe('16550 UART', () => {
  it('transmits THR writes as text and always reports the transmitter ready', () => {
    const uart = new Uart16550();
    for (const c of 'hi\n') uart.write(COM1_BASE, 1, c.charCodeAt(0));
    expect(uart.read(COM1_BASE + 5, 1) & 0x60).toBe(0x60);
    expect(uart.drain()).toBe('hi\n');
    expect(uart.drain()).toBe('');
    expect(uart.transmitted).toBe(3);
  });

  it('routes offsets 0 and 1 to the divisor latch while LCR.DLAB is set', () => {
    const uart = new Uart16550();
    uart.write(COM1_BASE + 3, 1, 0x80);
    uart.write(COM1_BASE, 1, 0x0c);
    uart.write(COM1_BASE + 1, 1, 0x01);
    expect(uart.read(COM1_BASE, 1)).toBe(0x0c);
    expect(uart.read(COM1_BASE + 1, 1)).toBe(0x01);
    uart.write(COM1_BASE + 3, 1, 0x03);
    expect(uart.drain()).toBe('');
    uart.write(COM1_BASE + 7, 1, 0x5a);
    expect(uart.read(COM1_BASE + 7, 1)).toBe(0x5a);
  });

  it('delivers received bytes through RBR with LSR.DR', () => {
    const uart = new Uart16550();
    expect(uart.read(COM1_BASE + 5, 1) & 1).toBe(0);
    uart.receive(new Uint8Array([0x41, 0x42]));
    expect(uart.read(COM1_BASE + 5, 1) & 1).toBe(1);
    expect(uart.read(COM1_BASE, 1)).toBe(0x41);
    expect(uart.read(COM1_BASE, 1)).toBe(0x42);
    expect(uart.read(COM1_BASE + 5, 1) & 1).toBe(0);
  });
});

describe('I/O port bus', () => {
  it('dispatches registered ports and floats the rest', () => {
    const bus = new IoPortBus();
    const uart = new Uart16550();
    bus.register(COM1_BASE, UART_PORT_COUNT, uart);
    bus.out(COM1_BASE, 1, 0x4f);
    expect(uart.drain()).toBe('O');
    expect(bus.in(0x80, 1)).toBe(0xff);
    expect(bus.in(0x80, 2)).toBe(0xffff);
    expect(bus.in(0x80, 4)).toBe(0xffffffff);
    bus.out(0x80, 1, 1);
    expect(() => bus.register(COM1_BASE + 4, 1, uart)).toThrow(/already registered/);
    expect(() => bus.register(0xffff, 2, uart)).toThrow(RangeError);
  });
});

describe('local APIC timer', () => {
  const cpus = [
    { index: 0, instructions: 0 },
    { index: 1, instructions: 0 },
  ];
  const bank = new LocalApicBank(cpus);
  const reg = (r: number) => bank.read(r, 4);
  const set = (r: number, v: number) => bank.write(r, 4, v);

  it('fires periodically by retired instructions, per vCPU, until EOI', () => {
    bank.current = 0;
    set(0xf0, 0x1ff);
    set(0x3e0, 0xb);
    set(0x320, 0x20000 | 0x20);
    set(0x380, 1000);
    expect(bank.untilTimer(0)).toBe(1000);
    expect(bank.untilTimer(1)).toBe(Number.POSITIVE_INFINITY);
    cpus[0]!.instructions = 999;
    expect(bank.pending(cpus[0]!)).toBe(false);
    expect(reg(0x390)).toBe(1);
    cpus[0]!.instructions = 1000;
    expect(bank.pending(cpus[0]!)).toBe(true);
    expect(bank.pending(cpus[1]!)).toBe(false);
    expect(bank.acknowledge(cpus[0]!)).toBe(0x20);
    // In service: the next tick waits for EOI.
    cpus[0]!.instructions = 2500;
    expect(bank.pending(cpus[0]!)).toBe(false);
    set(0xb0, 0);
    expect(bank.pending(cpus[0]!)).toBe(true);
    expect(bank.acknowledge(cpus[0]!)).toBe(0x20);
    set(0xb0, 0);
    // Missed ticks collapse: the next deadline is the first period boundary after now.
    expect(bank.untilTimer(0)).toBe(500);
  });

  it('counts idle time as time and honours the divider and the mask', () => {
    bank.current = 1;
    expect(reg(0x20) >>> 24).toBe(1);
    set(0xf0, 0x1ff);
    set(0x3e0, 0x0); // divide by 2
    set(0x320, 0x20 | 0x10000); // one-shot, masked
    set(0x380, 100);
    expect(bank.untilTimer(1)).toBe(200);
    bank.idle(1, 200);
    expect(bank.pending(cpus[1]!)).toBe(false);
    expect(bank.untilTimer(1)).toBe(Number.POSITIVE_INFINITY);
    set(0x320, 0x21);
    set(0x380, 10);
    bank.idle(1, 20);
    expect(bank.pending(cpus[1]!)).toBe(true);
    expect(bank.acknowledge(cpus[1]!)).toBe(0x21);
    expect(LAPIC_BASE).toBe(0xfee00000);
  });
});
