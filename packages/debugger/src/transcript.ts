/**
 * `.logopen` / `.logclose`: a copy of the session (commands, their output, halts, log messages and
 * console lines) appended to a file on this machine.
 */
import { appendFileSync } from 'node:fs';
import { HvdbgError } from '@hvdbg/protocol';

export class Transcript {
  private path: string | undefined = undefined;

  get file(): string | undefined {
    return this.path;
  }

  open(path: string): void {
    try {
      appendFileSync(path, '');
    } catch (err) {
      throw new HvdbgError('E_BAD_PARAMETER', `cannot write ${path}: ${(err as Error).message}`);
    }
    this.path = path;
  }

  /** Stops logging; returns the file that was open, if any. */
  close(): string | undefined {
    const path = this.path;
    this.path = undefined;
    return path;
  }

  append(lines: readonly string[]): void {
    if (this.path === undefined || lines.length === 0) return;
    try {
      appendFileSync(this.path, `${lines.join('\n')}\n`);
    } catch {
      // A file that became unwritable ends logging instead of failing every command.
      this.path = undefined;
    }
  }
}
