/*
 * check.h: the reporting vocabulary shared by moat's guest programs.
 *
 * A guest program is a specification: every check prints exactly one line
 *
 *     name: result
 *
 * on stdout, where result is the call's return value, or "-1 errno=ENOENT"
 * when it failed. The line must be deterministic (no pids, addresses, times
 * or random bytes), so that the output of a native run and of a run under
 * moat can be compared byte for byte.
 *
 * The expect_* helpers also state what Linux does. A check whose result is
 * not the expected one prints "FAILED ..." on stderr and makes the program
 * exit 1 (through check_finish), so a native run proves the expectations
 * themselves, and a run under moat must match the native one line for line.
 * Plain check() and say() state no expectation: they record facts that
 * depend on the host (sizes of host files, the caller's groups) and are only
 * compared against the native run.
 */
#ifndef MOAT_CHECK_H
#define MOAT_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Helpers are static so that each guest is one translation unit; not every
 * guest uses every helper. */
#define CHECK_API static __attribute__((unused))

static int check_failures;

/* Every line goes out as soon as it is complete, so that a guest that dies
 * half-way still shows how far it got. */
__attribute__((constructor)) static void check_line_buffered(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
}

CHECK_API const char *errno_name(int e) {
  switch (e) {
#define ERRNO_NAME(x) \
  case x:             \
    return #x;
    ERRNO_NAME(EPERM)
    ERRNO_NAME(ENOENT)
    ERRNO_NAME(ESRCH)
    ERRNO_NAME(EINTR)
    ERRNO_NAME(EIO)
    ERRNO_NAME(ENXIO)
    ERRNO_NAME(E2BIG)
    ERRNO_NAME(ENOEXEC)
    ERRNO_NAME(EBADF)
    ERRNO_NAME(ECHILD)
    ERRNO_NAME(EAGAIN)
    ERRNO_NAME(ENOMEM)
    ERRNO_NAME(EACCES)
    ERRNO_NAME(EFAULT)
    ERRNO_NAME(EBUSY)
    ERRNO_NAME(EEXIST)
    ERRNO_NAME(EXDEV)
    ERRNO_NAME(ENODEV)
    ERRNO_NAME(ENOTDIR)
    ERRNO_NAME(EISDIR)
    ERRNO_NAME(EINVAL)
    ERRNO_NAME(ENFILE)
    ERRNO_NAME(EMFILE)
    ERRNO_NAME(ENOTTY)
    ERRNO_NAME(ETXTBSY)
    ERRNO_NAME(EFBIG)
    ERRNO_NAME(ENOSPC)
    ERRNO_NAME(ESPIPE)
    ERRNO_NAME(EROFS)
    ERRNO_NAME(EMLINK)
    ERRNO_NAME(EPIPE)
    ERRNO_NAME(EDOM)
    ERRNO_NAME(ERANGE)
    ERRNO_NAME(EDEADLK)
    ERRNO_NAME(ENAMETOOLONG)
    ERRNO_NAME(ENOLCK)
    ERRNO_NAME(ENOSYS)
    ERRNO_NAME(ENOTEMPTY)
    ERRNO_NAME(ELOOP)
    ERRNO_NAME(ENOMSG)
    ERRNO_NAME(EIDRM)
    ERRNO_NAME(ENODATA)
    ERRNO_NAME(EOVERFLOW)
    ERRNO_NAME(EBADFD)
    ERRNO_NAME(ENOTSOCK)
    ERRNO_NAME(EMSGSIZE)
    ERRNO_NAME(EOPNOTSUPP)
    ERRNO_NAME(EAFNOSUPPORT)
    ERRNO_NAME(EADDRINUSE)
    ERRNO_NAME(ECONNREFUSED)
    ERRNO_NAME(ETIMEDOUT)
    ERRNO_NAME(EALREADY)
    ERRNO_NAME(EINPROGRESS)
    ERRNO_NAME(ECANCELED)
    ERRNO_NAME(ENOPROTOOPT)
    ERRNO_NAME(EPROTONOSUPPORT)
    ERRNO_NAME(ESOCKTNOSUPPORT)
    ERRNO_NAME(EPROTOTYPE)
    ERRNO_NAME(EDESTADDRREQ)
    ERRNO_NAME(EISCONN)
    ERRNO_NAME(ENOTCONN)
    ERRNO_NAME(ECONNRESET)
    ERRNO_NAME(ENOBUFS)
#undef ERRNO_NAME
  }
  static char unknown[32];
  snprintf(unknown, sizeof unknown, "E%d", e);
  return unknown;
}

