/**
 * The register and memory packets (gdb manual, Appendix E "Packets"): p/P one register, m/M/X
 * memory. Addresses are virtual, in the address space of the vCPU gdb selected with Hg; a read
 * that runs into an unmapped page returns the readable part, as gdb allows.
 */
import { HvdbgError } from '@hvdbg/protocol';
import type { DebugTarget } from '../../target.js';
import { E_BAD_PACKET, E_FAULT, MAX_PACKET_BYTES, parseHexNumber, toHex } from './packets.js';
import { readOne, writeOne } from './registers.js';

/** Largest memory block one `m` reply carries: hex doubles it, and framing needs a few bytes. */
const MAX_MEMORY_CHUNK = (MAX_PACKET_BYTES - 16) / 2;
const PAGE_SIZE = 0x1000n;

export function readRegisterPacket(target: DebugTarget, vcpu: number, args: string): string {
  const n = parseHexNumber(args);
  if (n === undefined) return E_BAD_PACKET;
  // A number past the description: gdb treats an empty reply as "unavailable".
  return readOne(target, vcpu, Number(n)) ?? E_BAD_PACKET;
}

export function writeRegisterPacket(target: DebugTarget, vcpu: number, args: string): string {
  const m = /^([0-9a-fA-F]+)=([0-9a-fA-F]*)$/.exec(args);
  if (m === null) return E_BAD_PACKET;
  const regnum = Number.parseInt(m[1]!, 16);
  return writeOne(target, vcpu, regnum, m[2]!) === 'ok' ? 'OK' : E_BAD_PACKET;
}

function addressLength(text: string): { address: bigint; length: number } | undefined {
  const m = /^([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})$/.exec(text);
  if (m === null) return undefined;
  return { address: BigInt(`0x${m[1]}`), length: Number.parseInt(m[2]!, 16) };
}

export function readMemoryPacket(target: DebugTarget, vcpu: number, args: string): string {
  const al = addressLength(args);
  if (al === undefined) return E_BAD_PACKET;
  const length = Math.min(al.length, MAX_MEMORY_CHUNK);
  if (length === 0) return '';
  try {
    return toHex(target.readMemory('virtual', al.address, length, vcpu));
  } catch (err) {
    if (!(err instanceof HvdbgError) || err.code !== 'E_BAD_ADDRESS') throw err;
  }
  // The block crosses into an unmapped page: a short reply with what is readable is allowed.
  const toPageEnd = Number(PAGE_SIZE - (al.address & (PAGE_SIZE - 1n)));
  if (toPageEnd >= length) return E_FAULT;
  try {
    return toHex(target.readMemory('virtual', al.address, toPageEnd, vcpu));
  } catch {
    return E_FAULT;
  }
}

export function writeMemoryPacket(target: DebugTarget, vcpu: number, args: string): string {
  const colon = args.indexOf(':');
  const al = colon < 0 ? undefined : addressLength(args.slice(0, colon));
  const hex = args.slice(colon + 1);
  if (al === undefined || hex.length !== al.length * 2 || !/^[0-9a-fA-F]*$/.test(hex)) return E_BAD_PACKET;
  if (al.length > 0) target.writeMemory('virtual', al.address, Buffer.from(hex, 'hex'), vcpu);
  return 'OK';
}

export function writeBinaryPacket(target: DebugTarget, vcpu: number, raw: Buffer): string {
  const colon = raw.indexOf(0x3a);
  const al = colon < 0 ? undefined : addressLength(raw.subarray(1, colon).toString('latin1'));
  if (al === undefined) return E_BAD_PACKET;
  const data = raw.subarray(colon + 1);
  if (data.length !== al.length) return E_BAD_PACKET;
  // `X addr,0:` is gdb probing for binary-write support.
  if (al.length > 0) target.writeMemory('virtual', al.address, data, vcpu);
  return 'OK';
}
