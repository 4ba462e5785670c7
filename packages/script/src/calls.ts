/**
 * Run-time half of the built-ins (SPEC §4.7); the table with names and arity is builtins.ts.
 * Arguments sit on the VM stack at `base…`; a built-in with a value leaves it at `base`.
 *
 * Memory built-ins follow the SPEC's split: readers (poi, db…) end the run on a bad address,
 * writers (eb, ed, eq) return 1 / 0, strlen returns 0 for an invalid string, and check_address and
 * the translations never fail.
 */
import { BUILTINS } from './builtins.js';
import { CHUNK } from './memory.js';
import { hex64, U64_RESULT } from './u64.js';
import type { ScriptVM } from './vm.js';

type Impl = (vm: ScriptVM, lo: Int32Array, hi: Int32Array, base: number) => void;

/** Set the built-in's value (at `base`). */
function ret(vm: ScriptVM, base: number, l: number, h: number): void {
  vm.stack.lo[base] = l;
  vm.stack.hi[base] = h;
}

const read =
  (size: number, physical: boolean, part: 'all' | 'hi' | 'low' = 'all'): Impl =>
  (vm, lo, hi, b) => {
    vm.load(lo[b], hi[b], size, physical);
    const l = U64_RESULT[0];
    if (part === 'all') ret(vm, b, l, U64_RESULT[1]);
    else ret(vm, b, part === 'hi' ? l >>> 16 : l & 0xffff, 0); // SPEC quirk: hi() is bits 16-31
  };

const write =
  (size: number, physical: boolean): Impl =>
  (vm, lo, hi, b) =>
    ret(vm, b, vm.store(lo[b], hi[b], size, lo[b + 1], hi[b + 1], physical, false) ? 1 : 0, 0);

/** Copy n bytes in chunks through the VM's scratch buffer. */
function memcpy(physical: boolean): Impl {
  return (vm, lo, hi, b) => {
    let n = checkedLength(vm, lo[b + 2], hi[b + 2], 'memcpy');
    let d = lo[b] >>> 0;
    let s = lo[b + 1] >>> 0;
    const dh = hi[b];
    const sh = hi[b + 1];
    while (n > 0) {
      const k = Math.min(n, CHUNK);
      if (!vm.mem.read(s, sh, k, physical)) vm.abort(`memcpy: cannot read memory at 0x${hex64(s, sh)}`);
      if (!vm.mem.write(d, dh, k, physical)) vm.abort(`memcpy: cannot write memory at 0x${hex64(d, dh)}`);
      n -= k;
      d += k;
      s += k;
    }
  };
}

function checkedLength(vm: ScriptVM, l: number, h: number, what: string): number {
  const n = l >>> 0;
  if (h !== 0 || n > vm.limits.maxCopyBytes)
    vm.abort(`${what}: length 0x${hex64(l, h)} over the limit of ${vm.limits.maxCopyBytes}`);
  return n;
}

