/*
 * Local APIC timer (SDM Vol. 3A §10.5.4), one per vCPU, in periodic mode. The machine counts the
 * timer down in retired instructions, so the tick rate is deterministic.
 */
#include "kernel.h"

#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_DIVIDE 0x3e0
#define SVR_ENABLE (1u << 8)
#define LVT_TIMER_PERIODIC (1u << 17)
#define DIVIDE_BY_1 0xb

static inline void lapic_write(u32 reg, u32 v) { *(volatile u32 *)(LAPIC_VA + reg) = v; }

void lapic_init(u64 period) {
  lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
  lapic_write(LAPIC_TIMER_DIVIDE, DIVIDE_BY_1);
  lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_PERIODIC | VEC_TIMER);
  lapic_write(LAPIC_TIMER_INITIAL, (u32)period);
}

void lapic_eoi(void) { lapic_write(LAPIC_EOI, 0); }
