/* A read-only file system compiled into the image: a table of paths and their contents. */
#include "kernel.h"

struct file {
  const char *path;
  const char *data;
};

static const struct file files[] = {
    {"/etc/motd", "Welcome to the hvdbg guest kernel.\n"},
    {"/etc/version", "hvdbg-guest 1.0\n"},
    {"/data/fib.txt", "1 1 2 3 5 8 13 21 34 55 89 144\n"},
};

int fs_lookup(const char *path) {
  for (int i = 0; i < (int)(sizeof files / sizeof files[0]); i++) {
    if (strcmp(files[i].path, path) == 0) return i;
  }
  return -1;
}

u64 fs_read(int file, u64 offset, void *dst, u64 len) {
  const char *data = files[file].data;
  u64 size = strlen(data);
  if (offset >= size) return 0;
  if (len > size - offset) len = size - offset;
  memcpy(dst, data + offset, len);
  return len;
}
