/*
 * redes-shim: the small process that owns one container's stdio (conmon's job, for redes).
 *
 * "create" mode, one per container: detaches from the daemon (setsid + double fork) so it outlives
 * a daemon crash, becomes a child subreaper so the container's init is reparented to it, runs
 * `runc create` (receiving the pty master over --console-socket when there is a tty), prints the
 * init pid and then, while the daemon runs `runc start` and whether or not the daemon lives on:
 *   - appends everything the container writes to <state>/log as frames (below),
 *   - serves <state>/attach.sock: every attacher gets the output frames and may send stdin,
 *     close-stdin and resize frames,
 *   - waitpid()s the init, drains the output, runs `runc delete --force`, writes <state>/exit
 *     (over exit.tmp, whose room it took at start, then rename), sends an exit frame to attachers
 *     and exits.
 * "exec" mode, one per `docker exec`: no detaching; runs `runc exec -d` and serves a single client
 * already connected on fd 3 (a socketpair from the daemon) with the same frames, then exits.
 *
 * Frame header, in the log file and on the sockets, 16 bytes little-endian:
 *   u8 type, u8[3] zero, u32 payload length, u64 arg
 * log: type 1 stdout / 2 stderr, arg = wall-clock ns; 10 segment (first frame of a file the shim
 *   begins, arg = offset of that file's first byte counted over every file of the log).
 * shim -> client: 1/2 output (arg = offset of the same frame in the log), 3 exit (arg = code,
 *   128+signal when killed), 7 started (arg = pid), 8 error (payload = runc's message),
 *   9 hello (arg = log offset of the next output frame: everything before it is in the log only).
 * client -> shim: 4 stdin data, 5 close stdin, 6 resize (arg = rows << 16 | cols).
 *
 * Log files (json-file's rotation, moby loggerutils): <state>/log is written; with --log-max-size
 * N a frame that would take it past N bytes first renames log.(F-2) to log.(F-1) ... log to log.1
 * (F = --log-max-file, counting the current file; F = 1 starts a new file, dropping the old) and
 * begins a new log. Output offsets given to clients count over all files, so a reader of several
 * files places each frame by its file's segment frame. A chunk larger than N is cut into frames.
 * --no-log keeps no log (driver none). --oom-cgroup DIR: the memory cgroup whose oom_kill counter
 * (memory.oom_control on v1, memory.events on v2) is read before `runc delete` and recorded in
 * <state>/exit as "oomKilled".
 *
 * Private mount namespace (create mode, --detach-mount DIR and --keep-mount PATH, each repeated):
 * `runc create` costs grow with the mounts of the namespace it runs in (it copies and parses them),
 * and every container adds its rootfs and its netns file to the machine's. So the child that execs
 * runc first unshares its mount namespace, makes every mount a slave (FIRST: nothing unmounted in
 * it may propagate back to the machine), clones the KEEP paths (open_tree), detaches each DIR with
 * all the mounts below it (one lazy umount each) and moves the clones back onto their paths, which
 * exist beneath. Any failure before exec returns the child to the original namespace (setns): the
 * container is then created as before, and the ready message carries a "warning" line saying why.
 * That copy and that detach cost grow with the machine's mounts (every container's), so the daemon
 * makes the detached namespace once, as a template (mount-template mode below), and passes it to
 * every create (--mount-template-fd N, an inherited fd of that namespace): the child clones the KEEP
 * paths where it is, enters the template (setns), copies it (unshare: only the template's mounts,
 * which no container's ever reaches) and moves the clones there. If that fails the child goes back
 * and takes the way above; the ready message then says why in a "warning mount template" line.
 *
 * "mount-template" mode (--detach-mount DIR, repeated): the template's holder. Unshares its mount
 * namespace, makes every mount a slave, detaches each DIR, prints "ok" and waits for its stdin to
 * close: meanwhile the daemon opens /proc/<pid>/ns/mnt, which keeps the namespace alive without it.
 *
 * Usage:
 *   redes-shim create --id ID --bundle DIR --state DIR --root RUNC_ROOT [--runc BIN] [--tty] [--stdin]
 *     [--log-max-size BYTES] [--log-max-file N] [--no-log] [--oom-cgroup DIR]
 *     [--detach-mount DIR]... [--keep-mount PATH]... [--mount-template-fd N]
 *   redes-shim mount-template [--detach-mount DIR]...
 *   redes-shim exec --id ID --process FILE --root RUNC_ROOT [--runc BIN] [--tty] [--stdin]
 *
 * Beware: unix socket paths are limited to 108 bytes, so attach.sock is bound relative to the state
 * dir (the shim's cwd) and the console socket lives in a short /tmp/redes-shim-XXXXXX directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { T_STDOUT = 1, T_STDERR, T_EXIT, T_STDIN, T_CLOSE_STDIN, T_RESIZE, T_STARTED, T_ERROR, T_HELLO, T_SEGMENT };
#define HDR 16
#define CHUNK 32768
#define MAX_IN (65536 + HDR)
#define MAX_CLIENTS 64
#define DRAIN_MS 1000 /* after the exit, how long a pipe held open by a leftover process is read */
#define FLUSH_MS 5000 /* after the exit, how long a slow attacher is waited for */
#define MAX_PATHS 64    /* --keep-mount / --detach-mount arguments */

