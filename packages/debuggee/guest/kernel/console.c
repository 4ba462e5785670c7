/* Serial console: a polled 16550 UART at COM1 (0x3f8). Each byte is one IN (LSR) and one OUT (THR). */
#include "kernel.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1
#define LSR_THRE 0x20
#define LCR_DLAB 0x80

void console_init(void) {
  outb(COM1 + UART_IER, 0);
  outb(COM1 + UART_LCR, LCR_DLAB);
  outb(COM1 + UART_DLL, 1); /* 115200 baud */
  outb(COM1 + UART_DLM, 0);
  outb(COM1 + UART_LCR, 0x03); /* 8N1 */
  outb(COM1 + UART_FCR, 0x07);
  outb(COM1 + UART_MCR, 0x03);
}

static void putc(char c) {
  while (!(inb(COM1 + UART_LSR) & LSR_THRE)) pause();
  outb(COM1 + UART_THR, (u8)c);
}

void console_write(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) putc(s[i]);
}

void kprintf(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vformat(buf, sizeof buf, fmt, ap);
  va_end(ap);
  console_write(buf, n < (int)sizeof buf ? (size_t)n : sizeof buf - 1);
}
