/*
 * cat: copies the named files to stdout, the way cat(1) does, so a test can
 * show which files a guest sees (for instance under another root). A file
 * that cannot be opened is reported on stderr and makes the exit status 1.
 * Without arguments it copies its standard input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int status = 0;
  char buf[4096];
  if (argc < 2) {
    long n;
    while ((n = read(0, buf, sizeof buf)) > 0)
      if (write(1, buf, (size_t)n) != n)
        return 1;
    return n < 0;
  }
  for (int i = 1; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      fprintf(stderr, "cat: %s: %s\n", argv[i], strerror(errno));
      status = 1;
      continue;
    }
    long n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
      if (write(1, buf, (size_t)n) != n)
        return 1;
    close(fd);
  }
  return status;
}
