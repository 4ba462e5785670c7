/**
 * `settings`: the client-side options HyperDbg keeps in its debugger (SPEC §5), shown and set by
 * name. They live in the client only; the daemon never sees them.
 *
 * - autoflush (default off): after `events d|c`, discard the messages the changed events left queued.
 * - autounpause (default on): kept for HyperDbg scripts that set it. hvdbg's commands never pause
 *   the guest behind the user's back, so there is nothing to undo and the value has no effect.
 * - syntax (default intel): disassembly syntax. Only intel is implemented; att and masm are known
 *   names but refused until the formatter is wired for them.
 * - addressconversion (default on): show branch and call targets in `u` as symbols.
 */
import { HvdbgError } from '@hvdbg/protocol';

export type SettingName = 'autoflush' | 'autounpause' | 'syntax' | 'addressconversion';
export const SETTING_NAMES: readonly SettingName[] = ['autoflush', 'autounpause', 'syntax', 'addressconversion'];

const SYNTAXES = ['intel', 'att', 'masm'] as const;
const SUPPORTED_SYNTAXES: readonly string[] = ['intel'];

export class ClientSettings {
  autoflush = false;
  autounpause = true;
  syntax: (typeof SYNTAXES)[number] = 'intel';
  addressconversion = true;

  /** The value as `settings` prints it. */
  show(name: SettingName): string {
    const v = this[name];
    return typeof v === 'boolean' ? (v ? 'on' : 'off') : v;
  }

  /** Sets a setting from its text (`on`/`off` for switches); returns the value as shown. */
  set(name: SettingName, text: string): string {
    const value = text.toLowerCase();
    if (name === 'syntax') {
      if (!(SYNTAXES as readonly string[]).includes(value)) {
        throw new HvdbgError('E_BAD_PARAMETER', `unknown syntax '${text}' (intel, att or masm)`);
      }
      if (!SUPPORTED_SYNTAXES.includes(value)) {
        throw new HvdbgError(
          'E_BAD_PARAMETER',
          `${value} syntax is not supported yet: disassembly is Intel syntax only`,
        );
      }
      this.syntax = value as (typeof SYNTAXES)[number];
    } else {
      if (value !== 'on' && value !== 'off') throw new HvdbgError('E_BAD_PARAMETER', `${name} is on or off`);
      this[name] = value === 'on';
    }
    return this.show(name);
  }
}

/** Looks a setting name up case-insensitively; E_BAD_PARAMETER names the known ones. */
export function settingName(word: string): SettingName {
  const name = SETTING_NAMES.find((n) => n === word.toLowerCase());
  if (name === undefined) {
    throw new HvdbgError('E_BAD_PARAMETER', `unknown setting '${word}' (${SETTING_NAMES.join(', ')})`);
  }
  return name;
}
