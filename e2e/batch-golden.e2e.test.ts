/**
 * Scenario 8: a batch file runs through the real `hvdbg` process and its transcript matches a golden
 * file. The daemon starts halted, so registers, memory and the first breakpoint hit are
 * deterministic; what still varies (guest console lines, whose position relative to the commands
 * depends on timing, and the daemon's port) is replaced by placeholders or left out.
 * `UPDATE_GOLDENS=1` rewrites the golden file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunningDaemon, runCli, startDaemon } from './harness.js';

const BATCH = join(ROOT, 'e2e/goldens/tour.hds');
const GOLDEN = join(ROOT, 'e2e/goldens/tour.txt');

export function normalise(transcript: string, port: number): string {
  return transcript
    .split('\n')
    .filter((line) => !line.startsWith('[guest] '))
    .map((line) => line.replaceAll(`:${port}`, ':<port>').trimEnd())
    .join('\n');
}

describe('batch mode transcript', () => {
  let daemon: RunningDaemon;

  beforeAll(async () => {
    daemon = await startDaemon({ extraArgs: ['--halted'] });
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  it('matches the golden transcript', async () => {
    const result = await runCli(['run', '-x', BATCH, '--connect', `127.0.0.1:${daemon.port}`]);
    // The tour ends with a deliberate syntax error, so the batch reports failure.
    expect(result.code, result.stderr).toBe(1);
    const transcript = normalise(result.stdout, daemon.port);
    if (process.env.UPDATE_GOLDENS === '1' || !existsSync(GOLDEN)) writeFileSync(GOLDEN, transcript);
    expect(transcript).toBe(readFileSync(GOLDEN, 'utf8'));
  });
});
