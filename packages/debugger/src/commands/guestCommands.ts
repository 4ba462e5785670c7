/**
 * Guest-kernel awareness: `.process` and `.thread` list the kernel's process and thread tables
 * (read by the daemon from the kernel objects) or show one entry. Ids print in hex, as everywhere.
 */
import { HvdbgError, type ProcessInfo, type ThreadInfo } from '@hvdbg/protocol';
import { hex, hexPad } from '../numbers.js';
import type { DebugSession } from '../session.js';
import type { Token } from '../tokenize.js';
import type { CommandSpec } from './types.js';

/** Pads every column to its widest cell, two spaces apart. */
function columns(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The `.process list` table; `*` marks a process some vCPU is running. */
export function formatProcesses(processes: readonly ProcessInfo[]): string[] {
  if (processes.length === 0) return ['no processes (the guest kernel has not started any)'];
  return columns(
    ['', 'pid', 'name', 'state', 'threads', 'cr3', 'process object', 'vcpus'],
    processes.map((p) => [
      p.vcpus.length > 0 ? '*' : '',
      hex(p.pid),
      p.name,
      p.state,
      String(p.threads),
      hexPad(p.cr3, 16),
      hexPad(p.address, 16),
      p.vcpus.length > 0 ? p.vcpus.join(',') : '-',
    ]),
  );
}

/** The `.thread list` table, each thread with its process's name. */
export function formatThreads(threads: readonly ThreadInfo[], processes: readonly ProcessInfo[]): string[] {
  if (threads.length === 0) return ['no threads'];
  const names = new Map(processes.map((p) => [p.pid, p.name]));
  return columns(
    ['tid', 'pid', 'process', 'state', 'thread object'],
    threads.map((t) => [hex(t.tid), hex(t.pid), names.get(t.pid) ?? '?', t.state, hexPad(t.address, 16)]),
  );
}

export type ListOrOne = { kind: 'list' } | { kind: 'one'; id: string };

/** `[list | <key> id]` → what to show; the id stays an expression for the caller to evaluate. */
export function parseListOrOne(args: readonly Token[], command: string, key: string): ListOrOne {
  const words = args.map((t) => {
    if (t.block) throw new HvdbgError('E_BAD_PARAMETER', `${command} does not take a {…} block`);
    return t.text;
  });
  const usage = `usage: ${command} [list | ${key} id]`;
  if (words.length === 0 || (words.length === 1 && words[0]!.toLowerCase() === 'list')) return { kind: 'list' };
  if (words.length >= 2 && words[0]!.toLowerCase() === key) return { kind: 'one', id: words.slice(1).join(' ') };
  throw new HvdbgError('E_BAD_PARAMETER', usage);
}

async function idOf(session: DebugSession, expression: string, what: string): Promise<number> {
  const v = await session.evaluate(expression);
  if (v > 0xffff_ffffn) throw new HvdbgError('E_BAD_VALUE', `${what} ${hex(v)} is out of range`);
  return Number(v);
}

export const GUEST_COMMANDS: CommandSpec[] = [
  {
    name: '.process',
    aliases: [],
    syntax: '.process [list | pid p]',
    summary: 'list the guest processes, or show one',
    details:
      "Lists the guest kernel's processes (read from its process table): pid, name, state, thread count, CR3 (the physical address of its page tables), the kernel address of its process object and the vCPUs running it (marked *). .process pid p shows one process. Any process's memory can then be read with db/u/!va2pa … pid p, running or not.",
    local: true,
    group: 'processes',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const what = parseListOrOne(line.args, '.process', 'pid');
      const { processes } = await s.request('guest.processes', {});
      if (what.kind === 'list') {
        for (const l of formatProcesses(processes)) ctx.print(l);
        ctx.setData({ processes });
        return;
      }
      const pid = await idOf(s, what.id, 'pid');
      const p = processes.find((x) => x.pid === pid);
      if (p === undefined) throw new HvdbgError('E_BAD_PARAMETER', `the guest has no process ${hex(pid)}`);
      for (const l of formatProcesses([p])) ctx.print(l);
      ctx.setData({ process: p });
    },
  },
  {
    name: '.thread',
    aliases: [],
    syntax: '.thread [list | tid t]',
    summary: 'list the guest threads, or show one',
    details:
      "Lists the guest kernel's threads (read from its thread table): tid, owning process, state (runnable, running, sleeping) and the kernel address of the thread object. .thread tid t shows one thread.",
    local: true,
    group: 'processes',
    async run(ctx, line) {
      const s = ctx.session;
      s.requireConnection();
      const what = parseListOrOne(line.args, '.thread', 'tid');
      const [{ threads }, { processes }] = await Promise.all([
        s.request('guest.threads', {}),
        s.request('guest.processes', {}),
      ]);
      if (what.kind === 'list') {
        for (const l of formatThreads(threads, processes)) ctx.print(l);
        ctx.setData({ threads });
        return;
      }
      const tid = await idOf(s, what.id, 'tid');
      const t = threads.find((x) => x.tid === tid);
      if (t === undefined) throw new HvdbgError('E_BAD_PARAMETER', `the guest has no thread ${hex(tid)}`);
      for (const l of formatThreads([t], processes)) ctx.print(l);
      ctx.setData({ thread: t });
    },
  },
];
