/**
 * docker-compose.yml and the Dockerfile cannot be built here (no Docker engine), so check them the
 * two ways that need no daemon: docker-compose's own schema validation, and a structural read that
 * every path and npm script the Dockerfile relies on exists in the repository.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const composePath = join(root, 'docker-compose.yml');
const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;

interface ComposeService {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: string[];
}

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(composePath, 'utf8')) as { services: Record<string, ComposeService> };

  it('passes docker-compose schema validation', () => {
    // .ci/run installs Debian's docker-compose when it is missing, so this runs in CI.
    expect(hasCompose, 'docker-compose must be installed (see .ci/run)').toBe(true);
    execFileSync('docker-compose', ['-f', composePath, 'config', '-q'], {
      env: { ...process.env, HVDBG_TOKEN: 'compose-test-token' },
      stdio: 'pipe',
    });
  });

  it('refuses to interpolate without a token', () => {
    const env = { ...process.env };
    delete env.HVDBG_TOKEN;
    const r = spawnSync('docker-compose', ['-f', composePath, 'config', '-q'], { env, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('HVDBG_TOKEN');
  });

  it('defines the debuggee and debugger services from one build', () => {
    const { debuggee, debugger: client } = compose.services;
    expect(Object.keys(compose.services).sort()).toEqual(['debuggee', 'debugger']);
    expect(debuggee.build).toBe('.');
    expect(client.build).toBe('.');
    expect(debuggee.command).toEqual(expect.arrayContaining(['hvdbg-debuggee', '--listen', '0.0.0.0:9871']));
    expect(debuggee.environment?.HVDBG_TOKEN).toMatch(/HVDBG_TOKEN/);
    // Published on the host's loopback only.
    expect(debuggee.ports).toEqual(['127.0.0.1:9871:9871']);
    expect(client.depends_on).toEqual(['debuggee']);
    expect(client.command).toEqual(['hvdbg', 'connect', 'debuggee:9871', '--observe']);
    expect(client.environment?.HVDBG_TOKEN).toMatch(/HVDBG_TOKEN/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

  it('starts from node:20-slim and installs with npm ci, then builds', () => {
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/RUN npm ci\b/);
    expect(dockerfile).toMatch(/RUN npm run build\b/);
  });

  it('copies only paths that exist', () => {
    const copies = [...dockerfile.matchAll(/^COPY (.+)$/gm)].map((m) => m[1].trim().split(/\s+/).slice(0, -1));
    expect(copies.length).toBeGreaterThan(3);
    for (const sources of copies)
      for (const source of sources) expect(existsSync(join(root, source)), source).toBe(true);
  });

  it('uses npm scripts and binaries the packages define', () => {
    const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    for (const m of dockerfile.matchAll(/npm run ([\w:-]+)/g)) expect(rootPkg.scripts[m[1]], m[1]).toBeDefined();
    const bins = {
      ...JSON.parse(readFileSync(join(root, 'packages/debugger/package.json'), 'utf8')).bin,
      ...JSON.parse(readFileSync(join(root, 'packages/debuggee/package.json'), 'utf8')).bin,
    };
    expect(bins.hvdbg).toBe('dist/cli.js');
    expect(bins['hvdbg-debuggee']).toBe('dist/main.js');
    expect(dockerfile).toContain('packages/debugger/dist/cli.js');
    expect(dockerfile).toContain('packages/debuggee/dist/main.js');
    expect(existsSync(join(root, 'packages/debugger/src/cli.ts'))).toBe(true);
    expect(existsSync(join(root, 'packages/debuggee/src/main.ts'))).toBe(true);
  });
});
