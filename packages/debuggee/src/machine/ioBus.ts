/**
 * The port-I/O space (SDM Vol. 1 ch. 19): a registration table from port number to device. Ports
 * nobody claims behave like an open bus — reads return all ones, writes are dropped.
 */
import type { IoBus } from '../cpu/bus.js';

/** A device on the I/O bus; `port` is the absolute port number. */
export interface PortDevice {
  read(port: number, size: 1 | 2 | 4): number;
  write(port: number, size: 1 | 2 | 4, value: number): void;
}

const PORT_COUNT = 0x10000;
const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];

export class IoPortBus implements IoBus {
  private readonly owners: (PortDevice | undefined)[] = new Array(PORT_COUNT).fill(undefined);

  /** Claims ports [base, base + count); throws if any is taken (a wiring bug, not a guest error). */
  register(base: number, count: number, device: PortDevice): void {
    if (!Number.isInteger(base) || !Number.isInteger(count) || base < 0 || count < 1 || base + count > PORT_COUNT) {
      throw new RangeError(`bad port range 0x${base.toString(16)}+${count}`);
    }
    for (let p = base; p < base + count; p++) {
      if (this.owners[p] !== undefined) throw new RangeError(`port 0x${p.toString(16)} is already registered`);
    }
    for (let p = base; p < base + count; p++) this.owners[p] = device;
  }

  in(port: number, size: 1 | 2 | 4): number {
    const device = this.owners[port & 0xffff];
    return device === undefined ? ALL_ONES[size]! : device.read(port & 0xffff, size);
  }

  out(port: number, size: 1 | 2 | 4, value: number): void {
    this.owners[port & 0xffff]?.write(port & 0xffff, size, value);
  }
}
