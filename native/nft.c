/*
 * nft: nftables scripts applied in-process through libnftables (the library the `nft` program is a
 * thin front end of), for the netns-socket addon: one transaction per script, as `nft -f -` does,
 * without spawning a process (a spawn costs the daemon's main thread a fork, and `nft` itself loads
 * its libraries at every start).
 *
 * Use (from src/kernel/nft.ts only):
 *   nftAvailable()        -> true when libnftables.so.1 could be loaded
 *   nftRunAsync(script)   -> Promise<boolean>; true once applied, false when it was not tried
 *                            because the process holds too many descriptors (see below: the caller
 *                            then runs `nft -f -`); rejects with nft's own error text
 * The script runs on libuv's thread pool, in the daemon's network namespace (pool threads are made
 * from the main thread outside any setns window, see netns-socket.c).
 *
 * Beware: the library is opened with dlopen (native/nft-lib.h, shared with the redes-nft helper). A
 * context is made per script: contexts are not shared between threads.
 * libnftables 1.0.6 waits on its netlink socket with select(), whose fd_set holds descriptors below
 * FD_SETSIZE (1024) only: glibc's fortified FD_SET aborts the whole process when the socket's number
 * is higher ("bit out of range 0 - FD_SETSIZE on fd_set"), as it is once the daemon holds a socket
 * per published port of a 1000-port range. So each run first counts the descriptors the process
 * holds below FD_SETSIZE and declines when they are not far below it (the lowest free number, which
 * the library's socket gets, is never above that count; a free number below a crowd of higher ones
 * is no proof, another thread can take it first).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <dirent.h>
#include <sys/select.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nft-lib.h"


struct nft_work {
  napi_async_work work;
  napi_deferred deferred;
  char *script;
  char *error; /* malloc'd error text, or NULL */
  int rc; /* 0 applied, NOT_TRIED declined (too many descriptors open), else nft's failure */
};

/* Descriptors below FD_SETSIZE allowed open before declining: the library's socket gets the lowest
 * free number, so it stays below FD_SETSIZE unless other threads take every one of the (at least
 * FD_SETSIZE - this) free numbers below it meanwhile. The DNS sockets, two per container, are kept
 * above FD_SETSIZE (netns-socket.c), so this holds at 1000 containers. */
#define LOW_FD_LIMIT 512
#define NOT_TRIED 1000

/* How many descriptors below FD_SETSIZE the process holds (the listing's own included), or -1. */
static int low_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e = readdir(d); e; e = readdir(d)) {
    if (e->d_name[0] != '.' && atoi(e->d_name) < FD_SETSIZE) n++;
  }
  closedir(d);
  return n;
}

static void nft_execute(napi_env env, void *data) {
  (void)env;
  struct nft_work *w = data;
  int low_fds = low_fd_count();
  if (low_fds < 0 || low_fds >= LOW_FD_LIMIT) {
    w->rc = NOT_TRIED;
    return;
  }
  struct nft_ctx *ctx = nft_lib.ctx_new(0);
  if (!ctx) {
    w->rc = -1;
    w->error = strdup("nft_ctx_new failed");
    return;
  }
  nft_lib.buffer_output(ctx);
  nft_lib.buffer_error(ctx);
  w->rc = nft_lib.run_cmd(ctx, w->script);
  const char *err = nft_lib.get_error_buffer(ctx);
  if (w->rc != 0) w->error = strdup(err && *err ? err : "nft: the script was refused");
  nft_lib.ctx_free(ctx);
}

static void nft_complete(napi_env env, napi_status status, void *data) {
  struct nft_work *w = data;
  napi_value done;
  if (status != napi_ok || (w->rc != 0 && w->rc != NOT_TRIED)) {
    napi_value text, err;
    napi_create_string_utf8(env, w->error ? w->error : "nft: cancelled", NAPI_AUTO_LENGTH, &text);
    napi_create_error(env, NULL, text, &err);
    napi_reject_deferred(env, w->deferred, err);
  } else {
    napi_get_boolean(env, w->rc == 0, &done);
    napi_resolve_deferred(env, w->deferred, done);
  }
  napi_delete_async_work(env, w->work);
  free(w->script);
  free(w->error);
  free(w);
}

static napi_value nft_run_async(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1], promise, name;
  if (!nft_lib_load()) {
    napi_throw_error(env, NULL, "nft: libnftables.so.1 is not available");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "nftRunAsync(script) needs a string");
    return NULL;
  }
  struct nft_work *w = calloc(1, sizeof *w);
  char *script = malloc(len + 1);
  if (!w || !script) {
    free(w);
    free(script);
    napi_throw_error(env, NULL, "nftRunAsync: out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], script, len + 1, &len);
  w->script = script;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, "nftRunAsync", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, nft_execute, nft_complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

static napi_value nft_available(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_boolean(env, nft_lib_load() == 1, &out);
  return out;
}

void nft_init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "nftRunAsync", NAPI_AUTO_LENGTH, nft_run_async, NULL, &fn);
  napi_set_named_property(env, exports, "nftRunAsync", fn);
  napi_create_function(env, "nftAvailable", NAPI_AUTO_LENGTH, nft_available, NULL, &fn);
  napi_set_named_property(env, exports, "nftAvailable", fn);
}
