/**
 * The README's command reference and limits table are generated: the first from the client's own
 * command table, the second from packages/protocol/src/limits.ts (values and doc comments). This
 * test fails when the README drifts; `npm run docs` (UPDATE_README=1) rewrites both sections.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, renderCommandReference } from '@hvdbg/debugger';
import { LIMITS } from '@hvdbg/protocol';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness.js';

const README = join(ROOT, 'README.md');

function limitsTable(): string {
  const source = readFileSync(join(ROOT, 'packages/protocol/src/limits.ts'), 'utf8');
  const rows: string[][] = [];
  for (const match of source.matchAll(/\/\*\*((?:(?!\/\*\*)[\s\S])*?)\*\/\s*(\w+):/g)) {
    const name = match[2] as keyof typeof LIMITS;
    if (!(name in LIMITS)) continue;
    const doc = match[1].replace(/\s*\n\s*\*?\s*/g, ' ').trim();
    rows.push([`\`${name}\``, LIMITS[name].toLocaleString('en-US'), doc.replaceAll('|', '\\|')]);
  }
  expect(rows.length, 'every limit has a doc comment').toBe(Object.keys(LIMITS).length);
  return markdownTable(['limit', 'value', 'meaning'], rows).join('\n');
}

function section(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  expect(from, `README has a ${start} marker`).toBeGreaterThan(0);
  expect(to, `README has a ${end} marker`).toBeGreaterThan(from);
  return `${text.slice(0, from + start.length)}\n${body.trim()}\n${text.slice(to)}`;
}

describe('README', () => {
  it('carries the generated command reference and limits', () => {
    const current = readFileSync(README, 'utf8');
    let expected = section(current, 'commands', renderCommandReference());
    expected = section(expected, 'limits', limitsTable());
    if (process.env.UPDATE_README === '1') {
      writeFileSync(README, expected);
      return;
    }
    expect(current, 'README is out of date: run `npm run docs`').toBe(expected);
  });

  it('starts with the two quickstart commands', () => {
    const text = readFileSync(README, 'utf8');
    const block = /## Quickstart[\s\S]*?```sh\n([\s\S]*?)```/.exec(text);
    expect(block).not.toBeNull();
    const commands = block![1].trim().split('\n');
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/^npm ci && npm start\b/);
    expect(commands[1]).toMatch(/^npm test\b/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toContain('cli.js local');
    expect(pkg.scripts.test).toContain('vitest run');
  });
});
