/* memhog MIB: allocates MIB mebibytes, touching every page, then prints "done".
 * Used by the memory-limit tests (under a limit, the OOM killer takes it). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 1;
    for (long i = 0; i < mib; i++) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        for (long off = 0; off < (1 << 20); off += 4096)
            p[off] = 1;
    }
    printf("done\n");
    return 0;
}
