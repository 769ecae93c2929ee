/*
 * netlink: rtnetlink sockets for the netns-socket addon, so that the daemon changes links, addresses,
 * routes, neighbour and VXLAN forwarding entries without spawning `ip` or `bridge` (a spawn costs the
 * daemon milliseconds of main-thread fork time, tens of ms when the machine is loaded). The requests
 * are encoded in TypeScript (src/kernel/netlink-codec.ts); this file only carries them.
 *
 * Use (from src/kernel/netlink.ts only):
 *   netlinkOpen(nsPath)        -> fd of a NETLINK_ROUTE socket made inside the namespace at nsPath
 *                                 ("" = the caller's own); a socket keeps the namespace it was made in
 *   netlinkTalk(fd, msg)       -> Buffer: sends one request, or up to MAX_BATCH laid end to end, and
 *                                 returns every reply up to each one's ack or error (NLMSG_ERROR) or
 *                                 the end of its dump (NLMSG_DONE)
 *   netlinkTalkAsync(fd, msg)  -> Promise<Buffer>: the same on libuv's thread pool, for requests the
 *                                 kernel answers slowly (deleting a veth waits for RCU, 15-55 ms)
 *   strerror(errno)            -> the C library's text for an errno
 *   procSysNetSet(nsPath, key, value)
 *                              -> writes /proc/sys/net/<key> of the namespace at nsPath ("" = the
 *                                 caller's own) when it differs: true written, false already so,
 *                                 null when the file does not exist (no such interface, or IPv6
 *                                 compiled out). /proc/sys/net is the opening thread's namespace's,
 *                                 so the open happens inside it; a spawned `sysctl` would cost a fork
 * The caller closes the fd (fs.closeSync) and must not close it while an async request runs.
 *
 * Beware: setns(2) switches only the calling thread (Node's main thread), for socket(2) and bind(2)
 * alone; the way back aborts the process if it fails, as in netns-socket.c. Replies are read with a
 * 5 s receive timeout so that a kernel that never answers cannot hang the daemon.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <stdint.h>
#include "netns-enter.h"

/* Requests one talk may carry: one terminator is awaited for each (their seqs are kept here). */
#define MAX_BATCH 256

/*
 * The one request/ack engine: sends msg (one request or several laid end to end, each with
 * NLM_F_ACK or a dump) in one sendto and collects every reply until each request has its terminator
 * (NLMSG_ERROR: the ack or the error; NLMSG_DONE: the end of a dump), matched by sequence number.
 * rtnetlink handles the requests inside the send, one after another even when one fails, so the
 * replies are queued by the time we read. 0 or -errno; *out is malloc'd.
 */
static int talk(int fd, const void *msg, size_t len, char **out, size_t *outlen) {
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  *out = NULL;
  *outlen = 0;
  uint32_t seqs[MAX_BATCH];
  int pending = 0, left = (int)len;
  for (struct nlmsghdr *h = (struct nlmsghdr *)msg; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    if (pending == MAX_BATCH) return -E2BIG;
    seqs[pending++] = h->nlmsg_seq;
  }
  if (pending == 0) return -EINVAL;
  if (sendto(fd, msg, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return -errno;
  size_t cap = 0;
  char buf[65536];
  while (pending > 0) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(*out);
      *out = NULL;
      return -e;
    }
    if (*outlen + (size_t)n > cap) {
      cap = (*outlen + (size_t)n) * 2;
      char *grown = realloc(*out, cap);
      if (!grown) {
        free(*out);
        *out = NULL;
        return -ENOMEM;
      }
      *out = grown;
    }
    memcpy(*out + *outlen, buf, (size_t)n);
    *outlen += (size_t)n;
    int rest = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, rest); h = NLMSG_NEXT(h, rest)) {
      if (h->nlmsg_type != NLMSG_ERROR && h->nlmsg_type != NLMSG_DONE) continue;
      for (int i = 0; i < pending; i++) {
        if (seqs[i] == h->nlmsg_seq) {
          seqs[i] = seqs[--pending];
          break;
        }
      }
    }
  }
  return 0;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[4400];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value to_buffer(napi_env env, char *data, size_t len) {
  napi_value out;
  void *dst;
  napi_create_buffer_copy(env, len, data ? data : "", &dst, &out);
  free(data);
  return out;
}

static napi_value netlink_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "netlinkOpen(nsPath) needs a string");
    return NULL;
  }
  int fd, orig = -1;
  const char *what;
  if (len > 0 && (orig = netns_enter(path, &what)) < 0) return throw_errno(env, what, errno);
  fd = netlink_route_socket();
  if (orig >= 0) netns_leave(orig);
  if (fd < 0) return throw_errno(env, "netlink socket", -fd);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

/* (fd, Buffer) arguments; false after throwing. */
static int talk_args(napi_env env, napi_callback_info info, int32_t *fd, void **msg, size_t *len, napi_value *buffer) {
  size_t argc = 2;
  napi_value argv[2];
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], fd) != napi_ok || napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], msg, len) != napi_ok) {
    napi_throw_type_error(env, NULL, "netlinkTalk(fd, buffer) needs a number and a Buffer");
    return 0;
  }
  *buffer = argv[1];
  return 1;
}

