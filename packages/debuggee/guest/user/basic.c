/* Programs that exercise files, pages, threads and CPUID from ring 3. */
#include "programs.h"
#include "ulib.h"

void prog_hello(u64 arg) {
  (void)arg;
  char buf[64];
  uprintf("hello: pid %ld tid %ld\n", sys_getpid(), sys_gettid());
  i64 fd = sys_open("/etc/motd");
  i64 n = sys_read(fd, buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  sys_close(fd);
  uprintf("hello: /etc/motd says: %s", buf);
  u64 *page = (u64 *)sys_alloc_page();
  u64 sum = 0;
  for (u64 i = 0; i < 512; i++) page[i] = i * i;
  for (u64 i = 0; i < 512; i++) sum += page[i];
  uprintf("hello: allocated a page at %lx, checksum %lu\n", (u64)page, sum);
  sys_exit(0);
}

void prog_cpuid(u64 arg) {
  (void)arg;
  for (u64 round = 1;; round++) {
    u32 a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
    uprintf("cpuid: round %lu leaf 1 eax=%08x ecx=%08x edx=%08x\n", round, a, c, d);
    sys_sleep(30);
  }
}

static void worker(u64 arg) {
  char buf[64];
  for (u64 round = 1;; round++) {
    i64 fd = sys_open("/data/fib.txt");
    i64 n = sys_read(fd, buf, sizeof buf - 1);
    sys_close(fd);
    buf[n > 0 ? n : 0] = 0;
    uprintf("threads: worker tid %ld (arg %lu) round %lu read %ld bytes: %s", sys_gettid(), arg, round, n, buf);
    sys_sleep(80);
  }
}

void prog_threads(u64 arg) {
  (void)arg;
  i64 tid = sys_thread(worker, 7);
  uprintf("threads: main tid %ld started worker tid %ld\n", sys_gettid(), tid);
  for (u64 round = 1;; round++) {
    sys_sleep(60);
    uprintf("threads: main tid %ld round %lu at tick %ld\n", sys_gettid(), round, sys_ticks());
  }
}
