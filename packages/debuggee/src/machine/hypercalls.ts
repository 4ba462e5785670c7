/**
 * The machine's hypercall interface (VMCALL; guest/BOOT.md): RAX = HC_MAGIC | number, arguments in
 * RDI, RSI, RDX, R10, result in RAX. A VMCALL whose RAX lacks the magic is not the machine's: the
 * hypervisor layer may claim it, or the CPU raises #UD as without a hypervisor.
 */
export const HC_MAGIC = 0x48560000;
export const HC_MAGIC_MASK = 0xffff0000;
export const HC_ANNOUNCE = 1;
export const HC_START_CPU = 2;
export const HC_AWARENESS = 3;
export const HC_OK = 0n;
export const HC_ERROR = 0xffffffffffffffffn;
/** Longest banner HC_ANNOUNCE reads. */
export const HC_BANNER_MAX = 128;
