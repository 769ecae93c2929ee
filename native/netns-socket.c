/*
 * netns-socket: a tiny N-API addon that creates listening sockets inside another network namespace,
 * and lists the interface names of one without spawning a program (and, from netlink.c, rtnetlink
 * sockets there; from nft.c, nftables scripts run in-process; from mounts.c, named namespaces and
 * mounts made by system calls).
 *
 * Use (from src/kernel/netns-socket.ts only):
 *   openSockets(nsPath, ipv4, port) -> [udpFd, tcpFd]
 *   interfaceNames(nsPath) -> [name, ...]
 *   setUdpBuffers(pid, bytes) -> number of UDP sockets of that process sized
 * Both sockets are bound to ipv4:port inside the namespace at nsPath (TCP also listening); the
 * calling thread is back in its own namespace when the call returns. Node then serves the fds with
 * dgram's bind({ fd }) and net.Server.listen({ fd }): a socket keeps the namespace it was made in.
 * interfaceNames asks the kernel over a netlink socket made inside the namespace (libc's
 * if_nameindex), so a daemon restart lists hundreds of containers' interfaces in milliseconds.
 *
 * Beware: setns(2) switches only the calling thread, here Node's main thread. No JavaScript runs
 * while we are switched (the call is synchronous), and every path back goes through netns_leave(); if
 * the way back itself fails the thread would serve the daemon from the wrong namespace, so we abort.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/select.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "netns-enter.h"

/* A socket of `type` bound to addr (IP_FREEBIND: the address need not be up yet); -errno on failure. */
static int bound_socket(int type, const struct sockaddr_in *addr) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) != 0 ||
      bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0 ||
      (type == SOCK_STREAM && listen(fd, 512) != 0)) {
    int e = errno;
    close(fd);
    return -e;
  }
  /* Numbers below FD_SETSIZE stay for code that waits with select(), libnftables among it (nft.c):
   * two of these sockets per container would otherwise fill them by ~500 containers. */
  int high = fcntl(fd, F_DUPFD_CLOEXEC, FD_SETSIZE);
  if (high >= 0) {
    close(fd);
    fd = high;
  }
  return fd;
}

static napi_value fail(napi_env env, const char *what, int err) {
  char msg[4400];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value open_sockets(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "openSockets(nsPath, ipv4, port) needs three arguments");
    return NULL;
  }
  char path[4096], ip[64];
  size_t len;
  uint32_t port;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], ip, sizeof ip, &len) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &port) != napi_ok || port > 65535) {
    napi_throw_type_error(env, NULL, "openSockets: expected (string, string, port number)");
    return NULL;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
    napi_throw_type_error(env, NULL, "openSockets: not an IPv4 address");
    return NULL;
  }

  const char *what;
  int orig = netns_enter(path, &what);
  if (orig < 0) return fail(env, what, errno);
  int udp = bound_socket(SOCK_DGRAM, &addr);
  int tcp = udp < 0 ? -1 : bound_socket(SOCK_STREAM, &addr);
  netns_leave(orig);
  if (udp < 0) return fail(env, "bind udp", -udp);
  if (tcp < 0) {
    close(udp);
    return fail(env, "bind tcp", -tcp);
  }

  napi_value out, u, t;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, udp, &u);
  napi_create_int32(env, tcp, &t);
  napi_set_element(env, out, 0, u);
  napi_set_element(env, out, 1, t);
  return out;
}

static napi_value interface_names(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "interfaceNames(nsPath) needs a path");
    return NULL;
  }
  const char *what;
  int orig = netns_enter(path, &what);
  if (orig < 0) return fail(env, what, errno);
  struct if_nameindex *list = if_nameindex();
  int e = errno;
  netns_leave(orig);
  if (!list) return fail(env, "if_nameindex", e);
  napi_value out;
  napi_create_array(env, &out);
  uint32_t n = 0;
  for (struct if_nameindex *i = list; i->if_index != 0 && i->if_name; i++) {
    napi_value name;
    napi_create_string_utf8(env, i->if_name, NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, out, n++, name);
  }
  if_freenameindex(list);
  return out;
}

/*
 * setUdpBuffers(pid, bytes) -> count: sets SO_RCVBUFFORCE and SO_SNDBUFFORCE to `bytes` on every UDP
 * socket of process `pid` and returns how many it set. The sockets are borrowed with
 * pidfd_getfd(2) (Linux 5.6; CAP_SYS_PTRACE over the process): the copy is the same socket, so the
 * option holds for the owner, and the copy is closed at once. For a program that cannot be told to
 * size its own sockets (Debian's wireguard-go: see src/kernel/wireguard.ts).
 */
static napi_value set_udp_buffers(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t pid, bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &pid) != napi_ok || napi_get_value_int32(env, argv[1], &bytes) != napi_ok || pid <= 0 || bytes <= 0) {
    napi_throw_type_error(env, NULL, "setUdpBuffers(pid, bytes) needs two positive integers");
    return NULL;
  }
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d/fd", pid);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) return fail(env, "pidfd_open", errno);
  DIR *d = opendir(dir);
  if (!d) {
    int e = errno;
    close(pidfd);
    return fail(env, dir, e);
  }
  int count = 0, err = 0;
  for (struct dirent *ent; (ent = readdir(d));) {
    char link[4400], target[64];
    if (ent->d_name[0] == '.') continue;
    snprintf(link, sizeof link, "%s/%s", dir, ent->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = 0;
    if (strncmp(target, "socket:", 7) != 0) continue;
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(ent->d_name), 0);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM) {
      if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) == 0) count++;
      else err = errno;
    }
    close(fd);
  }
  closedir(d);
  close(pidfd);
  if (!count && err) return fail(env, "setUdpBuffers", err);
  napi_value out;
  napi_create_int32(env, count, &out);
  return out;
}

void netlink_init(napi_env env, napi_value exports); /* netlink.c */
void nft_init(napi_env env, napi_value exports);     /* nft.c */
void mounts_init(napi_env env, napi_value exports);  /* mounts.c */

NAPI_MODULE_INIT() {
  napi_value fn, names;
  netlink_init(env, exports);
  nft_init(env, exports);
  mounts_init(env, exports);
  napi_create_function(env, "openSockets", NAPI_AUTO_LENGTH, open_sockets, NULL, &fn);
  napi_set_named_property(env, exports, "openSockets", fn);
  napi_create_function(env, "interfaceNames", NAPI_AUTO_LENGTH, interface_names, NULL, &names);
  napi_set_named_property(env, exports, "interfaceNames", names);
  napi_create_function(env, "setUdpBuffers", NAPI_AUTO_LENGTH, set_udp_buffers, NULL, &fn);
  napi_set_named_property(env, exports, "setUdpBuffers", fn);
  return exports;
}
