/*
 * nft-lib: libnftables opened at run time, shared by the addon (native/nft.c) and the daemon's
 * helper process (src/kernel/nft-helper/redes-nft.c); static inline, like netns-enter.h, so there
 * is no shared object to link.
 *
 * Use: if (nft_lib_load()) { struct nft_ctx *c = nft_lib.ctx_new(0); ... nft_lib.ctx_free(c); }
 * Beware: dlopen, because Debian ships no libnftables headers without -dev: the six functions are
 * declared here as the library's stable API (libnftables(3)). Link with -ldl on older glibc.
 */
#ifndef REDES_NFT_LIB_H
#define REDES_NFT_LIB_H

#include <dlfcn.h>
#include <stdint.h>

struct nft_ctx;

static struct {
  struct nft_ctx *(*ctx_new)(uint32_t flags);
  void (*ctx_free)(struct nft_ctx *ctx);
  int (*buffer_output)(struct nft_ctx *ctx);
  int (*buffer_error)(struct nft_ctx *ctx);
  const char *(*get_error_buffer)(struct nft_ctx *ctx);
  int (*run_cmd)(struct nft_ctx *ctx, const char *buf);
  int loaded; /* -1 not tried, 0 missing, 1 ready */
} nft_lib = {.loaded = -1};

/* 1 once libnftables.so.1 and its six functions are there, else 0; tried once. */
static inline int nft_lib_load(void) {
  if (nft_lib.loaded >= 0) return nft_lib.loaded;
  void *h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h) {
    nft_lib.ctx_new = (struct nft_ctx * (*)(uint32_t)) dlsym(h, "nft_ctx_new");
    nft_lib.ctx_free = (void (*)(struct nft_ctx *))dlsym(h, "nft_ctx_free");
    nft_lib.buffer_output = (int (*)(struct nft_ctx *))dlsym(h, "nft_ctx_buffer_output");
    nft_lib.buffer_error = (int (*)(struct nft_ctx *))dlsym(h, "nft_ctx_buffer_error");
    nft_lib.get_error_buffer = (const char *(*)(struct nft_ctx *))dlsym(h, "nft_ctx_get_error_buffer");
    nft_lib.run_cmd = (int (*)(struct nft_ctx *, const char *))dlsym(h, "nft_run_cmd_from_buffer");
  }
  nft_lib.loaded = h && nft_lib.ctx_new && nft_lib.ctx_free && nft_lib.buffer_output && nft_lib.buffer_error && nft_lib.get_error_buffer && nft_lib.run_cmd;
  return nft_lib.loaded;
}

#endif
