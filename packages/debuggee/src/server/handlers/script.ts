/**
 * `?` and print: evaluate a compiled script buffer against a vCPU's state. A run-time error of the
 * script is part of the result (the request itself succeeded); a buffer that fails verification is
 * an error response thrown by the target.
 */
import { type ErrorBody, isErrorCode } from '@hvdbg/protocol';
import { type Handlers, vcpuOf } from './types.js';

export const scriptHandlers: Handlers<'script.eval'> = {
  'script.eval': (ctx, args) => {
    const { output, error } = ctx.target.evalScript(args.buffer, vcpuOf(ctx, args.vcpu));
    if (error === undefined) return { output };
    const body: ErrorBody = {
      code: isErrorCode(error.code) ? error.code : 'E_SCRIPT_RUNTIME',
      message: error.message,
    };
    return { output, error: body };
  },
};
