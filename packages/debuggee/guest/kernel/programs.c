/* The program table (user entry points linked at USER_IMAGE_VA) and the processes each workload starts. */
#include "kernel.h"
#include "../user/programs.h"

static const struct program programs[] = {
    {"hello", prog_hello},     {"cpuid", prog_cpuid},     {"faulty", prog_faulty}, {"threads", prog_threads},
    {"sysloop", prog_sysloop}, {"compute", prog_compute}, {"divzero", prog_divzero}, {"segv", prog_segv},
};

static const char *const mixed[] = {"hello", "cpuid", "faulty", "threads", "sysloop", NULL};
static const char *const compute[] = {"compute", NULL};
static const char *const syscalls[] = {"sysloop", NULL};

const struct program *program_find(const char *name) {
  for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
    if (strcmp(programs[i].name, name) == 0) return &programs[i];
  }
  return NULL;
}

const char *const *workload_programs(const char *name) {
  if (strcmp(name, "mixed") == 0) return mixed;
  if (strcmp(name, "compute") == 0) return compute;
  if (strcmp(name, "syscalls") == 0) return syscalls;
  return NULL;
}
