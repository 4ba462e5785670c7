/**
 * Who controls the guest (SPEC §6.1.1, §6.1.9).
 *
 * Exactly one controller at a time may change guest state; any number of observers watch. The
 * registry here knows every admitted client, hands the controller role out (at hello, or later
 * through `control.take` once nobody holds it), refuses observers' state-changing requests, and
 * applies the controller-loss policy: a halted guest stays halted when its controller vanishes, or
 * resumes after a grace period when configured so. Every change is announced to every client.
 */
import {
  HvdbgError,
  type Notification,
  OBSERVER_OPS,
  type RequestOp,
  type Role,
  type StatusInfo,
} from '@hvdbg/protocol';
import type { Logger } from 'pino';
import type { DebugTarget } from '../target.js';

export type ControllerLossPolicy = 'stay' | { resumeAfterMs: number };

/** What the registry needs to know about a client. */
export interface Member {
  readonly id: number;
  readonly name: string;
  role: Role;
}

export class Roles {
  private readonly members = new Map<number, Member>();
  private controller: Member | undefined = undefined;
  private lossTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly target: DebugTarget,
    private readonly policy: ControllerLossPolicy,
    /** Sends a notification to every admitted client, in order. */
    private readonly broadcast: (n: Notification) => void,
    private readonly log: Logger,
  ) {}

  get controllerId(): number | undefined {
    return this.controller?.id;
  }

  get size(): number {
    return this.members.size;
  }

  /** Throws E_CONTROLLER_TAKEN when a controller asks to join while another one holds the role. */
  checkJoin(role: Role): void {
    if (role === 'controller' && this.controller !== undefined) {
      throw new HvdbgError('E_CONTROLLER_TAKEN', 'another client is already the controller; join as an observer', {
        controllerId: this.controller.id,
        hint: 'connect with role observer, then send control.take when the controller leaves',
      });
    }
  }

  /** Admits a client (after checkJoin) and tells everyone. */
  join(member: Member): void {
    this.checkJoin(member.role);
    this.members.set(member.id, member);
    if (member.role === 'controller') this.becomeController(member);
    this.broadcast({ t: 'clientJoined', clientId: member.id, role: member.role, name: member.name });
  }

  /** Removes a client; a departing controller triggers the controller-loss policy. */
  leave(member: Member, reason: string): void {
    if (!this.members.delete(member.id)) return;
    const wasController = this.controller === member;
    if (wasController) this.controller = undefined;
    this.broadcast({ t: 'clientLeft', clientId: member.id, reason });
    if (wasController) this.onControllerLost(member, reason);
  }

  /** `control.take`: succeeds when the caller already controls or nobody does. */
  take(member: Member): Role {
    if (this.controller === member) return 'controller';
    this.checkJoin('controller');
    this.becomeController(member);
    member.role = 'controller';
    this.broadcast({ t: 'roleChanged', clientId: member.id, role: 'controller' });
    return 'controller';
  }

  /** Gives the role up without leaving (after `exec.detach`). */
  release(member: Member): void {
    if (this.controller !== member) return;
    this.controller = undefined;
    member.role = 'observer';
    this.broadcast({ t: 'roleChanged', clientId: member.id, role: 'observer' });
  }

  /** Observers may only read; everything else needs the controller role. */
  authorize(member: Member, op: RequestOp): void {
    if (OBSERVER_OPS.has(op)) return;
    if (member.role !== 'controller') {
      throw new HvdbgError('E_FORBIDDEN', `observers cannot send ${op}`, { op });
    }
  }

  clients(): StatusInfo['clients'] {
    return [...this.members.values()].map((m) => ({ id: m.id, role: m.role, name: m.name }));
  }

  /** Cancels the pending resume (daemon shutdown). */
  dispose(): void {
    this.cancelLossTimer();
  }

  private becomeController(member: Member): void {
    this.controller = member;
    this.cancelLossTimer();
  }

  private onControllerLost(member: Member, reason: string): void {
    const halted = this.target.state() === 'halted';
    this.log.info({ clientId: member.id, reason, halted, policy: this.policy }, 'controller left');
    if (this.policy === 'stay' || !halted) return;
    const { resumeAfterMs } = this.policy;
    this.lossTimer = setTimeout(() => {
      this.lossTimer = undefined;
      // Someone took over, or the guest already moved on: nothing to do.
      if (this.controller !== undefined || this.target.state() !== 'halted') return;
      this.log.info({ resumeAfterMs }, 'no controller came back: resuming the guest');
      try {
        this.target.resume(undefined);
      } catch (err) {
        this.log.error({ err }, 'resuming after controller loss failed');
      }
    }, resumeAfterMs);
    this.lossTimer.unref();
  }

  private cancelLossTimer(): void {
    if (this.lossTimer !== undefined) clearTimeout(this.lossTimer);
    this.lossTimer = undefined;
  }
}
