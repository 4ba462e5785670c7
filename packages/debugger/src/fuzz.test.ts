import { HvdbgError } from '@hvdbg/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEventCommand } from './commands/eventCommand.js';
import { evaluate } from './expr.js';
import { tokenize } from './tokenize.js';

/** Characters that matter to the parsers, mixed with arbitrary text. */
const interesting = fc.oneof(
  fc.constantFrom('{', '}', '"', "'", '\\', '/', '*', '!', '@', '$', '(', ')', '+', '-', '<<', ' ', '\n', 'l', 'pid', 'script', 'code', 'condition', 'stage', 'sc', 'buffer', '0x', '0n', 'ff', 'kernel!f'),
  fc.string({ maxLength: 6 }),
); // biome-ignore format: a list
const line = fc.array(interesting, { maxLength: 24 }).map((parts) => parts.join(''));

/** Only user errors may escape the parsers: anything else is a bug. */
function onlyUserErrors(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(HvdbgError);
  }
}

const env = {
  evaluate: (e: string) =>
    evaluate(e, {
      symbol: (n) => (n === 'kernel!f' ? 0x1000n : undefined),
      register: async () => 1n,
      pseudo: async () => 0n,
      memory: async () => 0n,
    }),
  compile: (s: string) => new TextEncoder().encode(s),
  readFile: () => {
    throw new HvdbgError('E_BAD_PARAMETER', 'no files here');
  },
  local: false,
};

describe('parsers never crash on arbitrary input', () => {
  it('tokenize', () => {
    fc.assert(
      fc.property(line, (text) => onlyUserErrors(() => tokenize(text))),
      { numRuns: 2000 },
    );
  });

  it('expressions', async () => {
    await fc.assert(
      fc.asyncProperty(line, async (text) => {
        await evaluate(text, {
          symbol: () => 1n,
          register: async () => 1n,
          pseudo: async () => 1n,
          memory: async () => 1n,
        }).catch((err: unknown) => expect(err).toBeInstanceOf(HvdbgError));
      }),
      { numRuns: 1000 },
    );
  });

  it('event commands', async () => {
    const kinds = fc.constantFrom(
      '!syscall ',
      '!monitor ',
      '!epthook ',
      '!crwrite ',
      '!mode ',
      '!cpuid ',
      '!interrupt ',
    );
    await fc.assert(
      fc.asyncProperty(kinds, line, async (kind, rest) => {
        await parseEventCommand(kind + rest, env).catch((err: unknown) => expect(err).toBeInstanceOf(HvdbgError));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the session never throws', () => {
  it('turns any line into an outcome', async () => {
    const { DebugSession } = await import('./session.js');
    const { startFakeGuest } = await import('./testing/fakeGuest.js');
    const guest = await startFakeGuest();
    const session = new DebugSession({ compiler: (s) => new TextEncoder().encode(s), haltTimeoutMs: 50 });
    await session.connect(guest.daemon.url);
    const words = fc.constantFrom(
      'db',
      'u',
      'r',
      'bp',
      'events',
      '!syscall',
      '?',
      'eb',
      'x',
      'lm',
      '~',
      'sb',
      '.connect',
      'help',
      'k',
      '.formats',
    );
    try {
      await fc.assert(
        fc.asyncProperty(words, line, async (word, rest) => {
          const outcome = await session.execute(`${word} ${rest}`);
          expect(outcome.lines.every((l) => typeof l === 'string')).toBe(true);
          if (!outcome.ok) expect(outcome.lines.join('\n')).not.toContain('internal client error');
        }),
        { numRuns: 300 },
      );
    } finally {
      await session.disconnect();
      await guest.daemon.stop();
    }
  });
});
