/*
 * The heartbeat, every HEARTBEAT_TICKS on vCPU 0: a status line that also exercises RDTSC, RDTSCP,
 * RDPMC, RDMSR and a debug-register write at a fixed, documented rate, and prints a checksum of the
 * kernel's hot syscall code (.text.checked) so a hidden code hook can be shown to be invisible.
 */
#include "kernel.h"

extern const u8 __checked_start[], __checked_end[];

u32 code_checksum(void) {
  u32 h = 2166136261u; /* FNV-1a */
  for (const volatile u8 *p = __checked_start; p < __checked_end; p++) h = (h ^ *p) * 16777619u;
  return h;
}

void heartbeat(void) {
  u32 aux;
  u64 t0 = rdtsc();
  u64 t1 = rdtscp(&aux);
  (void)rdpmc(0);
  u64 efer = rdmsr(MSR_EFER);
  u64 dr7 = 0;
  __asm__ volatile("mov %0, %%dr7" ::"r"(dr7));
  int live = 0;
  for (int i = 0; i < MAX_PROCS; i++) live += procs[i].state == PROC_LIVE;
  kprintf("heartbeat %lu: cpu%u procs=%d free-pages=%lu tsc=%s sce=%lu code checksum: %08x\n",
          jiffies / HEARTBEAT_TICKS, aux, live, pages_free_count, t1 >= t0 ? "ok" : "backwards", efer & EFER_SCE,
          code_checksum());
}
