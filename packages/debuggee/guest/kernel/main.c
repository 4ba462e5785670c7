/*
 * Boot: the loader enters _start in 64-bit mode (guest/BOOT.md). The boot vCPU sets up memory,
 * its descriptor tables and timer, starts the workload's processes, then starts the other vCPUs
 * with a hypercall and becomes the idle thread.
 */
#include "kernel.h"

#define DEFAULT_TIMER_PERIOD 20000

static struct boot_info boot;
static u8 ap_stacks[MAX_CPUS][KSTACK_SIZE] __attribute__((aligned(16)));
static char workload[32];

static void parse_cmdline(const char *cmdline) {
  strlcpy(workload, "mixed", sizeof workload);
  for (const char *p = cmdline; *p; p++) {
    if ((p == cmdline || p[-1] == ' ') && strncmp(p, "workload=", 9) == 0) {
      size_t n = 0;
      p += 9;
      while (p[n] && p[n] != ' ' && n + 1 < sizeof workload) {
        workload[n] = p[n];
        n++;
      }
      workload[n] = 0;
      return;
    }
  }
}

static void print_cpu_vendor(void) {
  u32 max, v[3], eax, unused;
  cpuid(0, &max, &v[0], &v[2], &v[1]);
  char vendor[13];
  memcpy(vendor, v, 12);
  vendor[12] = 0;
  cpuid(1, &eax, &unused, &unused, &unused);
  kprintf("cpu0: vendor \"%s\", max leaf %u, family/model/stepping %x\n", vendor, max, eax & 0xfff3ff);
}

static void __attribute__((noreturn)) halt_forever(void) {
  for (;;) __asm__ volatile("cli; hlt");
}

void kmain(u64 boot_info_pa) {
  const struct boot_info *bi = P2V(boot_info_pa);
  console_init();
  if (bi->magic != BOOT_INFO_MAGIC || bi->version != BOOT_INFO_VERSION) {
    kprintf("PANIC: bad boot info\n");
    halt_forever();
  }
  memcpy(&boot, bi, sizeof boot);
  boot.cmdline[BOOT_CMDLINE_MAX - 1] = 0;
  if (!boot.timer_period) boot.timer_period = DEFAULT_TIMER_PERIOD;
  if (boot.vcpus > MAX_CPUS) boot.vcpus = MAX_CPUS;
  parse_cmdline(boot.cmdline);
  kprintf("hvdbg guest kernel: %lu MiB RAM, %u vCPUs, workload %s\n", boot.memory_bytes >> 20, boot.vcpus, workload);
  print_cpu_vendor();
  mm_init(&boot);
  idt_init();
  cpu_init(0);
  vmcall(HC_MAGIC | HC_ANNOUNCE, (u64) "hvdbg guest kernel 1.0", 0, 0, 0);
  lapic_init(boot.timer_period);

  const char *const *list = workload_programs(workload);
  if (!list) {
    kprintf("kernel: unknown workload %s, running mixed\n", workload);
    list = workload_programs("mixed");
  }
  for (; *list; list++) {
    i64 pid = proc_spawn(*list);
    kprintf("kernel: started %s as pid %ld\n", *list, pid);
  }
  for (u32 i = 1; i < boot.vcpus; i++) {
    u64 ok = vmcall(HC_MAGIC | HC_START_CPU, i, (u64)ap_start, (u64)&ap_stacks[i][KSTACK_SIZE], i);
    if (ok != HC_OK) kprintf("kernel: cpu%u did not start\n", i);
  }
  idle_loop();
}

void ap_main(u64 index) {
  write_cr3(kernel_pml4_pa);
  /* Per-CPU state only; the IDT and timer must be live before lock_acquire may halt. */
  cpu_init((u32)index);
  lapic_init(boot.timer_period);
  lock_acquire(&big_lock);
  kprintf("cpu%lu: online\n", index);
  lock_release(&big_lock);
  idle_loop();
}
