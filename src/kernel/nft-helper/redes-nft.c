/*
 * redes-nft: applies nftables scripts through libnftables for the daemon, one transaction per script,
 * in a long-lived process of its own (src/kernel/nft-helper.ts starts it once and feeds it).
 *
 * Why a process: each script makes libnftables build its cache afresh, about 2 MB of hash buckets
 * (four 128 KB tables per nftables table) that it writes and frees again. In the daemon, every
 * container start forks (the shim spawn), and after a fork every page the daemon writes costs a
 * copy-on-write fault: the cache's ~480 faults made each in-daemon script cost 8-15 ms of CPU
 * instead of 0.4 ms. This process never forks, so its memory stays its own and a script costs what
 * libnftables itself costs. It also holds only a few descriptors, so libnftables' select() is safe.
 *
 * It keeps freed memory for the next script (mallopt below), so that holds after the first one.
 *
 * Protocol (stdin → stdout, binary, little-endian): a request is a u32 length and that many bytes of
 * script; the reply is a u32 status (0 applied, 1 refused, 2 libnftables not available) and a u32
 * length with that many bytes of nft's error text. EOF on stdin (the daemon gone) ends the process.
 *
 * Beware: acts in the network namespace it was started in (the daemon's). libnftables is opened with
 * dlopen through native/nft-lib.h, the binding native/nft.c uses too. Anything the library
 * would print goes to /dev/null: stdout carries the replies.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../../native/nft-lib.h"


/* Reads exactly n bytes; 0 on EOF before the first byte, -1 on error or EOF midway. */
static int read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r == 0 && got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

static int write_full(int fd, const void *buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    ssize_t w = write(fd, (const char *)buf + put, n - put);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    put += (size_t)w;
  }
  return 0;
}

static int reply(int fd, uint32_t status, const char *text) {
  uint32_t head[2] = {status, text ? (uint32_t)strlen(text) : 0};
  if (write_full(fd, head, sizeof head) < 0) return -1;
  return head[1] ? write_full(fd, text, head[1]) : 0;
}

int main(void) {
  /* The cache's buckets come back at every script: keep them in the heap, faulted in once, rather
   * than mmap'd and unmapped (128 KB each is at glibc's default threshold) or trimmed away. */
  mallopt(M_MMAP_THRESHOLD, 8 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  /* The replies get a descriptor of their own; fd 1 points at /dev/null for anything else. */
  int out = dup(1);
  int null = open("/dev/null", O_WRONLY);
  if (out < 0 || null < 0 || dup2(null, 1) < 0) return 1;
  close(null);
  int ready = nft_lib_load();
  for (;;) {
    uint32_t len;
    int r = read_full(0, &len, sizeof len);
    if (r == 0) return 0;
    if (r < 0 || len > (64u << 20)) return 1;
    char *script = malloc((size_t)len + 1);
    if (!script) return 1;
    if (read_full(0, script, len) != 1) return 1;
    script[len] = '\0';
    int failed = 0;
    if (!ready) {
      failed = reply(out, 2, "libnftables.so.1 is not available");
    } else {
      struct nft_ctx *ctx = nft_lib.ctx_new(0);
      if (!ctx) {
        failed = reply(out, 1, "nft_ctx_new failed");
      } else {
        nft_lib.buffer_output(ctx);
        nft_lib.buffer_error(ctx);
        int rc = nft_lib.run_cmd(ctx, script);
        const char *err = nft_lib.get_error_buffer(ctx);
        failed = rc == 0 ? reply(out, 0, NULL) : reply(out, 1, err && *err ? err : "nft: the script was refused");
        nft_lib.ctx_free(ctx);
      }
    }
    free(script);
    if (failed) return 1;
  }
}
