/*
 * redes-probe: connection probes from inside many network namespaces, in one process.
 *
 * Reads lines on stdin:
 *   ns PATH                 the following probes start from the namespace file PATH (setns(2));
 *   ns -                    ... from the namespace the program started in;
 *   ID tcp|udp|icmp ADDR PORT
 * and, once stdin ends, runs every probe at once (non-blocking sockets, one poll loop, a deadline of
 * TIMEOUT_MS given as argv[1]) and prints one line per probe: "ID OUTCOME MS".
 *
 * A socket keeps the namespace it was created in, so the program switches namespace only while it
 * creates sockets. Outcomes: open (TCP connected, UDP or ICMP answered), refused (TCP RST or ICMP
 * port unreachable: the packet reached the target's kernel), unreachable (no route, or ICMP host or
 * network unreachable), timeout (silence), error.
 *
 * Beware: ICMP uses raw sockets (root); each raw socket sees every ICMP packet of its namespace, so
 * replies are matched by source address and the echo identifier. An echo request is sent again every
 * RESEND_MS until answered, as ping does: one lost request (a neighbour still resolving, a busy
 * softirq) must not read as "blocked". When the deadline passes, what already sits in the sockets is
 * still read once: a process starved by a loaded machine wakes late but its answers are there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum proto { TCP, UDP, ICMP };

struct probe {
  char id[32];
  enum proto proto;
  struct sockaddr_in addr;
  int fd;
  const char *outcome;
  long ms;
  unsigned short echo_id;
  unsigned short echo_seq;
};

#define RESEND_MS 250

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static unsigned short checksum(const void *data, size_t len) {
  const unsigned short *p = data;
  unsigned long sum = 0;
  for (; len > 1; len -= 2) sum += *p++;
  if (len) sum += *(const unsigned char *)p;
  sum = (sum >> 16) + (sum & 0xffff);
  sum += sum >> 16;
  return (unsigned short)~sum;
}

static const char *errno_outcome(int e) {
  if (e == ECONNREFUSED) return "refused";
  if (e == EHOSTUNREACH || e == ENETUNREACH || e == EADDRNOTAVAIL) return "unreachable";
  return "error";
}

/* Sends one more echo request; a failed send is an outcome only for the first one. */
static void send_echo(struct probe *p) {
  struct icmphdr h;
  memset(&h, 0, sizeof h);
  h.type = ICMP_ECHO;
  h.un.echo.id = htons(p->echo_id);
  h.un.echo.sequence = htons(++p->echo_seq);
  h.checksum = checksum(&h, sizeof h);
  if (sendto(p->fd, &h, sizeof h, 0, (struct sockaddr *)&p->addr, sizeof p->addr) < 0 && p->echo_seq == 1) p->outcome = errno_outcome(errno);
}

