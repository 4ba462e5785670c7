/*
 * Per-CPU setup: GDT with a TSS (SDM Vol. 3A §3.4.5, §7.7), GS base for the per-CPU block, the
 * SYSCALL MSRs (§5.8.8), CR0.WP/CR4.PGE, cleared debug registers, TSC_AUX = CPU index for RDTSCP,
 * and the awareness block registered with the hypervisor.
 */
#include "kernel.h"

struct tss {
  u32 reserved0;
  u64 rsp0, rsp1, rsp2;
  u64 reserved1;
  u64 ist[7];
  u64 reserved2;
  u16 reserved3;
  u16 iomap_base;
} __attribute__((packed));

struct gdtr {
  u16 limit;
  u64 base;
} __attribute__((packed));

struct percpu cpus[MAX_CPUS];
static u64 gdts[MAX_CPUS][7] __attribute__((aligned(16)));
static struct tss tsses[MAX_CPUS] __attribute__((aligned(16)));

static void debug_registers_clear(void) {
  u64 zero = 0;
  __asm__ volatile("mov %0, %%dr0\n\tmov %0, %%dr1\n\tmov %0, %%dr2\n\tmov %0, %%dr3\n\t"
                   "mov %0, %%dr6\n\tmov %0, %%dr7" ::"r"(zero));
}

void cpu_set_kstack(struct percpu *c, u64 top) {
  c->kstack_top = top;
  tsses[c->index].rsp0 = top;
}

void cpu_init(u32 index) {
  struct percpu *c = &cpus[index];
  u64 *gdt = gdts[index];
  struct tss *tss = &tsses[index];
  gdt[0] = 0;
  gdt[1] = 0x00af9a000000ffffUL; /* kernel code, L=1 */
  gdt[2] = 0x00cf92000000ffffUL; /* kernel data */
  gdt[3] = 0x00cff2000000ffffUL; /* user data, DPL 3 */
  gdt[4] = 0x00affa000000ffffUL; /* user code, DPL 3, L=1 */
  u64 base = (u64)tss, limit = sizeof(struct tss) - 1;
  gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89UL << 40) | (((base >> 24) & 0xff) << 56);
  gdt[6] = base >> 32;
  tss->iomap_base = sizeof(struct tss);
  struct gdtr gdtr = {sizeof gdts[0] - 1, (u64)gdt};
  load_gdt_and_segments(&gdtr, SEL_TSS);
  idt_load();

  c->self = c;
  c->index = index;
  c->idle.state = T_RUNNING;
  c->current = &c->idle;
  wrmsr(MSR_GS_BASE, (u64)c);
  wrmsr(MSR_KERNEL_GS_BASE, 0);
  wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
  wrmsr(MSR_STAR, ((u64)(SEL_KDATA | 3) << 48) | ((u64)SEL_KCODE << 32));
  wrmsr(MSR_LSTAR, (u64)syscall_entry);
  wrmsr(MSR_FMASK, RFLAGS_IF | (1UL << 8) | (1UL << 10)); /* IF, TF, DF */
  wrmsr(MSR_TSC_AUX, index);
  write_cr0(read_cr0() | CR0_WP);
  write_cr4(read_cr4() | CR4_PGE);
  debug_registers_clear();

  c->aware.name = (u64) "idle";
  vmcall(HC_MAGIC | HC_AWARENESS, (u64)&c->aware, 0, 0, 0);
}
