/*
 * Entry points that must be assembly: the boot entry, interrupt/exception stubs, the SYSCALL
 * entry (SDM Vol. 3A §5.8.8), the kernel-stack switch and the first return of a new thread.
 * Every entry from ring 3 swaps GS so kernel code always finds its per-CPU block at %gs:0.
 */
#define PERCPU_KSTACK 0x08
#define PERCPU_USER_RSP 0x10

  .section .text.boot, "ax"
  .globl _start
  .type _start, @function
_start:
  /* RDI = physical address of the boot info; keep it for kmain. */
  lea boot_stack_top(%rip), %rsp
  xor %ebp, %ebp
  call kmain
1: cli
  hlt
  jmp 1b

  /* Second vCPU: started by HC_START_CPU with RSP on its own stack and RDI = its index. */
  .globl ap_start
  .type ap_start, @function
ap_start:
  xor %ebp, %ebp
  call ap_main
2: cli
  hlt
  jmp 2b

  .text
.macro SAVE_REGS
  push %rax
  push %rbx
  push %rcx
  push %rdx
  push %rsi
  push %rdi
  push %rbp
  push %r8
  push %r9
  push %r10
  push %r11
  push %r12
  push %r13
  push %r14
  push %r15
.endm
.macro RESTORE_REGS
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %r11
  pop %r10
  pop %r9
  pop %r8
  pop %rbp
  pop %rdi
  pop %rsi
  pop %rdx
  pop %rcx
  pop %rbx
  pop %rax
.endm

/*
 * 256 stubs of 16 bytes each (isr_stubs + 16 * vector). Vectors that push an error code:
 * #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17.
 */
  .balign 16
  .globl isr_stubs
isr_stubs:
  .set vec, 0
  .rept 256
  .balign 16
  .if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17)
  .else
  pushq $0
  .endif
  pushq $vec
  jmp isr_common
  .set vec, vec + 1
  .endr

  .type isr_common, @function
isr_common:
  testb $3, 24(%rsp)
  jz 1f
  swapgs
1:
  SAVE_REGS
  mov %rsp, %rdi
  call trap_dispatch
  .globl trap_return
  .type trap_return, @function
trap_return:
  RESTORE_REGS
  testb $3, 24(%rsp)
  jz 2f
  swapgs
2:
  add $16, %rsp
  iretq

  .section .rodata
  .balign 8
  .globl isr_table
isr_table:
  .set vec, 0
  .rept 256
  .quad isr_stubs + vec * 16
  .set vec, vec + 1
  .endr

  .text
/*
 * SYSCALL: RCX = user RIP, R11 = user RFLAGS, IF already cleared by IA32_FMASK. The hot path saves
 * only what C may clobber and the user expects kept (RDI, RSI, RDX, R8-R10; RCX/R11 are the SYSRET
 * state); callee-saved registers are preserved by the C code and by switch_context.
 */
  .globl syscall_entry
  .type syscall_entry, @function
syscall_entry:
  swapgs
  mov %rsp, %gs:PERCPU_USER_RSP
  mov %gs:PERCPU_KSTACK, %rsp
  push %gs:PERCPU_USER_RSP
  push %r11
  push %rcx
  push %rdi
  push %rsi
  push %rdx
  push %r8
  push %r9
  push %r10
  push $0               /* keeps RSP 16-byte aligned at the call */
  mov %rax, %rcx        /* syscall_dispatch(a0, a1, a2, number) */
  call syscall_dispatch
  add $8, %rsp
  pop %r10
  pop %r9
  pop %r8
  pop %rdx
  pop %rsi
  pop %rdi
  pop %rcx
  pop %r11
  pop %rsp
  swapgs
  sysretq

/* switch_context(u64 *save_ksp, u64 new_ksp): callee-saved registers live on each kernel stack. */
  .globl switch_context
  .type switch_context, @function
switch_context:
  push %rbp
  push %rbx
  push %r12
  push %r13
  push %r14
  push %r15
  mov %rsp, (%rdi)
  mov %rsi, %rsp
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbx
  pop %rbp
  ret

/* First run of a thread: its kernel stack holds a trapframe that "returns" to ring 3. */
  .globl thread_entry
  .type thread_entry, @function
thread_entry:
  call thread_first_run
  jmp trap_return

/* load_gdt_and_segments(gdtr, tss_sel): reload CS with a far return, then data segments and TR. */
  .globl load_gdt_and_segments
  .type load_gdt_and_segments, @function
load_gdt_and_segments:
  lgdt (%rdi)
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  xor %eax, %eax
  mov %ax, %fs
  ltr %si
  pop %rax
  push $0x08
  push %rax
  lretq

  .section .bss
  .balign 16
  .skip 16384
boot_stack_top:
