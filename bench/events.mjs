// Event dispatch throughput (issue 6): script actions/s and custom-code actions/s on the `syscalls`
// workload (the guest kernel's sysloop process making getpid syscalls), a dispatch-only figure on a
// bare vCPU (`syscall; jmp` with the event short-circuiting the syscall, so only the hypervisor's
// cost is measured), and guest MIPS with the hypervisor installed but no events vs the bare machine
// on the `compute` workload (target: within 5%).
//
// Needs `npm run build` (it loads packages/*/dist).
const dist = (p) => new URL(`../packages/${p}`, import.meta.url).href;

async function load() {
  const { Debuggee } = await import(dist('debuggee/dist/debuggee.js'));
  const { Machine } = await import(dist('debuggee/dist/machine/machine.js'));
  const { BareGuest, hex } = await import(dist('debuggee/dist/hv/testing/bareGuest.js'));
  const { compileScript } = await import(dist('script/dist/index.js'));
  return { Debuggee, Machine, BareGuest, hex, compileScript };
}

const SILENT = { onLog() {}, onDropped() {}, onConsole() {}, onHalt() {}, onResume() {}, onEventsChanged() {} };

function spec(kind, actions, extra = {}) {
  return { kind, stage: 'pre', sc: false, imm: false, bufferSize: 0, actions, text: `!${kind}`, ...extra };
}

/** Runs slices for `ms` of wall time after a warm-up; returns elapsed ms and instructions. */
function runFor(target, ms) {
  for (let i = 0; i < 5; i++) target.runSlice();
  const t0 = performance.now();
  const i0 = target.instructions();
  let elapsed = 0;
  do {
    target.runSlice();
    elapsed = performance.now() - t0;
  } while (elapsed < ms);
  return { elapsed, instructions: Number(target.instructions() - i0) };
}

/** The kernel's own count of system calls (guest/BOOT.md: `syscall_count`). */
function syscallCount(d) {
  const sym = d.symbols().symbols.find((s) => s.name === 'syscall_count');
  const bytes = d.readMemory('virtual', sym.address, 8, 0);
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
}

/** `action` = null: no event, the guest's own syscall rate (the ceiling for actions/s). */
async function onWorkload(lib, action, ms) {
  const d = new lib.Debuggee({ workload: 'syscalls', vcpus: 1, memoryBytes: 64n << 20n, sliceInstructions: 200_000 });
  d.setListener(SILENT);
  // Boot first, so the measurement sees the syscall loop only.
  for (let i = 0; i < 200 && d.instructions() < 5_000_000n; i++) d.runSlice();
  const ev = action === null ? null : d.registry.get(d.addEvent(spec('syscall', [action])).id);
  const h0 = ev?.hits ?? 0;
  const s0 = syscallCount(d);
  const { elapsed, instructions } = runFor(d, ms);
  const fired = ev === null ? syscallCount(d) - s0 : ev.hits - h0;
  return { perSecond: (fired / elapsed) * 1000, mips: instructions / elapsed / 1000, state: d.state() };
}

/** `syscall; jmp back`, every syscall short-circuited by the event: the dispatch + action cost alone. */
function onBareCpu(lib, action, ms) {
  const g = new lib.BareGuest().load(lib.hex('0f05 ebfc'));
  const cpu = g.cpus[0];
  cpu.setMsr(0xc0000080, cpu.getMsr(0xc0000080) | 1n); // EFER.SCE
  const { id } = g.stack.events.add(spec('syscall', [action], { sc: true }));
  const ev = g.stack.registry.get(id);
  for (let i = 0; i < 20; i++) cpu.run(10_000);
  const h0 = ev.hits;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    cpu.run(100_000);
    g.stack.queue.discard();
    elapsed = performance.now() - t0;
  } while (elapsed < ms);
  return ((ev.hits - h0) / elapsed) * 1000;
}