/* The text of a result: the value, or "-1 errno=NAME". */
CHECK_API const char *result_text(long ret, int err) {
  static char text[64];
  if (ret == -1)
    snprintf(text, sizeof text, "-1 errno=%s", errno_name(err));
  else
    snprintf(text, sizeof text, "%ld", ret);
  return text;
}

CHECK_API void check_fail(const char *name, const char *got, const char *want) {
  check_failures++;
  fprintf(stderr, "FAILED %s: got %s, expected %s\n", name, got, want);
}

/* Records a fact: prints the result without stating what it must be. */
CHECK_API long check(const char *name, long ret) {
  int err = errno;
  printf("%s: %s\n", name, result_text(ret, err));
  errno = err;
  return ret;
}

/* The call must fail with errno `want`. */
CHECK_API long expect_errno(const char *name, long ret, int want) {
  int err = errno;
  const char *got = result_text(ret, err);
  printf("%s: %s\n", name, got);
  if (ret != -1 || err != want) {
    char w[64];
    snprintf(w, sizeof w, "-1 errno=%s", errno_name(want));
    check_fail(name, got, w);
  }
  errno = err;
  return ret;
}

/* The call must return exactly `want`. */
CHECK_API long expect_eq(const char *name, long ret, long want) {
  int err = errno;
  const char *got = result_text(ret, err);
  printf("%s: %s\n", name, got);
  if (ret != want) {
    char w[64];
    snprintf(w, sizeof w, "%ld", want);
    check_fail(name, got, w);
  }
  errno = err;
  return ret;
}

/* The call must succeed; its value (an fd, an address, a count that depends
 * on the host) is not printed, only "ok". */
CHECK_API long expect_ok(const char *name, long ret) {
  int err = errno;
  if (ret < 0) {
    const char *got = result_text(ret, err);
    printf("%s: %s\n", name, got);
    check_fail(name, got, "ok");
  } else {
    printf("%s: ok\n", name);
  }
  errno = err;
  return ret;
}

/* A pointer-returning call (mmap, mremap) must succeed: prints "ok". */
CHECK_API void *expect_ptr(const char *name, void *p, void *failed) {
  int err = errno;
  if (p == failed) {
    const char *got = result_text(-1, err);
    printf("%s: %s\n", name, got);
    check_fail(name, got, "ok");
  } else {
    printf("%s: ok\n", name);
  }
  errno = err;
  return p;
}

/* A property that must hold: prints "yes" or "no". */
CHECK_API int expect_true(const char *name, int cond) {
  printf("%s: %s\n", name, cond ? "yes" : "no");
  if (!cond)
    check_fail(name, "no", "yes");
  return cond;
}

/* The string must be exactly `want`. */
CHECK_API void expect_str(const char *name, const char *got, const char *want) {
  printf("%s: %s\n", name, got);
  if (strcmp(got, want) != 0)
    check_fail(name, got, want);
}

/* Records a host-dependent fact in free form. */
__attribute__((format(printf, 2, 3))) CHECK_API void say(const char *name,
                                                      const char *fmt, ...) {
  va_list ap;
  printf("%s: ", name);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

/* FNV-1a: a checksum that fits on one line. */
CHECK_API uint32_t fnv1a(uint32_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 16777619u;
  }
  return h;
}
#define FNV1A_INIT 2166136261u

/* C-escapes `len` bytes into a printable, quoted string. */
CHECK_API const char *quoted(const void *data, size_t len) {
  static char out[512];
  const unsigned char *p = data;
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < len && o + 6 < sizeof out; i++) {
    if (p[i] == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else if (p[i] == '"' || p[i] == '\\') {
      out[o++] = '\\';
      out[o++] = (char)p[i];
    } else if (p[i] < 0x20 || p[i] >= 0x7f) {
      o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", p[i]);
    } else {
      out[o++] = (char)p[i];
    }
  }
  out[o++] = '"';
  out[o] = 0;
  return out;
}

/* The exit status of a guest: 0 when every expectation held. */
CHECK_API int check_finish(void) {
  if (check_failures) {
    fprintf(stderr, "%d check(s) failed\n", check_failures);
    return 1;
  }
  return 0;
}

#endif
