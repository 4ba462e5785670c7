/**
 * A 16550A UART (National Semiconductor datasheet, register set at base+0 … base+7). Transmitted
 * bytes are collected and handed out as text by `drain()`; the transmitter is always ready, so
 * LSR reads THRE|TEMT. Received bytes queued with `receive()` appear in RBR with LSR.DR set.
 * Interrupts are not generated: the guest polls.
 */
import type { PortDevice } from '../ioBus.js';

export const COM1_BASE = 0x3f8;
export const UART_PORT_COUNT = 8;

// Register offsets.
const UART_RBR_THR = 0;
const UART_IER = 1;
const UART_IIR_FCR = 2;
const UART_LCR = 3;
const UART_MCR = 4;
const UART_LSR = 5;
const UART_MSR = 6;
const UART_SCR = 7;

const LCR_DLAB = 0x80;
const LSR_DR = 0x01;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const IIR_NO_INTERRUPT = 0x01;
const IIR_FIFO_ENABLED = 0xc0;
const MSR_CTS_DSR_DCD = 0xb0;
/** Pending output is capped so a guest that prints without anyone draining cannot grow it unboundedly. */
const MAX_PENDING = 1 << 20;

export class Uart16550 implements PortDevice {
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private fcr = 0;
  private divisor = 1;
  private pending = '';
  private readonly rx: number[] = [];
  /** Bytes transmitted since construction. */
  transmitted = 0;

  constructor(readonly base = COM1_BASE) {}

  read(port: number, _size: 1 | 2 | 4): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (port - this.base) {
      case UART_RBR_THR:
        if (dlab) return this.divisor & 0xff;
        return this.rx.length > 0 ? this.rx.shift()! : 0;
      case UART_IER:
        return dlab ? (this.divisor >> 8) & 0xff : this.ier;
      case UART_IIR_FCR:
        return IIR_NO_INTERRUPT | (this.fcr & 1 ? IIR_FIFO_ENABLED : 0);
      case UART_LCR:
        return this.lcr;
      case UART_MCR:
        return this.mcr;
      case UART_LSR:
        return LSR_THRE | LSR_TEMT | (this.rx.length > 0 ? LSR_DR : 0);
      case UART_MSR:
        return MSR_CTS_DSR_DCD;
      case UART_SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  write(port: number, _size: 1 | 2 | 4, value: number): void {
    const v = value & 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (port - this.base) {
      case UART_RBR_THR:
        if (dlab) this.divisor = (this.divisor & 0xff00) | v;
        else this.transmit(v);
        break;
      case UART_IER:
        if (dlab) this.divisor = (this.divisor & 0xff) | (v << 8);
        else this.ier = v & 0x0f;
        break;
      case UART_IIR_FCR:
        this.fcr = v;
        break;
      case UART_LCR:
        this.lcr = v;
        break;
      case UART_MCR:
        this.mcr = v & 0x1f;
        break;
      case UART_SCR:
        this.scr = v;
        break;
    }
  }

  private transmit(byte: number): void {
    this.transmitted++;
    if (this.pending.length < MAX_PENDING) this.pending += String.fromCharCode(byte);
  }

  /** Text transmitted since the last drain (bytes as Latin-1 characters). */
  drain(): string {
    const text = this.pending;
    this.pending = '';
    return text;
  }

  /** Queues bytes for the guest to read from RBR. */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) this.rx.push(b);
  }
}
