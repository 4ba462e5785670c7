/*
 * Processes, threads and the scheduler: preemptive round robin over one global thread table, driven
 * by each vCPU's timer tick. Switching threads reloads CR3 when the address space changes and
 * updates the vCPU's awareness block, so the debugger always knows which process runs where.
 * Everything here runs under big_lock with interrupts off.
 */
#include "kernel.h"

struct process procs[MAX_PROCS];
struct thread threads[MAX_THREADS];
static u8 kstacks[MAX_THREADS][KSTACK_SIZE] __attribute__((aligned(16)));
static u64 next_id = 1;
static int rr_cursor;

extern char __user_phys_start[], __user_phys_end[];

static void set_awareness(struct percpu *c, struct thread *t) {
  struct process *p = t->proc;
  c->aware.pid = p ? p->pid : 0;
  c->aware.tid = p ? t->tid : 0;
  c->aware.process = (u64)p;
  c->aware.thread = (u64)t;
  c->aware.name = p ? (u64)p->name : (u64) "idle";
}

void schedule(void) {
  struct percpu *c = this_cpu();
  struct thread *cur = c->current, *next = NULL;
  for (int i = 1; i <= MAX_THREADS; i++) {
    struct thread *t = &threads[(rr_cursor + i) % MAX_THREADS];
    if (t->state == T_RUNNABLE) {
      next = t;
      rr_cursor = (int)(t - threads);
      break;
    }
  }
  if (!next) {
    if (cur->state == T_RUNNING) return;
    next = &c->idle;
  }
  if (cur->state == T_RUNNING) cur->state = T_RUNNABLE;
  next->state = T_RUNNING;
  c->current = next;
  if (next->proc) cpu_set_kstack(c, next->kstack_top);
  u64 cr3 = next->proc ? next->proc->pml4 : kernel_pml4_pa;
  if (read_cr3() != cr3) write_cr3(cr3);
  set_awareness(c, next);
  if (next != cur) switch_context(&cur->ksp, next->ksp);
}

void wake_sleepers(u64 now) {
  for (int i = 0; i < MAX_THREADS; i++) {
    if (threads[i].state == T_SLEEPING && threads[i].wake_tick <= now) threads[i].state = T_RUNNABLE;
  }
}

/* Called on a new thread's first run, before it drops to ring 3 through trap_return. */
void thread_first_run(void) { lock_release(&big_lock); }

i64 thread_create(struct process *p, u64 entry, u64 arg) {
  struct thread *t = NULL;
  for (int i = 0; i < MAX_THREADS && !t; i++) {
    if (threads[i].state == T_FREE) t = &threads[i];
  }
  if (!t) return -1;
  u64 stack_top = USER_STACK_TOP - (u64)p->next_stack * USER_STACK_STRIDE;
  for (u64 i = 1; i <= USER_STACK_PAGES; i++) {
    u64 pa = page_alloc();
    if (!pa || as_map(p->pml4, stack_top - i * PAGE_SIZE, pa, 1, 1) < 0) return -1;
  }
  p->next_stack++;
  int slot = (int)(t - threads);
  t->tid = next_id++;
  t->proc = p;
  t->kstack_top = (u64)&kstacks[slot][KSTACK_SIZE];
  struct trapframe *tf = (struct trapframe *)(t->kstack_top - sizeof *tf);
  memset(tf, 0, sizeof *tf);
  tf->rip = entry;
  tf->cs = SEL_UCODE;
  tf->rflags = RFLAGS_IF | 2;
  tf->rsp = stack_top - 8; /* as if called: RSP+8 is 16-byte aligned; the return address is 0 */
  tf->ss = SEL_UDATA;
  tf->rdi = arg;
  u64 *sp = (u64 *)tf;
  *--sp = (u64)thread_entry;
  for (int i = 0; i < 6; i++) *--sp = 0; /* rbp rbx r12-r15 for switch_context */
  t->ksp = (u64)sp;
  t->wake_tick = 0;
  t->state = T_RUNNABLE;
  p->nthreads++;
  return (i64)t->tid;
}

i64 proc_spawn(const char *name) {
  const struct program *prog = program_find(name);
  if (!prog) return -1;
  struct process *p = NULL;
  for (int i = 0; i < MAX_PROCS && !p; i++) {
    if (procs[i].state == PROC_FREE) p = &procs[i];
  }
  if (!p) return -1;
  u64 pml4 = as_create();
  if (!pml4) return -1;
  memset(p, 0, sizeof *p);
  p->pml4 = pml4;
  p->heap_next = USER_HEAP_VA;
  strlcpy(p->name, prog->name, sizeof p->name);
  u64 start = V2P(__user_phys_start), end = V2P(__user_phys_end);
  for (u64 pa = start; pa < end; pa += PAGE_SIZE) {
    if (as_map(pml4, USER_IMAGE_VA + (pa - start), pa, 0, 0) < 0) goto fail;
  }
  p->state = PROC_LIVE;
  p->pid = next_id;
  if (thread_create(p, (u64)prog->entry, 0) < 0) goto fail;
  return (i64)p->pid;
fail:
  as_destroy(pml4);
  p->state = PROC_FREE;
  return -1;
}

static void __attribute__((noreturn)) thread_exit_current(void) {
  struct percpu *c = this_cpu();
  struct thread *t = c->current;
  struct process *p = t->proc;
  t->state = T_FREE;
  if (--p->nthreads == 0) {
    write_cr3(kernel_pml4_pa);
    as_destroy(p->pml4);
    p->state = PROC_FREE;
  }
  schedule();
  for (;;) {
  }
}

/*
 * Ends a process. Its threads that are not running die now; one running on another vCPU dies when
 * it next enters the kernel (exit_if_dying); the calling thread dies last.
 */
void proc_exit(struct process *p, u64 code, int quiet) {
  struct thread *self = this_cpu()->current;
  if (p->state != PROC_DYING && !quiet) kprintf("kernel: %s (pid %lu) exited with code %lu\n", p->name, p->pid, code);
  p->state = PROC_DYING;
  for (int i = 0; i < MAX_THREADS; i++) {
    struct thread *t = &threads[i];
    if (t->proc == p && t != self && (t->state == T_RUNNABLE || t->state == T_SLEEPING)) {
      t->state = T_FREE;
      p->nthreads--;
    }
  }
  if (self->proc == p) thread_exit_current();
}

void exit_if_dying(void) {
  struct process *p = this_cpu()->current->proc;
  if (p && p->state == PROC_DYING) thread_exit_current();
}

void __attribute__((noreturn)) idle_loop(void) {
  for (;;) {
    lock_acquire(&big_lock);
    schedule();
    lock_release(&big_lock);
    __asm__ volatile("sti; hlt; cli" ::: "memory");
  }
}
