/*
 * hello: prints its arguments and a few environment variables, so a test can
 * see exactly what the guest was started with.
 */
#include "check.h"

extern char **environ;

static void print_env(const char *key) {
  const char *value = getenv(key);
  printf("env %s: %s\n", key, value ? value : "(unset)");
}

int main(int argc, char **argv) {
  printf("argc: %d\n", argc);
  for (int i = 0; i < argc; i++)
    printf("argv[%d]: %s\n", i, quoted(argv[i], strlen(argv[i])));
  int envc = 0;
  while (environ[envc])
    envc++;
  printf("envc: %d\n", envc);
  print_env("PATH");
  print_env("HOME");
  print_env("LANG");
  print_env("MOAT_TEST_GREETING");
  return 0;
}
