/* A host-side tool for the OCI terminal tests (not a guest): plays the part of a
 * container engine's --console-socket listener, as conmon and containerd do.
 *
 *   console_socket SOCKET ROWS COLS INPUT
 *
 * Listens on the unix socket SOCKET and says "listening" on stdout; accepts one
 * connection and receives the terminal's master fd (SCM_RIGHTS); sets its window size
 * to ROWS x COLS (unless both are 0); writes INPUT (with "\n" escapes turned into newlines) to it; then
 * copies everything the container writes to its terminal to stdout, until the
 * terminal hangs up (every slave closed: EIO). Exits 0, or 1 with a message.
 * INPUT of the form "@MARK@REST" waits until the container has written MARK before
 * writing REST. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int die(const char *what) {
    fprintf(stderr, "console_socket: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: console_socket SOCKET ROWS COLS INPUT\n");
        return 2;
    }
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
    unlink(sa.sun_path);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 1) < 0)
        return die("listen");
    printf("listening\n");
    fflush(stdout);
    int c = accept(l, NULL, NULL);
    if (c < 0)
        return die("accept");
    char name[256] = {0};
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = name, .iov_len = sizeof name - 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf};
    if (recvmsg(c, &m, 0) < 0)
        return die("recvmsg");
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (!cm || cm->cmsg_type != SCM_RIGHTS) {
        fprintf(stderr, "console_socket: no fd received\n");
        return 1;
    }
    int master;
    memcpy(&master, CMSG_DATA(cm), sizeof master);
    close(c);
    printf("got a terminal named /dev/pts/%s\n",
           strncmp(name, "/dev/pts/", 9) == 0 ? "N" : "?");
    fflush(stdout);
    struct winsize ws = {.ws_row = atoi(argv[2]), .ws_col = atoi(argv[3])};
    /* 0 0: keep the size the terminal was made with. */
    if ((ws.ws_row || ws.ws_col) && ioctl(master, TIOCSWINSZ, &ws) < 0)
        return die("TIOCSWINSZ");
    char buf[4096];
    const char *input = argv[4];
    if (input[0] == '@' && strchr(input + 1, '@')) {
        const char *end = strchr(input + 1, '@');
        char mark[256] = {0};
        snprintf(mark, sizeof mark, "%.*s", (int)(end - input - 1), input + 1);
        char seen[8192] = {0};
        size_t have = 0;
        while (!strstr(seen, mark)) {
            ssize_t r = read(master, buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return die("waiting for the mark");
            fwrite(buf, 1, r, stdout);
            fflush(stdout);
            for (ssize_t i = 0; i < r && have < sizeof seen - 1; i++)
                seen[have++] = buf[i] ? buf[i] : ' ';
        }
        input = end + 1;
    }
    char in[1024];
    size_t n = 0;
    for (const char *p = input; *p && n < sizeof in; p++) {
        if (p[0] == '\\' && p[1] == 'n') {
            in[n++] = '\n';
            p++;
        } else {
            in[n++] = *p;
        }
    }
    if (write(master, in, n) != (ssize_t)n)
        return die("write");
    for (;;) {
        ssize_t r = read(master, buf, sizeof buf);
        if (r > 0) {
            fwrite(buf, 1, r, stdout);
            fflush(stdout);
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            break; /* EIO: the container's side is closed */
        }
    }
    return 0;
}
