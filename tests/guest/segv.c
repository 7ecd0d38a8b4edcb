/*
 * segv: dies of SIGSEGV by writing through a null pointer (a shell reports
 * status 139 = 128 + 11). No core file: the limit is lowered first.
 */
#include <stdio.h>
#include <sys/resource.h>

int main(void) {
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  /* A volatile pointer to volatile: the compiler can neither assume the
   * pointer's value (and turn the write into a trap instruction, SIGILL)
   * nor drop the store. */
  volatile int *volatile target = NULL;
  *target = 1;
  puts("still alive after writing through NULL");
  return 0;
}
