/*
 * forkbomb: every process forks until fork fails, then waits to be killed. The
 * first process reports how its last fork failed and exits, which ends the sandbox.
 * Run only under moat with --pids-limit: natively it would exhaust the host.
 */
#include "check.h"

#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
  struct utsname u;
  if (uname(&u) != 0 || !strstr(u.release, "moat")) {
    fprintf(stderr, "forkbomb: refusing to run outside moat\n");
    return 2;
  }
  pid_t root = getpid();
  for (;;) {
    pid_t p = fork();
    if (p < 0) {
      if (getpid() == root) {
        printf("fork failed with %s\n", errno_name(errno));
        /* Linger so the test can see every process of the sandbox on the host. */
        usleep(300 * 1000);
        return 0;
      }
      pause();
    }
  }
}
