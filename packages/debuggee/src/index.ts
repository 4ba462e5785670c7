export { type DaemonConfig, DEFAULT_PORT, readConfig } from './config.js';
export * from './cpu/exits.js';
export { DebuggeeServer, type ServerLimits, type ServerOptions } from './server/server.js';
export type * from './target.js';
