/*
 * abort: dies of SIGABRT through abort(3) (a shell reports status 134 =
 * 128 + 6). No core file: the limit is lowered first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  abort();
}