/* The new mount API, called through syscall(2) so an older libc builds the shim too. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

struct client {
  int fd, dead;
  size_t inlen, outlen;
  char *out;
  unsigned char in[MAX_IN];
};

static struct {
  const char *mode, *id, *bundle, *state, *root, *runc, *process, *oom_dir;
  int tty, open_stdin, no_log, log_files;
  uint64_t log_max, log_size; /* rotation threshold (0: none), bytes in the current file */
  int out[2];             /* read ends of the container's stdout / stderr; tty: out[0] = pty master */
  int in, in_close;       /* where stdin goes (pipe or dup of the master), -1 when there is none */
  char *inbuf;
  size_t inlen;
  int log, lsock, sigfd, ready, devnull;
  int exit_fd;             /* exit.tmp, filled with spaces at start: the exit's room on a full disk */
  uint64_t log_off;
  struct client *cl[MAX_CLIENTS];
  int ncl;
  pid_t pid;               /* the container's init, or the exec'd process */
  int created, done, code;
  uint64_t done_at;
  char tmp[64];            /* console socket and exec pid file */
  const char *keep[MAX_PATHS], *detach[MAX_PATHS];
  int nkeep, ndetach;
  int ns_report;           /* create's runc child: where it says why the private namespace failed */
  char ns_warning[1400];   /* what it said (a line per failure), passed on to the daemon with the pid */
  int template_fd;         /* --mount-template-fd: the daemon's template mount namespace, or -1 */
} S = {.out = {-1, -1}, .in = -1, .log = -1, .lsock = -1, .sigfd = -1, .ready = -1, .exit_fd = -1, .log_files = 1, .ns_report = -1, .template_fd = -1};

#define EXIT_ROOM 256 /* bytes held for the exit record (it takes about 80) */

