import { describe, expect, test } from 'vitest';
import { compileScript } from './compile.js';
import { newScriptContext, type ScriptHost } from './host.js';
import { SnapshotHost } from './snapshot.js';
import { newHost, run } from './test/run.js';
import { verifyScript } from './verify.js';
import { ScriptGlobals, ScriptVM } from './vm.js';

const verified = (source: string, mode?: 'expression' | 'condition') => verifyScript(compileScript(source, { mode }));

describe('globals', () => {
  test('live in the VM and are shared by every script, run and vCPU', () => {
    const host = new SnapshotHost({ vcpus: 2 });
    const vm = new ScriptVM(host);
    const inc = verified('.count = .count + 1;');
    const read = verified('.count', 'expression');
    for (let i = 0; i < 3; i++) vm.run(inc, { ...newScriptContext(i % 2) });
    const r = vm.run(read, newScriptContext(1));
    expect(r.ok && r.value).toBe(3n);
    expect(vm.globals.get('count')).toBe(3n);
  });

  test('a ScriptGlobals instance can be shared by several VMs', () => {
    const globals = new ScriptGlobals();
    const a = new ScriptVM(new SnapshotHost(), {}, globals);
    const b = new ScriptVM(new SnapshotHost(), {}, globals);
    a.run(verified('.shared = 0n41;'), newScriptContext());
    b.run(verified('.shared++;'), newScriptContext());
    expect(globals.get('shared')).toBe(42n);
  });

  test('the VM holds at most 512 globals', () => {
    const vm = new ScriptVM(new SnapshotHost());
    for (let i = 0; i < 512; i++) expect(vm.globals.set(`g${i}`, BigInt(i))).toBe(true);
    const r = vm.run(verified('.one_more = 1;'), newScriptContext());
    expect(r.ok ? 'ok' : r.error.message).toBe('too many globals (at most 512)');
  });
});

describe('locals', () => {
  test('are zeroed before every run', () => {
    const vm = new ScriptVM(new SnapshotHost());
    const s = verified('int y; if (.n) { printf("%d", y); } y = 5; .n = 1;');
    const host = vm.host as SnapshotHost;
    vm.run(s, newScriptContext());
    vm.run(s, newScriptContext());
    expect(host.output).toEqual(['0']);
  });
});

describe('context and pseudo-registers', () => {
  test('come from the ScriptContext', () => {
    const r = run('printf("%x %llx %llx %x %x %x", $event_id, $event_tag, $context, $event_stage, $buffer, $core);', {
      host: newHost({ vcpus: 4 }),
      ctx: { vcpu: 3, eventId: 5, eventTag: 0x1000005n, context: 0xfffff80000001234n, stage: 1, buffer: 0x8000n },
    });
    expect(r.output).toBe('5 1000005 fffff80000001234 1 8000 3');
  });

  test('registers are read and written on the context vCPU', () => {
    const host = newHost({ vcpus: 2 });
    host.setRegister('rax', 7n, 1);
    const r = run('@rdx = @rax + 1;', { host, ctx: { vcpu: 1 } });
    expect(r.error).toBeUndefined();
    expect([host.getRegister('rdx', 0), host.getRegister('rdx', 1)]).toEqual([0n, 8n]);
  });
});

describe('host effects', () => {
  test('event control, pause, flush, injection and tracing reach the host', () => {
    const r = run(
      'event_enable(3); event_disable(4); event_clear(ffffffffffffffff); event_sc(1); pause(); flush(); event_inject(3, e); event_inject_error_code(3, e, 2); event_trace_step(); event_trace_instrumentation_step(); microsleep(0n10);',
    );
    expect(r.error).toBeUndefined();
    expect(r.host.calls.map((c) => `${c.what}(${c.args.join(',')})`)).toEqual([
      'event_enable(0x3)',
      'event_disable(0x4)',
      'event_clear(0xffffffffffffffff)',
      'event_sc(true)',
      'pause(0)',
      'flush()',
      'event_inject(3,14,-1)',
      'event_inject(3,14,2)',
      'event_trace(step)',
      'event_trace(instrument)',
      'microsleep(10)',
    ]);
  });

  test('test_statement and formats record values', () => {
    const r = run('test_statement(1234); formats(ff);');
    expect(r.host.tests).toEqual([0x1234n]);
    expect(r.host.output).toEqual(['[formats] ff']);
  });

  test('an exception thrown by the host becomes a run-time error', () => {
    const host = newHost();
    host.readVirtual = () => {
      throw new Error('device gone');
    };
    const r = run('x = poi(5000);', { host });
    expect(r.error).toBe('internal error: device gone');
  });
});

