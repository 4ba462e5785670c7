/**
 * Stop replies (gdb manual, "Stop Reply Packets"): `T` + signal, an optional stop reason, the
 * thread, and the registers gdb needs first (rbp, rsp, rip), so a stop costs gdb no extra `g`.
 */
import type { HaltInfo } from '@hvdbg/protocol';
import type { DebugTarget } from '../../target.js';
import { leHex } from './packets.js';
import type { WatchKind } from './points.js';
import { readOne } from './registers.js';
import { GDB_REGISTERS, REGNUM_RBP, REGNUM_RIP, REGNUM_RSP } from './targetXml.js';

/** POSIX signal numbers gdb expects: a pause is an interrupt, anything else a trap. */
const SIGINT = 2;
const SIGTRAP = 5;
const SIGABRT = 6;

/** The guest machine died (triple fault, shutdown): gdb sees the process end. */
export const EXIT_REPLY = `X${SIGABRT.toString(16).padStart(2, '0')}`;

/** The stop reason a stop reply names. */
export type StopDetail =
  | { kind: 'swbreak' }
  | { kind: 'hwbreak' }
  | { kind: 'watch'; watch: WatchKind; address: bigint };

export function watchDetail(hit: { kind: WatchKind; address: bigint } | undefined): StopDetail | undefined {
  return hit === undefined ? undefined : { kind: 'watch', watch: hit.kind, address: hit.address };
}

/** `T05swbreak:;thread:1;06:…;07:…;10:…;` for a halt on vCPU 0, and so on. */
export function stopReplyFor(
  target: DebugTarget,
  info: HaltInfo,
  detail: StopDetail | undefined,
  negotiated: { swbreak: boolean; hwbreak: boolean },
): string {
  const signal = info.reason === 'pause' ? SIGINT : SIGTRAP;
  let reply = `T${signal.toString(16).padStart(2, '0')}`;
  // swbreak/hwbreak only when gdb said it understands them; watch reasons always.
  if (detail?.kind === 'swbreak' && negotiated.swbreak) reply += 'swbreak:;';
  else if (detail?.kind === 'hwbreak' && negotiated.hwbreak) reply += 'hwbreak:;';
  else if (detail?.kind === 'watch') reply += `${detail.watch}:${detail.address.toString(16)};`;
  // Threads are vCPUs numbered from 1 (0 and -1 mean "any" and "all" in the protocol).
  reply += `thread:${(info.vcpu + 1).toString(16)};`;
  let expedited = '';
  try {
    for (const regnum of [REGNUM_RBP, REGNUM_RSP, REGNUM_RIP]) {
      const r = GDB_REGISTERS[regnum]!;
      expedited += `${regnum.toString(16).padStart(2, '0')}:${readOne(target, info.vcpu, regnum) ?? leHex(0n, r.bits / 8)};`;
    }
  } catch {
    // Expedited registers are an optimisation; gdb reads them with g when they are missing.
    expedited = '';
  }
  return reply + expedited;
}