static uint64_t now_ns(int clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t mono_ms(void) { return now_ns(CLOCK_MONOTONIC) / 1000000ull; }

static void put_hdr(unsigned char *h, int type, uint32_t len, uint64_t arg) {
  memset(h, 0, HDR);
  h[0] = (unsigned char)type;
  for (int i = 0; i < 4; i++) h[4 + i] = (unsigned char)(len >> (8 * i));
  for (int i = 0; i < 8; i++) h[8 + i] = (unsigned char)(arg >> (8 * i));
}
static uint64_t get_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static pid_t spawn(char *const argv[], int in, int out, int err);
static int wait_for(pid_t p);
static void private_mount_ns(void);

/* Before readiness an error goes to the daemon (the ready pipe, or an error frame in exec mode). */
static void fail(const char *fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (S.ready >= 0) {
    dprintf(S.ready, "error %s", msg);
  } else if (S.mode && !strcmp(S.mode, "exec") && S.ncl > 0) {
    unsigned char h[HDR];
    put_hdr(h, T_ERROR, (uint32_t)strlen(msg), 0);
    struct iovec iov[2] = {{h, HDR}, {msg, strlen(msg)}};
    if (writev(S.cl[0]->fd, iov, 2) < 0) { /* the daemon is gone: nobody to tell */ }
  } else {
    fprintf(stderr, "redes-shim: %s\n", msg);
  }
  if (S.created) { /* do not leave a container behind that nobody will start */
    char *argv[] = {(char *)S.runc, "--root", (char *)S.root, "delete", "--force", (char *)S.id, NULL};
    wait_for(spawn(argv, S.devnull, S.devnull, S.devnull));
  }
  if (S.lsock >= 0) unlink("attach.sock"); /* bound relative to the state dir, our cwd */
  if (S.tmp[0]) {
    char p[96];
    snprintf(p, sizeof p, "%s/console.sock", S.tmp), unlink(p);
    snprintf(p, sizeof p, "%s/pid", S.tmp), unlink(p);
    rmdir(S.tmp);
  }
  exit(1);
}

static pid_t spawn(char *const argv[], int in, int out, int err) {
  pid_t p = fork();
  if (p < 0) fail("fork: %s", strerror(errno));
  if (p == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* runc, and the container after it, inherit the mask */
    signal(SIGPIPE, SIG_DFL);
    dup2(in, 0), dup2(out, 1), dup2(err, 2);
    if (S.ns_report >= 0) private_mount_ns(); /* runc create only: S.ns_report is set around its spawn */
    execvp(argv[0], argv);
    _exit(127);
  }
  return p;
}

static int wait_for(pid_t p) {
  int st;
  while (waitpid(p, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Clones the KEEP paths (open_tree) in the current namespace, then enters a copy of the template
 * (setns + unshare: a copy of the template's few mounts, whatever the machine's count) and moves the
 * clones onto their paths there. 0, or -1 with `why` set; the caller then goes back to `host`. */
static int ns_from_template(char *why, size_t cap) {
  int fds[MAX_PATHS], n = 0, rc = -1;
  for (; n < S.nkeep; n++) {
    fds[n] = (int)syscall(SYS_open_tree, AT_FDCWD, S.keep[n], OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
    if (fds[n] < 0) {
      snprintf(why, cap, "open_tree %s: %s", S.keep[n], strerror(errno));
      goto out;
    }
  }
  if (setns(S.template_fd, CLONE_NEWNS) < 0) {
    snprintf(why, cap, "setns into the template: %s", strerror(errno));
    goto out;
  }
  if (unshare(CLONE_NEWNS) < 0) { /* the template itself is shared by every create: never change it */
    snprintf(why, cap, "unshare(CLONE_NEWNS): %s", strerror(errno));
    goto out;
  }
  for (int i = 0; i < n; i++) {
    if (syscall(SYS_move_mount, fds[i], "", AT_FDCWD, S.keep[i], MOVE_MOUNT_F_EMPTY_PATH) < 0) {
      snprintf(why, cap, "move_mount onto %s: %s", S.keep[i], strerror(errno));
      goto out;
    }
  }
  /* A clone of a shared mount (a netns file under /run/netns) is a peer of the machine's: made a
   * slave, nothing mounted on it here can reach the machine. */
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
    snprintf(why, cap, "make / rslave: %s", strerror(errno));
    goto out;
  }
  rc = 0;
out:
  for (int i = 0; i < n; i++) close(fds[i]);
  return rc;
}

/* The machine's namespace copied (unshare), every mount made a slave, the KEEP paths cloned, the
 * DETACH directories unmounted (lazily, with all below them) and the clones moved back. */
static int ns_from_copy(char *why, size_t cap) {
  int fds[MAX_PATHS], n = 0, rc = -1;
  if (unshare(CLONE_NEWNS) < 0) {
    snprintf(why, cap, "unshare(CLONE_NEWNS): %s", strerror(errno));
    return -1;
  }
  /* Before anything is unmounted: every mount a slave, so that no change made in this namespace
   * can propagate back to the machine's (the host's /run/netns is shared with everyone). */
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
    snprintf(why, cap, "make / rslave: %s", strerror(errno));
    goto out;
  }
  for (; n < S.nkeep; n++) {
    fds[n] = (int)syscall(SYS_open_tree, AT_FDCWD, S.keep[n], OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
    if (fds[n] < 0) {
      snprintf(why, cap, "open_tree %s: %s", S.keep[n], strerror(errno));
      goto out;
    }
  }
  for (int i = 0; i < S.ndetach; i++) {
    if (umount2(S.detach[i], MNT_DETACH) < 0) {
      snprintf(why, cap, "detach %s: %s", S.detach[i], strerror(errno));
      goto out;
    }
  }
  for (int i = 0; i < n; i++) {
    if (syscall(SYS_move_mount, fds[i], "", AT_FDCWD, S.keep[i], MOVE_MOUNT_F_EMPTY_PATH) < 0) {
      snprintf(why, cap, "move_mount onto %s: %s", S.keep[i], strerror(errno));
      goto out;
    }
  }
  rc = 0;
out:
  for (int i = 0; i < n; i++) close(fds[i]);
  return rc;
}

/* In the forked child of `runc create`, before exec (see "Private mount namespace" at the top):
 * from the template when the daemon passed one, else (or when that fails) from a copy of the
 * machine's namespace. Each failure sends the child back to the original namespace and writes a
 * line to S.ns_report ("template: ..." when only the template failed); runc is exec'd either way.
 * Only if even the way back fails does the child exit, with the reason on its stderr (runc's
 * error pipe). */
static void private_mount_ns(void) {
  char why[600] = "", line[700];
  int host = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (host < 0) {
    snprintf(why, sizeof why, "open /proc/self/ns/mnt: %s", strerror(errno));
    goto report;
  }
  for (int template = S.template_fd >= 0; template >= 0; template--) {
    if ((template ? ns_from_template : ns_from_copy)(why, sizeof why) == 0) goto done;
    if (setns(host, CLONE_NEWNS) < 0) {
      dprintf(2, "private mount namespace: %s; and going back failed: %s", why, strerror(errno));
      _exit(127);
    }
    if (template) {
      snprintf(line, sizeof line, "template: %s\n", why);
      if (write(S.ns_report, line, strlen(line)) < 0) { /* the shim reads it after runc exits */ }
    }
  }
report:
  snprintf(line, sizeof line, "%s\n", why);
  if (write(S.ns_report, line, strlen(line)) < 0) { /* the shim reads it after runc exits; nothing else to do */ }
done:
  if (host >= 0) close(host);
  /* setns moves the cwd to the namespace's root, and a detach may have taken the old one along. */
  if (chdir(S.state) < 0) {
    dprintf(2, "chdir %s: %s", S.state, strerror(errno));
    _exit(127);
  }
}

static int recv_fd(int sock) {
  char data[256], ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {data, sizeof data};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) < 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static int listen_unix(const char *path) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path) fail("socket path too long: %s", path);
  strcpy(a.sun_path, path);
  unlink(path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 16) < 0)
    fail("listen on %s: %s", path, strerror(errno));
  return s;
}

static void read_all(int fd, char *buf, size_t cap) {
  size_t n = 0;
  ssize_t r;
  nonblock(fd);
  while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) n--;
  buf[n] = 0;
}

