export * from './args.js';
export * from './codec.js';
export * from './errors.js';
export * from './limits.js';
export * from './messages.js';
export { validateResult } from './results.js';
export { validateClientMessage, validateServerMessage } from './validate.js';
export * from './version.js';
export * from './ws.js';
