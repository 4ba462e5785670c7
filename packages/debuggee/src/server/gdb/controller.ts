/**
 * Makes a gdb connection the controller in the hvdbg server's role registry, so hvdbg clients see
 * it join and leave like any client, cannot take control while gdb holds it, and see the halts and
 * resumes gdb causes attributed to its id.
 */
import type { StateChange } from '@hvdbg/protocol';
import type { Member, Roles } from '../roles.js';
import type { GdbControllerHooks } from './stub.js';

/** Client id of the gdb connection; far above the server's own session ids, which count from 1. */
export const GDB_CLIENT_ID = 0x7fff_ffff;

/**
 * `announce` is the hvdbg server's (DebuggeeServer.announce): gdb's register, memory and breakpoint
 * writes reach hvdbg clients as `stateChanged` naming gdb, like any controller's.
 */
export function gdbControllerHooks(
  roles: Roles,
  announce?: (byClient: number, change: StateChange) => void,
): GdbControllerHooks {
  const member: Member = { id: GDB_CLIENT_ID, name: 'gdb', role: 'controller' };
  return {
    announce(change) {
      announce?.(GDB_CLIENT_ID, change);
    },
    acquire() {
      member.role = 'controller';
      roles.join(member); // throws E_CONTROLLER_TAKEN while an hvdbg client controls
      return member.id;
    },
    release() {
      roles.leave(member, 'gdb disconnected');
    },
  };
}