/** -1 / 0 / 1 as a u64 value. */
function retCompare(vm: ScriptVM, base: number, c: number): void {
  ret(vm, base, c, c < 0 ? -1 : 0);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function str(vm: ScriptVM, l: number, h: number, wide: boolean, what: string): string {
  const s = vm.mem.readString(l, h, wide, vm.limits.maxStringChars);
  if (s === undefined) vm.abort(`${what}: cannot read the string at 0x${hex64(l, h)}`);
  return s;
}

const strcmp =
  (wide: boolean, bounded: boolean): Impl =>
  (vm, lo, hi, b) => {
    const name = `${wide ? 'wcs' : 'str'}${bounded ? 'n' : ''}cmp`;
    let x = str(vm, lo[b], hi[b], wide, name);
    let y = str(vm, lo[b + 1], hi[b + 1], wide, name);
    if (bounded) {
      const n = hi[b + 2] !== 0 ? Number.MAX_SAFE_INTEGER : lo[b + 2] >>> 0;
      x = x.slice(0, n);
      y = y.slice(0, n);
    }
    retCompare(vm, b, compareStrings(x, y));
  };

const strlen =
  (wide: boolean): Impl =>
  (vm, lo, hi, b) => {
    const s = vm.mem.readString(lo[b], hi[b], wide, vm.limits.maxStringChars);
    ret(vm, b, s === undefined ? 0 : s.length, 0);
  };

/** Read-modify-write of the qword at the first argument; `f` computes the new value into U64_RESULT
 * from the old one, and the built-in returns the old or new value. */
function interlocked(f: (vm: ScriptVM, ol: number, oh: number, b: number) => boolean, returnNew: boolean): Impl {
  return (vm, lo, hi, b) => {
    const al = lo[b];
    const ah = hi[b];
    vm.load(al, ah, 8, false);
    const ol = U64_RESULT[0];
    const oh = U64_RESULT[1];
    if (f(vm, ol, oh, b)) {
      const nl = U64_RESULT[0];
      const nh = U64_RESULT[1];
      vm.store(al, ah, 8, nl, nh, false, true);
      if (returnNew) return ret(vm, b, nl, nh);
    }
    ret(vm, b, ol, oh);
  };
}

/** hi:lo + dh:dl → U64_RESULT; returns true so it can serve as an interlocked update. */
function add64(l: number, h: number, dl: number, dh: number): boolean {
  const s = (l >>> 0) + (dl >>> 0);
  U64_RESULT[0] = s | 0;
  U64_RESULT[1] = (h + dh + (s > 0xffffffff ? 1 : 0)) | 0;
  return true;
}

/** hvdbg runs one action at a time, so a held lock can never be released while we wait: after the
 * wait limit it is a run-time error, not a hang (SPEC §4.6). */
const spinlock =
  (custom: boolean): Impl =>
  (vm, lo, hi, b) => {
    vm.load(lo[b], hi[b], 8, false);
    if ((U64_RESULT[0] | U64_RESULT[1]) !== 0) {
      const wait = custom ? lo[b + 1] >>> 0 : vm.limits.spinlockWait;
      vm.abort(`spinlock at 0x${hex64(lo[b], hi[b])} still held after ${wait} tries`);
    }
    vm.store(lo[b], hi[b], 8, 1, 0, false, true);
  };

const COMPARE_SCRATCH = new Uint8Array(CHUNK);

const zero: Impl = (vm, _lo, _hi, b) => ret(vm, b, 0, 0);

const IMPLS: Record<string, Impl> = {
  poi: read(8, false),
  dq: read(8, false),
  dd: read(4, false),
  dw: read(2, false),
  db: read(1, false),
  hi: read(8, false, 'hi'),
  low: read(8, false, 'low'),
  poi_pa: read(8, true),
  dq_pa: read(8, true),
  dd_pa: read(4, true),
  dw_pa: read(2, true),
  db_pa: read(1, true),
  hi_pa: read(8, true, 'hi'),
  low_pa: read(8, true, 'low'),
  eb: write(1, false),
  ed: write(4, false),
  eq: write(8, false),
  eb_pa: write(1, true),
  ed_pa: write(4, true),
  eq_pa: write(8, true),
  memcpy: memcpy(false),
  memcpy_pa: memcpy(true),
  memcmp: (vm, lo, hi, b) => {
    let n = checkedLength(vm, lo[b + 2], hi[b + 2], 'memcmp');
    let p = lo[b] >>> 0;
    let q = lo[b + 1] >>> 0;
    const scratch = COMPARE_SCRATCH;
    while (n > 0) {
      const k = Math.min(n, CHUNK);
      if (!vm.mem.read(p, hi[b], k, false)) vm.abort(`memcmp: cannot read memory at 0x${hex64(p, hi[b])}`);
      scratch.set(vm.mem.buf.subarray(0, k));
      if (!vm.mem.read(q, hi[b + 1], k, false)) vm.abort(`memcmp: cannot read memory at 0x${hex64(q, hi[b + 1])}`);
      for (let i = 0; i < k; i++)
        if (scratch[i] !== vm.mem.buf[i]) return retCompare(vm, b, scratch[i] < vm.mem.buf[i] ? -1 : 1);
      n -= k;
      p += k;
      q += k;
    }
    retCompare(vm, b, 0);
  },
  strlen: strlen(false),
  wcslen: strlen(true),
  strcmp: strcmp(false, false),
  strncmp: strcmp(false, true),
  wcscmp: strcmp(true, false),
  wcsncmp: strcmp(true, true),
  check_address: (vm, lo, hi, b) => ret(vm, b, vm.mem.check(lo[b], hi[b]) ? 1 : 0, 0),
  virtual_to_physical: (vm, lo, hi, b) => {
    const ok = vm.host.virtualToPhysical(vm.ctx.vcpu, lo[b], hi[b], vm.io);
    ret(vm, b, ok ? vm.io[0] : 0, ok ? vm.io[1] : 0);
  },
  physical_to_virtual: (vm, lo, hi, b) => {
    const ok = vm.host.physicalToVirtual(vm.ctx.vcpu, lo[b], hi[b], vm.io);
    ret(vm, b, ok ? vm.io[0] : 0, ok ? vm.io[1] : 0);
  },
  disassemble_len: (vm, lo, hi, b) => ret(vm, b, vm.host.disassembleLen(vm.ctx.vcpu, lo[b], hi[b], 64), 0),
  disassemble_len64: (vm, lo, hi, b) => ret(vm, b, vm.host.disassembleLen(vm.ctx.vcpu, lo[b], hi[b], 64), 0),
  disassemble_len32: (vm, lo, hi, b) => ret(vm, b, vm.host.disassembleLen(vm.ctx.vcpu, lo[b], hi[b], 32), 0),
  interlocked_increment: interlocked((_vm, l, h) => add64(l, h, 1, 0), true),
  interlocked_decrement: interlocked((_vm, l, h) => add64(l, h, -1, -1), true),
  interlocked_exchange: interlocked((vm, _l, _h, b) => {
    U64_RESULT[0] = vm.stack.lo[b + 1];
    U64_RESULT[1] = vm.stack.hi[b + 1];
    return true;
  }, false),
  interlocked_exchange_add: interlocked((vm, l, h, b) => add64(l, h, vm.stack.lo[b + 1], vm.stack.hi[b + 1]), false),
  interlocked_compare_exchange: interlocked((vm, l, h, b) => {
    // (&v, new, cmp): store `new` if *v == cmp; returns the old value either way.
    const { lo, hi } = vm.stack;
    if (l !== lo[b + 2] || h !== hi[b + 2]) return false;
    U64_RESULT[0] = lo[b + 1];
    U64_RESULT[1] = hi[b + 1];
    return true;
  }, false),
  spinlock_lock: spinlock(false),
  spinlock_lock_custom_wait: spinlock(true),
  spinlock_unlock: (vm, lo, hi, b) => {
    vm.store(lo[b], hi[b], 8, 0, 0, false, true);
  },
  event_enable: (vm, lo, hi, b) => vm.host.eventControl('enable', lo[b], hi[b]),
  event_disable: (vm, lo, hi, b) => vm.host.eventControl('disable', lo[b], hi[b]),
  event_clear: (vm, lo, hi, b) => vm.host.eventControl('clear', lo[b], hi[b]),
  event_sc: (vm, lo, hi, b) => vm.host.eventSc(vm.ctx.vcpu, (lo[b] | hi[b]) !== 0),
  event_inject: (vm, lo, _hi, b) => vm.host.eventInject(vm.ctx.vcpu, lo[b] & 7, lo[b + 1] & 0xff, -1),
  event_inject_error_code: (vm, lo, _hi, b) =>
    vm.host.eventInject(vm.ctx.vcpu, lo[b] & 7, lo[b + 1] & 0xff, lo[b + 2] >>> 0),
  pause: (vm) => vm.host.pause(vm.ctx.vcpu),
  flush: (vm) => vm.host.flush(),
  print: (vm, lo, hi, b) => vm.emitChecked(`${hex64(lo[b], hi[b])}\n`),
  formats: (vm, lo, hi, b) => vm.host.emit('formats', hex64(lo[b], hi[b])),
  test_statement: (vm, lo, hi, b) => vm.host.testStatement(lo[b], hi[b]),
  microsleep: (vm, lo, hi, b) => vm.host.microsleep(vm.ctx.vcpu, hi[b] !== 0 ? 0xffffffff : lo[b] >>> 0),
  rdtsc: (vm, _lo, _hi, b) => {
    vm.host.rdtsc(vm.ctx.vcpu, vm.io);
    ret(vm, b, vm.io[0], vm.io[1]);
  },
  rdtscp: (vm, _lo, _hi, b) => {
    vm.host.rdtsc(vm.ctx.vcpu, vm.io);
    ret(vm, b, vm.io[0], vm.io[1]);
  },
  // Last-branch records are not emulated: SPEC allows returning 0.
  lbr_save: zero,
  lbr_print: zero,
  lbr_dump: zero,
  lbr_check: zero,
  lbr_restore: zero,
  lbr_restore_by_filter: zero,
  event_trace_step: (vm) => vm.host.eventTrace(vm.ctx.vcpu, 'step'),
  event_trace_step_in: (vm) => vm.host.eventTrace(vm.ctx.vcpu, 'step'),
  event_trace_instrumentation_step: (vm) => vm.host.eventTrace(vm.ctx.vcpu, 'instrument'),
  event_trace_instrumentation_step_in: (vm) => vm.host.eventTrace(vm.ctx.vcpu, 'instrument'),
  event_trace_step_out: (vm) => vm.host.emit('warning', 'event_trace_step_out() is not supported; ignored'),
};

/** Implementations in built-in id order (checked complete at load time). */
const BY_ID: Impl[] = BUILTINS.map((b) => {
  const impl = IMPLS[b.name];
  if (!impl) throw new Error(`built-in '${b.name}' has no implementation`);
  return impl;
});

/** Run built-in `id` with its arguments at stack[base…]; returns the new stack top. */
export function callBuiltin(vm: ScriptVM, id: number, base: number): number {
  BY_ID[id](vm, vm.stack.lo, vm.stack.hi, base);
  return BUILTINS[id].value ? base + 1 : base;
}