static napi_value netlink_talk(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *msg;
  size_t len;
  napi_value buffer;
  if (!talk_args(env, info, &fd, &msg, &len, &buffer)) return NULL;
  char *out;
  size_t outlen;
  int r = talk(fd, msg, len, &out, &outlen);
  if (r < 0) return throw_errno(env, "netlink", -r);
  return to_buffer(env, out, outlen);
}

struct async_talk {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the request Buffer, alive until the work is done */
  int fd;
  void *msg;
  size_t len;
  char *out;
  size_t outlen;
  int result;
};

static void async_execute(napi_env env, void *data) {
  (void)env;
  struct async_talk *a = data;
  a->result = talk(a->fd, a->msg, a->len, &a->out, &a->outlen);
}

static void async_complete(napi_env env, napi_status status, void *data) {
  struct async_talk *a = data;
  napi_value value;
  if (status != napi_ok || a->result < 0) {
    napi_value text, err;
    char msg[256];
    snprintf(msg, sizeof msg, "netlink: %s", strerror(status != napi_ok ? ECANCELED : -a->result));
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, NULL, text, &err);
    free(a->out);
    napi_reject_deferred(env, a->deferred, err);
  } else {
    value = to_buffer(env, a->out, a->outlen);
    napi_resolve_deferred(env, a->deferred, value);
  }
  napi_delete_reference(env, a->keep);
  napi_delete_async_work(env, a->work);
  free(a);
}

static napi_value netlink_talk_async(napi_env env, napi_callback_info info) {
  int32_t fd;
  void *msg;
  size_t len;
  napi_value buffer, promise, name;
  if (!talk_args(env, info, &fd, &msg, &len, &buffer)) return NULL;
  struct async_talk *a = calloc(1, sizeof *a);
  if (!a) return throw_errno(env, "netlinkTalkAsync", ENOMEM);
  a->fd = fd;
  a->msg = msg;
  a->len = len;
  napi_create_reference(env, buffer, 1, &a->keep);
  napi_create_promise(env, &a->deferred, &promise);
  napi_create_string_utf8(env, "netlinkTalkAsync", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, async_execute, async_complete, a, &a->work);
  napi_queue_async_work(env, a->work);
  return promise;
}

static napi_value str_error(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t e = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &e) != napi_ok) e = 0;
  napi_create_string_utf8(env, strerror(e), NAPI_AUTO_LENGTH, &out);
  return out;
}

/* key: relative path under /proc/sys/net, plain names only (no "." or ".." part, no leading "/"). */
static int sysctl_key_ok(const char *key) {
  if (!*key || *key == '/') return 0;
  const char *part = key;
  for (const char *c = key;; c++) {
    if (*c == '/' || *c == '\0') {
      size_t n = (size_t)(c - part);
      if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.')) return 0;
      if (*c == '\0') return 1;
      part = c + 1;
    } else if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.')) {
      return 0;
    }
  }
}

/* 1 written, 0 already so, -ENOENT missing, other -errno. In the calling thread's namespace. */
static int sysctl_set_here(const char *path, const char *value, size_t vlen) {
  char cur[64];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t n = read(fd, cur, sizeof cur - 1);
  close(fd);
  if (n >= 0) {
    while (n > 0 && (cur[n - 1] == '\n' || cur[n - 1] == ' ')) n--;
    if ((size_t)n == vlen && memcmp(cur, value, vlen) == 0) return 0;
  }
  fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  ssize_t w = write(fd, value, vlen);
  int e = w < 0 ? errno : 0;
  close(fd);
  if (w < 0) return -e;
  return 1;
}

static napi_value proc_sys_net_set(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char ns[4096], key[256], value[64], path[300];
  size_t nslen, keylen, vlen;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_string_utf8(env, argv[0], ns, sizeof ns, &nslen) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], key, sizeof key, &keylen) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], value, sizeof value, &vlen) != napi_ok) {
    napi_throw_type_error(env, NULL, "procSysNetSet(nsPath, key, value) needs three strings");
    return NULL;
  }
  if (keylen >= sizeof key - 1 || vlen >= sizeof value - 1 || !sysctl_key_ok(key)) {
    napi_throw_type_error(env, NULL, "procSysNetSet: bad key or value");
    return NULL;
  }
  snprintf(path, sizeof path, "/proc/sys/net/%s", key);
  int orig = -1;
  const char *what;
  if (nslen > 0 && (orig = netns_enter(ns, &what)) < 0) return throw_errno(env, what, errno);
  int r = sysctl_set_here(path, value, vlen);
  if (orig >= 0) netns_leave(orig);
  napi_value out;
  if (r == -ENOENT) {
    napi_get_null(env, &out);
    return out;
  }
  if (r < 0) return throw_errno(env, path, -r);
  napi_get_boolean(env, r == 1, &out);
  return out;
}

void netlink_init(napi_env env, napi_value exports) {
  const struct { const char *name; napi_callback fn; } fns[] = {
    {"netlinkOpen", netlink_open},
    {"netlinkTalk", netlink_talk},
    {"netlinkTalkAsync", netlink_talk_async},
    {"strerror", str_error},
    {"procSysNetSet", proc_sys_net_set},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
}
