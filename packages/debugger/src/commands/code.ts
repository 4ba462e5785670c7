/**
 * Code views: `u` (disassembly, Intel syntax, symbolized branch targets) and `k` (a call stack
 * walked through the frame-pointer chain: [rbp] = caller's rbp, [rbp+8] = return address).
 */
import { HvdbgError, LIMITS, type MemorySpace } from '@hvdbg/protocol';
import { disassemble, formatListing } from '../disasm.js';
import { hexPad, readLE } from '../numbers.js';
import { parseRangeArgs } from './memory.js';
import type { CommandSpec } from './types.js';

/** Bytes `u` shows without `l`. */
export const DEFAULT_DISASM_BYTES = 0x40;
/** Frames `k` shows without `l`. */
export const DEFAULT_STACK_FRAMES = 0x20;
/** The longest x86 instruction: read this much past the range so the last one decodes whole. */
const MAX_INSTRUCTION_BYTES = 15;

function disasmCommand(name: string, aliases: string[], space: MemorySpace, bitness: 64 | 32 = 64): CommandSpec {
  return {
    name,
    aliases,
    syntax: `${name} [addr] [l len] [pid p]`,
    summary: `disassemble ${space === 'physical' ? 'physical memory' : bitness === 32 ? 'x86 (32-bit) code' : 'x86-64 code'}`,
    details: `Disassembles len bytes (default 0x${DEFAULT_DISASM_BYTES.toString(16)}) at addr in Intel syntax; call and jump targets are shown as symbols. addr is an expression (\`u kernel!main\`, \`u @rip+10\`); without it the listing continues, or starts at the main core's RIP.`,
    local: true,
    group: 'disassembly and stack',
    repeatable: true,
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const a = parseRangeArgs(line.args, name);
      let address: bigint | undefined;
      if (a.address !== undefined) address = await s.evaluate(a.address);
      else address = s.nextDisasm ?? (s.state === 'running' ? undefined : s.halt?.rip);
      if (address === undefined)
        throw new HvdbgError('E_BAD_PARAMETER', `${name} needs an address while the guest runs`);
      const length = a.length === undefined ? BigInt(DEFAULT_DISASM_BYTES) : await s.evaluate(a.length);
      if (length === 0n || length > BigInt(LIMITS.maxMemoryBytes - MAX_INSTRUCTION_BYTES)) {
        throw new HvdbgError('E_TOO_LARGE', 'disassembly length out of range');
      }
      const pid = a.pid === undefined ? undefined : Number(await s.evaluate(a.pid));
      const read = (n: number) =>
        s.request('mem.read', { address, length: n, space, vcpu: s.vcpu, ...(pid === undefined ? {} : { pid }) });
      // The extra bytes may run into an unmapped page: fall back to exactly the range.
      const bytes = (await read(Number(length) + MAX_INSTRUCTION_BYTES).catch(() => read(Number(length)))).bytes;
      // `settings addressconversion off` shows plain addresses.
      const symbolize = (x: bigint) => (s.settings.addressconversion ? s.symbolize(x) : undefined);
      const end = address + length;
      const list = disassemble(bytes, address, symbolize, Number.POSITIVE_INFINITY, bitness).filter(
        (ins) => ins.address < end,
      );
      for (const l of formatListing(list, symbolize)) ctx.print(l);
      const last = list[list.length - 1];
      s.nextDisasm = last === undefined ? end : last.address + BigInt(last.length);
      s.lastRepeatable = name;
      ctx.setData({
        instructions: list.map((i) => ({ address: i.address, bytes: i.bytes, text: i.text })),
      });
    },
  };
}

export interface StackFrame {
  index: number;
  frame: bigint;
  returnAddress: bigint;
  symbol?: string;
}

