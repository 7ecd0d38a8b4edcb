/*
 * mm: the address space: mmap/munmap/mprotect/mremap/madvise/mincore/brk.
 *
 * Addresses are never printed, only properties of them ("aligned", "same").
 * Whether a range is mapped is probed with mincore (ENOMEM when unmapped),
 * not by touching it, so no check depends on delivering SIGSEGV.
 *
 * usage: mm FIXTURES_DIR
 */
#include "check.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static long page;

static int all_bytes(const char *p, size_t len, char value) {
  for (size_t i = 0; i < len; i++)
    if (p[i] != value)
      return 0;
  return 1;
}

/* mincore's verdict on one page: 0 when mapped, -1 errno=ENOMEM when not. */
static long probe(void *addr) {
  unsigned char vec;
  return syscall(SYS_mincore, addr, page, &vec);
}

static void anonymous(void) {
  char *p = expect_ptr("mmap_anon_private",
                       mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                       MAP_FAILED);
  expect_true("mmap_anon_is_page_aligned", ((uintptr_t)p % page) == 0);
  expect_true("mmap_anon_starts_zeroed", all_bytes(p, 4 * page, 0));
  memset(p, 'A', 4 * page);
  expect_true("mmap_anon_reads_back_writes", all_bytes(p, 4 * page, 'A'));

  /* MAP_FIXED replaces the second page with a fresh zero page. */
  char *q = mmap(p + page, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  expect_true("map_fixed_returns_requested_address", q == p + page);
  expect_true("map_fixed_replaces_contents", all_bytes(q, page, 0));
  expect_true("map_fixed_keeps_neighbours", all_bytes(p, page, 'A') && all_bytes(p + 2 * page, page, 'A'));
  errno = 0;
  q = mmap(p, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  expect_errno("map_fixed_noreplace_over_mapping", q == MAP_FAILED ? -1 : 0, EEXIST);

  expect_eq("mprotect_read_only", mprotect(p, page, PROT_READ), 0);
  expect_true("mprotect_keeps_contents", all_bytes(p, page, 'A'));
  unsigned char vec[4];
  expect_eq("mincore_mapped_range", syscall(SYS_mincore, p, 4 * page, vec), 0);
  expect_true("mincore_touched_page_resident", (vec[0] & 1) == 1);
  expect_errno("mincore_unaligned", syscall(SYS_mincore, p + 1, page, vec), EINVAL);

  expect_eq("madvise_dontneed", madvise(p + 2 * page, page, MADV_DONTNEED), 0);
  expect_true("madvise_dontneed_zeroes_private_anon", all_bytes(p + 2 * page, page, 0));
  expect_true("madvise_dontneed_spares_rest", all_bytes(p + 3 * page, page, 'A'));

  expect_eq("munmap_middle_page", munmap(p + page, page), 0);
  expect_errno("mincore_unmapped_page", probe(p + page), ENOMEM);
  expect_eq("mincore_page_before_hole", probe(p), 0);
  expect_eq("mincore_page_after_hole", probe(p + 2 * page), 0);
  expect_errno("mprotect_range_with_hole", mprotect(p, 3 * page, PROT_READ), ENOMEM);
  expect_errno("mprotect_unmapped", mprotect(p + page, page, PROT_READ), ENOMEM);
  expect_eq("munmap_unmapped_is_fine", munmap(p + page, page), 0);
  expect_eq("munmap_whole_range", munmap(p, 4 * page), 0);
  expect_errno("mincore_after_munmap", probe(p), ENOMEM);

  /* A hint is honoured when the range is free: reuse a range just freed. */
  char *hole = mmap(NULL, 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(hole, 2 * page);
  q = mmap(hole, 2 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_true("mmap_hint_honoured_when_free", q == hole);
  munmap(q, 2 * page);

  /* PROT_NONE, then made writable. */
  q = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_eq("mprotect_none_to_read_write", mprotect(q, page, PROT_READ | PROT_WRITE), 0);
  q[0] = 'x';
  expect_true("write_after_mprotect", q[0] == 'x');
  munmap(q, page);
}

static void shared(void) {
  char *p = expect_ptr("mmap_anon_shared",
                       mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                       MAP_FAILED);
  memset(p, 'S', page);
  expect_true("mmap_anon_shared_reads_back_writes", all_bytes(p, page, 'S'));
  munmap(p, page);
}

static void remapping(void) {
  char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (long i = 0; i < page; i++)
    p[i] = (char)(i * 7);
  char *q = expect_ptr("mremap_grow_maymove", mremap(p, page, 16 * page, MREMAP_MAYMOVE), MAP_FAILED);
  int same = 1;
  for (long i = 0; i < page; i++)
    same &= q[i] == (char)(i * 7);
  expect_true("mremap_grow_keeps_contents", same);
  expect_true("mremap_grown_tail_is_zero", all_bytes(q + page, 15 * page, 0));
  char *r = mremap(q, 16 * page, 2 * page, 0);
  expect_true("mremap_shrink_stays_in_place", r == q);
  expect_errno("mremap_shrunk_tail_unmapped", probe(q + 2 * page), ENOMEM);
  munmap(r, 2 * page);

  /* Growing in place is impossible when the next page is mapped. */
  p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  errno = 0;
  q = mremap(p, page, 2 * page, 0);
  expect_errno("mremap_grow_in_place_blocked", q == MAP_FAILED ? -1 : 0, ENOMEM);
  errno = 0;
  q = mremap(p, page, 2 * page, 0x80);
  expect_errno("mremap_bad_flags", q == MAP_FAILED ? -1 : 0, EINVAL);
  errno = 0;
  q = mremap(p + 1, page, 2 * page, MREMAP_MAYMOVE);
  expect_errno("mremap_unaligned", q == MAP_FAILED ? -1 : 0, EINVAL);
  munmap(p, 3 * page);
}

static char *page_up(char *p) {
  return (char *)(((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1));
}

static void program_break(void) {
  /* The initial break need not be page aligned: the checks look at whole
   * pages above it. */
  char *start = (char *)syscall(SYS_brk, 0);
  char *first_page = page_up(start);
  expect_true("brk_query_nonzero", start != NULL);
  char *grown = (char *)syscall(SYS_brk, start + 64 * 1024);
  expect_true("brk_grow", grown == start + 64 * 1024);
  memset(start, 'B', 64 * 1024);
  expect_true("brk_memory_usable", all_bytes(start, 64 * 1024, 'B'));
  char *shrunk = (char *)syscall(SYS_brk, start);
  expect_true("brk_shrink", shrunk == start);
  expect_errno("brk_shrunk_range_unmapped", probe(first_page + 4 * page), ENOMEM);
  char *regrown = (char *)syscall(SYS_brk, first_page + page);
  expect_true("brk_regrow", regrown == first_page + page);
  expect_true("brk_regrown_memory_is_zero", all_bytes(first_page, page, 0));
  char *refused = (char *)syscall(SYS_brk, (char *)0x1000);
  expect_true("brk_below_start_returns_current", refused == regrown);
  syscall(SYS_brk, start);

  char *before = sbrk(0);
  expect_true("sbrk_grow", sbrk(8192) == before && sbrk(0) == before + 8192);
  before[8191] = 1;
  expect_true("sbrk_shrink", sbrk(-8192) == before + 8192 && sbrk(0) == before);
}

static void file_backed(const char *fix) {
  char path[4096];
  snprintf(path, sizeof path, "%s/big.bin", fix);
  int fd = open(path, O_RDONLY);
  size_t len = 5 * 1024 * 1024;
  char *p = expect_ptr("mmap_file_private", mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), MAP_FAILED);
  say("mmap_file_checksum", "%08x", fnv1a(FNV1A_INIT, p, len));
  char first;
  pread(fd, &first, 1, 0);
  expect_true("mmap_file_matches_read", p[0] == first);
  p[0] = (char)~first;
  char again;
  pread(fd, &again, 1, 0);
  expect_true("mmap_private_write_not_in_file", again == first);
  munmap(p, len);

  char *off = expect_ptr("mmap_file_at_offset",
                         mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 4 * page), MAP_FAILED);
  char byte;
  pread(fd, &byte, 1, 4 * page);
  expect_true("mmap_file_offset_matches_read", off[0] == byte);
  munmap(off, page);

  errno = 0;
  p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  expect_errno("mmap_shared_writable_on_read_only_fd", p == MAP_FAILED ? -1 : 0, EACCES);
  errno = 0;
  p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 1);
  expect_errno("mmap_unaligned_offset", p == MAP_FAILED ? -1 : 0, EINVAL);
  close(fd);
  errno = 0;
  p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, 999, 0);
  expect_errno("mmap_bad_fd", p == MAP_FAILED ? -1 : 0, EBADF);
  int pipefd[2];
  pipe(pipefd);
  errno = 0;
  p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, pipefd[0], 0);
  expect_errno("mmap_pipe", p == MAP_FAILED ? -1 : 0, ENODEV);
  close(pipefd[0]);
  close(pipefd[1]);
}

