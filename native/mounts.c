/*
 * mounts: named network namespaces and filesystem mounts made by system calls, for the netns-socket
 * addon, so that a container's start and removal spawn neither `ip netns add/delete` nor
 * `mount`/`umount` (each spawn costs the daemon's main thread a fork, tens of ms on a loaded machine).
 *
 * Use (from src/kernel/syscalls.ts only); each returns a Promise<void> run on libuv's thread pool and
 * rejects with an Error whose `code` is the errno's name ("EEXIST") and whose message names the step:
 *   netnsAddAsync(dir, path)     what `ip netns add` does: make `dir` a shared mount point (so the
 *                                namespace mounts propagate to other mount namespaces), create the
 *                                empty file `path` (O_EXCL), and bind the new namespace onto it
 *   netnsDeleteAsync(path)       what `ip netns delete` does: detach the bind mount (not mounted is
 *                                fine: a file left by an interrupted add) and unlink the file
 *   mountAsync(source, target, type, options, cwd)   mount(2) with `options` as its data; relative
 *                                paths in the options are resolved against `cwd` ("" = ours)
 *   umountAsync(target)          umount2(2); when busy, detached lazily (MNT_DETACH)
 *
 * Beware: the namespace is made by unshare(CLONE_NEWNET) in a thread of its own that ends right
 * after the bind mount, and a mount with a `cwd` chdirs in a thread of its own after
 * unshare(CLONE_FS): neither the pool's threads (nft.c runs scripts there, in the daemon's namespace)
 * nor Node's main thread ever change namespace or working directory. The bind source is
 * /proc/thread-self/ns/net: /proc/self would name the main thread's namespace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

enum op { NETNS_ADD, NETNS_DELETE, MOUNT, UMOUNT };
#define NARGS 5

struct job {
  napi_async_work work;
  napi_deferred deferred;
  enum op op;
  char *arg[NARGS];
  const char *what; /* the failed step, a static text */
  int err;          /* errno, 0 = done */
};

/* Records the failed step and errno; returns -1. */
static int fail(struct job *j, const char *what) {
  j->err = errno;
  j->what = what;
  return -1;
}

/* Runs in a thread of its own: a new namespace for it alone, bound onto the file job->arg[1]. */
static void *netns_thread(void *data) {
  struct job *j = data;
  if (unshare(CLONE_NEWNET) != 0) {
    fail(j, "unshare(CLONE_NEWNET) for");
  } else if (mount("/proc/thread-self/ns/net", j->arg[1], "none", MS_BIND, NULL) != 0) {
    fail(j, "bind the new namespace onto");
  }
  return NULL;
}

/* Runs in a thread of its own: its own working directory, then the mount. */
static void *mount_thread(void *data) {
  struct job *j = data;
  if (unshare(CLONE_FS) != 0 || chdir(j->arg[4]) != 0) {
    fail(j, "chdir to the lower directories for");
  } else if (mount(j->arg[0], j->arg[1], j->arg[2], 0, j->arg[3]) != 0) {
    fail(j, "mount");
  }
  return NULL;
}

static void in_thread(struct job *j, void *(*fn)(void *)) {
  pthread_t t;
  int e = pthread_create(&t, NULL, fn, j);
  if (e != 0) {
    j->err = e;
    j->what = "pthread_create";
    return;
  }
  pthread_join(t, NULL);
}

/* /run/netns as a shared mount point, as `ip netns add` leaves it. */
static int share_dir(struct job *j, const char *dir) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return fail(j, "mkdir");
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
  /* EINVAL: not a mount point yet; bind it onto itself, then share it. */
  if (errno != EINVAL || mount(dir, dir, "none", MS_BIND | MS_REC, NULL) != 0 || mount("", dir, "none", MS_SHARED | MS_REC, NULL) != 0) {
    return fail(j, "make the directory a shared mount");
  }
  return 0;
}

