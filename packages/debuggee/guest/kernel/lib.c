/* String, memory and lock helpers. gcc may emit calls to memset/memcpy itself, so they are real symbols. */
#include "kernel.h"

volatile int big_lock;

void *memset(void *d, int c, size_t n) {
  u8 *p = d;
  while (n--) *p++ = (u8)c;
  return d;
}

void *memcpy(void *d, const void *s, size_t n) {
  u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}

int strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n) {
  for (; n; n--, a++, b++) {
    if (*a != *b || !*a) return (u8)*a - (u8)*b;
  }
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

void strlcpy(char *d, const char *s, size_t n) {
  size_t i = 0;
  for (; i + 1 < n && s[i]; i++) d[i] = s[i];
  if (n) d[i] = 0;
}

/*
 * One lock serialises the whole kernel across vCPUs: kernel code runs with interrupts off and is
 * short, so contention costs little and the kernel needs no finer locking.
 *
 * The holder may be a vCPU the machine is not running at the moment (it interleaves vCPUs in
 * quanta), so a waiter that keeps spinning burns its whole quantum. After a short spin it halts
 * with interrupts enabled instead: a halted vCPU costs nothing, and its next timer tick retries.
 * An interrupt taken there enters the kernel as from the idle loop (nothing is held yet).
 */
#define SPINS_BEFORE_HALT 16

void lock_acquire(volatile int *l) {
  while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
    for (int spins = 0; *l; spins++) {
      if (spins < SPINS_BEFORE_HALT) {
        pause();
      } else {
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        spins = 0;
      }
    }
  }
}

void lock_release(volatile int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }
