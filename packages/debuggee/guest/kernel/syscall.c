/*
 * System calls: SYSCALL enters through syscall_entry (entry.S) on the thread's kernel stack; the
 * number is in RAX and arguments in RDI, RSI, RDX (numbers in include/abi.h).
 * Pointers from ring 3 are checked against the caller's page tables before use.
 */
#include "kernel.h"

#define PATH_MAX 64
#define WRITE_MAX 4096

volatile u64 syscall_count;

static struct thread *current(void) { return this_cpu()->current; }

/* Copies a NUL-terminated user string; returns 0, or -1 if it is unmapped or too long. */
static int copy_user_string(char *dst, u64 src, size_t size) {
  u64 pml4 = current()->proc->pml4;
  for (size_t i = 0; i < size; i++) {
    if (!as_user_ok(pml4, src + i, 1, 0)) return -1;
    dst[i] = *(const char *)(src + i);
    if (!dst[i]) return 0;
  }
  return -1;
}

/*
 * The functions in .text.checked are the ones the kernel checksums in its heartbeat (heartbeat.c):
 * the hot syscall paths, where a debugger is most likely to place a hidden hook.
 */
__attribute__((noinline, section(".text.checked"))) i64 do_open(const char *path, struct process *p) {
  int file = fs_lookup(path);
  if (file < 0) return -1;
  for (int fd = 0; fd < MAX_FILES; fd++) {
    if (!p->files[fd].used) {
      p->files[fd].used = 1;
      p->files[fd].file = file;
      p->files[fd].offset = 0;
      return fd + 3;
    }
  }
  return -1;
}

__attribute__((noinline, section(".text.checked"))) u64 do_getpid(struct thread *t) { return t->proc->pid; }

static struct open_file *lookup_fd(struct process *p, u64 fd) {
  if (fd < 3 || fd >= 3 + MAX_FILES || !p->files[fd - 3].used) return NULL;
  return &p->files[fd - 3];
}

static i64 do_syscall(u64 nr, u64 a0, u64 a1, u64 a2) {
  struct thread *t = current();
  struct process *p = t->proc;
  char name[PATH_MAX];
  switch (nr) {
  case SYS_GETPID:
    return (i64)do_getpid(t);
  case SYS_GETTID:
    return (i64)t->tid;
  case SYS_WRITE:
    if (a0 != 1 && a0 != 2) return -1;
    if (a2 > WRITE_MAX || !as_user_ok(p->pml4, a1, a2, 0)) return -1;
    console_write((const char *)a1, a2);
    return (i64)a2;
  case SYS_OPEN:
    if (copy_user_string(name, a0, sizeof name) < 0) return -1;
    return do_open(name, p);
  case SYS_READ: {
    struct open_file *f = lookup_fd(p, a0);
    if (!f || !as_user_ok(p->pml4, a1, a2, 1)) return -1;
    u64 n = fs_read(f->file, f->offset, (void *)a1, a2);
    f->offset += n;
    return (i64)n;
  }
  case SYS_CLOSE: {
    struct open_file *f = lookup_fd(p, a0);
    if (!f) return -1;
    f->used = 0;
    return 0;
  }
  case SYS_ALLOC_PAGE: {
    u64 pa = page_alloc();
    if (!pa) return -1;
    u64 va = p->heap_next;
    if (as_map(p->pml4, va, pa, 1, 1) < 0) {
      page_free(pa);
      return -1;
    }
    p->heap_next += PAGE_SIZE;
    return (i64)va;
  }
  case SYS_YIELD:
    schedule();
    return 0;
  case SYS_SLEEP:
    t->wake_tick = jiffies + a0;
    t->state = T_SLEEPING;
    schedule();
    return 0;
  case SYS_TICKS:
    return (i64)jiffies;
  case SYS_SPAWN:
    if (copy_user_string(name, a0, sizeof name) < 0) return -1;
    return proc_spawn(name);
  case SYS_THREAD:
    if (a0 >= USER_LIMIT) return -1;
    return thread_create(p, a0, a1);
  case SYS_EXIT:
    proc_exit(p, a0, 0);
    return 0;
  default:
    return -1;
  }
}

/* Called by syscall_entry (entry.S) with the caller's RDI, RSI, RDX and the number from RAX. */
u64 syscall_dispatch(u64 a0, u64 a1, u64 a2, u64 nr) {
  lock_acquire(&big_lock);
  syscall_count++;
  u64 result = (u64)do_syscall(nr, a0, a1, a2);
  exit_if_dying();
  lock_release(&big_lock);
  return result;
}
