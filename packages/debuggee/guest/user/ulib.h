/* The user-side system-call wrappers and printf, linked into the shared user image. */
#ifndef HVDBG_ULIB_H
#define HVDBG_ULIB_H

#include "../include/abi.h"
#include "../include/types.h"

static inline i64 syscall3(u64 nr, u64 a, u64 b, u64 c) {
  i64 r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}

static inline i64 sys_write(const char *s, u64 n) { return syscall3(SYS_WRITE, 1, (u64)s, n); }
static inline i64 sys_getpid(void) { return syscall3(SYS_GETPID, 0, 0, 0); }
static inline i64 sys_gettid(void) { return syscall3(SYS_GETTID, 0, 0, 0); }
static inline i64 sys_open(const char *path) { return syscall3(SYS_OPEN, (u64)path, 0, 0); }
static inline i64 sys_read(i64 fd, void *buf, u64 n) { return syscall3(SYS_READ, (u64)fd, (u64)buf, n); }
static inline i64 sys_close(i64 fd) { return syscall3(SYS_CLOSE, (u64)fd, 0, 0); }
static inline i64 sys_alloc_page(void) { return syscall3(SYS_ALLOC_PAGE, 0, 0, 0); }
static inline i64 sys_yield(void) { return syscall3(SYS_YIELD, 0, 0, 0); }
static inline i64 sys_sleep(u64 ticks) { return syscall3(SYS_SLEEP, ticks, 0, 0); }
static inline i64 sys_ticks(void) { return syscall3(SYS_TICKS, 0, 0, 0); }
static inline i64 sys_spawn(const char *name) { return syscall3(SYS_SPAWN, (u64)name, 0, 0); }
static inline i64 sys_thread(void (*entry)(u64), u64 arg) { return syscall3(SYS_THREAD, (u64)entry, arg, 0); }
static inline void __attribute__((noreturn)) sys_exit(u64 code) {
  syscall3(SYS_EXIT, code, 0, 0);
  for (;;) {
  }
}

int uformat(char *buf, size_t size, const char *fmt, va_list ap);
void uprintf(const char *fmt, ...);

#endif
