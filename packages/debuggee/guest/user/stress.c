/* Programs that fault on purpose, make system calls in a loop, or just compute. */
#include "programs.h"
#include "ulib.h"

void prog_faulty(u64 arg) {
  (void)arg;
  for (u64 round = 1;; round++) {
    uprintf("faulty: round %lu: int3\n", round);
    __asm__ volatile("int3");
    uprintf("faulty: resumed after the breakpoint\n");
    sys_spawn("divzero");
    sys_spawn("segv");
    sys_spawn("hello");
    sys_sleep(150);
  }
}

void prog_divzero(u64 arg) {
  (void)arg;
  uprintf("divzero: pid %ld dividing by zero\n", sys_getpid());
  __asm__ volatile("xor %%ecx, %%ecx\n\tdiv %%ecx" ::: "eax", "ecx", "edx");
  sys_exit(1);
}

void prog_segv(u64 arg) {
  (void)arg;
  uprintf("segv: pid %ld writing to an unmapped page\n", sys_getpid());
  *(volatile u64 *)0xdead000 = 1;
  sys_exit(1);
}

#define SYSLOOP_REPORT 10000

void prog_sysloop(u64 arg) {
  (void)arg;
  for (u64 round = 1;; round++) {
    u64 sum = 0;
    for (int i = 0; i < SYSLOOP_REPORT; i++) {
      sum += (u64)sys_getpid();
      if (i % 1000 == 999) sys_yield();
    }
    uprintf("sysloop: %lu syscalls (pid sum %lu)\n", round * SYSLOOP_REPORT, sum);
  }
}

#define COMPUTE_ROUND 200000

void prog_compute(u64 arg) {
  (void)arg;
  u64 x = 88172645463325252UL;
  for (u64 round = 1;; round++) {
    for (int i = 0; i < COMPUTE_ROUND; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    uprintf("compute: round %lu x=%016lx\n", round, x);
  }
}
