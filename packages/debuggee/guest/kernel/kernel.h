/* Kernel-wide declarations: memory layout, per-CPU data, processes and threads. */
#ifndef HVDBG_KERNEL_H
#define HVDBG_KERNEL_H

#include "../include/abi.h"
#include "../include/types.h"
#include "../include/x86.h"

/* The kernel is linked at KERNEL_VMA + physical; the first 1 GiB of RAM is mapped there. */
#define KERNEL_VMA 0xffffffff80000000UL
#define DIRECT_MAP_LIMIT 0x40000000UL
#define P2V(pa) ((void *)((u64)(pa) + KERNEL_VMA))
#define V2P(va) ((u64)(va) - KERNEL_VMA)

/* Local APIC (xAPIC MMIO at its reset base), mapped by the kernel at LAPIC_VA. */
#define LAPIC_PA 0xfee00000UL
#define LAPIC_VA 0xfffffffffee00000UL
#define VEC_TIMER 0x20
#define VEC_SPURIOUS 0xff

/* Selectors of the kernel GDT; the SYSRET base (STAR[63:48]) is SEL_KDATA | 3. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x1b
#define SEL_UCODE 0x23
#define SEL_TSS 0x28

/* User address space. */
#define USER_IMAGE_VA 0x400000UL
#define USER_HEAP_VA 0x10000000UL
#define USER_STACK_TOP 0x80000000UL
#define USER_STACK_STRIDE 0x10000UL
#define USER_STACK_PAGES 2
#define USER_LIMIT 0x0000800000000000UL

#define MAX_CPUS 4
#define MAX_PROCS 12
#define MAX_THREADS 16
#define MAX_FILES 4
#define KSTACK_SIZE 8192
#define HEARTBEAT_TICKS 100

/* Pushed by the interrupt stubs and the SYSCALL entry (entry.S); lowest address first. */
struct trapframe {
  u64 r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  u64 vector, error;
  u64 rip, cs, rflags, rsp, ss;
};

struct open_file {
  int used;
  int file;
  u64 offset;
};

enum proc_state { PROC_FREE, PROC_LIVE, PROC_DYING };
enum thread_state { T_FREE, T_RUNNABLE, T_RUNNING, T_SLEEPING };

struct process {
  u64 pid;
  enum proc_state state;
  int nthreads;
  int next_stack;
  char name[16];
  u64 pml4; /* physical */
  u64 heap_next;
  struct open_file files[MAX_FILES];
};

struct thread {
  u64 tid;
  enum thread_state state;
  struct process *proc;
  u64 ksp;
  u64 kstack_top;
  u64 wake_tick;
};

/* Layouts the debugger reads (guest/BOOT.md, "Kernel objects"); changing them is an ABI change. */
_Static_assert(__builtin_offsetof(struct process, state) == 0x08, "process.state");
_Static_assert(__builtin_offsetof(struct process, name) == 0x14, "process.name");
_Static_assert(__builtin_offsetof(struct process, pml4) == 0x28, "process.pml4");
_Static_assert(sizeof(struct process) == 0x78, "struct process");
_Static_assert(__builtin_offsetof(struct thread, state) == 0x08, "thread.state");
_Static_assert(__builtin_offsetof(struct thread, proc) == 0x10, "thread.proc");
_Static_assert(sizeof(struct thread) == 0x30, "struct thread");

/* Per-CPU block at GS base in kernel mode; entry.S uses the first three fields by offset. */
struct percpu {
  struct percpu *self;   /* 0x00 */
  u64 kstack_top;        /* 0x08 kernel stack for SYSCALL entry */
  u64 user_rsp;          /* 0x10 scratch for SYSCALL entry */
  struct thread *current;
  struct thread idle;
  u32 index;
  u64 ticks;
  struct hv_awareness aware __attribute__((aligned(64))); /* never straddles a page */
};

/* entry.S */
extern u64 isr_table[256];
void syscall_entry(void);
void switch_context(u64 *save_ksp, u64 new_ksp);
void thread_entry(void);
void load_gdt_and_segments(void *gdtr, u16 tss_sel);
void ap_start(void);

/* console.c */
void console_init(void);
void kprintf(const char *fmt, ...);
void console_write(const char *s, size_t n);

/* format.c */
int vformat(char *buf, size_t size, const char *fmt, va_list ap);

/* lib.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
size_t strlen(const char *s);
void strlcpy(char *d, const char *s, size_t n);
void lock_acquire(volatile int *l);
void lock_release(volatile int *l);
extern volatile int big_lock;

/* mm.c */
void mm_init(const struct boot_info *bi);
u64 page_alloc(void);
void page_free(u64 pa);
u64 as_create(void);
int as_map(u64 pml4, u64 va, u64 pa, int user_writable, int owned);
void as_destroy(u64 pml4);
int as_user_ok(u64 pml4, u64 va, u64 len, int write);
extern u64 kernel_pml4_pa;
extern u64 pages_free_count;

/* cpu.c */
void cpu_init(u32 index);
void cpu_set_kstack(struct percpu *c, u64 top);
static inline struct percpu *this_cpu(void) {
  struct percpu *c;
  __asm__ volatile("mov %%gs:0, %0" : "=r"(c));
  return c;
}
extern struct percpu cpus[MAX_CPUS];

/* lapic.c */
void lapic_init(u64 period);
void lapic_eoi(void);

/* trap.c */
void idt_init(void);
void idt_load(void);
extern volatile u64 jiffies;

/* proc.c */
void proc_init(void);
i64 proc_spawn(const char *name);
i64 thread_create(struct process *p, u64 entry, u64 arg);
void proc_exit(struct process *p, u64 code, int quiet);
void schedule(void);
void wake_sleepers(u64 now);
void idle_loop(void) __attribute__((noreturn));
void exit_if_dying(void);
extern struct process procs[MAX_PROCS];
extern struct thread threads[MAX_THREADS];

/* syscall.c */
extern volatile u64 syscall_count;
void syscall_init(void);

/* fs.c */
int fs_lookup(const char *path);
u64 fs_read(int file, u64 offset, void *dst, u64 len);

/* programs.c */
struct program {
  const char *name;
  void (*entry)(u64);
};
const struct program *program_find(const char *name);
const char *const *workload_programs(const char *workload);

/* heartbeat.c */
void heartbeat(void);
u32 code_checksum(void);

#endif