/** `kd` / `kq`: the raw stack as 32- or 64-bit words, each named if it points into a symbol. */
function rawStackCommand(name: string, size: 4 | 8): CommandSpec {
  return {
    name,
    aliases: [],
    syntax: `${name} [base a] [l n]`,
    summary: `raw stack as ${size * 8}-bit words`,
    details: `Shows n words (default 0x${DEFAULT_STACK_FRAMES.toString(16)}) of the stack from RSP (or from base a), one a line, with the symbol each points into. Useful when frame pointers are missing.`,
    local: false,
    group: 'disassembly and stack',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireHalted();
      const words = line.args.map((t) => t.text.toLowerCase());
      let base: bigint | undefined;
      let count = DEFAULT_STACK_FRAMES;
      for (let i = 0; i < words.length; i += 2) {
        const value = line.args[i + 1]?.text;
        if (value === undefined || (words[i] !== 'base' && words[i] !== 'l')) {
          throw new HvdbgError('E_BAD_PARAMETER', `usage: ${name} [base a] [l n]`);
        }
        if (words[i] === 'base') base = await s.evaluate(value);
        else count = Number(await s.evaluate(value));
      }
      if (count <= 0 || count * size > LIMITS.maxMemoryBytes) throw new HvdbgError('E_TOO_LARGE', 'too many words');
      base ??= (await s.request('regs.get', { vcpu: s.vcpu, names: ['rsp'] })).regs.rsp ?? 0n;
      const mem = await s.request('mem.read', { address: base, length: count * size, space: 'virtual', vcpu: s.vcpu });
      const entries: { address: bigint; value: bigint; symbol?: string }[] = [];
      for (let i = 0; i < count; i++) {
        const value = readLE(mem.bytes, i * size, size);
        const symbol = s.symbolize(value);
        const address = base + BigInt(i * size);
        entries.push({ address, value, ...(symbol ? { symbol } : {}) });
        ctx.print(`${hexPad(address, 16)}  ${hexPad(value, size * 2)}${symbol ? `  ${symbol}` : ''}`);
      }
      ctx.setData({ entries });
    },
  };
}

export const CODE_COMMANDS: CommandSpec[] = [
  disasmCommand('u', ['u64'], 'virtual'),
  disasmCommand('u32', ['u2'], 'virtual', 32),
  disasmCommand('!u', ['!u64'], 'physical'),
  {
    name: 'k',
    aliases: [],
    syntax: 'k [l frames]',
    summary: 'call stack (frame pointers)',
    details: `Walks the RBP chain of the main core: each frame's saved RBP at [rbp] and return address at [rbp+8]; stops at a null, misaligned or non-increasing frame or unreadable memory. Shows up to 0x${DEFAULT_STACK_FRAMES.toString(16)} frames. Code built without frame pointers gives short stacks.`,
    local: false,
    group: 'disassembly and stack',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireHalted();
      const a = parseRangeArgs(line.args, 'k');
      if (a.address !== undefined) throw new HvdbgError('E_BAD_PARAMETER', `unexpected '${a.address}' (k [l frames])`);
      const max = a.length === undefined ? DEFAULT_STACK_FRAMES : Number(await s.evaluate(a.length));
      const regs = (await s.request('regs.get', { vcpu: s.vcpu, names: ['rip', 'rbp', 'rsp'] })).regs;
      const frames: StackFrame[] = [];
      const push = (frame: bigint, ret: bigint) => {
        const symbol = s.symbolize(ret);
        frames.push({ index: frames.length, frame, returnAddress: ret, ...(symbol ? { symbol } : {}) });
      };
      push(regs.rbp ?? 0n, regs.rip ?? 0n);
      let bp = regs.rbp ?? 0n;
      while (frames.length < max && bp !== 0n && (bp & 7n) === 0n) {
        const mem = await s
          .request('mem.read', { address: bp, length: 16, space: 'virtual', vcpu: s.vcpu })
          .catch(() => undefined);
        if (mem === undefined) break;
        const savedBp = readLE(mem.bytes, 0, 8);
        const ret = readLE(mem.bytes, 8, 8);
        if (ret === 0n) break;
        push(savedBp, ret);
        if (savedBp <= bp) break;
        bp = savedBp;
      }
      ctx.print(' #  frame             return            symbol');
      for (const f of frames) {
        ctx.print(
          `${hexPad(f.index, 2)}  ${hexPad(f.frame, 16)}  ${hexPad(f.returnAddress, 16)}  ${f.symbol ?? ''}`.trimEnd(),
        );
      }
      ctx.setData({ frames });
    },
  },
  rawStackCommand('kd', 4),
  rawStackCommand('kq', 8),
];
