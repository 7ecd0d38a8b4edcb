/*
 * exit_codes: exits with the status given in argv[1] (taken modulo 256 by
 * the kernel, as exit_group does).
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STATUS\n", argv[0]);
    return 2;
  }
  exit(atoi(argv[1]));
}
