/*
 * Native oracle: runs short x86-64 byte strings on this machine's real CPU, in user mode, and
 * prints what they did. The emulator's comparison test (oracle.test.ts) feeds the same cases to
 * the emulated CPU and demands identical results.
 *
 * How a case runs:
 *  - The code page (CODE_ADDR, RWX) is filled with INT3 (0xCC); the case's bytes are copied to its
 *    start. Execution therefore always ends in a #BP trap: either on the INT3 right after the
 *    snippet (normal completion), on the INT3 a branch landed on, or on a real fault.
 *  - The data region (DATA_ADDR, DATA_SIZE bytes, RW) is filled with a xorshift32 pattern keyed by
 *    the case's data seed, then patched with the case's explicit bytes. Memory operands reach it
 *    through a base register the generator points into it; RSP usually points into it too.
 *  - oracle_enter loads RFLAGS and all sixteen GPRs from g_in and jumps to the code page. Every
 *    terminating event arrives as a signal (SIGTRAP/SIGSEGV/SIGBUS/SIGFPE/SIGILL); its handler runs
 *    on an alternate stack (the case's RSP may be anything), copies the machine context (GPRs,
 *    RIP, RFLAGS, trap number, error code, CR2) and siglongjmps back. ITIMER_REAL guards against a
 *    snippet that loops forever.
 *  - Segment bases: GS is GS_BASE for the whole run (glibc on x86-64 leaves GS alone). FS is glibc's
 *    thread pointer, so oracle_enter switches it to FS_BASE with WRFSBASE just before the snippet and
 *    the signal entry (signal_entry, assembly) switches it back before any C code runs.
 *
 * Protocol (one case per line on stdin, one result per line on stdout, all numbers hex):
 *   in:  CODE R0..R15 RFLAGS DATASEED [OFF:BYTES ...] [@CODEOFF]   registers in Intel order;
 *        CODEOFF places the snippet inside the code page (default 0), cut at the page end
 *   out: TRAPNO ERR CR2 RIP RFLAGS R0..R15 [OFF:BYTES ...]  data bytes that differ after the run
 * TRAPNO is the exception vector the kernel recorded (3 = #BP, 0 = #DE, 6 = #UD, 13 = #GP,
 * 14 = #PF, 12 = #SS), or 100 when the watchdog fired. A line starting with '#' is echoed back, so a
 * driver can delimit batches; "V" prints the CPU identification line.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/prctl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_ADDR 0x10000000UL
#define CODE_SIZE 0x1000UL
#define DATA_ADDR 0x20000000UL
#define DATA_SIZE 0x2000UL
/* GS- and FS-prefixed operands address the data region through these bases. */
#define GS_BASE 0x20001000UL
#define FS_BASE 0x20000c00UL
#define MAX_CODE 64
#define TRAPNO_TIMEOUT 100

/* Inputs read by oracle_enter (rip-relative, so their layout is fixed here). */
uint64_t g_in_regs[16];
uint64_t g_in_flags;
uint64_t g_code_entry = CODE_ADDR;
uint64_t g_case_fs = FS_BASE;
uint64_t g_libc_fs;

static sigjmp_buf g_env;
static volatile sig_atomic_t g_running;
static uint64_t g_out_regs[16];
static uint64_t g_out_rip, g_out_flags, g_out_trapno, g_out_err, g_out_cr2;
static uint8_t g_init[DATA_SIZE];

void oracle_enter(void);
__asm__(".text\n"
        ".globl oracle_enter\n"
        "oracle_enter:\n"
        "  movq g_case_fs(%rip), %rax\n"
        "  wrfsbase %rax\n"
        "  pushq g_in_flags(%rip)\n"
        "  popfq\n"
        "  movq g_in_regs+0(%rip), %rax\n"
        "  movq g_in_regs+8(%rip), %rcx\n"
        "  movq g_in_regs+16(%rip), %rdx\n"
        "  movq g_in_regs+24(%rip), %rbx\n"
        "  movq g_in_regs+40(%rip), %rbp\n"
        "  movq g_in_regs+48(%rip), %rsi\n"
        "  movq g_in_regs+56(%rip), %rdi\n"
        "  movq g_in_regs+64(%rip), %r8\n"
        "  movq g_in_regs+72(%rip), %r9\n"
        "  movq g_in_regs+80(%rip), %r10\n"
        "  movq g_in_regs+88(%rip), %r11\n"
        "  movq g_in_regs+96(%rip), %r12\n"
        "  movq g_in_regs+104(%rip), %r13\n"
        "  movq g_in_regs+112(%rip), %r14\n"
        "  movq g_in_regs+120(%rip), %r15\n"
        "  movq g_in_regs+32(%rip), %rsp\n"
        "  jmp *g_code_entry(%rip)\n");

