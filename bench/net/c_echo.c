/*
 * c_echo: the C echo server of the network benchmarks (bench/net/), the
 * physical limit on this machine. One thread, epoll (level-triggered),
 * non-blocking sockets. Linux only.
 *
 * TCP (default): each read (into one shared 256 KiB buffer) is written back
 * at once; if the write is partial, the rest is kept in a buffer of its own
 * and the connection stops reading until it is flushed (backpressure). An
 * idle connection holds no buffer. With --idle-timeout MS, connections
 * silent that long are closed (a sweep once a second).
 *
 * UDP (--udp): recvfrom/sendto, each datagram back to its sender.
 *
 * Binds 127.0.0.1 on a free port and prints `listening on 127.0.0.1:PORT`.
 *
 * Build: cc -O2 -o c_echo c_echo.c  (bench/net/run.ts does it)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (256 * 1024)

struct conn {
  uint64_t last_active;
  uint8_t *pending;
  size_t pending_len;
  size_t pending_off;
};

static uint8_t buf[BUF_SIZE];

static void die(const char *what) {
  fprintf(stderr, "c_echo: %s: %s\n", what, strerror(errno));
  exit(1);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int bind_loopback(int type) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  socklen_t len = sizeof addr;
  if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  return fd;
}

static void serve_udp(void) {
  int fd = bind_loopback(SOCK_DGRAM);
  for (;;) {
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from,
                         &len);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("recvfrom");
    }
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
  }
}

static struct conn **conns;
static int max_fds;
static int ep;

static void set_events(int fd, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void drop(int fd) {
  struct conn *c = conns[fd];
  if (c == NULL) return;
  free(c->pending);
  free(c);
  conns[fd] = NULL;
  close(fd);
}

/* Writes what is pending; 1 when all of it is out, 0 if some is left, -1 on
 * error. */
static int flush_pending(int fd, struct conn *c) {
  while (c->pending_off < c->pending_len) {
    ssize_t n = send(fd, c->pending + c->pending_off,
                     c->pending_len - c->pending_off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return 0;
      return -1;
    }
    c->pending_off += (size_t)n;
  }
  free(c->pending);
  c->pending = NULL;
  c->pending_len = c->pending_off = 0;
  return 1;
}

static void on_readable(int fd, struct conn *c, uint64_t now) {
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n == 0) {
    drop(fd);
    return;
  }
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) drop(fd);
    return;
  }
  c->last_active = now;
  ssize_t w = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      drop(fd);
      return;
    }
    w = 0;
  }
  if (w < n) {
    c->pending_len = (size_t)(n - w);
    c->pending_off = 0;
    c->pending = malloc(c->pending_len);
    if (c->pending == NULL) {
      drop(fd);
      return;
    }
    memcpy(c->pending, buf + w, c->pending_len);
    set_events(fd, EPOLLOUT); /* stop reading until it is out */
  }
}

static void serve_tcp(long idle_ms) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  max_fds = rl.rlim_cur > 1048576 ? 1048576 : (int)rl.rlim_cur;
  conns = calloc((size_t)max_fds, sizeof *conns);
  if (conns == NULL) die("calloc");

  int lfd = bind_loopback(SOCK_STREAM | SOCK_NONBLOCK);
  if (listen(lfd, 4096) < 0) die("listen");
  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);

  struct epoll_event evs[512];
  uint64_t last_sweep = now_ms();
  for (;;) {
    int n = epoll_wait(ep, evs, 512, idle_ms > 0 ? 1000 : -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    uint64_t now = now_ms();
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (cfd < 0) break; /* EAGAIN, or EMFILE: retried next time */
          if (cfd >= max_fds) {
            close(cfd);
            continue;
          }
          struct conn *c = calloc(1, sizeof *c);
          if (c == NULL) {
            close(cfd);
            continue;
          }
          c->last_active = now;
          conns[cfd] = c;
          struct epoll_event ev = {.events = EPOLLIN, .data.fd = cfd};
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
        }
        continue;
      }
      struct conn *c = conns[fd];
      if (c == NULL) continue;
      if (c->pending != NULL) {
        int r = flush_pending(fd, c);
        if (r < 0) drop(fd);
        else if (r > 0) set_events(fd, EPOLLIN);
        continue;
      }
      on_readable(fd, c, now);
    }
    if (idle_ms > 0 && now - last_sweep >= 1000) {
      last_sweep = now;
      for (int fd = 0; fd < max_fds; fd++) {
        struct conn *c = conns[fd];
        if (c != NULL && now - c->last_active >= (uint64_t)idle_ms) drop(fd);
      }
    }
  }
}

int main(int argc, char **argv) {
  int udp = 0;
  long idle_ms = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--udp")) {
      udp = 1;
    } else if (!strcmp(argv[i], "--idle-timeout") && i + 1 < argc) {
      idle_ms = atol(argv[++i]);
    } else {
      fprintf(stderr, "Usage: c_echo [--udp] [--idle-timeout MS]\n");
      return 2;
    }
  }
  if (udp) serve_udp();
  serve_tcp(idle_ms);
  return 0;
}
