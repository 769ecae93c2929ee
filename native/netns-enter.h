/*
 * netns-enter: the one way the addons step into another network namespace and back, and make an
 * rtnetlink socket (shared by netns-socket.c and netlink.c, static inline: no shared object to link).
 *
 * Use: const char *what; int orig = netns_enter(path, &what);  (orig < 0: errno set, `what` names
 *      the failed step) ... work in the namespace ...  netns_leave(orig);
 * Beware: setns(2) switches only the calling thread (Node's main thread): call nothing that may
 * yield to JavaScript in between. If the way back fails the process aborts: running on in the
 * wrong namespace would put the daemon's later sockets and links there.
 */
#ifndef REDES_NETNS_ENTER_H
#define REDES_NETNS_ENTER_H

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Enters the namespace at path; returns the fd of the original one for netns_leave, or -1 (errno). */
static inline int netns_enter(const char *path, const char **what) {
  int orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (orig < 0) {
    *what = "open /proc/thread-self/ns/net";
    return -1;
  }
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    close(orig);
    *what = path;
    errno = e;
    return -1;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    int e = errno;
    close(target);
    close(orig);
    *what = "setns";
    errno = e;
    return -1;
  }
  close(target);
  return orig;
}

/* Returns to the namespace netns_enter left, and closes its fd. */
static inline void netns_leave(int orig) {
  if (setns(orig, CLONE_NEWNET) != 0) {
    fprintf(stderr, "redes addon: cannot return to the original network namespace: %s\n", strerror(errno));
    abort();
  }
  close(orig);
}

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

/*
 * A bound NETLINK_ROUTE socket with a 5 s receive timeout, in the calling thread's namespace; the
 * kernel's error texts (NETLINK_EXT_ACK) are asked for best effort. -errno on failure.
 */
static inline int netlink_route_socket(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  int one = 1;
  struct timeval tv = {5, 0};
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

#endif
