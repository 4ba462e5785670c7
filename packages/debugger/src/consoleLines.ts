/**
 * Guest serial output arrives in arbitrary pieces (a UART byte stream batched by the daemon). The
 * client prints whole lines; a partial line is printed after a quiet spell or before a halt report
 * so a prompt-less `login:` still shows up.
 */

/** Milliseconds a partial line waits for its newline before it is printed anyway. */
export const CONSOLE_FLUSH_MS = 200;

export class ConsoleLines {
  private buffer = '';
  private timer: NodeJS.Timeout | undefined = undefined;

  /** @param emit receives complete text (one or more lines, without the final newline). */
  constructor(private readonly emit: (text: string) => void) {}

  push(text: string): void {
    this.buffer += text;
    const nl = this.buffer.lastIndexOf('\n');
    if (nl >= 0) {
      const whole = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.emit(whole);
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = this.buffer === '' ? undefined : setTimeout(() => this.flush(), CONSOLE_FLUSH_MS);
  }

  /** Prints any partial line now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer === '') return;
    const tail = this.buffer;
    this.buffer = '';
    this.emit(tail);
  }
}
