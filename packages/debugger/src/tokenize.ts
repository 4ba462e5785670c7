/**
 * Splits a command line into words. A `{…}` block is ONE token with its outer braces dropped and
 * its content kept verbatim (SPEC §2.2); nested braces count, and braces inside string or char
 * literals and comments of the script language do not.
 */
import { HvdbgError } from '@hvdbg/protocol';

export interface Token {
  /** The word, or the block's content without the outer braces. */
  text: string;
  /** True for a `{…}` block. */
  block: boolean;
  /** Offset of the token's first character (the `{` of a block) in the line. */
  start: number;
}

const SPACE = /\s/;

/** Index just past the literal that starts at `i` with `quote`; throws when unterminated. */
function skipQuoted(line: string, i: number, quote: string, blockStart: number): number {
  let j = i + 1;
  while (j < line.length) {
    const ch = line[j];
    if (ch === '\\') j += 2;
    else if (ch === quote) return j + 1;
    else j++;
  }
  throw new HvdbgError('E_BAD_PARAMETER', `unterminated string in the block opened at column ${blockStart + 1}`);
}

/** Index just past the `}` matching the `{` at `open`. */
function blockEnd(line: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < line.length) {
    const ch = line[i]!;
    const next = line[i + 1];
    if (ch === '"' || ch === "'") {
      i = skipQuoted(line, i, ch, open);
      continue;
    }
    if (ch === '/' && next === '/') {
      const nl = line.indexOf('\n', i);
      i = nl < 0 ? line.length : nl;
      continue;
    }
    if (ch === '/' && next === '*') {
      const close = line.indexOf('*/', i + 2);
      if (close < 0)
        throw new HvdbgError('E_BAD_PARAMETER', `unterminated comment in the block opened at column ${open + 1}`);
      i = close + 2;
      continue;
    }
    if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  throw new HvdbgError('E_BAD_PARAMETER', `missing '}' for the block opened at column ${open + 1}`);
}

export function tokenize(line: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const ch = line[i]!;
    if (SPACE.test(ch)) {
      i++;
      continue;
    }
    if (ch === '{') {
      const end = blockEnd(line, i);
      tokens.push({ text: line.slice(i + 1, end - 1), block: true, start: i });
      i = end;
      continue;
    }
    if (ch === '}') throw new HvdbgError('E_BAD_PARAMETER', `unexpected '}' at column ${i + 1}`);
    const start = i;
    while (i < line.length && !SPACE.test(line[i]!) && line[i] !== '{') {
      if (line[i] === '"') i = skipQuoted(line, i, '"', start);
      else i++;
    }
    tokens.push({ text: line.slice(start, i), block: false, start });
  }
  return tokens;
}

/** True when the line has an unclosed `{` (the REPL then asks for a continuation line). */
export function needsMoreInput(line: string): boolean {
  try {
    tokenize(line);
    return false;
  } catch (err) {
    return err instanceof HvdbgError && /^missing '}'|^unterminated comment/.test(err.message);
  }
}