static void bad_arguments(void) {
  void *p;
  errno = 0;
  p = mmap(NULL, page, PROT_READ, MAP_ANONYMOUS, -1, 0);
  expect_errno("mmap_neither_shared_nor_private", p == MAP_FAILED ? -1 : 0, EINVAL);
  errno = 0;
  p = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_errno("mmap_zero_length", p == MAP_FAILED ? -1 : 0, EINVAL);
  errno = 0;
  p = mmap((void *)(0x10000000 + 1), page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  expect_errno("mmap_fixed_unaligned", p == MAP_FAILED ? -1 : 0, EINVAL);
  errno = 0;
  p = mmap(NULL, (size_t)-page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_errno("mmap_huge_length", p == MAP_FAILED ? -1 : 0, ENOMEM);

  char *q = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_errno("munmap_unaligned", munmap(q + 1, page), EINVAL);
  expect_errno("munmap_zero_length", munmap(q, 0), EINVAL);
  expect_errno("mprotect_unaligned", mprotect(q + 1, page, PROT_READ), EINVAL);
  expect_errno("mprotect_bad_prot", mprotect(q, page, 0x100), EINVAL);
  expect_errno("madvise_bad_advice", madvise(q, page, 12345), EINVAL);
  munmap(q, page);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
    return 2;
  }
  page = sysconf(_SC_PAGESIZE);
  expect_eq("page_size", page, 4096);
  anonymous();
  shared();
  remapping();
  program_break();
  file_backed(argv[1]);
  bad_arguments();
  return check_finish();
}
