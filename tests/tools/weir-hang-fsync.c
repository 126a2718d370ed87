// Test helper: an LD_PRELOAD shim that simulates a hung disk. fsync() and fdatasync() of a file (or the
// directory itself) under the directory $WEIR_TEST_HANG_FSYNC (an absolute path without symlinks) sleep 60 s
// before they do their work. Used by tests/integration/recovery/test_hard_stop.py.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int under_hung_dir(int fd) {
  const char* dir = getenv("WEIR_TEST_HANG_FSYNC");
  if (dir == NULL || *dir == 0) return 0;
  char link[64];
  char path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = 0;
  size_t len = strlen(dir);
  return strncmp(path, dir, len) == 0 && (path[len] == '/' || path[len] == 0);
}

static void hang(void) {
  struct timespec left = {60, 0};
  while (nanosleep(&left, &left) != 0) {
  }
}

int fsync(int fd) {
  static int (*real)(int) = NULL;
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (under_hung_dir(fd)) hang();
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int) = NULL;
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  if (under_hung_dir(fd)) hang();
  return real(fd);
}
