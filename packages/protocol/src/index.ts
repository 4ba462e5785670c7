export * from './errors.js';
export * from './limits.js';
export * from './messages.js';
export * from './version.js';
