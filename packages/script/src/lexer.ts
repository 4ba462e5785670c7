/**
 * Tokenizer for the script language (SPEC §4.1). Works on char codes and is pulled by the parser one
 * token at a time, because whether an all-hex word such as `add` is a number or a name depends on
 * the functions declared so far.
 *
 * Quirks reproduced from HyperDbg: numbers are hex unless prefixed (0x hex, 0n decimal, 0y binary,
 * 0o and 0t octal), backticks inside numbers are ignored, and a word made only of hex digits that
 * starts with a-f is a number unless it names a keyword, type or function (`ff` is 255).
 */
import { ScriptSyntaxError } from './errors.js';

export enum T {
  Eof,
  Number,
  Float,
  Ident,
  Symbol, // module!name
  Global, // .name
  Register, // @name
  Pseudo, // $name
  String,
  WString,
  Punct,
}

export interface Token {
  kind: T;
  /** Identifier / punctuator / string text (for Number, the source word). */
  text: string;
  value: bigint;
  line: number;
  column: number;
  offset: number;
}

export const KEYWORDS = new Set([
  'if',
  'elsif',
  'else',
  'while',
  'do',
  'for',
  'break',
  'continue',
  'return',
  'sizeof',
  'struct',
  'typedef',
]);
export const TYPE_WORDS = new Set([
  'void',
  'bool',
  'char',
  'short',
  'int',
  'long',
  'unsigned',
  'signed',
  'float',
  'double',
]);

// Longest first within each leading character so a greedy match works.
const PUNCTUATORS = [
  '<<=',
  '>>=',
  '->',
  '++',
  '--',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '^=',
  '|=',
  '<<',
  '>>',
  '<=',
  '>=',
  '==',
  '!=',
  '&&',
  '||',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  ',',
  ';',
  '+',
  '-',
  '*',
  '/',
  '%',
  '&',
  '^',
  '|',
  '~',
  '!',
  '<',
  '>',
  '=',
  '.',
  '#',
];

const CH_NL = 10;
const CH_BACKTICK = 96;

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return 99;
}
const U64_MAX = (1n << 64n) - 1n;

/** Parse a number word (backticks already removed); undefined if it is not a valid number. */
export function parseNumberWord(word: string): bigint | undefined {
  let radix = 16;
  let body = word;
  if (word.length > 2 && word.charCodeAt(0) === 48) {
    const p = word.charCodeAt(1) | 0x20;
    const r = p === 0x78 ? 16 : p === 0x6e ? 10 : p === 0x79 ? 2 : p === 0x6f || p === 0x74 ? 8 : 0;
    if (r !== 0) {
      radix = r;
      body = word.slice(2);
    }
  }
  if (body.length === 0) return undefined;
  const big = BigInt(radix);
  let v = 0n;
  for (let i = 0; i < body.length; i++) {
    const d = digitValue(body.charCodeAt(i));
    if (d >= radix) return undefined;
    v = v * big + BigInt(d);
  }
  return v;
}

export class Lexer {
  readonly src: string;
  pos = 0;
  line = 1;
  lineStart = 0;
  /** Asked for all-hex words: true if the word names a function (built-in or user). */
  isFunctionName: (word: string) => boolean;
  /** Called for each all-hex word starting with a letter that lexes as a number. */
  onHexWord: ((tok: Token) => void) | undefined;

  constructor(src: string, isFunctionName: (word: string) => boolean) {
    this.src = src;
    this.isFunctionName = isFunctionName;
  }

  error(reason: string, line: number, column: number): never {
    throw new ScriptSyntaxError(reason, line, column);
  }

