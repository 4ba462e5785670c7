/**
 * Makes a gdb connection the controller in the hvdbg server's role registry, so hvdbg clients see
 * it join and leave like any client, cannot take control while gdb holds it, and see the halts and
 * resumes gdb causes attributed to its id.
 */
import type { Member, Roles } from '../roles.js';
import type { GdbControllerHooks } from './stub.js';

/** Client id of the gdb connection; far above the server's own session ids, which count from 1. */
export const GDB_CLIENT_ID = 0x7fff_ffff;

export function gdbControllerHooks(roles: Roles): GdbControllerHooks {
  const member: Member = { id: GDB_CLIENT_ID, name: 'gdb', role: 'controller' };
  return {
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
