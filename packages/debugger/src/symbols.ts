/**
 * The guest's symbols as the client sees them: fetched once from the daemon (`symbols.get`) and
 * then resolved locally, both ways: `mod!name` → address for arguments and scripts, and address →
 * `mod!name+0x12` for the prompt, halts, disassembly and stack traces.
 */
import type { GuestModule, SymbolInfo } from '@hvdbg/protocol';
import { hex } from './numbers.js';

export class SymbolTable {
  readonly modules: readonly GuestModule[];
  readonly symbols: readonly SymbolInfo[];
  /** `module!name` (module lower-cased) → symbol. */
  private readonly byQualified = new Map<string, SymbolInfo>();
  /** bare name → symbols of that name in any module. */
  private readonly byName = new Map<string, SymbolInfo[]>();
  /** Symbols with an address, sorted by address, for reverse lookup. */
  private readonly sorted: SymbolInfo[];

  constructor(modules: readonly GuestModule[], symbols: readonly SymbolInfo[]) {
    this.modules = modules;
    this.symbols = symbols;
    for (const s of symbols) {
      this.byQualified.set(`${s.module.toLowerCase()}!${s.name}`, s);
      const list = this.byName.get(s.name);
      if (list === undefined) this.byName.set(s.name, [s]);
      else list.push(s);
    }
    // Functions first at equal addresses, so a label sharing a function's address loses.
    this.sorted = symbols
      .filter((s) => s.kind !== 'other' || s.size > 0n)
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : kindRank(a) - kindRank(b)));
  }

  static empty(): SymbolTable {
    return new SymbolTable([], []);
  }

  /** `mod!name`, or a bare name that only one module defines. */
  resolve(name: string): bigint | undefined {
    const bang = name.indexOf('!');
    if (bang >= 0) {
      const mod = name.slice(0, bang).toLowerCase();
      const sym = name.slice(bang + 1);
      const found = this.byQualified.get(`${mod}!${sym}`);
      if (found !== undefined) return found.address;
      // A bare module name is its base, as in WinDbg's `lm` addresses.
      if (sym === '') return this.modules.find((m) => m.name.toLowerCase() === mod)?.base;
      return undefined;
    }
    const list = this.byName.get(name);
    if (list !== undefined && list.length === 1) return list[0]!.address;
    return this.modules.find((m) => m.name.toLowerCase() === name.toLowerCase())?.base;
  }

  /** The symbol containing `address` (or the nearest below it inside the same module). */
  lookup(address: bigint): { symbol: SymbolInfo; offset: bigint } | undefined {
    let lo = 0;
    let hi = this.sorted.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]!.address <= address) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return undefined;
    // Walk back over equal addresses to prefer the function (sorted first).
    while (best > 0 && this.sorted[best - 1]!.address === this.sorted[best]!.address) best--;
    const symbol = this.sorted[best]!;
    const offset = address - symbol.address;
    // Past a sized symbol's end the address belongs to no symbol (symbolize falls back to module+offset).
    if (symbol.size > 0n && offset >= symbol.size) return undefined;
    // An unsized label names addresses after it only inside its own module.
    if (symbol.size === 0n && this.moduleAt(address)?.name !== symbol.module) return undefined;
    return { symbol, offset };
  }

  moduleAt(address: bigint): GuestModule | undefined {
    return this.modules.find((m) => address >= m.base && address < m.base + m.size);
  }

  /** `kernel!func+0x12`, `kernel!func`, `kernel+0x1000`, or undefined. */
  symbolize(address: bigint): string | undefined {
    const hit = this.lookup(address);
    if (hit !== undefined) {
      const name = `${hit.symbol.module}!${hit.symbol.name}`;
      return hit.offset === 0n ? name : `${name}+${hex(hit.offset)}`;
    }
    const mod = this.moduleAt(address);
    return mod === undefined ? undefined : `${mod.name}+${hex(address - mod.base)}`;
  }

  /** `x mod!pat*`: `*` matches any run, `?` one character; module part optional. */
  search(pattern: string): SymbolInfo[] {
    const bang = pattern.indexOf('!');
    const modPat = bang >= 0 ? globToRegExp(pattern.slice(0, bang), 'i') : undefined;
    const namePat = globToRegExp(bang >= 0 ? pattern.slice(bang + 1) : pattern, '');
    return this.symbols
      .filter((s) => (modPat === undefined || modPat.test(s.module)) && namePat.test(s.name))
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** Every `mod!name`, for tab completion. */
  qualifiedNames(): string[] {
    return this.symbols.map((s) => `${s.module}!${s.name}`);
  }
}

function kindRank(s: SymbolInfo): number {
  return s.kind === 'function' ? 0 : s.kind === 'object' ? 1 : 2;
}

/** `*` any run, `?` one character, everything else literal. */
export function globToRegExp(glob: string, flags: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${body}$`, flags);
}
