import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONSOLE_FLUSH_MS, ConsoleLines } from './consoleLines.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('ConsoleLines', () => {
  it('emits whole lines and holds a partial one until its newline', () => {
    const out: string[] = [];
    const lines = new ConsoleLines((t) => out.push(t));
    lines.push('boo');
    lines.push('t ok\nheart');
    lines.push('beat 1\nlog');
    expect(out).toEqual(['boot ok', 'heartbeat 1']);
    lines.flush();
    expect(out).toEqual(['boot ok', 'heartbeat 1', 'log']);
  });

  it('prints a partial line after a quiet spell', () => {
    vi.useFakeTimers();
    const out: string[] = [];
    const lines = new ConsoleLines((t) => out.push(t));
    lines.push('login: ');
    vi.advanceTimersByTime(CONSOLE_FLUSH_MS - 1);
    expect(out).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out).toEqual(['login: ']);
  });
});
