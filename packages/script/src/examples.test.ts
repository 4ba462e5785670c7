import { describe, expect, test } from 'vitest';
import { compileScript } from './compile.js';
import { newScriptContext } from './host.js';
import { SnapshotHost } from './snapshot.js';
import { verifyScript } from './verify.js';
import { ScriptVM } from './vm.js';

// The scripts of SPEC §7, run as the daemon would: verified once, run per firing with a context.

function setup(registers: Record<string, bigint> = {}) {
  const host = new SnapshotHost({ registers, pseudo: { pid: 0x1an } });
  const vm = new ScriptVM(host);
  const load = (source: string) => verifyScript(compileScript(source));
  return { host, vm, load };
}

describe('SPEC §7 examples', () => {
  test('1: log syscall 0x3c and its first argument', () => {
    const { host, vm, load } = setup({ rdi: 0x2an });
    const s = load('printf("exit pid=%x code=%llx\\n", $pid, @rdi);');
    expect(vm.run(s, { ...newScriptContext(), context: 0x3cn }).ok).toBe(true);
    expect(host.output).toEqual(['exit pid=1a code=2a\n']);
  });

  test('2: print the path an opened file', () => {
    const { host, vm, load } = setup({ rdi: 0x7000n });
    host.mapVirtual(0x7000n, new TextEncoder().encode('/etc/passwd\0'));
    vm.run(load('printf("open %s\\n", @rdi);'), newScriptContext());
    expect(host.output).toEqual(['open /etc/passwd\n']);
  });

  test('4: clear ECX bit 31 after CPUID leaf 1', () => {
    const { host, vm, load } = setup({ rcx: 0xffffffff_80000001n });
    vm.run(load('@rcx = @rcx & not(80000000);'), { ...newScriptContext(), stage: 1 });
    expect(host.getRegister('rcx')).toBe(0xffffffff_00000001n);
  });

  test('5: fake RDTSC with a global counter rising 0x100 per read', () => {
    const { host, vm, load } = setup({ rax: 0x1234n, rdx: 0x99n });
    const s = load('@rax = .t; @rdx = 0; .t = .t + 100;');
    const seen: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      vm.run(s, newScriptContext());
      seen.push(host.getRegister('rax'));
    }
    expect(seen).toEqual([0n, 0x100n, 0x200n]);
    expect(host.getRegister('rdx')).toBe(0n);
  });

  test('6: log and block rewrites of LSTAR', () => {
    const { host, vm, load } = setup({ rdx: 0xfffff800n, rax: 0x1000n, rip: 0xfffff80000123456n });
    vm.run(load('printf("LSTAR<-%x:%x at %llx\\n", @rdx, @rax, @rip); event_sc(1);'), newScriptContext());
    expect(host.output).toEqual(['LSTAR<-fffff800:1000 at fffff80000123456\n']);
    expect(host.calls).toEqual([{ what: 'event_sc', args: [true] }]);
  });

  test('7: report writes to a page with the accessed address', () => {
    const { host, vm, load } = setup({ rip: 0x401000n });
    vm.run(load('printf("%llx wrote %llx\\n", @rip, $context);'), {
      ...newScriptContext(),
      context: 0xfffff80000200010n,
    });
    expect(host.output).toEqual(['401000 wrote fffff80000200010\n']);
  });

  test('8: mirror COM1 output one character at a time', () => {
    const { host, vm, load } = setup();
    const s = load('printf("%c", @al);');
    for (const c of 'ok\n') {
      host.setRegister('rax', BigInt(c.charCodeAt(0)) | 0x4100n);
      vm.run(s, newScriptContext());
    }
    expect(host.output.join('')).toBe('ok\n');
  });

  test('9: page faults with CR2', () => {
    const { host, vm, load } = setup({ rip: 0x401234n, cr2: 0xdead000n });
    vm.run(load('printf("#PF rip=%llx cr2=%llx\\n", @rip, @cr2);'), { ...newScriptContext(), context: 0xen });
    expect(host.output).toEqual(['#PF rip=401234 cr2=dead000\n']);
  });

  test('10: every thousandth syscall counted in the shared event buffer', () => {
    const { host, vm, load } = setup();
    host.mapVirtual(0x9000n, 8);
    const s = load('if (dq($buffer) % 0n1000 == 0) { printf("%llu\\n", dq($buffer)); }');
    const ctx = { ...newScriptContext(), buffer: 0x9000n };
    for (let n = 1; n <= 3000; n++) {
      // The custom code (`lock inc qword [rcx]`) increments the buffer before the script runs.
      host.virtual.write(0x9000, 0, 8, new Uint8Array(new BigUint64Array([BigInt(n)]).buffer));
      vm.run(s, ctx);
    }
    expect(host.output).toEqual(['1000\n', '2000\n', '3000\n']);
  });

  test('11: condition scripts report their value', () => {
    const { vm, load } = setup({ rax: 0x3cn });
    const cond = verifyScript(compileScript('@rax == 3c', { mode: 'condition' }));
    const r = vm.run(cond, newScriptContext());
    expect(r.ok && r.truthy).toBe(true);
    expect(load('x = 1;')).toBeDefined();
  });
});
