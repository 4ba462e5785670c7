import type { Notification } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import { Roles } from '../roles.js';
import { GDB_CLIENT_ID, gdbControllerHooks } from './controller.js';
import { FakeGdbTarget } from './testing/fakeTarget.js';
import { SILENT } from './testing/wire.js';

function setup() {
  const sent: Notification[] = [];
  const roles = new Roles(new FakeGdbTarget(), 'stay', (n) => sent.push(n), SILENT);
  return { roles, sent, hooks: gdbControllerHooks(roles) };
}

describe('gdb as the controller', () => {
  it('joins the role registry as the controller and leaves it again', () => {
    const { roles, sent, hooks } = setup();
    expect(hooks.acquire()).toBe(GDB_CLIENT_ID);
    expect(roles.controllerId).toBe(GDB_CLIENT_ID);
    expect(roles.clients()).toEqual([{ id: GDB_CLIENT_ID, role: 'controller', name: 'gdb' }]);
    hooks.release();
    expect(roles.controllerId).toBeUndefined();
    expect(sent).toEqual([
      { t: 'clientJoined', clientId: GDB_CLIENT_ID, role: 'controller', name: 'gdb' },
      { t: 'clientLeft', clientId: GDB_CLIENT_ID, reason: 'gdb disconnected' },
    ]);
    // Reconnecting works the same way.
    expect(hooks.acquire()).toBe(GDB_CLIENT_ID);
  });

  it('is refused while an hvdbg client controls the guest, and blocks hvdbg controllers while attached', () => {
    const { roles, hooks } = setup();
    const hvdbg = { id: 1, name: 'hvdbg', role: 'controller' as const };
    roles.join(hvdbg);
    expect(() => hooks.acquire()).toThrow(expect.objectContaining({ code: 'E_CONTROLLER_TAKEN' }));
    roles.leave(hvdbg, 'bye');
    hooks.acquire();
    expect(() => roles.checkJoin('controller')).toThrow(expect.objectContaining({ code: 'E_CONTROLLER_TAKEN' }));
  });
});
