/*
 * Physical pages and address spaces (SDM Vol. 3A ch. 4, 4-level paging). The kernel half (PML4
 * entry 511) is one shared set of tables: the first 1 GiB of RAM at KERNEL_VMA with 2 MiB pages,
 * and the local APIC page. Each process gets its own PML4 whose lower half holds its 4 KiB user
 * pages; the user image is shared read-only, stacks and heap pages are owned (freed at exit).
 */
#include "kernel.h"

#define PTE_P (1UL << 0)
#define PTE_W (1UL << 1)
#define PTE_U (1UL << 2)
#define PTE_PWT (1UL << 3)
#define PTE_PCD (1UL << 4)
#define PTE_PS (1UL << 7)
#define PTE_G (1UL << 8) /* global: survives CR3 switches once CR4.PGE is set */
#define PTE_OWNED (1UL << 9) /* available-to-software bit: page freed with the address space */
#define PTE_NX (1UL << 63)
#define PTE_ADDR 0x000ffffffffff000UL

static u64 kernel_pml4[512] __attribute__((aligned(4096)));
static u64 kernel_pdpt[512] __attribute__((aligned(4096)));
static u64 kernel_pd[512] __attribute__((aligned(4096)));
static u64 apic_pd[512] __attribute__((aligned(4096)));

u64 kernel_pml4_pa;
u64 pages_free_count;
static u64 next_page, page_limit, free_list;

extern char __kernel_end[];

void mm_init(const struct boot_info *bi) {
  u64 ram = bi->memory_bytes < DIRECT_MAP_LIMIT ? bi->memory_bytes : DIRECT_MAP_LIMIT;
  for (u64 i = 0; i < ram / 0x200000; i++) kernel_pd[i] = i * 0x200000 | PTE_P | PTE_W | PTE_PS | PTE_G;
  apic_pd[(LAPIC_VA >> 21) & 511] = LAPIC_PA | PTE_P | PTE_W | PTE_PS | PTE_PCD | PTE_PWT | PTE_NX;
  kernel_pdpt[510] = V2P(kernel_pd) | PTE_P | PTE_W;
  kernel_pdpt[511] = V2P(apic_pd) | PTE_P | PTE_W;
  kernel_pml4[511] = V2P(kernel_pdpt) | PTE_P | PTE_W;
  kernel_pml4_pa = V2P(kernel_pml4);
  write_cr3(kernel_pml4_pa);
  next_page = ALIGN_UP(V2P(__kernel_end), PAGE_SIZE);
  page_limit = ram & ~(PAGE_SIZE - 1);
}

/* Returns a zeroed page (physical address), or 0 when memory is exhausted. */
u64 page_alloc(void) {
  u64 pa;
  if (free_list) {
    pa = free_list;
    free_list = *(u64 *)P2V(pa);
    pages_free_count--;
  } else if (next_page < page_limit) {
    pa = next_page;
    next_page += PAGE_SIZE;
  } else {
    return 0;
  }
  u64 *p = P2V(pa);
  for (int i = 0; i < 512; i++) p[i] = 0;
  return pa;
}

void page_free(u64 pa) {
  *(u64 *)P2V(pa) = free_list;
  free_list = pa;
  pages_free_count++;
}

u64 as_create(void) {
  u64 pml4 = page_alloc();
  if (pml4) ((u64 *)P2V(pml4))[511] = kernel_pml4[511];
  return pml4;
}

/* Maps one 4 KiB user page, creating intermediate tables; returns 0 or -1 when out of memory. */
int as_map(u64 pml4, u64 va, u64 pa, int writable, int owned) {
  u64 *table = P2V(pml4);
  for (int shift = 39; shift > 12; shift -= 9) {
    u64 *e = &table[(va >> shift) & 511];
    if (!(*e & PTE_P)) {
      u64 t = page_alloc();
      if (!t) return -1;
      *e = t | PTE_P | PTE_W | PTE_U;
    }
    table = P2V(*e & PTE_ADDR);
  }
  table[(va >> 12) & 511] = pa | PTE_P | PTE_U | (writable ? PTE_W | PTE_NX : 0) | (owned ? PTE_OWNED : 0);
  invlpg(va);
  return 0;
}

static void free_table(u64 pa, int level) {
  u64 *t = P2V(pa);
  for (int i = 0; i < 512; i++) {
    if (!(t[i] & PTE_P)) continue;
    if (level > 1) free_table(t[i] & PTE_ADDR, level - 1);
    else if (t[i] & PTE_OWNED) page_free(t[i] & PTE_ADDR);
  }
  page_free(pa);
}

/* Frees the user half and the PML4; the caller has already left this address space. */
void as_destroy(u64 pml4) {
  u64 *t = P2V(pml4);
  for (int i = 0; i < 256; i++) {
    if (t[i] & PTE_P) free_table(t[i] & PTE_ADDR, 3);
  }
  page_free(pml4);
}

/* True when [va, va+len) is mapped for ring 3 in this address space (and writable if asked). */
int as_user_ok(u64 pml4, u64 va, u64 len, int write) {
  if (va >= USER_LIMIT || len > USER_LIMIT - va) return 0;
  for (u64 page = va & ~(PAGE_SIZE - 1); page < va + len; page += PAGE_SIZE) {
    u64 *table = P2V(pml4), e = 0;
    for (int shift = 39; shift >= 12; shift -= 9) {
      e = table[(page >> shift) & 511];
      if (!(e & PTE_P) || !(e & PTE_U)) return 0;
      table = P2V(e & PTE_ADDR);
    }
    if (write && !(e & PTE_W)) return 0;
  }
  return 1;
}
