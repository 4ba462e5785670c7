import { describe, expect, it } from 'vitest';
import { REG_R12, REG_R13, REG_R14, REG_R15, REG_RAX, REG_RBX } from '../cpu/cpu.js';
import { HC_ERROR, HC_MAGIC, HC_OK } from './hypercalls.js';
import { Machine } from './machine.js';

/**
 * A bare 64-bit program (assembled once with GNU as, bytes below) that makes every machine
 * hypercall: AWARENESS (block at label `block`: pid 7, tid 8), START_CPU 1 (entry `ap`, which
 * copies its RDI into R15), START_CPU 1 again (must fail), ANNOUNCE "test banner", and an unknown
 * number; results land in R12, R13, R14 and RBX, then it halts.
 */
const PROGRAM = Buffer.from(
  'b803005648488d3d740000000f01c14989c4b802005648bf01000000488d3540000000488d15c600000041ba2a0000000f01c14989c5b802005648bf010000000f01c14989c6b801005648488d3d170000000f01c1b8630056480f01c14889c3f4ebfd4989fff4ebfd746573742062616e6e65720066662e0f1f840000000000070000000000000008000000000000000000000000000000000000000000000000000000000000000f1f84000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  'hex',
);
const BASE_VA = 0xffffffff80100000n;
const BASE_PA = 0x100000;

/** Wraps code in a minimal ELF64 executable: one RWX PT_LOAD at BASE_PA / BASE_VA, entry at its start. */
function elfWith(code: Uint8Array): Uint8Array {
  const offset = 64 + 56;
  const out = new Uint8Array(offset + code.length);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 62, true); // EM_X86_64
  v.setUint32(20, 1, true);
  v.setBigUint64(24, BASE_VA, true);
  v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, 1, true);
  v.setUint32(64, 1, true); // PT_LOAD
  v.setUint32(68, 7, true);
  v.setBigUint64(72, BigInt(offset), true);
  v.setBigUint64(80, BASE_VA, true);
  v.setBigUint64(88, BigInt(BASE_PA), true);
  v.setBigUint64(96, BigInt(code.length), true);
  v.setBigUint64(104, BigInt(code.length), true);
  out.set(code, offset);
  return out;
}

describe('machine hypercalls', () => {
  it('serves AWARENESS, START_CPU, ANNOUNCE and rejects the rest', () => {
    const machine = new Machine({ memoryBytes: 8 << 20, vcpus: 2, workload: 'mixed', image: elfWith(PROGRAM) });
    expect(machine.started).toEqual([true, false]);
    machine.runSlice(50_000);
    const [cpu0, cpu1] = machine.cpus;
    expect(cpu0!.getReg(REG_R12)).toBe(HC_OK);
    expect(cpu0!.getReg(REG_R13)).toBe(HC_OK);
    expect(cpu0!.getReg(REG_R14)).toBe(HC_ERROR); // already started
    expect(cpu0!.getReg(REG_RBX)).toBe(HC_ERROR); // unknown number
    expect(machine.banner).toBe('test banner');
    expect(machine.started).toEqual([true, true]);
    expect(cpu1!.getReg(REG_R15)).toBe(42n);
    expect(cpu0!.halted && cpu1!.halted).toBe(true);
    const a = machine.awareness(0);
    expect([a.pid, a.tid, a.processName]).toEqual([7n, 8n, '']);
    expect(machine.awareness(1).pid).toBe(0n);
  });

  it('leaves a VMCALL without the machine magic to whoever chains the handler', () => {
    const machine = new Machine({ memoryBytes: 8 << 20, vcpus: 1, workload: 'mixed', image: elfWith(PROGRAM) });
    const cpu = machine.cpus[0]!;
    cpu.setReg(REG_RAX, 0x1234n);
    expect(machine.handleHypercall(cpu)).toBe(false);
    cpu.setReg(REG_RAX, BigInt(HC_MAGIC) | (1n << 32n));
    expect(machine.handleHypercall(cpu)).toBe(false);
    expect(cpu.getReg(REG_RAX)).toBe(BigInt(HC_MAGIC) | (1n << 32n));
  });
});