/* Runs `runc create` or `runc exec -d`; on success the stdio fds and S.pid are set. */
static void run_runc(void) {
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2], con = -1;
  char sock[96] = "", pidfile[96] = "init.pid", *argv[24];
  int a = 0;
  if (pipe2(perr, O_CLOEXEC) < 0) fail("pipe: %s", strerror(errno));
  if (!S.tty && (pipe2(pout, O_CLOEXEC) < 0 || (S.open_stdin && pipe2(pin, O_CLOEXEC) < 0)))
    fail("pipe: %s", strerror(errno));
  if (S.tty || !strcmp(S.mode, "exec")) {
    strcpy(S.tmp, "/tmp/redes-shim-XXXXXX");
    if (!mkdtemp(S.tmp)) fail("mkdtemp: %s", strerror(errno));
  }
  if (S.tty) snprintf(sock, sizeof sock, "%s/console.sock", S.tmp), con = listen_unix(sock);
  if (!strcmp(S.mode, "exec")) snprintf(pidfile, sizeof pidfile, "%s/pid", S.tmp);

  argv[a++] = (char *)S.runc, argv[a++] = "--root", argv[a++] = (char *)S.root;
  argv[a++] = "--log", argv[a++] = "/dev/null"; /* keeps runc's error on stderr as plain text */
  if (!strcmp(S.mode, "create")) {
    argv[a++] = "create", argv[a++] = "--bundle", argv[a++] = (char *)S.bundle;
  } else {
    argv[a++] = "exec", argv[a++] = "-d", argv[a++] = "--process", argv[a++] = (char *)S.process;
  }
  argv[a++] = "--pid-file", argv[a++] = pidfile;
  if (S.tty) argv[a++] = "--console-socket", argv[a++] = sock;
  argv[a++] = (char *)S.id, argv[a] = NULL;

  int in = pin[0] >= 0 ? pin[0] : S.devnull, nsr[2] = {-1, -1};
  if (!strcmp(S.mode, "create") && (S.nkeep || S.ndetach) && pipe2(nsr, O_CLOEXEC) == 0) S.ns_report = nsr[1];
  pid_t p = spawn(argv, in, S.tty ? S.devnull : pout[1], perr[1]);
  S.ns_report = -1;
  if (nsr[1] >= 0) close(nsr[1]);
  if (pin[0] >= 0) close(pin[0]);
  if (pout[1] >= 0) close(pout[1]);
  close(perr[1]);

  int master = -1, rc = -1;
  if (S.tty) { /* runc connects while it runs; give up once it has exited without sending */
    for (;;) {
      struct pollfd pf = {con, POLLIN, 0};
      if (poll(&pf, 1, 50) > 0) {
        int c = accept4(con, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) master = recv_fd(c), close(c);
        if (master >= 0) break;
      }
      int st;
      if (waitpid(p, &st, WNOHANG) == p) { /* one last look: it may have sent just before exiting */
        rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
        /* The listening socket must not block here: a runc that failed before it made the
         * console never connects (accept4's SOCK_NONBLOCK is for the new socket only). */
        fcntl(con, F_SETFL, fcntl(con, F_GETFL) | O_NONBLOCK);
        int c = accept4(con, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) master = recv_fd(c), close(c);
        break;
      }
    }
    close(con), unlink(sock);
  }
  if (rc < 0) rc = wait_for(p);
  if (nsr[0] >= 0) read_all(nsr[0], S.ns_warning, sizeof S.ns_warning), close(nsr[0]);
  if (rc == 0 && S.tty && master < 0) rc = -1;
  if (rc != 0) {
    char msg[4000];
    read_all(perr[0], msg, sizeof msg);
    fail("%s", msg[0] ? msg : "runc failed without a message");
  }
  S.created = !strcmp(S.mode, "create");
  FILE *f = fopen(pidfile, "r");
  if (!f || fscanf(f, "%d", &S.pid) != 1) fail("runc wrote no pid file");
  fclose(f);
  if (S.tmp[0] && strcmp(S.mode, "create")) unlink(pidfile);
  if (S.tmp[0]) rmdir(S.tmp), S.tmp[0] = 0;

  if (S.tty) {
    close(perr[0]);
    S.out[0] = master;
    if (S.open_stdin) S.in = dup(master);
  } else {
    S.out[0] = pout[0], S.out[1] = perr[0], S.in = pin[1];
  }
  for (int i = 0; i < 2; i++)
    if (S.out[i] >= 0) nonblock(S.out[i]);
  if (S.in >= 0) nonblock(S.in), fcntl(S.in, F_SETFD, FD_CLOEXEC);
}