static void start(struct probe *p, long t0) {
  if (p->proto == ICMP) {
    p->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (p->fd < 0) { p->outcome = "error"; return; }
    send_echo(p);
  } else {
    p->fd = socket(AF_INET, (p->proto == TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) { p->outcome = "error"; return; }
    if (connect(p->fd, (struct sockaddr *)&p->addr, sizeof p->addr) < 0 && errno != EINPROGRESS) {
      p->outcome = errno_outcome(errno);
    } else if (p->proto == UDP && send(p->fd, "redes-audit-probe", 17, 0) < 0) {
      p->outcome = errno_outcome(errno);
    }
  }
  if (p->outcome) p->ms = now_ms() - t0;
}

/* Reads what a raw ICMP socket got; sets the outcome when a packet answers this probe. */
static void read_icmp(struct probe *p) {
  unsigned char buf[1500];
  for (;;) {
    ssize_t n = recv(p->fd, buf, sizeof buf, 0);
    if (n < 0) return;
    if ((size_t)n < sizeof(struct iphdr)) continue;
    const struct iphdr *ip = (const struct iphdr *)buf;
    size_t hl = ip->ihl * 4u;
    if ((size_t)n < hl + sizeof(struct icmphdr)) continue;
    const struct icmphdr *h = (const struct icmphdr *)(buf + hl);
    if (h->type == ICMP_ECHOREPLY && ip->saddr == p->addr.sin_addr.s_addr && ntohs(h->un.echo.id) == p->echo_id) {
      p->outcome = "open";
      return;
    }
    if (h->type == ICMP_DEST_UNREACH && (size_t)n >= hl + 8 + sizeof(struct iphdr) + 8) {
      const struct iphdr *orig = (const struct iphdr *)(buf + hl + 8);
      const struct icmphdr *oh = (const struct icmphdr *)(buf + hl + 8 + orig->ihl * 4u);
      if ((size_t)n >= hl + 8 + orig->ihl * 4u + 8 && orig->daddr == p->addr.sin_addr.s_addr && ntohs(oh->un.echo.id) == p->echo_id) {
        p->outcome = "unreachable";
        return;
      }
    }
  }
}

static void finish(struct probe *p, short revents) {
  if (p->proto == ICMP) {
    if (revents & POLLIN) read_icmp(p);
    return;
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (p->proto == TCP) {
    if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return;
    getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    p->outcome = err ? errno_outcome(err) : "open";
    return;
  }
  char b[64];
  if (recv(p->fd, b, sizeof b, 0) >= 0) p->outcome = "open";
  else if (errno != EAGAIN && errno != EWOULDBLOCK) p->outcome = errno_outcome(errno);
}

int main(int argc, char **argv) {
  long timeout = argc > 1 ? atol(argv[1]) : 1000;
  size_t cap = 256, n = 0;
  struct probe *ps = calloc(cap, sizeof *ps);
  int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (!ps || self < 0) { perror("redes-probe"); return 1; }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }

  long t0 = now_ms();
  char line[4200];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (strncmp(line, "ns ", 3) == 0) {
      const char *path = line + 3;
      int fd = strcmp(path, "-") == 0 ? dup(self) : open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) { fprintf(stderr, "redes-probe: enter %s: %s\n", path, strerror(errno)); return 1; }
      close(fd);
      continue;
    }
    char id[32], proto[8], addr[64];
    int port;
    if (sscanf(line, "%31s %7s %63s %d", id, proto, addr, &port) != 4) continue;
    if (n == cap) {
      cap *= 2;
      ps = realloc(ps, cap * sizeof *ps);
      if (!ps) return 1;
      memset(ps + n, 0, (cap - n) * sizeof *ps);
    }
    struct probe *p = &ps[n];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->proto = strcmp(proto, "tcp") == 0 ? TCP : strcmp(proto, "udp") == 0 ? UDP : ICMP;
    p->addr.sin_family = AF_INET;
    p->addr.sin_port = htons((unsigned short)port);
    p->fd = -1;
    p->echo_id = (unsigned short)((getpid() + n) & 0xffff);
    if (inet_pton(AF_INET, addr, &p->addr.sin_addr) != 1) p->outcome = "error";
    else start(p, t0);
    n++;
  }
  if (setns(self, CLONE_NEWNET) < 0) perror("redes-probe: back");
  /* The deadline counts from the end of the set-up, so a slow start does not eat the budget. */
  long deadline = now_ms() + timeout;
  long next_resend = now_ms() + RESEND_MS;
  struct pollfd *pfd = calloc(n ? n : 1, sizeof *pfd);
  size_t *idx = calloc(n ? n : 1, sizeof *idx);
  if (!pfd || !idx) return 1;
  for (int last = 0;;) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      if (ps[i].outcome || ps[i].fd < 0) continue;
      pfd[m].fd = ps[i].fd;
      pfd[m].events = ps[i].proto == TCP ? POLLOUT : POLLIN;
      pfd[m].revents = 0;
      idx[m++] = i;
    }
    if (m == 0) break;
    long now = now_ms();
    if (!last && now >= next_resend && now < deadline) {
      for (size_t k = 0; k < m; k++) {
        if (ps[idx[k]].proto == ICMP) send_echo(&ps[idx[k]]);
      }
      next_resend = now + RESEND_MS;
    }
    long left = deadline - now;
    if (left <= 0) last = 1;
    long wait = left <= 0 ? 0 : (next_resend - now < left ? next_resend - now : left);
    int r = poll(pfd, m, (int)(wait > 0 ? wait : 0));
    if (r < 0 && errno != EINTR) break;
    for (size_t k = 0; k < m; k++) {
      if (!pfd[k].revents) continue;
      struct probe *p = &ps[idx[k]];
      finish(p, pfd[k].revents);
      if (p->outcome) p->ms = now_ms() - t0;
    }
    if (last) break;
  }
  for (size_t i = 0; i < n; i++) {
    if (!ps[i].outcome) { ps[i].outcome = "timeout"; ps[i].ms = now_ms() - t0; }
    printf("%s %s %ld\n", ps[i].id, ps[i].outcome, ps[i].ms);
  }
  return 0;
}
