/* Entry points of the user programs; each runs in ring 3 in its own address space. */
#ifndef HVDBG_PROGRAMS_H
#define HVDBG_PROGRAMS_H

#include "../include/types.h"

void prog_hello(u64 arg);
void prog_cpuid(u64 arg);
void prog_faulty(u64 arg);
void prog_divzero(u64 arg);
void prog_segv(u64 arg);
void prog_threads(u64 arg);
void prog_sysloop(u64 arg);
void prog_compute(u64 arg);

#endif