/** Heap bytes allocated per firing on the bare vCPU, over a window with no GC (null if one ran). */
async function bytesPerAction(lib, action) {
  const { PerformanceObserver } = await import('node:perf_hooks');
  const g = new lib.BareGuest().load(lib.hex('0f05 ebfc'));
  const cpu = g.cpus[0];
  cpu.setMsr(0xc0000080, cpu.getMsr(0xc0000080) | 1n);
  const ev = g.stack.registry.get(g.stack.events.add(spec('syscall', [action], { sc: true })).id);
  for (let i = 0; i < 50; i++) cpu.run(10_000);
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const h0 = ev.hits;
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 20; i++) cpu.run(10_000);
  const grown = process.memoryUsage().heapUsed - before;
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return gcs === 0 ? Math.max(0, grown) / (ev.hits - h0) : null;
}

async function mipsNoEvents(lib, ms) {
  const config = { workload: 'compute', vcpus: 1, memoryBytes: 64 * 1024 * 1024 };
  const bare = new lib.Machine(config);
  const bareTarget = {
    runSlice: () => bare.runSlice(200_000),
    instructions: () => BigInt(bare.instructions),
  };
  const d = new lib.Debuggee({ ...config, memoryBytes: BigInt(config.memoryBytes), sliceInstructions: 200_000 });
  d.setListener(SILENT);
  // Alternate to share machine noise fairly.
  let bareMips = 0;
  let hvMips = 0;
  for (let round = 0; round < 3; round++) {
    const a = runFor(bareTarget, ms / 3);
    const b = runFor(d, ms / 3);
    bareMips += a.instructions / a.elapsed / 1000 / 3;
    hvMips += b.instructions / b.elapsed / 1000 / 3;
  }
  return { bareMips, hvMips };
}

export default {
  name: 'events',
  description:
    'script / custom-code actions per second on the syscalls workload; guest MIPS with no events vs bare CPU',
  async run({ smoke }) {
    const lib = await load();
    const ms = smoke ? 150 : 2000;
    const notes = [];
    const script = { type: 'script', buffer: lib.compileScript('.n = .n + 1;') };
    const printf = { type: 'script', buffer: lib.compileScript('printf("%llx %llx\\n", @rax, @rcx);') };
    // mov rax, [rdx] ; ret — reads GUEST_REGS.rax, changes nothing.
    const code = { type: 'code', bytes: Uint8Array.from([0x48, 0x8b, 0x02, 0xc3]) };
    const figures = {};
    const guard = async (label, fn) => {
      try {
        return await fn();
      } catch (err) {
        notes.push(`${label}: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      }
    };
    const base = await guard('syscalls, no events', () => onWorkload(lib, null, ms));
    figures['guest syscalls/s, no events (ceiling)'] = base === null ? null : Math.round(base.perSecond);
    const s = await guard('script on syscalls', () => onWorkload(lib, script, ms));
    const c = await guard('code on syscalls', () => onWorkload(lib, code, ms));
    figures['script actions/s (syscalls)'] = s === null ? null : Math.round(s.perSecond);
    figures['custom-code actions/s (syscalls)'] = c === null ? null : Math.round(c.perSecond);
    if (s !== null && s.state !== 'running') notes.push(`the guest ended in state ${s.state}`);
    figures['script actions/s (dispatch only)'] = await guard('script bare', () =>
      Math.round(onBareCpu(lib, script, ms)),
    );
    figures['printf actions/s (dispatch only)'] = await guard('printf bare', () =>
      Math.round(onBareCpu(lib, printf, ms)),
    );
    figures['custom-code actions/s (dispatch only)'] = await guard('code bare', () =>
      Math.round(onBareCpu(lib, code, ms)),
    );
    figures['heap bytes per script action'] = await guard('alloc script', () => bytesPerAction(lib, script));
    figures['heap bytes per custom-code action'] = await guard('alloc code', () => bytesPerAction(lib, code));
    const m = await guard('mips', () => mipsNoEvents(lib, ms));
    if (m !== null) {
      figures['guest MIPS bare machine'] = Number(m.bareMips.toFixed(2));
      figures['guest MIPS hypervisor, no events'] = Number(m.hvMips.toFixed(2));
      figures['no-event slowdown %'] = Number(((1 - m.hvMips / m.bareMips) * 100).toFixed(1));
    }
    figures['target actions/s'] = 1_000_000;
    return { figures, notes };
  },
};
