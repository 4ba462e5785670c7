import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import sibling packages by name; point those names at the TypeScript sources so a test
// run never depends on a stale dist/.
const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));
const alias = {
  '@hvdbg/protocol': src('protocol'),
  '@hvdbg/script': src('script'),
  '@hvdbg/debuggee': src('debuggee'),
  '@hvdbg/debugger': src('debugger'),
};

const project = (name: string, dir: string, include: string[], extra: Record<string, unknown> = {}) => ({
  resolve: { alias },
  test: { name, root: dir, include, ...extra },
});

export default defineConfig({
  test: {
    projects: [
      project('protocol', './packages/protocol', ['src/**/*.test.ts']),
      project('script', './packages/script', ['src/**/*.test.ts']),
      project('debuggee', './packages/debuggee', ['src/**/*.test.ts', 'guest/**/*.test.ts'], { testTimeout: 60_000 }),
      project('debugger', './packages/debugger', ['src/**/*.test.ts'], { testTimeout: 30_000 }),
      project('e2e', './e2e', ['**/*.e2e.test.ts', '*.test.ts'], { testTimeout: 120_000, hookTimeout: 120_000 }),
    ],
  },
});