/* Machine-context slots in Intel register order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15). */
static const int GREG_OF[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

/* Every signal enters here: restore glibc's FS base, then the C handler. */
void signal_entry(int sig, siginfo_t *info, void *ctx);
__asm__(".text\n"
        ".globl signal_entry\n"
        "signal_entry:\n"
        "  movq g_libc_fs(%rip), %rax\n"
        "  wrfsbase %rax\n"
        "  jmp on_signal\n");

void on_signal(int sig, siginfo_t *info, void *ctx);
void on_signal(int sig, siginfo_t *info, void *ctx) {
  (void)info;
  if (!g_running) return; /* a late watchdog tick after the case already ended */
  g_running = 0;
  ucontext_t *uc = (ucontext_t *)ctx;
  greg_t *g = uc->uc_mcontext.gregs;
  for (int i = 0; i < 16; i++) g_out_regs[i] = (uint64_t)g[GREG_OF[i]];
  g_out_rip = (uint64_t)g[REG_RIP];
  g_out_flags = (uint64_t)g[REG_EFL];
  g_out_trapno = sig == SIGALRM ? TRAPNO_TIMEOUT : (uint64_t)g[REG_TRAPNO];
  g_out_err = (uint64_t)g[REG_ERR];
  g_out_cr2 = (uint64_t)g[REG_CR2];
  siglongjmp(g_env, 1);
}

/* Same generator as fixtures.ts dataPattern(): xorshift32 words, little-endian. */
static void fill_pattern(uint8_t *dst, uint32_t seed) {
  uint32_t s = seed ^ 0x9e3779b9u;
  if (s == 0) s = 1;
  for (size_t i = 0; i < DATA_SIZE; i += 4) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    memcpy(dst + i, &s, 4);
  }
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes a hex byte string; returns the byte count or -1. */
static long parse_bytes(const char *s, size_t n, uint8_t *out, size_t max) {
  if (n % 2 != 0 || n / 2 > max) return -1;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  return (long)(n / 2);
}

static void print_cpu_id(void) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512], vendor[128] = "unknown", model[256] = "unknown", family[32] = "?", mod[32] = "?",
                  step[32] = "?";
  if (f) {
    while (fgets(line, sizeof line, f)) {
      char *colon = strchr(line, ':');
      if (!colon) continue;
      char *v = colon + 1;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = 0;
      if (!strncmp(line, "vendor_id", 9)) snprintf(vendor, sizeof vendor, "%s", v);
      else if (!strncmp(line, "model name", 10)) snprintf(model, sizeof model, "%s", v);
      else if (!strncmp(line, "cpu family", 10)) snprintf(family, sizeof family, "%s", v);
      else if (!strncmp(line, "model\t", 6)) snprintf(mod, sizeof mod, "%s", v);
      else if (!strncmp(line, "stepping", 8)) {
        snprintf(step, sizeof step, "%s", v);
        break; /* first processor is enough */
      }
    }
    fclose(f);
  }
  printf("V %s|%s|family %s model %s stepping %s\n", vendor, model, family, mod, step);
}

