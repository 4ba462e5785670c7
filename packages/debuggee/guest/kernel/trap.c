/*
 * IDT (SDM Vol. 3A §6.14) and the C side of every interrupt and exception. A fault in ring 3 kills
 * the process, except #BP (int3), which is reported and resumed; a fault in ring 0 is fatal.
 */
#include "kernel.h"

struct idt_entry {
  u16 offset_lo;
  u16 selector;
  u8 ist;
  u8 type;
  u16 offset_mid;
  u32 offset_hi;
  u32 reserved;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
volatile u64 jiffies;

static const char *const exception_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#28", "#29", "#30", "#31"};

void idt_init(void) {
  for (int v = 0; v < 256; v++) {
    u64 h = isr_table[v];
    idt[v].offset_lo = (u16)h;
    idt[v].selector = SEL_KCODE;
    idt[v].ist = 0;
    /* Interrupt gates; int3 is callable from ring 3 (DPL 3). */
    idt[v].type = v == 3 ? 0xee : 0x8e;
    idt[v].offset_mid = (u16)(h >> 16);
    idt[v].offset_hi = (u32)(h >> 32);
  }
}

void idt_load(void) {
  struct {
    u16 limit;
    u64 base;
  } __attribute__((packed)) idtr = {sizeof idt - 1, (u64)idt};
  __asm__ volatile("lidt %0" ::"m"(idtr));
}

static void __attribute__((noreturn)) kernel_fault(struct trapframe *tf) {
  kprintf("PANIC: %s in kernel at rip=%lx err=%lx cr2=%lx rsp=%lx\n", exception_names[tf->vector & 31], tf->rip,
          tf->error, read_cr2(), tf->rsp);
  for (;;) __asm__ volatile("cli; hlt");
}

static void user_fault(struct trapframe *tf) {
  struct thread *t = this_cpu()->current;
  struct process *p = t->proc;
  if (tf->vector == 3) {
    kprintf("kernel: %s (pid %lu) hit a breakpoint at %lx, resuming\n", p->name, p->pid, tf->rip - 1);
    return;
  }
  if (tf->vector == 14) {
    kprintf("kernel: %s (pid %lu) #PF at %lx addr=%lx err=%lx, killed\n", p->name, p->pid, tf->rip, read_cr2(),
            tf->error);
  } else {
    kprintf("kernel: %s (pid %lu) %s at %lx, killed\n", p->name, p->pid, exception_names[tf->vector], tf->rip);
  }
  proc_exit(p, 128 + tf->vector, 1);
}

static void timer_tick(struct percpu *c) {
  c->ticks++;
  if (c->index == 0) {
    jiffies++;
    wake_sleepers(jiffies);
    if (jiffies % HEARTBEAT_TICKS == 0) heartbeat();
  }
  schedule();
}

void trap_dispatch(struct trapframe *tf) {
  int from_user = (tf->cs & 3) != 0;
  /*
   * Acknowledge external interrupts before taking the lock: a vCPU that waits for the lock halts
   * with interrupts enabled, and its next tick must be deliverable to wake it.
   */
  if (tf->vector >= 32 && tf->vector != VEC_SPURIOUS) lapic_eoi();
  lock_acquire(&big_lock);
  if (tf->vector < 32) {
    if (!from_user) kernel_fault(tf);
    user_fault(tf);
  } else if (tf->vector == VEC_TIMER) {
    timer_tick(this_cpu());
  }
  if (from_user) exit_if_dying();
  lock_release(&big_lock);
}