describe('limits', () => {
  test('the step budget is configurable and ends only that run', () => {
    const vm = new ScriptVM(newHost(), { maxSteps: 1000 });
    const loop = verified('i = 0; while (i < 0n1000) { i++; }');
    const r = vm.run(loop, newScriptContext());
    expect(r.ok ? 'ok' : r.error.message).toBe('step budget of 1000 exhausted');
    const after = vm.run(verified('1 + 1', 'expression'), newScriptContext());
    expect(after.ok && after.value).toBe(2n);
  });

  test('recursion into a deep frame overflows the 256-slot stack', () => {
    // Each frame holds 1 parameter and 60 locals.
    const locals = Array.from({ length: 60 }, (_, i) => `v${i} = n;`).join(' ');
    const src = `int deep(int n) { ${locals} return deep(n + 1); } deep(0);`;
    expect(run(src).error).toBe('stack overflow (256 slots)');
  });

  test('printf output is limited to 4096 bytes', () => {
    expect(run('printf("%4000d%100d", 1, 2);').error).toBe('output longer than 4096 bytes');
    expect(run('printf("%4000d", 1);').output).toHaveLength(4000);
  });

  test('a %s string stops at the string limit', () => {
    const host = newHost();
    host.mapVirtual(0x20000n, new Uint8Array(0x3000).fill(0x41));
    const vm = new ScriptVM(host, { maxStringChars: 10 });
    const r = run('printf("%s", 20000); x = strlen(20000); printf(" %d", x);', { host, vm });
    expect(r.output).toBe('AAAAAAAAAA 10');
  });

  test('a string crossing into an unmapped page reads up to the terminator', () => {
    const host = newHost();
    host.mapVirtual(0x30ffcn, new Uint8Array([0x61, 0x62, 0x63, 0]));
    expect(run('printf("%s", 30ffc);', { host }).output).toBe('abc');
    host.mapVirtual(0x40ffen, new Uint8Array([0x61, 0x62]));
    expect(run('printf("%s", 40ffe);', { host }).error).toBe('printf: cannot read the string at 0x40ffe');
  });
});

describe('results', () => {
  test('the VM reuses its result objects', () => {
    const vm = new ScriptVM(new SnapshotHost());
    const a = vm.run(verified('1', 'expression'), newScriptContext());
    const b = vm.run(verified('2', 'expression'), newScriptContext());
    expect(a).toBe(b);
    expect(b.ok && b.value).toBe(2n);
  });

  test('lo/hi/truthy expose the value without BigInt', () => {
    const vm = new ScriptVM(new SnapshotHost());
    const r = vm.run(verified('123456789abcdef0', 'expression'), newScriptContext());
    expect(r.ok && [r.lo >>> 0, r.hi >>> 0, r.truthy]).toEqual([0x9abcdef0, 0x12345678, true]);
  });

  test('statement scripts produce 0', () => {
    expect(run('x = 5;').value).toBe(0n);
  });
});

describe('allocation', () => {
  test('a condition script allocates (almost) nothing per run', () => {
    const host: ScriptHost = new SnapshotHost({ registers: { rax: 0x3cn } });
    const vm = new ScriptVM(host);
    const s = verified('@rax == 3c && $pid == 0 && (@rcx + 1) * 3 > 2', 'condition');
    const ctx = newScriptContext();
    for (let i = 0; i < 10_000; i++) vm.run(s, ctx);
    const gc = globalThis.gc;
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 200_000; i++) vm.run(s, ctx);
    const grown = process.memoryUsage().heapUsed - before;
    gc?.();
    // 200k runs allocating even one small object each would be several MB.
    expect(grown).toBeLessThan(2_000_000);
  });
});

describe('dispatch table', () => {
  test('every literal case label in the interpreter matches its opcode, and every opcode has one', async () => {
    const { readFileSync } = await import('node:fs');
    const { Op, OPCODES } = await import('./bytecode.js');
    const source = readFileSync(new URL('./vm.ts', import.meta.url), 'utf8');
    const labels = [...source.matchAll(/case \/\* ([A-Z_0-9]+) \*\/ (\d+):/g)].map(([, name, n]) => [name, Number(n)]);
    for (const [name, n] of labels) expect([name, Op[name as keyof typeof Op]]).toEqual([name, n]);
    const inlined = [...source.matchAll(/\/\* ([A-Z_0-9]+) \*\/ (\d+)/g)];
    for (const [, name, n] of inlined) expect([name, Op[name as keyof typeof Op]]).toEqual([name, Number(n)]);
    expect(new Set(labels.map(([, n]) => n)).size).toBe(OPCODES.length);
  });
});
