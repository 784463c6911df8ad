/*
 * c_tls_echo: the C TLS echo server of the network benchmarks (bench/net/),
 * the reference for the TLS measures: OpenSSL, one thread, epoll
 * (level-triggered), non-blocking sockets. Linux only.
 *
 * Each connection does its TLS handshake as its bytes arrive (SSL_accept
 * without blocking), then echoes: it reads what OpenSSL has (read-ahead on,
 * so one recv takes several records) into one shared 256 KiB buffer until
 * OpenSSL wants more from the socket, and writes that back in one SSL_write.
 * If the write is partial, the rest is kept in a buffer of its own and the
 * connection stops reading until it is out (backpressure). A client's
 * close_notify or EOF closes the connection. With --idle-timeout MS,
 * connections silent that long are closed (a sweep once a second).
 * Sessions, tickets, ciphers and groups are OpenSSL's defaults.
 *
 * Binds 127.0.0.1 on a free port and prints `listening on 127.0.0.1:PORT`.
 *
 * Usage: c_tls_echo --cert FILE --key FILE [--idle-timeout MS]
 *
 * Build: cc -O2 -o c_tls_echo c_tls_echo.c -lssl -lcrypto
 * (bench/net/run.ts does it)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
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
#define READ_AHEAD (64 * 1024)

struct conn {
  SSL *ssl;
  uint64_t last_active;
  uint32_t events; /* the epoll interest now */
  uint8_t *pending;
  size_t pending_len;
  size_t pending_off;
};

static uint8_t buf[BUF_SIZE];
static struct conn **conns;
static int max_fds;
static int ep;

static void die(const char *what) {
  fprintf(stderr, "c_tls_echo: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void die_tls(const char *what) {
  char detail[256] = "";
  ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
  fprintf(stderr, "c_tls_echo: %s: %s\n", what, detail);
  exit(1);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_events(int fd, struct conn *c, uint32_t events) {
  if (c->events == events) return;
  c->events = events;
  struct epoll_event ev = {.events = events, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void drop(int fd) {
  struct conn *c = conns[fd];
  if (c == NULL) return;
  SSL_free(c->ssl);
  free(c->pending);
  free(c);
  conns[fd] = NULL;
  close(fd); /* also leaves the epoll set */
}

/* What OpenSSL waits for after a call that returned `r`: the epoll interest
 * to wait with, or 0 when the connection failed or ended. */
static uint32_t wants(struct conn *c, int r) {
  switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
      return EPOLLIN;
    case SSL_ERROR_WANT_WRITE:
      return EPOLLOUT;
    default:
      ERR_clear_error();
      return 0;
  }
}

/* Writes what is pending; 1 when all of it is out, 0 if some is left (the
 * interest is set), -1 on error. */
static int flush_pending(int fd, struct conn *c) {
  while (c->pending_off < c->pending_len) {
    int n = SSL_write(c->ssl, c->pending + c->pending_off,
                      (int)(c->pending_len - c->pending_off));
    if (n <= 0) {
      uint32_t events = wants(c, n);
      if (events == 0) return -1;
      set_events(fd, c, events);
      return 0;
    }
    c->pending_off += (size_t)n;
  }
  free(c->pending);
  c->pending = NULL;
  c->pending_len = c->pending_off = 0;
  return 1;
}

/* Writes buf[0, len) back; what does not go out at once is kept. 1 when all
 * of it is out, 0 if some is pending, -1 on error. */
static int echo(int fd, struct conn *c, size_t len) {
  size_t off = 0;
  while (off < len) {
    int n = SSL_write(c->ssl, buf + off, (int)(len - off));
    if (n > 0) {
      off += (size_t)n;
      continue;
    }
    uint32_t events = wants(c, n);
    if (events == 0) return -1;
    c->pending_len = len - off;
    c->pending_off = 0;
    c->pending = malloc(c->pending_len);
    if (c->pending == NULL) return -1;
    memcpy(c->pending, buf + off, c->pending_len);
    set_events(fd, c, events); /* stop reading until it is out */
    return 0;
  }
  return 1;
}

/* Everything a connection does when epoll says it is ready. */
static void service(int fd, struct conn *c, uint64_t now) {
  c->last_active = now;
  if (!SSL_is_init_finished(c->ssl)) {
    int r = SSL_accept(c->ssl);
    if (r != 1) {
      uint32_t events = wants(c, r);
      if (events == 0) drop(fd);
      else set_events(fd, c, events);
      return;
    }
  }
  if (c->pending != NULL) {
    int r = flush_pending(fd, c);
    if (r < 0) drop(fd);
    if (r <= 0) return;
  }
  /* Echo until OpenSSL needs the socket: what it already decrypted or read
   * ahead would not wake epoll again. The client's window bounds this. */
  for (;;) {
    size_t got = 0;
    uint32_t events = EPOLLIN;
    while (got < BUF_SIZE) {
      int n = SSL_read(c->ssl, buf + got, (int)(BUF_SIZE - got));
      if (n > 0) {
        got += (size_t)n;
        continue;
      }
      events = wants(c, n); /* 0: close_notify, EOF or an error */
      break;
    }
    if (got > 0) {
      int r = echo(fd, c, got);
      if (r < 0) {
        drop(fd);
        return;
      }
      if (r == 0) return;
    }
    if (events == 0) {
      drop(fd);
      return;
    }
    if (got < BUF_SIZE) {
      set_events(fd, c, events);
      return;
    }
  }
}

static SSL_CTX *server_context(const char *cert, const char *key) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL) die_tls("SSL_CTX_new");
  if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    die_tls("cannot load the certificate");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
    die_tls("cannot load the key");
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, READ_AHEAD);
  return ctx;
}

static void serve(SSL_CTX *ctx, long idle_ms) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  max_fds = rl.rlim_cur > 1048576 ? 1048576 : (int)rl.rlim_cur;
  conns = calloc((size_t)max_fds, sizeof *conns);
  if (conns == NULL) die("calloc");

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  socklen_t len = sizeof addr;
  if (getsockname(lfd, (struct sockaddr *)&addr, &len) < 0) {
    die("getsockname");
  }
  if (listen(lfd, 4096) < 0) die("listen");
  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

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
          struct conn *c = cfd < max_fds ? calloc(1, sizeof *c) : NULL;
          SSL *ssl = c != NULL ? SSL_new(ctx) : NULL;
          if (ssl == NULL || SSL_set_fd(ssl, cfd) != 1) {
            SSL_free(ssl);
            free(c);
            close(cfd);
            continue;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          SSL_set_accept_state(ssl);
          c->ssl = ssl;
          c->last_active = now;
          c->events = EPOLLIN;
          conns[cfd] = c;
          struct epoll_event ev = {.events = EPOLLIN, .data.fd = cfd};
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
        }
        continue;
      }
      struct conn *c = conns[fd];
      if (c != NULL) service(fd, c, now);
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
  const char *cert = NULL, *key = NULL;
  long idle_ms = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--cert") && i + 1 < argc) {
      cert = argv[++i];
    } else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
      key = argv[++i];
    } else if (!strcmp(argv[i], "--idle-timeout") && i + 1 < argc) {
      idle_ms = atol(argv[++i]);
    } else {
      cert = NULL;
      break;
    }
  }
  if (cert == NULL || key == NULL) {
    fprintf(stderr,
            "Usage: c_tls_echo --cert FILE --key FILE [--idle-timeout MS]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  serve(server_context(cert, key), idle_ms);
  return 0;
}
