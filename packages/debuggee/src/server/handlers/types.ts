/**
 * The shape every request handler has. A handler maps one request op to DebugTarget calls and
 * returns the op's result; it throws HvdbgError for anything the user caused. Roles are checked
 * before a handler runs, and the message was validated before that.
 */
import type { RequestArgs, RequestOp, RequestResults, StateChange, StatusInfo } from '@hvdbg/protocol';
import type { DebugTarget } from '../../target.js';
import type { Member, Roles } from '../roles.js';

export interface RequestContext {
  readonly target: DebugTarget;
  /** The client that sent the request. */
  readonly client: Member;
  readonly roles: Roles;
  /** The daemon-wide status report. */
  status(): StatusInfo;
  /**
   * Announces a change this request made (`stateChanged` naming the caller) to every client. Call it
   * only once the change succeeded, so a refused or failed request announces nothing.
   */
  announce(change: StateChange): void;
  /** Closes the caller's connection once its response has been sent. */
  closeAfterResponse(reason: string): void;
}

export type Handler<Op extends RequestOp> = (
  ctx: RequestContext,
  args: RequestArgs[Op],
) => RequestResults[Op] | Promise<RequestResults[Op]>;

export type HandlerTable = { [Op in RequestOp]: Handler<Op> };

/** A family's part of the table. */
export type Handlers<Ops extends RequestOp> = { [Op in Ops]: Handler<Op> };

/** The vCPU a request means: the one it names, else the main core. */
export function vcpuOf(ctx: RequestContext, vcpu: number | undefined): number {
  return vcpu ?? ctx.target.mainVcpu();
}
