#!/bin/bash
# fake-moat.sh: a stand-in for moat that runs the command directly on the
# host, used only to validate the test harness while the sentry cannot run
# programs yet:
#
#   MOAT_BIN=$PWD/tests/fake-moat.sh cargo test -p moat-tests
#
# Conformance, host-program and CLI tests must pass with it (a pass-through
# behaves exactly like the native run); the interception tests that look for
# the sentry's own identity (uname -r, pid 1) must fail.
set -eu

usage() {
  cat <<'USAGE'
usage: moat do [OPTIONS] CMD [ARGS...]
  --strace            trace system calls on stderr
  --platform NAME     ptrace (ignored by this fake)
  --rootfs DIR        use DIR as the root
  --cwd DIR           working directory of CMD
  -e K=V              set an environment variable
  --env-clear         start from an empty environment
  --debug-log FILE    write a debug log to FILE
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  do) shift ;;
  *) usage >&2; exit 2 ;;
esac

trace=() root=() clear=() vars=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --strace) trace=(/usr/bin/strace -f -qq); shift ;;
    --platform) shift 2 ;;
    --rootfs) root=(/usr/sbin/chroot "$2"); shift 2 ;;
    --cwd) cwd=$2; shift 2 ;;
    -e) vars+=("$2"); shift 2 ;;
    --env-clear) clear=(-i); shift ;;
    --debug-log) echo "fake-moat: $*" >"$2"; shift 2 ;;
    --) shift; break ;;
    -*) echo "fake-moat: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { usage >&2; exit 2; }

# Under --rootfs, chroot(8) starts CMD in the new root's "/" (the only
# --cwd the tests pass with --rootfs); the rootfs has no shell to do more.
if [ -n "${cwd:-}" ] && [ ${#root[@]} -eq 0 ]; then cd "$cwd"; fi
# bash exports PWD, SHLVL and _ on its own: take them out again so the
# command sees the caller's environment exactly.
exec /usr/bin/env -u PWD -u OLDPWD -u SHLVL -u _ "${clear[@]}" "${vars[@]}" "${trace[@]}" "${root[@]}" "$@"
