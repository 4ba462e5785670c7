/**
 * The catalogue of event commands (SPEC §2.1): one row per kind with its aliases, parameter shape,
 * syntax, and what `$context` and short-circuiting mean for it. The parser, `help` and the README
 * reference all read these rows.
 */
import type { EventKind } from '@hvdbg/protocol';

/** What a kind takes as its positional parameter. */
export type ParamShape = 'none' | 'optional' | 'required' | 'crwrite' | 'address' | 'monitor' | 'mode' | 'trace';

export interface EventCommandInfo {
  kind: EventKind;
  aliases: string[];
  shape: ParamShape;
  /** Syntax without the common options. */
  syntax: string;
  summary: string;
  /** Only the pre stage exists (SPEC §2.1). */
  preOnly?: boolean;
  /** Inclusive range of a numeric parameter. */
  range?: [bigint, bigint];
  /** What `$context` (script), R8 (code) and RDX (condition) hold (SPEC §2.1). */
  context: string;
  /** What `sc on` / `event_sc(1)` suppresses. */
  shortCircuit: string;
}

/** The event commands in SPEC §2.1 order. */
export const EVENT_COMMANDS: readonly EventCommandInfo[] = [
  {
    kind: 'syscall',
    aliases: ['!syscall2'],
    shape: 'optional',
    syntax: '!syscall [n]',
    summary: 'SYSCALL (optionally only RAX = n)',
    context: 'the syscall number',
    shortCircuit: 'no SYSCALL; the script may set @rax',
  },
  {
    kind: 'sysret',
    aliases: ['!sysret2'],
    shape: 'none',
    syntax: '!sysret',
    summary: 'SYSRET',
    context: 'the address of the SYSRET',
    shortCircuit: 'no SYSRET',
  },
  {
    kind: 'cpuid',
    aliases: [],
    shape: 'optional',
    syntax: '!cpuid [leaf]',
    summary: 'CPUID (optionally one EAX leaf)',
    context: 'the leaf (in post, RAX holds the output)',
    shortCircuit: 'the script supplies RAX/RBX/RCX/RDX',
  },
  {
    kind: 'msrread',
    aliases: ['!msread'],
    shape: 'optional',
    syntax: '!msrread [msr]',
    summary: 'RDMSR (optionally one MSR)',
    range: [0n, 0xffff_ffffn],
    context: 'the MSR index',
    shortCircuit: 'the script supplies EDX:EAX',
  },
  {
    kind: 'msrwrite',
    aliases: [],
    shape: 'optional',
    syntax: '!msrwrite [msr]',
    summary: 'WRMSR (optionally one MSR)',
    range: [0n, 0xffff_ffffn],
    context: 'the MSR index',
    shortCircuit: 'the write is dropped',
  },
  {
    kind: 'tsc',
    aliases: [],
    shape: 'none',
    syntax: '!tsc',
    summary: 'RDTSC / RDTSCP',
    context: '0 for RDTSC, 1 for RDTSCP',
    shortCircuit: 'the script supplies EDX:EAX (ECX)',
  },
  {
    kind: 'pmc',
    aliases: [],
    shape: 'none',
    syntax: '!pmc',
    summary: 'RDPMC',
    context: '0',
    shortCircuit: 'RDPMC is skipped',
  },
  {
    kind: 'vmcall',
    aliases: [],
    shape: 'none',
    syntax: '!vmcall',
    summary: 'VMCALL (hypercall)',
    context: '0',
    shortCircuit: 'the hypercall is skipped',
  },
  {
    kind: 'ioin',
    aliases: [],
    shape: 'optional',
    syntax: '!ioin [port]',
    summary: 'IN / INS (optionally one port)',
    range: [0n, 0xffffn],
    context: 'the port',
    shortCircuit: 'the device is not read',
  },
  {
    kind: 'ioout',
    aliases: ['!iout'],
    shape: 'optional',
    syntax: '!ioout [port]',
    summary: 'OUT / OUTS (optionally one port)',
    range: [0n, 0xffffn],
    context: 'the port',
    shortCircuit: 'the device is not written',
  },
  {
    kind: 'exception',
    aliases: [],
    shape: 'optional',
    syntax: '!exception [vector]',
    summary: 'exception delivery, vectors 0..1f',
    range: [0n, 0x1fn],
    context: 'the vector (@cr2 is set for #PF)',
    shortCircuit: 'the exception is not delivered',
  },
  {
    kind: 'interrupt',
    aliases: [],
    shape: 'required',
    syntax: '!interrupt vector',
    summary: 'external interrupt delivery, vectors 20..ff',
    range: [0x20n, 0xffn],
    context: 'the vector',
    shortCircuit: 'the interrupt is not delivered',
  },
  {
    kind: 'crwrite',
    aliases: [],
    shape: 'crwrite',
    syntax: '!crwrite cr [mask m]',
    summary: 'MOV to CR0 or CR4 changing masked bits',
    context: 'the CR number',
    shortCircuit: 'the CR is not written',
  },
  {
    kind: 'dr',
    aliases: [],
    shape: 'none',
    syntax: '!dr',
    summary: 'MOV to or from a debug register',
    context: '0',
    shortCircuit: 'the MOV DRn is skipped',
  },
  {
    kind: 'epthook',
    aliases: [],
    shape: 'address',
    syntax: '!epthook address',
    summary: 'hidden execution hook on a virtual address',
    preOnly: true,
    context: 'the hooked address',
    shortCircuit: 'none; write @rip to redirect',
  },
  {
    kind: 'epthook2',
    aliases: [],
    shape: 'address',
    syntax: '!epthook2 address',
    summary: 'execution hook matched by physical page',
    preOnly: true,
    context: 'the hooked address',
    shortCircuit: 'none',
  },
  {
    kind: 'monitor',
    aliases: [],
    shape: 'monitor',
    syntax: '!monitor r|w|x|rw|rx|wx|rwx [va|pa] from (to | l len)',
    summary: 'memory access to a range',
    context: 'the accessed address',
    shortCircuit: 'r/w: the instruction is skipped; x: not executed',
  },
  {
    kind: 'mode',
    aliases: [],
    shape: 'mode',
    syntax: '!mode u|k|ku',
    summary: 'user/kernel mode transitions',
    preOnly: true,
    context: '3 when now in user mode, 0 when now in kernel mode',
    shortCircuit: 'a user-bound process stays frozen',
  },
  {
    kind: 'trace',
    aliases: [],
    shape: 'trace',
    syntax: '!trace step-in|step-out|instrument-step',
    summary: 'instruction tracing',
    preOnly: true,
    context: '1 step-in, 2 step-out, 3 instrument-step',
    shortCircuit: 'none',
  },
  {
    kind: 'xsetbv',
    aliases: [],
    shape: 'optional',
    syntax: '!xsetbv [xcr]',
    summary: 'XSETBV (optionally one XCR)',
    range: [0n, 0xffff_ffffn],
    context: 'the XCR index',
    shortCircuit: 'the XCR is not written',
  },
];

/** `!syscall` / `!syscall2` … → its info (lower-case lookup). */
const BY_NAME = new Map<string, EventCommandInfo>();
for (const info of EVENT_COMMANDS) {
  BY_NAME.set(`!${info.kind}`, info);
  for (const alias of info.aliases) BY_NAME.set(alias, info);
}

export function eventCommandInfo(word: string): EventCommandInfo | undefined {
  return BY_NAME.get(word.toLowerCase());
}
