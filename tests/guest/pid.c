/*
 * pid: prints the process's own ids. Only for moat-only tests: natively the
 * values are whatever the host assigned.
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("getpid: %d\n", (int)getpid());
  printf("getppid: %d\n", (int)getppid());
  printf("gettid: %d\n", (int)gettid());
  return 0;
}
