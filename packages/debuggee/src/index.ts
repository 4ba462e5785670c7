export * from './cpu/exits.js';
export type * from './target.js';
