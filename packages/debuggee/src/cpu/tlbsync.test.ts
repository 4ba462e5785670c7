import { describe, expect, it, vi } from 'vitest';
import { REG_RAX, REG_RBX, RUN_BUDGET, RUN_HLT } from './cpu.js';
import {
  EPT_EXEC_TRAP,
  EPT_READ_TRAP,
  EXIT_EMULATE,
  EXIT_REASON_CPUID,
  EXIT_REASON_EPT_EXECUTE,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_WANT_PRE,
  type ExitHandler,
} from './exits.js';
import { CODE_BASE, makeTestMachine, PageTableBuilder, PTE_W, poke } from './testkit.js';
import { TLB_MASK } from './tlb.js';

const DATA = 0x200000;

/** Index/tag of the TLB slot for a linear address. */
function cached(cpu: { tlbTag: Float64Array }, lin: number): boolean {
  const vpn = Math.floor(lin / 4096);
  return cpu.tlbTag[vpn & TLB_MASK] === vpn;
}

describe('translation invalidation without per-exit flushes', () => {
  it('an exit that changes nothing keeps the TLB warm, across exits and runs', () => {
    const { cpu, memory } = makeTestMachine();
    const calls: number[] = [];
    const h: ExitHandler<unknown> = {
      pre: (_c, reason) => {
        calls.push(reason);
        return EXIT_EMULATE;
      },
      post: () => EXIT_EMULATE,
    };
    cpu.exitHandler = h;
    cpu.exitMask[EXIT_REASON_CPUID] = EXIT_WANT_PRE;
    // mov eax, [DATA]; cpuid; hlt
    poke(memory, CODE_BASE, '8b 04 25 00 00 20 00 0f a2 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(calls).toEqual([EXIT_REASON_CPUID]);
    expect(cached(cpu, DATA)).toBe(true);
    cpu.halted = false;
    expect(cpu.run(1)).toBe(RUN_BUDGET);
    expect(cached(cpu, DATA)).toBe(true);
  });

  it('EPT changes reach a warm TLB through memory.invalidateTranslations', () => {
    const { cpu, memory, ept } = makeTestMachine();
    const seen: number[] = [];
    cpu.exitHandler = {
      pre: (_c, reason) => {
        seen.push(reason);
        return EXIT_EMULATE;
      },
      post: () => EXIT_EMULATE,
    };
    cpu.exitMask[EXIT_REASON_EPT_VIOLATION] = EXIT_WANT_PRE;
    // mov eax, [DATA]; jmp $-7 (loop)
    poke(memory, CODE_BASE, '8b 04 25 00 00 20 00 eb f7');
    expect(cpu.run(10)).toBe(RUN_BUDGET);
    expect(cached(cpu, DATA)).toBe(true);
    ept[DATA >> 12] = EPT_READ_TRAP;
    memory.invalidateTranslations();
    expect(cpu.run(2)).toBe(RUN_BUDGET);
    expect(seen).toEqual([EXIT_REASON_EPT_VIOLATION]);
  });

  it('a debugger write to a page table takes effect at the next run; other writes flush nothing', () => {
    const { cpu, memory } = makeTestMachine();
    const pt = new PageTableBuilder(memory, 0x100000);
    pt.map(0n, 0, PTE_W, 0x200000); // code, stack and tables
    const pte = pt.map(0x40000000n, 0x300000, PTE_W);
    memory.write32(0x300000, 0x11);
    memory.write32(0x301000, 0x22);
    cpu.setCr(3, 0x100000n);
    // mov eax, [0x40000000]; hlt
    poke(memory, CODE_BASE, '8b 04 25 00 00 00 40 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(0x11n);
    // A plain data write (not a paging structure) leaves the TLB alone.
    memory.write32(0x300000, 0x33);
    cpu.halted = false;
    cpu.setRip(BigInt(CODE_BASE));
    expect(cpu.run(1)).toBe(RUN_BUDGET);
    expect(cached(cpu, 0x40000000)).toBe(true);
    expect(cpu.getReg(REG_RAX)).toBe(0x33n);
    // Remap the page through the debug accessor: the next run must see the new frame.
    const e = new Uint8Array(8);
    new DataView(e.buffer).setUint32(0, 0x301000 | 3, true);
    expect(cpu.writeVirtual(BigInt(pte), e)).toBe(true);
    cpu.setRip(BigInt(CODE_BASE));
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RAX)).toBe(0x22n);
  });

  it('a page-table write made by an exit handler applies to the rest of the run', () => {
    const { cpu, memory } = makeTestMachine();
    const pt = new PageTableBuilder(memory, 0x100000);
    pt.map(0n, 0, PTE_W, 0x200000); // code, stack and tables
    const pte = pt.map(0x40000000n, 0x300000, PTE_W);
    memory.write32(0x300000, 0x11);
    memory.write32(0x301000, 0x22);
    cpu.setCr(3, 0x100000n);
    cpu.exitHandler = {
      pre: () => {
        memory.write32(pte, 0x301000 | 3);
        return EXIT_EMULATE;
      },
      post: () => EXIT_EMULATE,
    };
    cpu.exitMask[EXIT_REASON_CPUID] = EXIT_WANT_PRE;
    // mov eax, [0x40000000]; cpuid (handler remaps); mov ebx, [0x40000000]; hlt
    poke(memory, CODE_BASE, '8b 04 25 00 00 00 40 0f a2 8b 1c 25 00 00 00 40 f4');
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(cpu.getReg(REG_RBX)).toBe(0x22n);
  });

  it("the processor's own accessed/dirty updates do not move the epoch", () => {
    const { cpu, memory } = makeTestMachine();
    const pt = new PageTableBuilder(memory, 0x100000);
    pt.map(0n, 0, PTE_W, 0x200000); // code, stack and tables
    pt.map(0x40000000n, 0x300000, PTE_W);
    cpu.setCr(3, 0x100000n);
    // mov [0x40000000], eax; hlt — sets A and D in the walked entries.
    poke(memory, CODE_BASE, '89 04 25 00 00 00 40 f4');
    const epoch = memory.translationEpoch;
    expect(cpu.run(10)).toBe(RUN_HLT);
    expect(memory.tableFrames[0x100]).toBe(1);
    expect(memory.read32(0x100000) & 0x20).toBe(0x20);
    expect(memory.translationEpoch).toBe(epoch);
  });

  it('code bouncing between two pages refills its fetch page from the TLB, not the page walker', () => {
    const { cpu, memory, ept } = makeTestMachine();
    // CODE_BASE+0xff0: dec ecx; jnz to the next page; hlt. Next page: jmp back.
    poke(memory, CODE_BASE, 'b9 e8 03 00 00 e9 e6 0f 00 00'); // mov ecx, 1000; jmp CODE_BASE+0xff0
    poke(memory, CODE_BASE + 0xff0, 'ff c9 75 0c f4'); // dec ecx; jnz +12 (CODE_BASE+0x1000); hlt
    poke(memory, CODE_BASE + 0x1000, 'eb ee'); // jmp CODE_BASE+0xff0
    const walks = vi.spyOn(cpu, 'pageWalk');
    expect(cpu.run(5000)).toBe(RUN_HLT);
    expect(cpu.getReg(1)).toBe(0n);
    expect(walks.mock.calls.length).toBeLessThan(10);
    // An execute trap set afterwards still reaches the fetch path (the trapped frame misses).
    const seen: number[] = [];
    cpu.exitHandler = {
      pre: (_c, reason) => {
        seen.push(reason);
        return EXIT_EMULATE;
      },
      post: () => EXIT_EMULATE,
    };
    cpu.exitMask[EXIT_REASON_EPT_EXECUTE] = EXIT_WANT_PRE;
    ept[(CODE_BASE + 0x1000) >> 12] = EPT_EXEC_TRAP;
    memory.invalidateTranslations();
    cpu.halted = false;
    cpu.setReg(1, 2n);
    cpu.setRip(BigInt(CODE_BASE + 0xff0));
    expect(cpu.run(100)).toBe(RUN_HLT);
    expect(seen).toEqual([EXIT_REASON_EPT_EXECUTE]);
  });
});