static void execute(napi_env env, void *data) {
  (void)env;
  struct job *j = data;
  switch (j->op) {
    case NETNS_ADD: {
      if (share_dir(j, j->arg[0]) != 0) return;
      int fd = open(j->arg[1], O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
      if (fd < 0) {
        fail(j, "create the namespace file");
        return;
      }
      close(fd);
      in_thread(j, netns_thread);
      if (j->err) unlink(j->arg[1]);
      return;
    }
    case NETNS_DELETE:
      umount2(j->arg[0], MNT_DETACH); /* fails when not mounted: the unlink still removes the file */
      if (unlink(j->arg[0]) != 0 && errno != ENOENT) fail(j, "remove the namespace file");
      return;
    case MOUNT:
      if (j->arg[4][0]) {
        in_thread(j, mount_thread);
      } else if (mount(j->arg[0], j->arg[1], j->arg[2], 0, j->arg[3]) != 0) {
        fail(j, "mount");
      }
      return;
    case UMOUNT:
      if (umount2(j->arg[0], 0) != 0 && (errno != EBUSY || umount2(j->arg[0], MNT_DETACH) != 0)) fail(j, "umount");
      return;
  }
}

static void complete(napi_env env, napi_status status, void *data) {
  struct job *j = data;
  if (status != napi_ok && !j->err) {
    j->err = ECANCELED;
    j->what = "cancelled";
  }
  if (j->err) {
    napi_value code, text, err;
    char msg[4400];
    const char *name = strerrorname_np(j->err);
    snprintf(msg, sizeof msg, "%s %s: %s", j->what, j->op == NETNS_ADD || j->op == MOUNT ? j->arg[1] : j->arg[0], strerror(j->err));
    napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, code, text, &err);
    napi_reject_deferred(env, j->deferred, err);
  } else {
    napi_value undef;
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, j->deferred, undef);
  }
  napi_delete_async_work(env, j->work);
  for (int i = 0; i < NARGS; i++) free(j->arg[i]);
  free(j);
}

/* Queues op with `count` string arguments; throws a TypeError naming `usage` on bad arguments. */
static napi_value queue(napi_env env, napi_callback_info info, enum op op, size_t count, const char *usage) {
  size_t argc = NARGS;
  napi_value argv[NARGS], promise, name;
  struct job *j = calloc(1, sizeof *j);
  int ok = j && napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= count;
  for (size_t i = 0; ok && i < count; i++) {
    size_t len;
    ok = napi_get_value_string_utf8(env, argv[i], NULL, 0, &len) == napi_ok && (j->arg[i] = malloc(len + 1)) &&
         napi_get_value_string_utf8(env, argv[i], j->arg[i], len + 1, &len) == napi_ok;
  }
  if (!ok) {
    if (j) for (int i = 0; i < NARGS; i++) free(j->arg[i]);
    free(j);
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  j->op = op;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, usage, NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

static napi_value netns_add(napi_env env, napi_callback_info info) {
  return queue(env, info, NETNS_ADD, 2, "netnsAddAsync(dir, path) needs two strings");
}
static napi_value netns_delete(napi_env env, napi_callback_info info) {
  return queue(env, info, NETNS_DELETE, 1, "netnsDeleteAsync(path) needs a string");
}
static napi_value mount_fs(napi_env env, napi_callback_info info) {
  return queue(env, info, MOUNT, 5, "mountAsync(source, target, type, options, cwd) needs five strings");
}
static napi_value umount_fs(napi_env env, napi_callback_info info) {
  return queue(env, info, UMOUNT, 1, "umountAsync(target) needs a string");
}

void mounts_init(napi_env env, napi_value exports) {
  const struct { const char *name; napi_callback fn; } fns[] = {
    {"netnsAddAsync", netns_add},
    {"netnsDeleteAsync", netns_delete},
    {"mountAsync", mount_fs},
    {"umountAsync", umount_fs},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
}