/* Queues header + payload for one client; a client that cannot keep up pauses the output. */
static void client_send(struct client *c, const unsigned char *h, const char *d, size_t n) {
  if (c->dead) return;
  size_t total = HDR + n, off = 0;
  if (c->outlen == 0) {
    struct iovec iov[2] = {{(void *)h, HDR}, {(void *)d, n}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t w = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) { c->dead = 1; return; }
    off = w < 0 ? 0 : (size_t)w;
  }
  if (off == total) return;
  char *o = realloc(c->out, c->outlen + total - off);
  if (!o) { c->dead = 1; return; }
  c->out = o;
  for (size_t i = off; i < total; i++) c->out[c->outlen++] = i < HDR ? (char)h[i] : d[i - HDR];
}

/* Writes header + payload to the log, finishing short writes so the file stays framed; a frame
 * that cannot be finished (disk full) is cut off again, so the frames after it can still be read. */
static void log_frame(const unsigned char *h, const char *d, size_t n) {
  struct iovec iov[2] = {{(void *)h, HDR}, {(void *)d, n}};
  ssize_t w = writev(S.log, iov, 2);
  if (w > 0 && (size_t)w < HDR + n) {
    size_t done = (size_t)w;
    if (done < HDR && write(S.log, h + done, HDR - done) == (ssize_t)(HDR - done)) done = HDR;
    if (done >= HDR && write(S.log, d + (done - HDR), n - (done - HDR)) == (ssize_t)(n - (done - HDR))) done = HDR + n;
    if (done < HDR + n) {
      if (ftruncate(S.log, (off_t)S.log_size) < 0) { close(S.log), S.log = -1; } /* log_begin tries again */
      return;
    }
    w = (ssize_t)(HDR + n);
  }
  if (w > 0) S.log_off += (uint64_t)w, S.log_size += (uint64_t)w;
}

