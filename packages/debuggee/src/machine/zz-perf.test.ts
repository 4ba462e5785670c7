import { it } from 'vitest';
import { OPS } from '../cpu/execute.js';
import { Machine } from './machine.js';

it('perf', () => {
  if (OPS[0x0f]!.name === 'opUD') OPS[0x0f] = (c: any) => OPS[0x100 | c.fetch8()]!(c);
  for (const q of [2000, 20000, 2000]) {
    const m = new Machine({
      memoryBytes: 64 << 20,
      vcpus: Number(process.env.V ?? 1),
      workload: process.env.WL ?? 'compute',
      quantum: q,
    });
    const t0 = performance.now();
    for (let i = 0; i < 8; i++) m.runSlice(1_000_000);
    const dt = (performance.now() - t0) / 1000;
    console.log('quantum', q, 'MIPS', (m.instructions / dt / 1e6).toFixed(2), m.instructions);
  }
});
