/*
 * netlink-neigh: a tiny N-API addon that programs static neighbour (IP -> MAC) and VXLAN forwarding
 * (MAC -> remote VTEP) entries over one rtnetlink socket, without starting `ip` or `bridge`.
 *
 * Use (from src/kernel/neigh-netlink.ts only):
 *   open(nsPath) -> fd                 an rtnetlink socket in the namespace at nsPath ("" = our own)
 *   linkIndex(fd, ifname) -> index     -1 when the namespace has no such link
 *   apply(fd, ifindex, ops) -> errnos  ops: [kind, a, b] with kind 0 neigh replace (ip, mac),
 *                                      1 fdb replace (mac, dst), 2 neigh del (ip), 3 fdb del (mac, dst);
 *                                      one errno per op (0 = done)
 * The socket keeps the namespace it was made in; the caller closes the fd.
 *
 * Beware: every call is synchronous on Node's main thread. rtnetlink handles a request inside
 * sendmsg(2), so the acknowledgements are queued when it returns and the reads do not wait on other
 * processes (a receive timeout of 5 s guards against the unexpected). setns(2) switches the calling
 * thread only for the socket's creation and back (abort if the way back fails, as netns-socket.c).
 * IPv4 only (the overlay's neighbour and VTEP addresses).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <node_api.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "netns-enter.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

/* Requests sent per sendmsg: their capped acknowledgements (36 bytes each) fit any receive buffer. */
#define CHUNK 64
#define REQ_SIZE 64

static unsigned int seq_counter = 1;

static napi_value fail(napi_env env, const char *what, int err) {
  char msg[4400];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value nl_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "open(nsPath) needs a string");
    return NULL;
  }
  int fd;
  if (len == 0) {
    fd = netlink_route_socket(NETLINK_CAP_ACK);
  } else {
    const char *what;
    int orig = netns_enter(path, &what);
    if (orig < 0) return fail(env, what, errno);
    fd = netlink_route_socket(NETLINK_CAP_ACK); /* capped: smaller acks */
    netns_leave(orig);
  }
  if (fd < 0) return fail(env, "netlink socket", -fd);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static void add_attr(struct nlmsghdr *h, unsigned short type, const void *data, unsigned short len) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(a), data, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Sends `count` requests laid out REQ_SIZE apart in buf; fills errs[i] from each acknowledgement. */
static int exchange(int fd, char *buf, int count, int *errs) {
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  struct iovec iov[CHUNK];
  unsigned int first = 0;
  for (int i = 0; i < count; i++) {
    struct nlmsghdr *h = (struct nlmsghdr *)(buf + i * REQ_SIZE);
    if (i == 0) first = h->nlmsg_seq;
    iov[i].iov_base = h;
    iov[i].iov_len = NLMSG_ALIGN(h->nlmsg_len);
    errs[i] = -1;
  }
  struct msghdr msg = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = iov, .msg_iovlen = (size_t)count};
  if (sendmsg(fd, &msg, 0) < 0) return -errno;
  int pending = count;
  char rbuf[16384];
  while (pending > 0) {
    ssize_t n = recv(fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    int left = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      int idx = (int)(h->nlmsg_seq - first);
      if (idx < 0 || idx >= count || errs[idx] != -1) continue;
      errs[idx] = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
      pending--;
    }
  }
  return 0;
}

static int get_str(napi_env env, napi_value v, char *out, size_t size) {
  size_t len;
  return napi_get_value_string_utf8(env, v, out, size, &len) == napi_ok && len > 0 && len < size - 1;
}

