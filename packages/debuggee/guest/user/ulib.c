/* printf for user programs: formats with uformat (lib/format.c) and writes with one system call. */
#include "ulib.h"

void uprintf(const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = uformat(buf, sizeof buf, fmt, ap);
  va_end(ap);
  sys_write(buf, n < (int)sizeof buf ? (u64)n : sizeof buf - 1);
}
