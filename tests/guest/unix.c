/*
 * unix: Unix domain sockets as Linux has them — socketpair of each type,
 * stream/seqpacket connect and accept on a path (in a scratch directory under
 * argv[1], default /tmp) and on an abstract name, datagram and record
 * boundaries, SCM_RIGHTS and SCM_CREDENTIALS, SO_PEERCRED, shutdown, EPIPE and
 * SIGPIPE, nonblocking calls, poll/epoll readiness, the errnos of bad calls,
 * and a 1 MiB transfer between processes.
 *
 * Names are made unique per run (the pid is part of them, never printed), so
 * that runs of the static and dynamic builds may share a host.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static void must(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "setup failed: %s: %s\n", what, strerror(errno));
    exit(2);
  }
}

/* A path address in the scratch directory. */
static socklen_t path_addr(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  snprintf(a->sun_path, sizeof a->sun_path, "%.60s/%.40s", dir, name);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

/* An abstract address unique to this run. */
static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "moat-unix-%d-%s", getpid(), name);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int child_exit(pid_t p) {
  int st = 0;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void socketpairs(void) {
  int sv[2];
  char buf[64];
  expect_eq("socketpair_stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  expect_eq("stream_write", write(sv[0], "hello", 5), 5);
  expect_eq("stream_write_again", write(sv[0], "world", 5), 5);
  expect_eq("stream_read_merges", read(sv[1], buf, sizeof buf), 10);
  expect_eq("stream_send_other_way", send(sv[1], "abcdef", 6, 0), 6);
  expect_eq("stream_partial_read", recv(sv[0], buf, 4, 0), 4);
  expect_eq("stream_rest_read", recv(sv[0], buf, sizeof buf, 0), 2);
  expect_str("stream_rest_bytes", quoted(buf, 2), "\"ef\"");
  struct stat st;
  expect_eq("fstat_socket", fstat(sv[0], &st), 0);
  expect_true("fstat_is_sock", S_ISSOCK(st.st_mode));
  char link[64], want[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", sv[0]);
  ssize_t n = readlink(link, buf, sizeof buf - 1);
  buf[n < 0 ? 0 : n] = 0;
  snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
  expect_true("proc_fd_link_names_socket_inode", strcmp(buf, want) == 0);
  int v = -1;
  socklen_t len = sizeof v;
  expect_eq("so_type_stream", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len), 0);
  expect_eq("so_type_stream_value", v, SOCK_STREAM);
  expect_eq("so_type_len", len, 4);
  expect_eq("so_domain", getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &v, &len), 0);
  expect_eq("so_domain_value", v, AF_UNIX);
  expect_eq("so_protocol", getsockopt(sv[0], SOL_SOCKET, SO_PROTOCOL, &v, &len), 0);
  expect_eq("so_protocol_value", v, 0);
  expect_eq("so_acceptconn", getsockopt(sv[0], SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
  expect_eq("so_acceptconn_value", v, 0);
  expect_eq("so_error", getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len), 0);
  expect_eq("so_error_value", v, 0);
  v = 65536;
  expect_eq("so_sndbuf_set", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v), 0);
  expect_eq("so_sndbuf_get", getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
  expect_eq("so_sndbuf_doubled", v, 131072);
  v = 65536;
  expect_eq("so_rcvbuf_set", setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v), 0);
  expect_eq("so_rcvbuf_get", getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &len), 0);
  expect_eq("so_rcvbuf_doubled", v, 131072);
  v = 1;
  expect_eq("so_reuseaddr_set", setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v), 0);
  expect_eq("so_keepalive_set", setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v), 0);
  v = 0;
  expect_eq("so_keepalive_get", getsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, &len), 0);
  expect_eq("so_keepalive_value", v, 1);
  struct linger lg = {1, 5}, lg2 = {0, 0};
  expect_eq("so_linger_set", setsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  len = sizeof lg2;
  expect_eq("so_linger_get", getsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg2, &len), 0);
  expect_true("so_linger_value", lg2.l_onoff == 1 && lg2.l_linger == 5 && len == sizeof lg2);
  v = 1;
  expect_errno("setsockopt_short_optlen", setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, 2), EINVAL);
  expect_errno("setsockopt_unknown", setsockopt(sv[0], SOL_SOCKET, 9999, &v, sizeof v), ENOPROTOOPT);
  len = sizeof v;
  expect_errno("getsockopt_unknown", getsockopt(sv[0], SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
  len = (socklen_t)-1;
  expect_errno("getsockopt_negative_len", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len), EINVAL);
  len = sizeof v;
  expect_errno("getsockopt_bad_pointer", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, (void *)8, &len), EFAULT);
  struct timeval tv = {0, 20000}, tv2;
  expect_eq("so_rcvtimeo_set", setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  len = sizeof tv2;
  expect_eq("so_rcvtimeo_get", getsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv2, &len), 0);
  expect_true("so_rcvtimeo_value", tv2.tv_sec == 0 && tv2.tv_usec == 20000);
  expect_errno("recv_times_out_eagain", recv(sv[0], buf, 1, 0), EAGAIN);
  expect_eq("fionread_empty", ioctl(sv[1], FIONREAD, &v), 0);
  expect_eq("fionread_empty_value", v, 0);
  expect_eq("send_for_fionread", send(sv[0], "12345", 5, 0), 5);
  expect_eq("fionread", ioctl(sv[1], FIONREAD, &v), 0);
  expect_eq("fionread_value", v, 5);
  expect_eq("siocoutq", ioctl(sv[0], TIOCOUTQ, &v), 0);
  expect_true("siocoutq_counts_unread", v >= 5);
  expect_eq("recv_peek", recv(sv[1], buf, sizeof buf, MSG_PEEK), 5);
  expect_eq("recv_after_peek", recv(sv[1], buf, 3, 0), 3);
  expect_eq("recv_dontwait_rest", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), 2);
  expect_errno("recv_dontwait_empty", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  expect_eq("siocoutq_drained", ioctl(sv[0], TIOCOUTQ, &v), 0);
  expect_eq("siocoutq_drained_value", v, 0);
  expect_errno("lseek_socket", lseek(sv[0], 0, SEEK_SET), ESPIPE);
  expect_errno("pread_socket", pread(sv[0], buf, 1, 0), ESPIPE);
  close(sv[0]);
  close(sv[1]);

  expect_eq("socketpair_dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  expect_eq("dgram_send_a", send(sv[0], "first", 5, 0), 5);
  expect_eq("dgram_send_b", send(sv[0], "second!", 7, 0), 7);
  expect_eq("dgram_send_empty", send(sv[0], "", 0, 0), 0);
  expect_eq("dgram_fionread_next_message", ioctl(sv[1], FIONREAD, &v), 0);
  expect_eq("dgram_fionread_value", v, 5);
  expect_eq("dgram_recv_keeps_boundary", recv(sv[1], buf, sizeof buf, 0), 5);
  struct iovec iov = {buf, 3};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  expect_eq("dgram_recvmsg_truncated", recvmsg(sv[1], &mh, 0), 3);
  expect_true("dgram_msg_trunc_flag", (mh.msg_flags & MSG_TRUNC) != 0);
  expect_eq("dgram_recv_empty_message", recv(sv[1], buf, sizeof buf, 0), 0);
  expect_eq("dgram_send_c", send(sv[0], "third-message", 13, 0), 13);
  expect_eq("dgram_recv_msg_trunc_gives_full_length", recv(sv[1], buf, 2, MSG_TRUNC), 13);
  expect_errno("dgram_recv_dontwait_empty", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  v = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
  static char big[300000];
  expect_errno("dgram_oversize_emsgsize", send(sv[0], big, 10000, 0), EMSGSIZE);
  close(sv[0]);
  expect_errno("dgram_send_to_closed_peer", send(sv[1], "x", 1, 0), ECONNREFUSED);
  expect_errno("dgram_recv_after_peer_closed_blocks", recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
  close(sv[1]);

  expect_eq("socketpair_seqpacket", socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  expect_eq("seqpacket_cloexec", fcntl(sv[0], F_GETFD), FD_CLOEXEC);
  expect_eq("seqpacket_send_a", send(sv[0], "one", 3, 0), 3);
  expect_eq("seqpacket_send_b", send(sv[0], "two!", 4, 0), 4);
  expect_eq("seqpacket_recv_boundary", recv(sv[1], buf, sizeof buf, 0), 3);
  expect_eq("seqpacket_recv_truncates", recv(sv[1], buf, 2, 0), 2);
  expect_errno("seqpacket_rest_discarded", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
  close(sv[0]);
  expect_eq("seqpacket_eof_after_close", recv(sv[1], buf, sizeof buf, 0), 0);
  close(sv[1]);

  expect_eq("socketpair_nonblock", socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  expect_true("nonblock_flag", (fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0);
  expect_errno("nonblock_read_empty", read(sv[0], buf, 1), EAGAIN);
  long total = 0, r;
  while ((r = write(sv[0], big, sizeof big)) > 0)
    total += r;
  expect_errno("nonblock_write_full", r, EAGAIN);
  expect_true("nonblock_wrote_something", total > 0);
  struct pollfd pf = {.fd = sv[0], .events = POLLOUT};
  expect_eq("poll_full_not_writable", poll(&pf, 1, 0), 0);
  close(sv[0]);
  close(sv[1]);

  expect_errno("socketpair_bad_type", socketpair(AF_UNIX, 99, 0, sv), EINVAL);
  expect_errno("socketpair_bad_flags", socketpair(AF_UNIX, SOCK_STREAM | 0x100000, 0, sv), EINVAL);
  expect_errno("socketpair_bad_protocol", socketpair(AF_UNIX, SOCK_STREAM, 7, sv), EPROTONOSUPPORT);
  int *volatile bad = (int *)8; /* volatile: gcc would reject the pointer */
  expect_errno("socketpair_bad_pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, bad), EFAULT);
  expect_errno("socket_bad_family", socket(1000, SOCK_STREAM, 0), EAFNOSUPPORT);
  expect_errno("socket_unix_rdm", socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
}

static void not_sockets(void) {
  int p[2];
  must(pipe(p) == 0, "pipe");
  struct sockaddr_un a;
  socklen_t len = sizeof a;
  char c;
  expect_errno("bind_on_pipe", bind(p[0], (struct sockaddr *)&a, sizeof a), ENOTSOCK);
  expect_errno("connect_on_pipe", connect(p[0], (struct sockaddr *)&a, sizeof a), ENOTSOCK);
  expect_errno("listen_on_pipe", listen(p[0], 1), ENOTSOCK);
  expect_errno("accept_on_pipe", accept(p[0], NULL, NULL), ENOTSOCK);
  expect_errno("getsockname_on_pipe", getsockname(p[0], (struct sockaddr *)&a, &len), ENOTSOCK);
  expect_errno("send_on_pipe", send(p[1], "x", 1, 0), ENOTSOCK);
  expect_errno("recv_on_pipe", recv(p[0], &c, 1, 0), ENOTSOCK);
  expect_errno("shutdown_on_pipe", shutdown(p[0], SHUT_RD), ENOTSOCK);
  expect_errno("getsockopt_on_pipe", getsockopt(p[0], SOL_SOCKET, SO_TYPE, &c, &len), ENOTSOCK);
  close(p[0]);
  close(p[1]);
  expect_errno("bind_bad_fd", bind(-1, (struct sockaddr *)&a, sizeof a), EBADF);
  expect_errno("send_bad_fd", send(999, "x", 1, 0), EBADF);
}

static void stream_on(const char *what, struct sockaddr_un *a, socklen_t alen, int is_path) {
  char name[128], buf[64];
#define N(s) (snprintf(name, sizeof name, "%s_%s", what, s), name)
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  expect_eq(N("bind"), bind(l, (struct sockaddr *)a, alen), 0);
  if (is_path) {
    struct stat st;
    expect_eq(N("stat_bound_path"), stat(a->sun_path, &st), 0);
    expect_true(N("bound_path_is_sock"), S_ISSOCK(st.st_mode));
    expect_errno(N("open_bound_path"), open(a->sun_path, O_RDWR), ENXIO);
  }
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  expect_errno(N("connect_before_listen"), connect(c, (struct sockaddr *)a, alen), ECONNREFUSED);
  close(c);
  expect_eq(N("listen"), listen(l, 4), 0);
  int v = 0;
  socklen_t len = sizeof v;
  getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
  expect_eq(N("acceptconn_listening"), v, 1);
  struct pollfd pf = {.fd = l, .events = POLLIN | POLLOUT};
  expect_eq(N("poll_listener_idle"), poll(&pf, 1, 0), 0);
  c = socket(AF_UNIX, SOCK_STREAM, 0);
  expect_eq(N("connect"), connect(c, (struct sockaddr *)a, alen), 0);
  expect_errno(N("connect_again_eisconn"), connect(c, (struct sockaddr *)a, alen), EISCONN);
  expect_eq(N("poll_listener_pending"), poll(&pf, 1, 0), 1);
  expect_eq(N("poll_listener_pending_revents"), pf.revents, POLLIN);
  struct sockaddr_un peer;
  len = sizeof peer;
  int s = accept(l, (struct sockaddr *)&peer, &len);
  expect_ok(N("accept"), s);
  expect_eq(N("accept_unbound_peer_len"), len, sizeof(sa_family_t));
  struct sockaddr_un got;
  len = sizeof got;
  expect_eq(N("getsockname_listener"), getsockname(l, (struct sockaddr *)&got, &len), 0);
  expect_true(N("getsockname_listener_matches"), len == alen && memcmp(&got, a, alen) == 0);
  len = sizeof got;
  expect_eq(N("getsockname_accepted"), getsockname(s, (struct sockaddr *)&got, &len), 0);
  expect_true(N("accepted_has_listener_address"), len == alen && memcmp(&got, a, alen) == 0);
  len = sizeof got;
  expect_eq(N("getpeername_client"), getpeername(c, (struct sockaddr *)&got, &len), 0);
  expect_true(N("client_peer_is_listener_address"), len == alen && memcmp(&got, a, alen) == 0);
  len = sizeof got;
  expect_eq(N("getsockname_client_unbound"), getsockname(c, (struct sockaddr *)&got, &len), 0);
  expect_eq(N("getsockname_client_unbound_len"), len, sizeof(sa_family_t));
  len = 4;
  memset(&got, 0, sizeof got);
  expect_eq(N("getsockname_short_buffer"), getsockname(l, (struct sockaddr *)&got, &len), 0);
  expect_true(N("getsockname_short_reports_full_len"), len == alen && got.sun_path[2] == 0);
  expect_eq(N("client_send"), send(c, "ping", 4, 0), 4);
  expect_eq(N("server_recv"), recv(s, buf, sizeof buf, 0), 4);
  expect_eq(N("server_send"), send(s, "pong!", 5, 0), 5);
  len = sizeof got;
  expect_eq(N("client_recvfrom"), recvfrom(c, buf, sizeof buf, 0, (struct sockaddr *)&got, &len), 5);
  struct ucred cr;
  len = sizeof cr;
  expect_eq(N("so_peercred"), getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len), 0);
  expect_true(N("so_peercred_pid_is_ours"), cr.pid == getpid() && cr.uid == geteuid() && cr.gid == getegid());
  expect_errno(N("sendto_connected_eisconn"), sendto(c, "x", 1, 0, (struct sockaddr *)a, alen), EISCONN);
  expect_errno(N("listen_connected_einval"), listen(c, 1), EINVAL);
  /* A second listener on the same name. */
  int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
  expect_errno(N("bind_in_use"), bind(l2, (struct sockaddr *)a, alen), EADDRINUSE);
  close(l2);
  /* A bound socket cannot be bound again: the taken name wins, else EINVAL. */
  expect_errno(N("bind_twice_same_name"), bind(l, (struct sockaddr *)a, alen), is_path ? EADDRINUSE : EINVAL);
  struct sockaddr_un other;
  socklen_t olen = is_path ? path_addr(&other, "other") : abstract_addr(&other, "other");
  expect_errno(N("bind_twice_other_name"), bind(l, (struct sockaddr *)&other, olen), EINVAL);
  if (is_path)
    expect_errno(N("failed_bind_leaves_no_node"), access(other.sun_path, F_OK), ENOENT);
  close(s);
  close(c);
  close(l);
  c = socket(AF_UNIX, SOCK_STREAM, 0);
  if (is_path)
    expect_errno(N("connect_after_listener_closed"), connect(c, (struct sockaddr *)a, alen), ECONNREFUSED);
  else
    expect_errno(N("connect_after_listener_closed"), connect(c, (struct sockaddr *)a, alen), ECONNREFUSED);
  close(c);
  if (is_path) {
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    expect_errno(N("rebind_existing_path"), bind(l, (struct sockaddr *)a, alen), EADDRINUSE);
    expect_eq(N("unlink_bound_path"), unlink(a->sun_path), 0);
    expect_eq(N("rebind_after_unlink"), bind(l, (struct sockaddr *)a, alen), 0);
    close(l);
    unlink(a->sun_path);
  } else {
    l = socket(AF_UNIX, SOCK_STREAM, 0);
    expect_eq(N("abstract_name_free_after_close"), bind(l, (struct sockaddr *)a, alen), 0);
    close(l);
  }
#undef N
}

static void addresses(void) {
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, "listener");
  stream_on("path", &a, alen, 1);
  alen = abstract_addr(&a, "listener");
  stream_on("abstract", &a, alen, 0);

  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  expect_errno("bind_short_addrlen", bind(s, (struct sockaddr *)&a, 1), EINVAL);
  expect_errno("bind_long_addrlen", bind(s, (struct sockaddr *)&a, sizeof a + 1), EINVAL);
  expect_errno("bind_bad_pointer", bind(s, (struct sockaddr *)8, sizeof a), EFAULT);
  struct sockaddr_un wrong = a;
  wrong.sun_family = AF_INET;
  expect_errno("bind_wrong_family", bind(s, (struct sockaddr *)&wrong, alen), EINVAL);
  expect_errno("connect_wrong_family", connect(s, (struct sockaddr *)&wrong, alen), EINVAL);
  path_addr(&a, "missing/sock");
  expect_errno("bind_missing_dir", bind(s, (struct sockaddr *)&a, sizeof a), ENOENT);
  path_addr(&a, "nobody-here");
  expect_errno("connect_missing_path", connect(s, (struct sockaddr *)&a, sizeof a), ENOENT);
  /* Connecting needs write permission on the socket node: a child that can drop
   * root finds EACCES (one that cannot, as an unprivileged caller, skips it). */
  int perm = socket(AF_UNIX, SOCK_STREAM, 0);
  socklen_t plen = path_addr(&a, "noperm");
  must(bind(perm, (struct sockaddr *)&a, plen) == 0 && listen(perm, 1) == 0, "bind noperm");
  chmod(dir, 0755);
  chmod(a.sun_path, 0755);
  pid_t child = fork();
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0)
      _exit(0);
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    _exit(connect(c2, (struct sockaddr *)&a, plen) == -1 && errno == EACCES ? 0 : 1);
  }
  expect_eq("connect_without_write_permission_eacces", child_exit(child), 0);
  close(perm);
  unlink(a.sun_path);
  chmod(dir, 0700);
  path_addr(&a, "regular");
  close(open(a.sun_path, O_CREAT | O_WRONLY, 0600));
  expect_errno("connect_regular_file", connect(s, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
  unlink(a.sun_path);
  expect_errno("listen_unbound", listen(s, 1), EINVAL);
  expect_errno("accept_not_listening", accept(s, NULL, NULL), EINVAL);
  char c;
  expect_errno("recv_unconnected_stream", recv(s, &c, 1, 0), EINVAL);
  expect_errno("send_unconnected_stream", send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  expect_errno("getpeername_unconnected", getpeername(s, (struct sockaddr *)&got, &len), ENOTCONN);
  /* Autobind: bind with only the family gets an abstract name. */
  expect_eq("autobind", bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)), 0);
  len = sizeof got;
  getsockname(s, (struct sockaddr *)&got, &len);
  expect_true("autobind_abstract_name", len == 8 && got.sun_path[0] == 0);
  close(s);

  s = socket(AF_UNIX, SOCK_DGRAM, 0);
  expect_errno("listen_dgram", listen(s, 1), EOPNOTSUPP);
  expect_errno("accept_dgram", accept(s, NULL, NULL), EOPNOTSUPP);
  expect_errno("send_unconnected_dgram", send(s, "x", 1, 0), ENOTCONN);
  expect_errno("shutdown_bad_how", shutdown(s, 7), EINVAL);
  close(s);
}

static void datagrams(void) {
  struct sockaddr_un a, b, from;
  socklen_t alen = path_addr(&a, "dgram-a"), blen = abstract_addr(&b, "dgram-b");
  int x = socket(AF_UNIX, SOCK_DGRAM, 0), y = socket(AF_UNIX, SOCK_DGRAM, 0);
  expect_eq("dgram_bind_path", bind(x, (struct sockaddr *)&a, alen), 0);
  expect_eq("dgram_bind_abstract", bind(y, (struct sockaddr *)&b, blen), 0);
  expect_eq("dgram_sendto_path", sendto(y, "to-x", 4, 0, (struct sockaddr *)&a, alen), 4);
  expect_eq("dgram_sendto_abstract", sendto(x, "to-y", 4, 0, (struct sockaddr *)&b, blen), 4);
  char buf[64];
  socklen_t flen = sizeof from;
  expect_eq("dgram_recvfrom_x", recvfrom(x, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 4);
  expect_true("dgram_sender_address_abstract", flen == blen && memcmp(&from, &b, blen) == 0);
  flen = sizeof from;
  expect_eq("dgram_recvfrom_y", recvfrom(y, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 4);
  expect_true("dgram_sender_address_path", flen == alen && memcmp(&from, &a, alen) == 0);
  int z = socket(AF_UNIX, SOCK_DGRAM, 0);
  expect_eq("dgram_sendto_from_unbound", sendto(z, "anon", 4, 0, (struct sockaddr *)&a, alen), 4);
  flen = sizeof from;
  expect_eq("dgram_recvfrom_unbound_sender", recvfrom(x, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 4);
  expect_eq("dgram_unbound_sender_namelen", flen, 0);
  expect_eq("dgram_connect", connect(x, (struct sockaddr *)&b, blen), 0);
  expect_errno("dgram_third_party_eperm", sendto(z, "no", 2, 0, (struct sockaddr *)&a, alen), EPERM);
  expect_eq("dgram_send_connected", send(x, "hi", 2, 0), 2);
  expect_eq("dgram_recv_connected", recv(y, buf, sizeof buf, 0), 2);
  struct sockaddr unspec = {.sa_family = AF_UNSPEC};
  expect_eq("dgram_disconnect", connect(x, &unspec, sizeof unspec), 0);
  expect_errno("dgram_send_after_disconnect", send(x, "hi", 2, 0), ENOTCONN);
  close(y);
  expect_errno("dgram_sendto_closed_abstract", sendto(x, "hi", 2, 0, (struct sockaddr *)&b, blen), ECONNREFUSED);
  close(x);
  expect_errno("dgram_sendto_closed_path", sendto(z, "hi", 2, 0, (struct sockaddr *)&a, alen), ECONNREFUSED);
  unlink(a.sun_path);
  expect_errno("dgram_sendto_missing_path", sendto(z, "hi", 2, 0, (struct sockaddr *)&a, alen), ENOENT);
  close(z);
}

static void shutdowns(void) {
  int sv[2];
  char buf[16];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  signal(SIGPIPE, SIG_IGN);
  send(sv[0], "tail", 4, 0);
  expect_eq("shutdown_wr", shutdown(sv[0], SHUT_WR), 0);
  expect_errno("write_after_shut_wr_epipe", write(sv[0], "x", 1), EPIPE);
  expect_eq("peer_reads_before_eof", read(sv[1], buf, sizeof buf), 4);
  expect_eq("peer_reads_eof", read(sv[1], buf, sizeof buf), 0);
  struct pollfd pf = {.fd = sv[1], .events = POLLIN | POLLOUT | POLLRDHUP};
  poll(&pf, 1, 0);
  expect_eq("poll_after_peer_shut_wr", pf.revents, POLLIN | POLLOUT | POLLRDHUP);
  expect_eq("peer_can_still_write", write(sv[1], "back", 4), 4);
  expect_eq("half_closed_reads", read(sv[0], buf, sizeof buf), 4);
  expect_eq("shutdown_rd", shutdown(sv[0], SHUT_RD), 0);
  expect_eq("read_after_shut_rd_eof", read(sv[0], buf, sizeof buf), 0);
  expect_errno("peer_write_after_shut_rd_epipe", write(sv[1], "x", 1), EPIPE);
  pf.fd = sv[0];
  poll(&pf, 1, 0);
  expect_eq("poll_after_shut_rdwr", pf.revents, POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
  close(sv[0]);
  close(sv[1]);

  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  close(sv[1]);
  expect_errno("write_closed_peer_epipe", write(sv[0], "x", 1), EPIPE);
  expect_errno("send_nosignal_epipe", send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
  pf.fd = sv[0];
  pf.events = POLLIN | POLLOUT | POLLRDHUP;
  poll(&pf, 1, 0);
  expect_eq("poll_closed_peer", pf.revents, POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
  signal(SIGPIPE, SIG_DFL);
  pid_t p = fork();
  if (p == 0) {
    (void)!write(sv[0], "x", 1);
    _exit(0);
  }
  expect_eq("write_closed_peer_sigpipe_kills", child_exit(p), 128 + SIGPIPE);
  p = fork();
  if (p == 0)
    _exit(send(sv[0], "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE ? 0 : 1);
  expect_eq("msg_nosignal_survives", child_exit(p), 0);
  close(sv[0]);

  /* Closing with unread data resets the peer. */
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  send(sv[0], "unread", 6, 0);
  close(sv[1]);
  int v = 0;
  socklen_t len = sizeof v;
  getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len);
  expect_eq("so_error_after_reset", v, ECONNRESET);
  getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &v, &len);
  expect_eq("so_error_cleared", v, 0);
  close(sv[0]);
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  send(sv[0], "unread", 6, 0);
  close(sv[1]);
  expect_errno("read_after_reset_econnreset", read(sv[0], buf, sizeof buf), ECONNRESET);
  expect_eq("read_after_reset_then_eof", read(sv[0], buf, sizeof buf), 0);
  close(sv[0]);
}

/* Sends `fd` over `sock` with one byte of data. */
static long send_fd(int sock, int fd) {
  char data = 'F';
  struct iovec iov = {&data, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  return sendmsg(sock, &mh, 0);
}

/* Receives one fd; -1 if none came. */
static int recv_fd(int sock, int flags) {
  char data;
  struct iovec iov = {&data, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  if (recvmsg(sock, &mh, flags) != 1)
    return -1;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  if (!cm || cm->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

static void rights(void) {
  int sv[2], p[2], inner[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  must(pipe(p) == 0, "pipe");
  socketpair(AF_UNIX, SOCK_STREAM, 0, inner);
  pid_t child = fork();
  if (child == 0) {
    close(sv[0]);
    int rp = recv_fd(sv[1], 0), rs = recv_fd(sv[1], MSG_CMSG_CLOEXEC);
    if (rp < 0 || rs < 0)
      _exit(10);
    if (fcntl(rs, F_GETFD) != FD_CLOEXEC || fcntl(rp, F_GETFD) != 0)
      _exit(11);
    char buf[16] = {0};
    if (read(rp, buf, sizeof buf) != 9 || memcmp(buf, "via-pipe!", 9) != 0)
      _exit(12);
    if (write(rs, "via-socket", 10) != 10)
      _exit(13);
    _exit(0);
  }
  close(sv[1]);
  expect_eq("scm_rights_send_pipe", send_fd(sv[0], p[0]), 1);
  expect_eq("scm_rights_send_socket", send_fd(sv[0], inner[1]), 1);
  close(p[0]);
  close(inner[1]);
  expect_eq("write_into_passed_pipe", write(p[1], "via-pipe!", 9), 9);
  char buf[16] = {0};
  expect_eq("read_from_passed_socket", read(inner[0], buf, sizeof buf), 10);
  expect_str("passed_socket_bytes", buf, "via-socket");
  expect_eq("rights_child_exit", child_exit(child), 0);
  close(p[1]);
  close(inner[0]);
  close(sv[0]);

  /* A control buffer too short for the fds: MSG_CTRUNC, nothing installed. */
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  must(pipe(p) == 0, "pipe");
  send_fd(sv[0], p[0]);
  char data;
  struct iovec iov = {&data, 1};
  char ctl[sizeof(struct cmsghdr)];
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  expect_eq("recvmsg_short_control", recvmsg(sv[1], &mh, 0), 1);
  expect_true("msg_ctrunc_set", (mh.msg_flags & MSG_CTRUNC) != 0);
  expect_eq("short_control_len", mh.msg_controllen, 0);
  /* Without a control buffer at all. */
  send_fd(sv[0], p[0]);
  mh.msg_control = NULL;
  mh.msg_controllen = 0;
  expect_eq("recvmsg_no_control", recvmsg(sv[1], &mh, 0), 1);
  expect_true("msg_ctrunc_without_control", (mh.msg_flags & MSG_CTRUNC) != 0);
  /* Peeking passes the fds too; then the real receive. */
  send_fd(sv[0], p[0]);
  int peeked = recv_fd(sv[1], MSG_PEEK), got = recv_fd(sv[1], 0);
  expect_true("peek_and_receive_both_get_fds", peeked >= 0 && got >= 0 && peeked != got);
  struct stat s1, s2;
  fstat(got, &s1);
  fstat(p[0], &s2);
  expect_true("received_fd_is_same_pipe", s1.st_ino == s2.st_ino);
  close(peeked);
  close(got);
  expect_errno("scm_rights_bad_fd", send_fd(sv[0], 12345), EBADF);
  close(p[0]);
  close(p[1]);
  close(sv[0]);
  close(sv[1]);
}

static void credentials(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  struct ucred cr;
  socklen_t len = sizeof cr;
  expect_eq("socketpair_peercred", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cr, &len), 0);
  expect_true("socketpair_peercred_is_self", cr.pid == getpid() && cr.uid == geteuid() && cr.gid == getegid());
  expect_eq("socketpair_peercred_len", len, sizeof cr);
  int on = 1;
  expect_eq("so_passcred_set", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
  int v = 0;
  len = sizeof v;
  getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &len);
  expect_eq("so_passcred_get", v, 1);
  pid_t child = fork();
  if (child == 0) {
    (void)!write(sv[0], "c", 1);
    _exit(0);
  }
  char data;
  struct iovec iov = {&data, 1};
  union {
    char buf[CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  expect_eq("recv_with_passcred", recvmsg(sv[1], &mh, 0), 1);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  expect_true("scm_credentials_present", cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
                                             cm->cmsg_len == CMSG_LEN(sizeof cr));
  if (cm)
    memcpy(&cr, CMSG_DATA(cm), sizeof cr);
  expect_true("scm_credentials_pid_is_child", cm && cr.pid == child && cr.uid == getuid() && cr.gid == getgid());
  child_exit(child);
  /* Sending one's own credentials explicitly. */
  cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_CREDENTIALS;
  cm->cmsg_len = CMSG_LEN(sizeof cr);
  cr.pid = getpid();
  cr.uid = getuid();
  cr.gid = getgid();
  memcpy(CMSG_DATA(cm), &cr, sizeof cr);
  mh.msg_controllen = sizeof u.buf;
  expect_eq("send_own_credentials", sendmsg(sv[0], &mh, 0), 1);
  mh.msg_controllen = sizeof u.buf;
  expect_eq("recv_own_credentials", recvmsg(sv[1], &mh, 0), 1);
  memcpy(&cr, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof cr);
  expect_true("own_credentials_pid", cr.pid == getpid());
  cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_CREDENTIALS;
  cm->cmsg_len = CMSG_LEN(sizeof cr);
  cm->cmsg_len = 3;
  mh.msg_controllen = sizeof u.buf;
  expect_errno("send_bad_cmsg_len", sendmsg(sv[0], &mh, 0), EINVAL);
  close(sv[0]);
  close(sv[1]);
}

static void readiness(void) {
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, "poll");
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  bind(l, (struct sockaddr *)&a, alen);
  listen(l, 1);
  char c;
  expect_errno("accept_nonblock_empty", accept(l, NULL, NULL), EAGAIN);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out[4];
  expect_eq("epoll_add_listener", epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev), 0);
  expect_eq("epoll_listener_idle", epoll_wait(ep, out, 4, 0), 0);
  pid_t child = fork();
  if (child == 0) {
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c2, (struct sockaddr *)&a, alen) != 0)
      _exit(1);
    (void)!write(c2, "!", 1);
    char b;
    _exit(read(c2, &b, 1) == 0 ? 0 : 2);
  }
  expect_eq("epoll_listener_wakes_on_connect", epoll_wait(ep, out, 4, 10000), 1);
  expect_true("epoll_listener_event", out[0].events == EPOLLIN && out[0].data.u32 == 7);
  int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  expect_ok("accept4", s);
  expect_true("accept4_flags", (fcntl(s, F_GETFL) & O_NONBLOCK) && fcntl(s, F_GETFD) == FD_CLOEXEC);
  expect_errno("accept4_bad_flags", accept4(l, NULL, NULL, 0x4000000), EINVAL);
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u32 = 8;
  epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL);
  expect_eq("epoll_add_connected", epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev), 0);
  struct pollfd pf = {.fd = s, .events = POLLIN};
  expect_eq("poll_connected_data", poll(&pf, 1, 10000), 1);
  expect_eq("epoll_connected_in_out", epoll_wait(ep, out, 4, 0), 1);
  expect_eq("epoll_connected_events", out[0].events, EPOLLIN | EPOLLOUT);
  expect_eq("read_byte", read(s, &c, 1), 1);
  shutdown(s, SHUT_WR);
  expect_eq("epoll_peer_hangs_up", epoll_wait(ep, out, 4, 10000), 1);
  while (epoll_wait(ep, out, 4, 10000) == 1 && !(out[0].events & EPOLLHUP))
    ;
  expect_eq("epoll_hup_events", out[0].events, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP);
  expect_eq("connector_child_exit", child_exit(child), 0);
  close(s);
  close(ep);
  close(l);
  unlink(a.sun_path);
}

/* A blocking accept woken by a child that connects, then a 1 MiB transfer. */
static void processes(void) {
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, "big");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&a, alen);
  listen(l, 0);
  enum { TOTAL = 1 << 20 };
  pid_t child = fork();
  if (child == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&a, alen) != 0)
      _exit(1);
    static unsigned char buf[TOTAL];
    for (int i = 0; i < TOTAL; i++)
      buf[i] = (unsigned char)(i * 7 + (i >> 9));
    if (write(c, buf, TOTAL) != TOTAL)
      _exit(2);
    uint32_t h;
    if (read(c, &h, sizeof h) != sizeof h)
      _exit(3);
    _exit(h == fnv1a(FNV1A_INIT, buf, TOTAL) ? 0 : 4);
  }
  int s = accept(l, NULL, NULL);
  expect_ok("blocking_accept_woken", s);
  static unsigned char got[TOTAL];
  expect_eq("recv_waitall_1mib", recv(s, got, TOTAL, MSG_WAITALL), TOTAL);
  uint32_t h = fnv1a(FNV1A_INIT, got, TOTAL);
  expect_eq("send_checksum_back", write(s, &h, sizeof h), sizeof h);
  expect_eq("big_transfer_child_exit", child_exit(child), 0);
  close(s);
  close(l);
  unlink(a.sun_path);

  /* A seqpacket server in a child, answering each record. */
  alen = path_addr(&a, "seq");
  l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  bind(l, (struct sockaddr *)&a, alen);
  listen(l, 5);
  child = fork();
  if (child == 0) {
    int s2 = accept(l, NULL, NULL);
    char b[64];
    ssize_t n;
    while ((n = recv(s2, b, sizeof b, 0)) > 0)
      if (send(s2, b, (size_t)n, 0) != n)
        _exit(1);
    _exit(n == 0 ? 0 : 2);
  }
  int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  expect_eq("seqpacket_connect", connect(c, (struct sockaddr *)&a, alen), 0);
  char b[64];
  expect_eq("seqpacket_send_1", send(c, "abc", 3, 0), 3);
  expect_eq("seqpacket_send_2", send(c, "defgh", 5, 0), 5);
  expect_eq("seqpacket_echo_1", recv(c, b, sizeof b, 0), 3);
  expect_eq("seqpacket_echo_2", recv(c, b, sizeof b, 0), 5);
  close(c);
  expect_eq("seqpacket_server_exit", child_exit(child), 0);
  close(l);
  unlink(a.sun_path);
}

static volatile sig_atomic_t usr1_hits;
static void on_usr1(int sig) {
  (void)sig;
  usr1_hits++;
}

/* A child that keeps signalling its parent until it is killed, so that one signal
 * surely arrives while the parent is blocked. */
static pid_t pester(void) {
  pid_t parent = getpid(), p = fork();
  if (p == 0) {
    for (;;) {
      kill(parent, SIGUSR1);
      usleep(5000);
    }
  }
  return p;
}

static void interrupted(void) {
  struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
  sigaction(SIGUSR1, &sa, NULL);
  int sv[2];
  char c;
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  pid_t p = pester();
  expect_errno("blocking_recv_interrupted_eintr", recv(sv[0], &c, 1, 0), EINTR);
  kill(p, SIGKILL);
  child_exit(p);
  struct sockaddr_un a;
  socklen_t alen = path_addr(&a, "intr");
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  bind(l, (struct sockaddr *)&a, alen);
  listen(l, 1);
  p = pester();
  expect_errno("blocking_accept_interrupted_eintr", accept(l, NULL, NULL), EINTR);
  kill(p, SIGKILL);
  child_exit(p);
  signal(SIGUSR1, SIG_DFL);
  close(l);
  unlink(a.sun_path);
  close(sv[0]);
  close(sv[1]);
}

static void mmsg(void) {
  int sv[2];
  socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
  char a[] = "aa", b[] = "bbb", r1[8], r2[8], r3[8];
  struct iovec iv[2] = {{a, 2}, {b, 3}};
  struct mmsghdr m[2] = {{.msg_hdr = {.msg_iov = &iv[0], .msg_iovlen = 1}},
                         {.msg_hdr = {.msg_iov = &iv[1], .msg_iovlen = 1}}};
  expect_eq("sendmmsg", sendmmsg(sv[0], m, 2, 0), 2);
  expect_true("sendmmsg_lengths", m[0].msg_len == 2 && m[1].msg_len == 3);
  struct iovec ov[3] = {{r1, 8}, {r2, 8}, {r3, 8}};
  struct mmsghdr rm[3] = {{.msg_hdr = {.msg_iov = &ov[0], .msg_iovlen = 1}},
                          {.msg_hdr = {.msg_iov = &ov[1], .msg_iovlen = 1}},
                          {.msg_hdr = {.msg_iov = &ov[2], .msg_iovlen = 1}}};
  expect_eq("recvmmsg_waitforone", recvmmsg(sv[1], rm, 3, MSG_WAITFORONE, NULL), 2);
  expect_true("recvmmsg_lengths", rm[0].msg_len == 2 && rm[1].msg_len == 3);
  /* writev/readv keep one datagram. */
  expect_eq("writev_one_datagram", writev(sv[0], iv, 2), 5);
  expect_eq("readv_one_datagram", readv(sv[1], ov, 2), 5);
  expect_true("readv_scattered", memcmp(r1, "aabbb", 5) == 0);
  close(sv[0]);
  close(sv[1]);
}

int main(int argc, char **argv) {
  snprintf(dir, sizeof dir, "%.40s/moat-unix-XXXXXX", argc > 1 ? argv[1] : "/tmp");
  must(mkdtemp(dir) != NULL, "mkdtemp");
  socketpairs();
  not_sockets();
  addresses();
  datagrams();
  shutdowns();
  rights();
  credentials();
  readiness();
  processes();
  interrupted();
  mmsg();
  rmdir(dir);
  return check_finish();
}