static int parse_mac(const char *s, unsigned char mac[6]) {
  char extra;
  return sscanf(s, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%c", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5], &extra) == 6;
}

/* One request into slot h; 0, or -1 when an argument is not an address. */
static int build(struct nlmsghdr *h, int ifindex, uint32_t kind, const char *a, const char *b) {
  memset(h, 0, REQ_SIZE);
  h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
  h->nlmsg_type = kind <= 1 ? RTM_NEWNEIGH : RTM_DELNEIGH;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (kind <= 1 ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  h->nlmsg_seq = seq_counter++;
  struct ndmsg *nd = NLMSG_DATA(h);
  nd->ndm_ifindex = ifindex;
  nd->ndm_state = NUD_PERMANENT;
  struct in_addr ip;
  unsigned char mac[6];
  if (kind == 0 || kind == 2) {
    nd->ndm_family = AF_INET;
    if (inet_pton(AF_INET, a, &ip) != 1) return -1;
    add_attr(h, NDA_DST, &ip, sizeof ip);
    if (kind == 0) {
      if (!parse_mac(b, mac)) return -1;
      add_attr(h, NDA_LLADDR, mac, sizeof mac);
    }
  } else {
    nd->ndm_family = AF_BRIDGE;
    nd->ndm_flags = NTF_SELF;
    if (!parse_mac(a, mac) || inet_pton(AF_INET, b, &ip) != 1) return -1;
    add_attr(h, NDA_LLADDR, mac, sizeof mac);
    add_attr(h, NDA_DST, &ip, sizeof ip);
  }
  return 0;
}

static napi_value nl_apply(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd, ifindex;
  uint32_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &ifindex) != napi_ok ||
      napi_get_array_length(env, argv[2], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "apply(fd, ifindex, ops) needs two numbers and an array");
    return NULL;
  }
  napi_value out;
  napi_create_array_with_length(env, n, &out);
  static char buf[CHUNK * REQ_SIZE];
  int errs[CHUNK];
  for (uint32_t start = 0; start < n; start += CHUNK) {
    int count = (int)(n - start < CHUNK ? n - start : CHUNK);
    for (int i = 0; i < count; i++) {
      napi_value op, kv, av, bv;
      uint32_t kind, parts;
      char a[64] = "", b[64] = "";
      if (napi_get_element(env, argv[2], start + (uint32_t)i, &op) != napi_ok || napi_get_array_length(env, op, &parts) != napi_ok || parts < 2 ||
          napi_get_element(env, op, 0, &kv) != napi_ok || napi_get_value_uint32(env, kv, &kind) != napi_ok || kind > 3 ||
          napi_get_element(env, op, 1, &av) != napi_ok || !get_str(env, av, a, sizeof a) ||
          (kind != 2 && (parts < 3 || napi_get_element(env, op, 2, &bv) != napi_ok || !get_str(env, bv, b, sizeof b))) ||
          build((struct nlmsghdr *)(buf + i * REQ_SIZE), ifindex, kind, a, b) != 0) {
        napi_throw_type_error(env, NULL, "apply: each op is [kind 0-3, address, address] with IPv4 and MAC addresses");
        return NULL;
      }
    }
    int r = exchange(fd, buf, count, errs);
    if (r < 0) return fail(env, "netlink", -r);
    for (int i = 0; i < count; i++) {
      napi_value e;
      napi_create_int32(env, errs[i], &e);
      napi_set_element(env, out, start + (uint32_t)i, e);
    }
  }
  return out;
}

static napi_value nl_link_index(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  char name[IFNAMSIZ + 1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !get_str(env, argv[1], name, sizeof name)) {
    napi_throw_type_error(env, NULL, "linkIndex(fd, ifname) needs a number and an interface name");
    return NULL;
  }
  char req[256];
  memset(req, 0, sizeof req);
  struct nlmsghdr *h = (struct nlmsghdr *)req;
  h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
  h->nlmsg_type = RTM_GETLINK;
  h->nlmsg_flags = NLM_F_REQUEST;
  h->nlmsg_seq = seq_counter++;
  ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_family = AF_UNSPEC;
  add_attr(h, IFLA_IFNAME, name, (unsigned short)(strlen(name) + 1));
  uint32_t filter = RTEXT_FILTER_SKIP_STATS;
  add_attr(h, IFLA_EXT_MASK, &filter, sizeof filter);
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, req, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return fail(env, "netlink", errno);
  static char rbuf[65536];
  for (;;) {
    ssize_t n = recv(fd, rbuf, sizeof rbuf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(env, "netlink", errno);
    }
    int left = (int)n;
    for (struct nlmsghdr *r = (struct nlmsghdr *)rbuf; NLMSG_OK(r, left); r = NLMSG_NEXT(r, left)) {
      if (r->nlmsg_seq != h->nlmsg_seq) continue;
      napi_value out;
      if (r->nlmsg_type == NLMSG_ERROR) {
        int e = -((struct nlmsgerr *)NLMSG_DATA(r))->error;
        if (e != ENODEV) return fail(env, name, e);
        napi_create_int32(env, -1, &out);
        return out;
      }
      if (r->nlmsg_type == RTM_NEWLINK) {
        napi_create_int32(env, ((struct ifinfomsg *)NLMSG_DATA(r))->ifi_index, &out);
        return out;
      }
    }
  }
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, nl_open, NULL, &fn);
  napi_set_named_property(env, exports, "open", fn);
  napi_create_function(env, "apply", NAPI_AUTO_LENGTH, nl_apply, NULL, &fn);
  napi_set_named_property(env, exports, "apply", fn);
  napi_create_function(env, "linkIndex", NAPI_AUTO_LENGTH, nl_link_index, NULL, &fn);
  napi_set_named_property(env, exports, "linkIndex", fn);
  return exports;
}
