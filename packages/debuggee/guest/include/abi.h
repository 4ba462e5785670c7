/*
 * The interfaces the kernel shares with others: the boot-info block the loader fills in, the
 * hypercall numbers the machine implements, the awareness block the debugger reads, and the
 * system-call numbers user programs use. guest/BOOT.md documents the same layouts; the machine
 * (src/machine/bootInfo.ts, hypercalls.ts, awareness.ts) mirrors them.
 */
#ifndef HVDBG_ABI_H
#define HVDBG_ABI_H

#include "types.h"

/* Boot info: at a physical address passed in RDI, identity-mapped at entry. */
#define BOOT_INFO_MAGIC 0x544f4f4247424448UL /* "HDBGBOOT" */
#define BOOT_INFO_VERSION 1
#define BOOT_CMDLINE_MAX 128

struct boot_info {
  u64 magic;          /* 0x00 BOOT_INFO_MAGIC */
  u32 version;        /* 0x08 BOOT_INFO_VERSION */
  u32 vcpus;          /* 0x0c number of vCPUs the machine has */
  u64 memory_bytes;   /* 0x10 size of RAM from physical 0 */
  u64 timer_period;   /* 0x18 suggested local-APIC timer period, in instructions */
  char cmdline[BOOT_CMDLINE_MAX]; /* 0x20 NUL-terminated, e.g. "workload=mixed" */
};

/* Hypercalls (VMCALL): RAX = HC_MAGIC | number, arguments in RDI, RSI, RDX, R10; result in RAX. */
#define HC_MAGIC 0x48560000UL
#define HC_ANNOUNCE 1  /* RDI = kernel virtual address of a NUL-terminated banner */
#define HC_START_CPU 2 /* RDI = vCPU index, RSI = entry RIP, RDX = RSP, R10 = value for RDI */
#define HC_AWARENESS 3 /* RDI = kernel virtual address of this vCPU's struct hv_awareness */
#define HC_OK 0
#define HC_ERROR (~0UL)

/* Per-vCPU awareness block, kept current by the scheduler on every switch. */
struct hv_awareness {
  u64 pid;     /* 0x00 current process id (0 = idle) */
  u64 tid;     /* 0x08 current thread id (0 = idle) */
  u64 process; /* 0x10 kernel address of struct process (0 = idle) */
  u64 thread;  /* 0x18 kernel address of struct thread */
  u64 name;    /* 0x20 kernel address of the NUL-terminated process name */
};

/* System calls (SYSCALL): number in RAX, arguments RDI, RSI, RDX; result in RAX. */
#define SYS_READ 0
#define SYS_WRITE 1
#define SYS_OPEN 2
#define SYS_CLOSE 3
#define SYS_ALLOC_PAGE 9
#define SYS_YIELD 24
#define SYS_SLEEP 35
#define SYS_GETPID 39
#define SYS_THREAD 56
#define SYS_SPAWN 59
#define SYS_EXIT 60
#define SYS_GETTID 186
#define SYS_TICKS 201

#endif
