/*
 * A small vsnprintf shared by the kernel and the user programs (compiled once for each, under a
 * different name). Supports %d %i %u %x %X %p %s %c %% with the 0 flag, a width and the l/ll/z
 * length modifiers — what the kernel's and programs' messages need.
 */
#include "../include/types.h"

#ifndef FORMAT_NAME
#define FORMAT_NAME vformat
#endif

struct out {
  char *buf;
  size_t size;
  size_t len;
};

static void put(struct out *o, char c) {
  if (o->len + 1 < o->size) o->buf[o->len] = c;
  o->len++;
}

static void put_number(struct out *o, u64 v, unsigned base, int upper, int width, char pad, int negative) {
  char tmp[24];
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  int n = 0;
  do {
    tmp[n++] = digits[v % base];
    v /= base;
  } while (v != 0);
  if (negative) width--;
  if (negative && pad == '0') put(o, '-');
  for (int i = n; i < width; i++) put(o, pad);
  if (negative && pad != '0') put(o, '-');
  while (n > 0) put(o, tmp[--n]);
}

int FORMAT_NAME(char *buf, size_t size, const char *fmt, va_list ap) {
  struct out o = {buf, size, 0};
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      put(&o, *p);
      continue;
    }
    p++;
    char pad = ' ';
    int width = 0, longs = 0;
    if (*p == '0') {
      pad = '0';
      p++;
    }
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    while (*p == 'l' || *p == 'z') {
      longs++;
      p++;
    }
    switch (*p) {
    case 'd':
    case 'i': {
      i64 v = longs ? va_arg(ap, i64) : va_arg(ap, int);
      put_number(&o, v < 0 ? -(u64)v : (u64)v, 10, 0, width, pad, v < 0);
      break;
    }
    case 'u':
      put_number(&o, longs ? va_arg(ap, u64) : va_arg(ap, unsigned), 10, 0, width, pad, 0);
      break;
    case 'x':
    case 'X':
      put_number(&o, longs ? va_arg(ap, u64) : va_arg(ap, unsigned), 16, *p == 'X', width, pad, 0);
      break;
    case 'p':
      put(&o, '0');
      put(&o, 'x');
      put_number(&o, (u64)va_arg(ap, void *), 16, 0, 16, '0', 0);
      break;
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s) s = "(null)";
      int n = 0;
      while (s[n]) n++;
      for (int i = n; i < width; i++) put(&o, ' ');
      for (int i = 0; i < n; i++) put(&o, s[i]);
      break;
    }
    case 'c':
      put(&o, (char)va_arg(ap, int));
      break;
    case '%':
      put(&o, '%');
      break;
    case 0:
      p--;
      break;
    default:
      put(&o, '%');
      put(&o, *p);
    }
  }
  if (o.size) o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
  return (int)o.len;
}