static void run_case(char *line) {
  uint8_t code[MAX_CODE];
  char *save = NULL;
  char *tok = strtok_r(line, " \t\r\n", &save);
  long len = tok ? parse_bytes(tok, strlen(tok), code, MAX_CODE) : -1;
  if (len < 0) {
    printf("E bad-code\n");
    return;
  }
  uint64_t vals[18];
  for (int i = 0; i < 18; i++) {
    tok = strtok_r(NULL, " \t\r\n", &save);
    if (!tok) {
      printf("E missing-field\n");
      return;
    }
    vals[i] = strtoull(tok, NULL, 16);
  }
  memcpy(g_in_regs, vals, sizeof g_in_regs);
  /* Only the arithmetic flags and DF come from the case; IF and bit 1 are what user mode has. */
  g_in_flags = (vals[16] & 0x8d5) | (vals[16] & 0x400) | 0x202;
  uint8_t *data = (uint8_t *)DATA_ADDR;
  fill_pattern(data, (uint32_t)vals[17]);
  unsigned long code_off = 0;
  while ((tok = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
    if (tok[0] == '@') { /* where in the code page the snippet starts */
      code_off = strtoul(tok + 1, NULL, 16);
      if (code_off >= CODE_SIZE) {
        printf("E bad-offset\n");
        return;
      }
      continue;
    }
    char *colon = strchr(tok, ':');
    if (!colon) continue;
    unsigned long off = strtoul(tok, NULL, 16);
    uint8_t buf[256];
    long n = parse_bytes(colon + 1, strlen(colon + 1), buf, sizeof buf);
    if (n < 0 || off + (unsigned long)n > DATA_SIZE) {
      printf("E bad-patch\n");
      return;
    }
    memcpy(data + off, buf, (size_t)n);
  }
  memcpy(g_init, data, DATA_SIZE);

  uint8_t *page = (uint8_t *)CODE_ADDR;
  memset(page, 0xcc, CODE_SIZE);
  /* A snippet placed near the end of the page is cut there: its tail would be in the unmapped
   * page that follows, which is what instruction fetch then runs into (#PF). */
  size_t fits = CODE_SIZE - code_off < (size_t)len ? CODE_SIZE - code_off : (size_t)len;
  memcpy(page + code_off, code, fits);
  g_code_entry = CODE_ADDR + code_off;
  __builtin___clear_cache((char *)page, (char *)page + CODE_SIZE);

  struct itimerval arm = {{0, 0}, {0, 200000}}, disarm = {{0, 0}, {0, 0}};
  if (sigsetjmp(g_env, 1) == 0) {
    g_running = 1;
    setitimer(ITIMER_REAL, &arm, NULL);
    oracle_enter();
  }
  setitimer(ITIMER_REAL, &disarm, NULL);

  printf("%lx %lx %lx %lx %lx", (unsigned long)g_out_trapno, (unsigned long)g_out_err, (unsigned long)g_out_cr2,
         (unsigned long)g_out_rip, (unsigned long)g_out_flags);
  for (int i = 0; i < 16; i++) printf(" %lx", (unsigned long)g_out_regs[i]);
  /* Changed data bytes as runs, so a push or a rep stos prints compactly. */
  for (size_t i = 0; i < DATA_SIZE;) {
    if (data[i] == g_init[i]) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < DATA_SIZE && data[j] != g_init[j] && j - i < 128) j++;
    printf(" %zx:", i);
    for (size_t k = i; k < j; k++) printf("%02x", data[k]);
    i = j;
  }
  putchar('\n');
}

int main(void) {
  void *code = mmap((void *)CODE_ADDR, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  void *data = mmap((void *)DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (code != (void *)CODE_ADDR || data != (void *)DATA_ADDR) {
    fprintf(stderr, "oracle: cannot map the fixed code/data pages\n");
    return 2;
  }
  if (syscall(SYS_arch_prctl, ARCH_SET_GS, GS_BASE) != 0 || syscall(SYS_arch_prctl, ARCH_GET_FS, &g_libc_fs) != 0) {
    fprintf(stderr, "oracle: cannot set the GS base or read the FS base\n");
    return 2;
  }
  if (!(getauxval(AT_HWCAP2) & 2)) { /* HWCAP2_FSGSBASE: the kernel lets user mode use WRFSBASE */
    fprintf(stderr, "oracle: needs FSGSBASE (Linux 5.9+ on a CPU that has it)\n");
    return 2;
  }
  static uint8_t altstack[1 << 16];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = signal_entry;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[0] == '#') {
      fputs(line, stdout);
      fflush(stdout);
      continue;
    }
    if (line[0] == 'V') {
      print_cpu_id();
      fflush(stdout);
      continue;
    }
    if (line[0] == '\n') continue;
    run_case(line);
  }
  free(line);
  return 0;
}