  private skipSpaceAndComments(): void {
    const s = this.src;
    for (;;) {
      const c = s.charCodeAt(this.pos);
      if (c === CH_NL) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 32 || c === 9 || c === 13 || c === 11 || c === 12) {
        this.pos++;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 47) {
        while (this.pos < s.length && s.charCodeAt(this.pos) !== CH_NL) this.pos++;
      } else if (c === 47 && s.charCodeAt(this.pos + 1) === 42) {
        const line = this.line;
        const column = this.pos - this.lineStart + 1;
        this.pos += 2;
        for (;;) {
          if (this.pos >= s.length) this.error('unterminated comment', line, column);
          const d = s.charCodeAt(this.pos);
          if (d === 42 && s.charCodeAt(this.pos + 1) === 47) {
            this.pos += 2;
            break;
          }
          this.pos++;
          if (d === CH_NL) {
            this.line++;
            this.lineStart = this.pos;
          }
        }
      } else {
        return;
      }
    }
  }

  next(): Token {
    this.skipSpaceAndComments();
    const s = this.src;
    const start = this.pos;
    const tok: Token = {
      kind: T.Eof,
      text: '',
      value: 0n,
      line: this.line,
      column: start - this.lineStart + 1,
      offset: start,
    };
    if (start >= s.length) return tok;
    const c = s.charCodeAt(start);
    const fail = (reason: string): never => this.error(reason, tok.line, tok.column);

    if (isDigit(c) || (c === 46 && isDigit(s.charCodeAt(start + 1)))) return this.number(tok);
    if (c === 76 && s.charCodeAt(start + 1) === 34) {
      this.pos++;
      return this.string(tok, T.WString);
    }
    if (c === 34) return this.string(tok, T.String);
    if (c === 39) return this.charLiteral(tok);
    if (isIdentStart(c)) {
      const word = this.word();
      if (s.charCodeAt(this.pos) === 33 && isIdentStart(s.charCodeAt(this.pos + 1))) {
        this.pos++;
        tok.kind = T.Symbol;
        tok.text = `${word}!${this.word()}`;
        return tok;
      }
      tok.text = word;
      if (isAllHex(word) && !KEYWORDS.has(word) && !TYPE_WORDS.has(word) && !this.isFunctionName(word)) {
        if (s.charCodeAt(this.pos) === CH_BACKTICK) return this.number(tok);
        tok.kind = T.Number;
        tok.value = parseNumberWord(word)!;
        this.onHexWord?.(tok);
        return tok;
      }
      tok.kind = T.Ident;
      return tok;
    }
    if (c === 64 || c === 36 || (c === 46 && isIdentStart(s.charCodeAt(start + 1)))) {
      this.pos++;
      if (!isIdentStart(s.charCodeAt(this.pos))) fail(`expected a name after '${s[start]}'`);
      tok.kind = c === 64 ? T.Register : c === 36 ? T.Pseudo : T.Global;
      tok.text = this.word();
      return tok;
    }
    for (const p of PUNCTUATORS) {
      if (s.startsWith(p, start)) {
        this.pos += p.length;
        tok.kind = T.Punct;
        tok.text = p;
        return tok;
      }
    }
    return fail(`unexpected character '${s[start]}'`);
  }

  private word(): string {
    const start = this.pos;
    while (isIdentPart(this.src.charCodeAt(this.pos))) this.pos++;
    return this.src.slice(start, this.pos);
  }

  /** A number word: digits, letters and backticks; or a decimal float with one dot. */
  private number(tok: Token): Token {
    const s = this.src;
    const start = tok.offset;
    this.pos = start;
    let sawDot = false;
    for (;;) {
      const c = s.charCodeAt(this.pos);
      if (isIdentPart(c) || c === CH_BACKTICK) this.pos++;
      else if (c === 46 && !isIdentStart(s.charCodeAt(this.pos + 1))) {
        if (sawDot) this.error('invalid number: more than one dot', tok.line, tok.column);
        sawDot = true;
        this.pos++;
      } else break;
    }
    const raw = s.slice(start, this.pos);
    tok.text = raw;
    if (sawDot) {
      if (!/^[0-9]*\.[0-9]*$/.test(raw) || raw === '.')
        this.error(`invalid floating-point number '${raw}'`, tok.line, tok.column);
      const v = Number(raw);
      if (!Number.isFinite(v)) this.error(`floating-point number '${raw}' is out of range`, tok.line, tok.column);
      tok.kind = T.Float;
      tok.text = raw;
      return tok;
    }
    const v = parseNumberWord(raw.replaceAll('`', ''));
    if (v === undefined) this.error(`invalid number '${raw}'`, tok.line, tok.column);
    if (v > U64_MAX) this.error(`number '${raw}' does not fit in 64 bits`, tok.line, tok.column);
    tok.kind = T.Number;
    tok.value = v;
    return tok;
  }

  /** `'A'`, `'\n'`, `'\x41'`: a number (char literals are post-v0.23 HyperDbg, accepted here). */
  private charLiteral(tok: Token): Token {
    const s = this.src;
    let value: number;
    let p = this.pos + 1;
    if (s.charCodeAt(p) === 92) {
      const e = s[p + 1];
      const simple: Record<string, number> = { n: 10, t: 9, '\\': 92, "'": 39, '"': 34, '0': 0 };
      if (e !== undefined && e in simple) {
        value = simple[e];
        p += 2;
      } else if (e === 'x') {
        let n = 0;
        value = 0;
        while (n < 2 && digitValue(s.charCodeAt(p + 2 + n)) < 16)
          value = value * 16 + digitValue(s.charCodeAt(p + 2 + n++));
        if (n === 0) this.error("'\\x' needs one or two hex digits", tok.line, tok.column);
        p += 2 + n;
      } else this.error(`invalid escape '\\${e ?? ''}' in a character`, tok.line, tok.column);
    } else {
      value = s.charCodeAt(p);
      if (p >= s.length || value === 39 || value === CH_NL) this.error('empty character literal', tok.line, tok.column);
      if (value > 0xff) this.error('non-ASCII character literal', tok.line, tok.column);
      p++;
    }
    if (s.charCodeAt(p) !== 39) this.error('unterminated character literal', tok.line, tok.column);
    this.pos = p + 1;
    tok.kind = T.Number;
    tok.text = s.slice(tok.offset, this.pos);
    tok.value = BigInt(value);
    return tok;
  }

  private string(tok: Token, kind: T): Token {
    const s = this.src;
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      if (this.pos >= s.length || s.charCodeAt(this.pos) === CH_NL)
        this.error('unterminated string', tok.line, tok.column);
      const c = s.charCodeAt(this.pos);
      if (c === 34) {
        this.pos++;
        break;
      }
      if (c !== 92) {
        out += s[this.pos++];
        continue;
      }
      const e = s[this.pos + 1];
      const col = this.pos - this.lineStart + 1;
      if (e === 'n') out += '\n';
      else if (e === 't') out += '\t';
      else if (e === '\\') out += '\\';
      else if (e === '"') out += '"';
      else if (e === 'x') {
        let n = 0;
        let v = 0;
        while (n < 2 && digitValue(s.charCodeAt(this.pos + 2 + n)) < 16)
          v = v * 16 + digitValue(s.charCodeAt(this.pos + 2 + n++));
        if (n === 0) this.error("'\\x' needs one or two hex digits", tok.line, col);
        out += String.fromCharCode(v);
        this.pos += n;
      } else this.error(`invalid escape '\\${e ?? ''}' in string`, tok.line, col);
      this.pos += 2;
    }
    tok.kind = kind;
    tok.text = out;
    return tok;
  }
}

function isAllHex(word: string): boolean {
  for (let i = 0; i < word.length; i++) if (digitValue(word.charCodeAt(i)) >= 16) return false;
  return true;
}

export function describeToken(t: Token): string {
  switch (t.kind) {
    case T.Eof:
      return 'end of input';
    case T.String:
    case T.WString:
      return 'a string';
    case T.Register:
      return `'@${t.text}'`;
    case T.Pseudo:
      return `'$${t.text}'`;
    case T.Global:
      return `'.${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}