/* A fresh log file that starts with its segment frame. */
static void log_begin(void) {
  S.log = open("log", O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  S.log_size = 0;
  if (S.log < 0) return;
  unsigned char h[HDR];
  put_hdr(h, T_SEGMENT, 0, S.log_off);
  log_frame(h, "", 0);
}

static void log_rotate(void) {
  char from[32], to[32];
  close(S.log), S.log = -1;
  if (S.log_files <= 1) unlink("log"); /* a new file, not a truncated one: readers keep theirs */
  for (int i = S.log_files - 1; i >= 1; i--) {
    if (i == 1) snprintf(from, sizeof from, "log");
    else snprintf(from, sizeof from, "log.%d", i - 1);
    snprintf(to, sizeof to, "log.%d", i);
    rename(from, to); /* a missing file is fine: the log has not rotated that often yet */
  }
  log_begin();
}

static void emit(int type, const char *d, size_t n) {
  unsigned char h[HDR];
  uint64_t off = S.log_off;
  if (!S.no_log) {
    uint64_t ts = now_ns(CLOCK_REALTIME);
    size_t piece = n; /* with a size limit, a frame fits a file next to the segment frame */
    if (S.log_max) piece = S.log_max > 3 * HDR ? (size_t)(S.log_max - 2 * HDR) : HDR;
    const char *p = d;
    size_t left = n;
    do {
      size_t k = left < piece ? left : piece;
      if (S.log_max && S.log_size > HDR && S.log_size + HDR + k > S.log_max) log_rotate();
      if (S.log < 0) log_begin(); /* an earlier open failed (disk full?): try again */
      if (S.log < 0) break;
      put_hdr(h, type, (uint32_t)k, ts);
      log_frame(h, p, k);
      p += k, left -= k;
    } while (left > 0);
  }
  put_hdr(h, type, (uint32_t)n, off);
  for (int i = 0; i < S.ncl; i++) client_send(S.cl[i], h, d, n);
}

/* Continues the log left by an earlier run, or begins it; drops files past --log-max-file. */
static void log_open(void) {
  char name[32];
  for (int i = S.log_files; i < S.log_files + 100; i++) {
    snprintf(name, sizeof name, "log.%d", i);
    if (unlink(name) < 0 && errno == ENOENT) break;
  }
  if (S.log_files <= 1) unlink("log.1");
  S.log = open("log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (S.log < 0) fail("open log: %s", strerror(errno));
  off_t end = lseek(S.log, 0, SEEK_END);
  if (end <= 0) { close(S.log), log_begin(); return; }
  unsigned char h[HDR];
  uint64_t base = 0;
  int r = open("log", O_RDONLY | O_CLOEXEC);
  if (r >= 0 && read(r, h, HDR) == HDR && h[0] == T_SEGMENT) base = get_le(h + 8, 8);
  if (r >= 0) close(r);
  S.log_size = (uint64_t)end, S.log_off = base + (uint64_t)end;
}

/* Whether the kernel OOM-killed a process of the container's memory cgroup (read before it goes). */
static int oom_killed(void) {
  static const char *const files[] = {"memory.oom_control", "memory.events"};
  if (!S.oom_dir) return 0;
  for (int i = 0; i < 2; i++) {
    char path[4200], key[64];
    unsigned long long v;
    snprintf(path, sizeof path, "%s/%s", S.oom_dir, files[i]);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    int hit = 0;
    while (fscanf(f, "%63s %llu", key, &v) == 2)
      if (!strcmp(key, "oom_kill")) hit = v > 0;
    fclose(f);
    return hit;
  }
  return 0;
}

static void stdin_flush(void) {
  while (S.in >= 0 && S.inlen > 0) {
    ssize_t w = write(S.in, S.inbuf, S.inlen);
    if (w < 0 && errno == EAGAIN) return;
    if (w <= 0) { close(S.in), S.in = -1, S.inlen = 0; return; } /* the container closed its stdin */
    memmove(S.inbuf, S.inbuf + w, S.inlen - (size_t)w);
    S.inlen -= (size_t)w;
  }
  if (S.in >= 0 && S.in_close) close(S.in), S.in = -1;
}

static void on_frame(int type, const unsigned char *d, uint32_t n, uint64_t arg) {
  if (type == T_STDIN && S.in >= 0 && !S.in_close) {
    char *b = realloc(S.inbuf, S.inlen + n);
    if (!b) return;
    S.inbuf = b, memcpy(S.inbuf + S.inlen, d, n), S.inlen += n;
    stdin_flush();
  } else if (type == T_CLOSE_STDIN && !S.tty && S.in >= 0) {
    S.in_close = 1;
    stdin_flush();
  } else if (type == T_RESIZE && S.tty) {
    struct winsize ws = {.ws_row = (unsigned short)(arg >> 16), .ws_col = (unsigned short)arg};
    int fd = S.out[0] >= 0 ? S.out[0] : S.in;
    if (fd >= 0) ioctl(fd, TIOCSWINSZ, &ws);
  }
}

static void client_read(struct client *c) {
  ssize_t r = read(c->fd, c->in + c->inlen, MAX_IN - c->inlen);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (r <= 0) { c->dead = 1; return; }
  c->inlen += (size_t)r;
  size_t p = 0;
  while (c->inlen - p >= HDR) {
    uint32_t n = (uint32_t)get_le(c->in + p + 4, 4);
    if (n > MAX_IN - HDR) { c->dead = 1; return; }
    if (c->inlen - p < HDR + n) break;
    on_frame(c->in[p], c->in + p + HDR, n, get_le(c->in + p + 8, 8));
    p += HDR + n;
  }
  memmove(c->in, c->in + p, c->inlen - p);
  c->inlen -= p;
}

static int client_add(int fd) {
  struct client *c = calloc(1, sizeof *c);
  if (!c || S.ncl == MAX_CLIENTS) { close(fd), free(c); return 0; }
  nonblock(fd);
  fcntl(fd, F_SETFD, FD_CLOEXEC); /* fd 3 in exec mode comes from the daemon without it */
  c->fd = fd;
  S.cl[S.ncl++] = c;
  return 1;
}

static void client_flush(struct client *c) {
  ssize_t w = send(c->fd, c->out, c->outlen, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (w < 0 && errno != EAGAIN) c->dead = 1;
  if (w <= 0) return;
  memmove(c->out, c->out + w, c->outlen - (size_t)w);
  c->outlen -= (size_t)w;
}

static void reap(void) {
  struct signalfd_siginfo si;
  while (read(S.sigfd, &si, sizeof si) > 0) {}
  int st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    if (p != S.pid || S.done) continue; /* runc's helpers, orphans of the container */
    S.done = 1, S.done_at = mono_ms();
    S.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
}

/* Relays until the process has exited and its output is drained. */
static void loop(void) {
  char buf[CHUNK];
  for (;;) {
    struct pollfd pf[4 + MAX_CLIENTS];
    int n = 0, blocked = 0;
    for (int i = 0; i < S.ncl; i++) blocked |= S.cl[i]->outlen > 0;
    pf[n++] = (struct pollfd){S.sigfd, POLLIN, 0};
    pf[n++] = (struct pollfd){S.lsock, POLLIN, 0}; /* -1 is skipped by poll */
    for (int i = 0; i < 2; i++) pf[n++] = (struct pollfd){blocked ? -1 : S.out[i], POLLIN, 0};
    pf[n++] = (struct pollfd){S.inlen ? S.in : -1, POLLOUT, 0};
    int base = n;
    for (int i = 0; i < S.ncl; i++)
      pf[n++] = (struct pollfd){S.cl[i]->fd, (short)((S.inlen ? 0 : POLLIN) | (S.cl[i]->outlen ? POLLOUT : 0)), 0};
    if (poll(pf, (nfds_t)n, S.done ? 100 : -1) < 0 && errno != EINTR) fail("poll: %s", strerror(errno));

    if (pf[0].revents) reap();
    if (pf[1].revents) {
      int c = accept4(S.lsock, NULL, NULL, SOCK_CLOEXEC);
      if (c >= 0 && client_add(c)) {
        unsigned char h[HDR];
        put_hdr(h, T_HELLO, 0, S.log_off);
        client_send(S.cl[S.ncl - 1], h, "", 0);
      }
    }
    for (int i = 0; i < 2; i++) {
      if (!pf[2 + i].revents) continue;
      ssize_t r = read(S.out[i], buf, sizeof buf);
      if (r > 0) emit(i == 0 ? T_STDOUT : T_STDERR, buf, (size_t)r);
      else if (r == 0 || (errno != EAGAIN && errno != EINTR)) close(S.out[i]), S.out[i] = -1; /* EOF, or EIO from a pty */
    }
    if (pf[4].revents) stdin_flush();
    for (int i = 0; i < S.ncl; i++) {
      struct client *c = S.cl[i];
      if (pf[base + i].revents & POLLOUT) client_flush(c);
      if (pf[base + i].revents & (POLLIN | POLLHUP | POLLERR)) client_read(c);
    }
    for (int i = 0; i < S.ncl; i++) {
      if (!S.cl[i]->dead) continue;
      close(S.cl[i]->fd), free(S.cl[i]->out), free(S.cl[i]);
      S.cl[i--] = S.cl[--S.ncl];
    }
    if (!S.done) continue;
    /* After the exit: EOF comes at once when the pid namespace took every writer with it; a
     * pipe kept open by a leftover process (an exec's background child) is read for DRAIN_MS,
     * longer (FLUSH_MS) while an attacher is still taking earlier output. */
    uint64_t since = mono_ms() - S.done_at;
    if ((S.out[0] < 0 && S.out[1] < 0) || since >= (blocked ? FLUSH_MS : DRAIN_MS)) return;
  }
}

/* Sends the exit frame and waits (bounded) for slow attachers to take what they were sent. */
static void say_exit(void) {
  unsigned char h[HDR];
  put_hdr(h, T_EXIT, 0, (uint64_t)S.code);
  for (int i = 0; i < S.ncl; i++) client_send(S.cl[i], h, "", 0);
  uint64_t until = mono_ms() + FLUSH_MS;
  for (int i = 0; i < S.ncl; i++) {
    struct client *c = S.cl[i];
    while (!c->dead && c->outlen > 0 && mono_ms() < until) {
      struct pollfd pf = {c->fd, POLLOUT, 0};
      if (poll(&pf, 1, 100) > 0) client_flush(c);
    }
    shutdown(c->fd, SHUT_WR);
  }
}

/* Takes the exit record's room now, while the disk has some (a start is refused on a full one). */
static void reserve_exit(void) {
  char pad[EXIT_ROOM];
  memset(pad, ' ', sizeof pad);
  S.exit_fd = open("exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (S.exit_fd >= 0 && write(S.exit_fd, pad, sizeof pad) != (ssize_t)sizeof pad) close(S.exit_fd), S.exit_fd = -1;
}

static void finish_create(void) {
  int oom = oom_killed();
  char *argv[] = {(char *)S.runc, "--root", (char *)S.root, "--log", "/dev/null", "delete", "--force", (char *)S.id, NULL};
  wait_for(spawn(argv, S.devnull, S.devnull, S.devnull));
  close(S.lsock), unlink("attach.sock");
  char body[EXIT_ROOM];
  int n = snprintf(body, sizeof body, "{\"exitCode\":%d,\"finishedAtNs\":\"%llu\"%s}\n", S.code,
                   (unsigned long long)now_ns(CLOCK_REALTIME), S.oom_dir ? (oom ? ",\"oomKilled\":true" : ",\"oomKilled\":false") : "");
  /* Overwriting the room reserved at start needs no new block: a full disk cannot lose the exit. */
  int fd = S.exit_fd >= 0 ? S.exit_fd : open("exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0 && pwrite(fd, body, (size_t)n, 0) == n && ftruncate(fd, n) == 0 && fsync(fd) == 0) rename("exit.tmp", "exit");
  if (fd >= 0) close(fd);
  say_exit();
}

static void setup_common(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  S.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  signal(SIGPIPE, SIG_IGN);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) fail("subreaper: %s", strerror(errno));
  S.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
}

/* Returns in the detached grandchild; the original process reports readiness and exits. */
static void daemonize(void) {
  int rp[2];
  if (pipe2(rp, O_CLOEXEC) < 0) fail("pipe: %s", strerror(errno));
  pid_t p = fork();
  if (p < 0) fail("fork: %s", strerror(errno));
  if (p > 0) {
    char msg[4200];
    close(rp[1]);
    wait_for(p);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < sizeof msg && (r = read(rp[0], msg + n, sizeof msg - 1 - n)) > 0) n += (size_t)r;
    msg[n] = 0;
    if (!strncmp(msg, "ok ", 3)) { fputs(msg + 3, stdout); exit(0); }
    fprintf(stderr, "%s\n", n ? (strncmp(msg, "error ", 6) ? msg : msg + 6) : "shim exited before the container was created");
    exit(1);
  }
  close(rp[0]);
  setsid();
  if (fork() != 0) _exit(0); /* the grandchild is no session leader: it can never get a controlling tty */
  S.ready = rp[1];
  int nul = open("/dev/null", O_RDWR);
  dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
  if (nul > 2) close(nul);
}

static void run_create(void) {
  daemonize();
  if (chdir(S.state) < 0) fail("chdir %s: %s", S.state, strerror(errno));
  umask(077);
  setup_common();
  FILE *f = fopen("shim.pid", "w");
  if (!f) fail("write shim.pid: %s", strerror(errno));
  fprintf(f, "%d\n", getpid()), fclose(f);
  reserve_exit();
  if (!S.no_log) log_open();
  S.lsock = listen_unix("attach.sock");
  nonblock(S.lsock);
  run_runc();
  /* The shim outlives the daemon: holding the template would keep it after the daemon is gone. */
  if (S.template_fd >= 0) close(S.template_fd), S.template_fd = -1;
  dprintf(S.ready, "ok %d\n", S.pid);
  for (char *l = S.ns_warning, *nl; *l; l = nl ? nl + 1 : l + strlen(l)) {
    nl = strchr(l, '\n');
    if (nl) *nl = 0;
    if (!strncmp(l, "template: ", 10)) dprintf(S.ready, "warning mount template: %s\n", l + 10);
    else if (*l) dprintf(S.ready, "warning private mount namespace: %s\n", l);
  }
  close(S.ready), S.ready = -1, S.created = 0; /* from here the daemon owns the created container */
  loop();
  finish_create();
}

static void run_exec(void) {
  S.no_log = 1; /* an exec's output goes to its client only */
  client_add(3);
  setup_common();
  run_runc();
  unsigned char h[HDR];
  put_hdr(h, T_STARTED, 0, (uint64_t)S.pid);
  client_send(S.cl[0], h, "", 0);
  loop();
  say_exit();
}

/* mount-template mode: the holder of the daemon's template namespace (see the top). */
static void run_mount_template(void) {
  if (unshare(CLONE_NEWNS) < 0) fail("unshare(CLONE_NEWNS): %s", strerror(errno));
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) fail("make / rslave: %s", strerror(errno));
  for (int i = 0; i < S.ndetach; i++)
    if (umount2(S.detach[i], MNT_DETACH) < 0) fail("detach %s: %s", S.detach[i], strerror(errno));
  printf("ok\n");
  fflush(stdout);
  for (;;) { /* until the daemon, which has opened /proc/<pid>/ns/mnt, closes our stdin */
    char c;
    ssize_t r = read(0, &c, 1);
    if (r == 0 || (r < 0 && errno != EINTR)) exit(0);
  }
}

int main(int argc, char **argv) {
  S.runc = "runc";
  if (argc < 2) fail("usage: redes-shim create|exec --id ID ...");
  S.mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(k, "--tty")) S.tty = 1;
    else if (!strcmp(k, "--stdin")) S.open_stdin = 1;
    else if (!strcmp(k, "--no-log")) S.no_log = 1;
    else if (!v) fail("missing value for %s", k);
    else if (!strcmp(k, "--id")) S.id = v, i++;
    else if (!strcmp(k, "--bundle")) S.bundle = v, i++;
    else if (!strcmp(k, "--state")) S.state = v, i++;
    else if (!strcmp(k, "--root")) S.root = v, i++;
    else if (!strcmp(k, "--runc")) S.runc = v, i++;
    else if (!strcmp(k, "--process")) S.process = v, i++;
    else if (!strcmp(k, "--oom-cgroup")) S.oom_dir = v, i++;
    else if (!strcmp(k, "--keep-mount") && S.nkeep < MAX_PATHS) S.keep[S.nkeep++] = v, i++;
    else if (!strcmp(k, "--detach-mount") && S.ndetach < MAX_PATHS) S.detach[S.ndetach++] = v, i++;
    else if (!strcmp(k, "--mount-template-fd")) S.template_fd = atoi(v), i++;
    else if (!strcmp(k, "--log-max-size")) S.log_max = strtoull(v, NULL, 10), i++;
    else if (!strcmp(k, "--log-max-file")) S.log_files = atoi(v) > 0 ? atoi(v) : 1, i++;
    else fail("unknown option %s", k);
  }
  if (!strcmp(S.mode, "mount-template")) run_mount_template();
  if (!S.id || !S.root) fail("--id and --root are required");
  /* Inherited without close-on-exec: runc, and the container after it, must not get it. */
  if (S.template_fd >= 0 && fcntl(S.template_fd, F_SETFD, FD_CLOEXEC) < 0) S.template_fd = -1;
  if (!strcmp(S.mode, "create") && S.bundle && S.state) run_create();
  else if (!strcmp(S.mode, "exec") && S.process) run_exec();
  else fail("usage: redes-shim create --bundle DIR --state DIR ... | exec --process FILE ...");
  return 0;
}
