/*
 * loadgen: the one load generator of the network benchmarks (bench/net/).
 * Every server is driven by this same client, so only the server differs.
 * Linux only: pthreads, epoll, non-blocking sockets. Loopback only (the
 * address must be an IPv4 literal).
 *
 * Modes (each bounded in time by --duration and in count by --max-ops):
 *
 *   bulk      one or more connections stream a byte pattern and read it back,
 *             checking every byte; at most --window bytes in flight each.
 *   pingpong  each connection sends a --size byte message and waits for its
 *             echo before sending the next (checked byte for byte); latency
 *             of every round trip is recorded. With --prefix N the reply is
 *             N bytes of anything, then the echo (a server that stamps what
 *             it echoes, as the time tool does).
 *   framed    u32 big-endian length-prefixed frames of --size bytes,
 *             pipelined: at most --window frames in flight per connection,
 *             sent --batch frames per write; every frame's header, sequence
 *             number and payload is checked.
 *   udp       --conns connected UDP sockets, one --size byte datagram in
 *             flight each; a datagram not answered in 200 ms counts as lost
 *             and is sent again.
 *   idle      opens --conns connections (at most 64 handshakes at a time),
 *             proves each live with a 1-byte echo (sent as a u32
 *             length-prefixed frame with --idle-framed 1), prints the
 *             result (with --server-pid, the server's VmRSS before the
 *             first connection and its VmHWM and VmRSS with all of them
 *             open, from /proc/PID/status), then holds them open until a
 *             line (or EOF) on stdin or --hold seconds, and closes them.
 *   sink      for servers that only read (a netcat listener printing what it
 *             gets): each connection writes a byte pattern as fast as the
 *             server takes it; MB/s of bytes written while measuring.
 *   cpu       no load: prints how many cores the machine used (user, nice
 *             and system time of all processes, and steal) over --duration.
 *   handshake keeps --conns connections in flight, each: connect, (with
 *             --tls) a full TLS handshake, one --size byte message and its
 *             echo (checked), (close_notify and) close; then the next one.
 *             Counts the completed ones (ops) and their time from connect
 *             to echo: new connections per second.
 *
 * PROXY protocol (--proxy v1|v2; handshake mode): each connection first
 * sends a PROXY header naming its own addresses, as a load balancer would,
 * before the TLS handshake or the message.
 *
 * TLS (--tls CAFILE; bulk, pingpong and handshake): OpenSSL client, built in
 * with -DWITH_TLS. The server's certificate is verified against CAFILE and
 * its name against --host (the IP address), as a verifying client does;
 * there is no insecure mode. No session is ever resumed: every handshake is
 * a full one. In bulk and pingpong the connections do their handshakes
 * before the measuring starts. The output adds "tls": the protocol, cipher
 * and key-exchange group of the first connection.
 *
 * In pingpong and udp modes each worker thread busy-polls epoll (--spin 1),
 * so the client answers the server at once instead of waiting to be woken:
 * the server, not the client's wake-up latency, sets the pace. Bulk and
 * framed modes block in epoll_wait (--spin 0), so that each read collects
 * what has arrived in one system call. --spin 0 is also for runs that share
 * one CPU with the server. "loadgen_busy" in the output is the share of the
 * measured time the busiest worker thread spent working rather than
 * waiting for the server: well below 1, the load generator was not the
 * bottleneck.
 *
 * With --server-pid, the output also says how much CPU the server, the load
 * generator and everything else used while measuring (cores, from /proc), so
 * a run disturbed by other work on the machine can be recognised.
 *
 * Output: one JSON object on stdout. Errors: a line on stderr, exit 1.
 *
 * Build: cc -O2 -pthread -o loadgen loadgen.c, or with TLS
 * cc -O2 -pthread -DWITH_TLS -o loadgen loadgen.c -lssl -lcrypto
 * (bench/net/run.ts does it)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef WITH_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

enum mode { BULK, PINGPONG, FRAMED, UDP, IDLE, CPU, HANDSHAKE, SINK };

#define FRAME_HEADER 4
#define MAX_MSG 4096
#define READ_BUF (256 * 1024)
#define BULK_CHUNK (256 * 1024)
#define PATTERN_PERIOD 251
#define UDP_RESEND_NS 200000000ull
#define MAX_SAMPLES (4 * 1024 * 1024)
#define IDLE_PENDING 64

static struct {
  const char *host;
  int port;
  enum mode mode;
  int conns;
  int threads;
  double duration;
  double warmup;
  long long max_ops;
  int size;
  int window;
  int batch;
  double hold;
  double timeout;
  int idle_framed;
  int server_pid;
  int spin;
  const char *tls_ca; /* --tls CAFILE: speak TLS, verify against it */
  int proxy;          /* --proxy v1|v2: send a PROXY header first (1 or 2) */
  int prefix;         /* --prefix N: pingpong replies start with N bytes */
} opt = {
    .host = "127.0.0.1",
    .port = 0,
    .mode = PINGPONG,
    .conns = 1,
    .threads = 1,
    .duration = 2.0,
    .warmup = 0.3,
    .max_ops = 100000000LL,
    .size = 64,
    .window = 0,
    .batch = 32,
    .hold = 30.0,
    .timeout = 60.0,
    .spin = -1,
};

static struct sockaddr_in server_addr;
static uint64_t start_ns; /* measuring starts (after the warm-up) */
static uint64_t end_ns;   /* measuring and sending stop */
static uint8_t *pattern;  /* pattern[i] = i % PATTERN_PERIOD */

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loadgen: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    die("fcntl: %s", strerror(errno));
  }
}

static void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* ---------------------------------------------------------------------- */
/* Per-connection and per-thread state */

struct conn {
  int fd;
  int done; /* drained (pingpong/udp/framed/bulk) */
  /* pingpong and udp */
  uint64_t seq;
  uint64_t sent_at;
  int rx;
  uint8_t msg[MAX_MSG];
  uint8_t got[MAX_MSG];
  /* bulk */
  uint64_t sent;
  uint64_t received;
  int want_out;
  /* framed */
  uint64_t frames_out;
  uint64_t frames_in;
  uint8_t *txbuf;
  int tx_len;
  int tx_off;
  int cur_len;
  uint8_t cur[FRAME_HEADER + MAX_MSG];
  /* TLS */
#ifdef WITH_TLS
  SSL *ssl;
#endif
  int tls_more;     /* a read filled the buffer: OpenSSL may hold more */
  int tls_end;      /* 1 after close_notify, 2 after a TLS failure */
  int hs_state;     /* handshake mode: 1 connecting, 2 TLS (or the message), 3 echo */
  uint32_t interest; /* handshake mode: the epoll events asked for */
};

struct worker {
  pthread_t thread;
  int index;
  struct conn **conns;
  int n;
  int ep;
  uint64_t ops;
  uint64_t bytes;
  uint64_t lost;
  uint64_t waiting; /* ns spent waiting for events while measuring */
  uint32_t *samples;
  size_t nsamples;
  uint8_t *buf;
  const char *error;
  char detail[256]; /* what TLS said about the error, if anything */
};

/* The detail of this thread's last TLS failure ("" for none). */
static __thread char tls_error[256];

static uint8_t frame_template[FRAME_HEADER + MAX_MSG];

static void fail(struct worker *w, const char *what) {
  if (w->error != NULL) return;
  w->error = what;
  snprintf(w->detail, sizeof w->detail, "%s", tls_error);
}

static int measuring(uint64_t t) { return t >= start_ns && t < end_ns; }

static void record(struct worker *w, uint64_t t, uint64_t latency) {
  if (!measuring(t)) return;
  w->ops++;
  if (latency != UINT64_MAX && w->nsamples < MAX_SAMPLES) {
    w->samples[w->nsamples++] =
        latency > UINT32_MAX ? UINT32_MAX : (uint32_t)latency;
  }
}

static void ep_mod(struct worker *w, struct conn *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
    die("epoll_ctl: %s", strerror(errno));
  }
}

/* ---------------------------------------------------------------------- */
/* I/O: the socket itself, or OpenSSL over it with --tls */

#ifdef WITH_TLS
static SSL_CTX *tls_ctx;
static char tls_info[128]; /* protocol, cipher and group of one connection */
static int tls_info_taken;

/* Keeps what went wrong (OpenSSL's error queue, or errno) for the report. */
static void tls_note(struct conn *c, const char *what) {
  unsigned long e = ERR_get_error();
  long verify = c->ssl != NULL ? SSL_get_verify_result(c->ssl) : X509_V_OK;
  if (verify != X509_V_OK) {
    snprintf(tls_error, sizeof tls_error, "%s: certificate verify failed: %s",
             what, X509_verify_cert_error_string(verify));
  } else if (e != 0) {
    char text[200];
    ERR_error_string_n(e, text, sizeof text);
    snprintf(tls_error, sizeof tls_error, "%s: %s", what, text);
  } else {
    snprintf(tls_error, sizeof tls_error, "%s: %s", what,
             errno != 0 ? strerror(errno) : "unexpected EOF");
  }
  ERR_clear_error();
}

/* A new client-side SSL on c->fd, verifying the server's certificate against
 * --tls and its IP address against --host. */
static int tls_attach(struct conn *c) {
  c->ssl = SSL_new(tls_ctx);
  c->tls_more = c->tls_end = 0;
  if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), opt.host) != 1) {
    return -1;
  }
  SSL_set_connect_state(c->ssl);
  return 0;
}

/* Says (once) what the first connection negotiated. */
static void tls_describe(SSL *ssl) {
  if (__atomic_exchange_n(&tls_info_taken, 1, __ATOMIC_SEQ_CST)) return;
  const char *group = "?";
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  int nid = SSL_get_negotiated_group(ssl);
  if (nid != 0 && OBJ_nid2sn(nid) != NULL) group = OBJ_nid2sn(nid);
#endif
  snprintf(tls_info, sizeof tls_info, "%s %s %s", SSL_get_version(ssl),
           SSL_get_cipher_name(ssl), group);
}

/* The end of a TLS connection as recv would say it. */
static ssize_t tls_ended(struct conn *c) {
  if (c->tls_end == 1) return 0;
  errno = ECONNRESET;
  return -1;
}
#endif

/* recv(), or with TLS: decrypted bytes, as many as OpenSSL has up to `len`
 * (it reads ahead); -1 with EAGAIN when it needs the socket. */
static ssize_t io_recv(struct conn *c, uint8_t *buf, size_t len) {
#ifdef WITH_TLS
  if (c->ssl != NULL) {
    c->tls_more = 0;
    if (c->tls_end) return tls_ended(c);
    size_t got = 0;
    while (got < len) {
      size_t want = len - got > 1 << 30 ? 1 << 30 : len - got;
      int n = SSL_read(c->ssl, buf + got, (int)want);
      if (n > 0) {
        got += (size_t)n;
        continue;
      }
      int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (got > 0) return (ssize_t)got;
        errno = EAGAIN;
        return -1;
      }
      if (e == SSL_ERROR_ZERO_RETURN) {
        c->tls_end = 1;
      } else {
        tls_note(c, "TLS read");
        c->tls_end = 2;
      }
      return got > 0 ? (ssize_t)got : tls_ended(c);
    }
    c->tls_more = 1;
    return (ssize_t)got;
  }
#endif
  return recv(c->fd, buf, len, 0);
}

/* send(), or with TLS: SSL_write (partial writes on); -1 with EAGAIN when it
 * must be called again with the same bytes. */
static ssize_t io_send(struct conn *c, const uint8_t *buf, size_t len) {
#ifdef WITH_TLS
  if (c->ssl != NULL) {
    int n = SSL_write(c->ssl, buf, len > 1 << 30 ? 1 << 30 : (int)len);
    if (n > 0) return n;
    int e = SSL_get_error(c->ssl, n);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
      errno = EAGAIN;
      return -1;
    }
    tls_note(c, "TLS write");
    errno = EPIPE;
    return -1;
  }
#endif
  return send(c->fd, buf, len, MSG_NOSIGNAL);
}

/* ---------------------------------------------------------------------- */
/* pingpong and udp */

static int send_message(struct conn *c, uint64_t t) {
  c->seq++;
  put_u64(c->msg, c->seq);
  c->sent_at = t;
  c->rx = 0;
  ssize_t n = opt.mode == UDP
                  ? send(c->fd, c->msg, (size_t)opt.size, MSG_NOSIGNAL)
                  : io_send(c, c->msg, (size_t)opt.size);
  return n == opt.size ? 0 : -1;
}

static void pingpong_event(struct worker *w, struct conn *c, int sending) {
  for (;;) {
    ssize_t n =
        io_recv(c, c->got + c->rx, (size_t)(opt.prefix + opt.size - c->rx));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      fail(w, "a read failed (connection reset?)");
      c->done = 1;
      return;
    }
    if (n == 0) {
      fail(w, "the server closed a connection in the middle of a round trip");
      c->done = 1;
      return;
    }
    c->rx += (int)n;
    if (c->rx < opt.prefix + opt.size) continue;
    if (memcmp(c->got + opt.prefix, c->msg, (size_t)opt.size) != 0) {
      fail(w, "an echoed message differs from the one sent");
      c->done = 1;
      return;
    }
    uint64_t t = now_ns();
    if (c->sent_at >= start_ns) record(w, t, t - c->sent_at);
    if (!sending || t >= end_ns || w->ops >= (uint64_t)opt.max_ops) {
      c->done = 1;
      return;
    }
    if (send_message(c, t) < 0) {
      fail(w, "a 64-byte write did not go through at once");
      c->done = 1;
    }
    return;
  }
}

static void udp_event(struct worker *w, struct conn *c, int sending) {
  for (;;) {
    ssize_t n = recv(c->fd, c->got, MAX_MSG, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      if (errno == ECONNREFUSED) {
        fail(w, "the UDP server is not answering (connection refused)");
        c->done = 1;
      }
      return;
    }
    if (n != opt.size || memcmp(c->got, c->msg, (size_t)opt.size) != 0) {
      continue; /* a late answer to a datagram we already resent */
    }
    if (c->done) continue;
    uint64_t t = now_ns();
    if (c->sent_at >= start_ns) record(w, t, t - c->sent_at);
    if (!sending || t >= end_ns || w->ops >= (uint64_t)opt.max_ops) {
      c->done = 1;
      continue;
    }
    send_message(c, t); /* a lost send is found by the resend timer */
  }
}

/* ---------------------------------------------------------------------- */
/* bulk */

/* sink: write as much as the server takes; nothing comes back. */
static void sink_event(struct worker *w, struct conn *c, int sending) {
  if (!sending || now_ns() >= end_ns) {
    c->done = 1;
    return;
  }
  for (;;) {
    ssize_t n = send(c->fd, pattern + c->sent % PATTERN_PERIOD, BULK_CHUNK,
                     MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += (uint64_t)n;
      if (measuring(now_ns())) w->bytes += (uint64_t)n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    fail(w, "a write failed (did the server close?)");
    c->done = 1;
    return;
  }
}

static void bulk_event(struct worker *w, struct conn *c, uint32_t events,
                       int sending) {
  /* With TLS, read again while a read filled the buffer: what OpenSSL read
   * ahead would not wake epoll. The window bounds the rounds. */
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) do {
    ssize_t n = io_recv(c, w->buf, READ_BUF);
    if (n > 0) {
      if (c->received + (uint64_t)n > c->sent ||
          memcmp(w->buf, pattern + c->received % PATTERN_PERIOD, (size_t)n) !=
              0) {
        fail(w, "echoed bytes differ from the pattern sent");
        c->done = 1;
        return;
      }
      c->received += (uint64_t)n;
      uint64_t t = now_ns();
      if (measuring(t)) w->bytes += (uint64_t)n;
    } else if (n == 0) {
      fail(w, "the server closed the connection during the bulk transfer");
      c->done = 1;
      return;
    } else if (errno != EAGAIN && errno != EINTR) {
      fail(w, "a read failed (connection reset?)");
      c->done = 1;
      return;
    }
  } while (c->tls_more);
  uint64_t t = now_ns();
  int can_send = sending && t < end_ns;
  if (can_send && c->sent - c->received < (uint64_t)opt.window) {
    /* With TLS a write that could not finish is repeated with the same bytes
     * (and as many or more): `sent` has not moved and `room` only grows. */
    size_t room = (size_t)(opt.window - (c->sent - c->received));
    if (room > BULK_CHUNK) room = BULK_CHUNK;
    ssize_t n = io_send(c, pattern + c->sent % PATTERN_PERIOD, room);
    if (n > 0) {
      c->sent += (uint64_t)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      fail(w, "a write failed (connection reset?)");
      c->done = 1;
      return;
    }
  }
  int want_out = can_send && c->sent - c->received < (uint64_t)opt.window;
  if (want_out != c->want_out) {
    c->want_out = want_out;
    ep_mod(w, c, EPOLLIN | (want_out ? EPOLLOUT : 0));
  }
  if (!can_send && c->received == c->sent) c->done = 1;
}

/* ---------------------------------------------------------------------- */
/* framed */

static void framed_check(struct worker *w, struct conn *c, const uint8_t *f,
                         uint64_t t) {
  int size = opt.size;
  if (f[0] != (uint8_t)(size >> 24) || f[1] != (uint8_t)(size >> 16) ||
      f[2] != (uint8_t)(size >> 8) || f[3] != (uint8_t)size) {
    fail(w, "a frame came back with the wrong length header");
    c->done = 1;
    return;
  }
  if (get_u64(f + FRAME_HEADER) != c->frames_in ||
      memcmp(f + FRAME_HEADER + 8, frame_template + FRAME_HEADER + 8,
             (size_t)size - 8) != 0) {
    fail(w, "a frame came back out of order or changed");
    c->done = 1;
    return;
  }
  c->frames_in++;
  record(w, t, UINT64_MAX);
}

static void framed_event(struct worker *w, struct conn *c, uint32_t events,
                         int sending) {
  const int fsize = FRAME_HEADER + opt.size;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
    ssize_t n = recv(c->fd, w->buf, READ_BUF, 0);
    if (n > 0) {
      if (c->frames_in * (uint64_t)fsize + (uint64_t)c->cur_len + (uint64_t)n >
          c->frames_out * (uint64_t)fsize) {
        fail(w, "the server sent more bytes than it was sent");
        c->done = 1;
        return;
      }
      const uint8_t *p = w->buf;
      size_t left = (size_t)n;
      uint64_t t = now_ns();
      while (left > 0 && !c->done) {
        if (c->cur_len == 0 && left >= (size_t)fsize) {
          framed_check(w, c, p, t);
          p += fsize;
          left -= (size_t)fsize;
          continue;
        }
        size_t take = (size_t)(fsize - c->cur_len);
        if (take > left) take = left;
        memcpy(c->cur + c->cur_len, p, take);
        c->cur_len += (int)take;
        p += take;
        left -= take;
        if (c->cur_len == fsize) {
          framed_check(w, c, c->cur, t);
          c->cur_len = 0;
        }
      }
      if (c->done) return;
    } else if (n == 0) {
      fail(w, "the server closed the connection during the framed test");
      c->done = 1;
      return;
    } else if (errno != EAGAIN && errno != EINTR) {
      fail(w, "a read failed (connection reset?)");
      c->done = 1;
      return;
    }
  }
  uint64_t t = now_ns();
  int can_send = sending && t < end_ns && w->ops < (uint64_t)opt.max_ops;
  for (;;) {
    if (c->tx_off == c->tx_len) {
      if (!can_send ||
          c->frames_out - c->frames_in + (uint64_t)opt.batch >
              (uint64_t)opt.window) {
        break;
      }
      for (int i = 0; i < opt.batch; i++) {
        uint8_t *f = c->txbuf + (size_t)i * (size_t)fsize;
        memcpy(f, frame_template, (size_t)fsize);
        put_u64(f + FRAME_HEADER, c->frames_out + (uint64_t)i);
      }
      c->frames_out += (uint64_t)opt.batch;
      c->tx_off = 0;
      c->tx_len = opt.batch * fsize;
    }
    ssize_t n = send(c->fd, c->txbuf + c->tx_off,
                     (size_t)(c->tx_len - c->tx_off), MSG_NOSIGNAL);
    if (n > 0) {
      c->tx_off += (int)n;
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      fail(w, "a write failed (connection reset?)");
      c->done = 1;
      return;
    }
    break;
  }
  int want_out = c->tx_off < c->tx_len;
  if (want_out != c->want_out) {
    c->want_out = want_out;
    ep_mod(w, c, EPOLLIN | (want_out ? EPOLLOUT : 0));
  }
  if (!can_send && c->tx_off == c->tx_len && c->frames_in == c->frames_out) {
    c->done = 1;
  }
}

/* ---------------------------------------------------------------------- */
/* PROXY protocol: the header a load balancer sends first */

/* Sends a v1 or v2 header naming this connection's own addresses, in one
 * blocking-free send (a fresh socket's buffer always takes it). */
static int send_proxy_header(struct conn *c) {
  struct sockaddr_in local;
  socklen_t len = sizeof local;
  if (getsockname(c->fd, (struct sockaddr *)&local, &len) < 0) return -1;
  uint8_t buf[128];
  int n;
  if (opt.proxy == 1) {
    char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &local.sin_addr, src, sizeof src);
    inet_ntop(AF_INET, &server_addr.sin_addr, dst, sizeof dst);
    n = snprintf((char *)buf, sizeof buf, "PROXY TCP4 %s %s %u %u\r\n", src,
                 dst, ntohs(local.sin_port), ntohs(server_addr.sin_port));
  } else {
    static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    memcpy(buf, sig, 12);
    buf[12] = 0x21; /* version 2, PROXY */
    buf[13] = 0x11; /* TCP over IPv4 */
    buf[14] = 0;
    buf[15] = 12;
    memcpy(buf + 16, &local.sin_addr, 4);
    memcpy(buf + 20, &server_addr.sin_addr, 4);
    memcpy(buf + 24, &local.sin_port, 2);
    memcpy(buf + 26, &server_addr.sin_port, 2);
    n = 28;
  }
  return send(c->fd, buf, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* ---------------------------------------------------------------------- */
/* handshake */

static void hs_want(struct worker *w, struct conn *c, uint32_t events) {
  if (c->interest == events) return;
  c->interest = events;
  ep_mod(w, c, events);
}

/* close_notify (not waiting for the server's), then close. */
static void hs_close(struct conn *c) {
#ifdef WITH_TLS
  if (c->ssl != NULL) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
    c->ssl = NULL;
  }
#endif
  if (c->fd >= 0) close(c->fd); /* leaves the epoll set too */
  c->fd = -1;
  c->hs_state = 0;
}

static void hs_failed(struct worker *w, struct conn *c, const char *what) {
  fail(w, what);
  hs_close(c);
  c->done = 1;
}

/* Starts the next connection of slot `c`: a non-blocking connect. */
static void hs_start(struct worker *w, struct conn *c, uint64_t t) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) {
    snprintf(tls_error, sizeof tls_error, "socket: %s", strerror(errno));
    hs_failed(w, c, "cannot open a socket");
    return;
  }
  set_nodelay(c->fd);
  if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr) <
          0 &&
      errno != EINPROGRESS) {
    snprintf(tls_error, sizeof tls_error, "connect: %s", strerror(errno));
    hs_failed(w, c, "cannot connect to the server");
    return;
  }
#ifdef WITH_TLS
  if (opt.tls_ca != NULL && tls_attach(c) < 0) {
    tls_note(c, "SSL_new");
    hs_failed(w, c, "cannot set up a TLS connection");
    return;
  }
#endif
  c->hs_state = 1;
  c->sent_at = t;
  c->rx = 0;
  c->interest = EPOLLOUT;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    die("epoll_ctl: %s", strerror(errno));
  }
}

static void hs_event(struct worker *w, struct conn *c, int sending) {
  if (c->hs_state == 1) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      snprintf(tls_error, sizeof tls_error, "connect: %s", strerror(err));
      hs_failed(w, c, "cannot connect to the server");
      return;
    }
    if (opt.proxy != 0 && send_proxy_header(c) < 0) {
      hs_failed(w, c, "the PROXY header did not go through");
      return;
    }
    c->hs_state = 2;
  }
  if (c->hs_state == 2) {
#ifdef WITH_TLS
    if (c->ssl != NULL) {
      int r = SSL_do_handshake(c->ssl);
      if (r != 1) {
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
          hs_want(w, c, EPOLLIN);
        } else if (e == SSL_ERROR_WANT_WRITE) {
          hs_want(w, c, EPOLLOUT);
        } else {
          tls_note(c, "TLS handshake");
          hs_failed(w, c, "the TLS handshake failed");
        }
        return;
      }
      if (SSL_session_reused(c->ssl)) {
        hs_failed(w, c, "a TLS session was resumed: every handshake must be full");
        return;
      }
      tls_describe(c->ssl);
    }
#endif
    c->seq++;
    put_u64(c->msg, c->seq);
    if (io_send(c, c->msg, (size_t)opt.size) != opt.size) {
      hs_failed(w, c, "the message after the handshake did not go through");
      return;
    }
    c->hs_state = 3;
    hs_want(w, c, EPOLLIN);
    return;
  }
  for (;;) {
    ssize_t n = io_recv(c, c->got + c->rx, (size_t)(opt.size - c->rx));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      hs_failed(w, c, "a read failed (connection reset?)");
      return;
    }
    if (n == 0) {
      hs_failed(w, c, "the server closed a connection before its echo");
      return;
    }
    c->rx += (int)n;
    if (c->rx < opt.size) continue;
    if (memcmp(c->got, c->msg, (size_t)opt.size) != 0) {
      hs_failed(w, c, "an echoed message differs from the one sent");
      return;
    }
    uint64_t t = now_ns();
    record(w, t, c->sent_at >= start_ns ? t - c->sent_at : UINT64_MAX);
    hs_close(c);
    if (!sending || t >= end_ns || w->ops >= (uint64_t)opt.max_ops) {
      c->done = 1;
      return;
    }
    hs_start(w, c, t);
    return;
  }
}

/* ---------------------------------------------------------------------- */
/* The worker loop */

static void dispatch(struct worker *w, struct conn *c, uint32_t events,
                     int sending) {
  switch (opt.mode) {
    case PINGPONG:
      pingpong_event(w, c, sending);
      break;
    case UDP:
      udp_event(w, c, sending);
      break;
    case BULK:
      bulk_event(w, c, events, sending);
      break;
    case FRAMED:
      framed_event(w, c, events, sending);
      break;
    case HANDSHAKE:
      hs_event(w, c, sending);
      break;
    case SINK:
      sink_event(w, c, sending);
      break;
    case IDLE:
    case CPU:
      break;
  }
}

static int all_done(struct worker *w) {
  for (int i = 0; i < w->n; i++) {
    if (!w->conns[i]->done) return 0;
  }
  return 1;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct epoll_event evs[256];
  uint64_t t = now_ns();
  for (int i = 0; i < w->n; i++) {
    struct conn *c = w->conns[i];
    if (opt.mode == HANDSHAKE) {
      hs_start(w, c, t);
      continue;
    }
    uint32_t events = opt.mode == SINK ? EPOLLOUT : EPOLLIN;
    if (opt.mode == BULK || opt.mode == FRAMED) {
      events |= EPOLLOUT;
      c->want_out = 1;
    }
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
      die("epoll_ctl: %s", strerror(errno));
    }
    if (opt.mode == PINGPONG || opt.mode == UDP) {
      if (send_message(c, t) < 0 && opt.mode == PINGPONG) {
        fail(w, "the first write did not go through");
      }
    }
  }
  /* Load until end_ns (or max_ops), then drain what is in flight: at most
   * two more seconds, so every run ends. */
  uint64_t drain_deadline = end_ns + 2000000000ull;
  int sending = 1;
  for (;;) {
    t = now_ns();
    if (sending && (t >= end_ns || w->ops >= (uint64_t)opt.max_ops)) {
      sending = 0;
      if (opt.mode == BULK || opt.mode == FRAMED || opt.mode == SINK) {
        for (int i = 0; i < w->n; i++) dispatch(w, w->conns[i], 0, 0);
      }
    }
    if (!sending && all_done(w)) break;
    if (t >= drain_deadline) {
      fail(w, "replies still missing 2 s after the run ended");
      break;
    }
    if (w->error != NULL) break;
    int n = epoll_wait(w->ep, evs, 256, opt.spin ? 0 : 5);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    if (n <= 0 || !opt.spin) { /* time spent waiting for the server */
      uint64_t after = now_ns();
      if (t >= start_ns && after <= end_ns) w->waiting += after - t;
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      dispatch(w, c, evs[i].events, sending);
    }
    if (opt.mode == UDP) {
      t = now_ns();
      for (int i = 0; i < w->n; i++) {
        struct conn *c = w->conns[i];
        if (!c->done && t - c->sent_at > UDP_RESEND_NS) {
          if (measuring(t)) w->lost++;
          if (sending) {
            send_message(c, t);
          } else {
            c->done = 1;
          }
        }
      }
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* CPU accounting: who used the CPUs while we measured */

struct cpu_sample {
  unsigned long long busy;  /* user + nice + system of all CPUs */
  unsigned long long steal; /* taken by the hypervisor */
  unsigned long long server;
  unsigned long long self;
};

/* utime + stime of a process (all its threads), from /proc/PID/stat. */
static unsigned long long process_ticks(const char *file) {
  char text[1024];
  FILE *f = fopen(file, "r");
  if (f == NULL) return 0;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  char *p = strrchr(text, ')'); /* the name may hold spaces */
  if (p == NULL) return 0;
  unsigned long long utime = 0, stime = 0;
  /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt
   * majflt cmajflt utime(14) stime(15) */
  sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
         &utime, &stime);
  return utime + stime;
}

static void sample_cpu(struct cpu_sample *s) {
  unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0,
                     irq = 0, softirq = 0, steal = 0;
  FILE *f = fopen("/proc/stat", "r");
  if (f != NULL) {
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
               &sys, &idle, &iowait, &irq, &softirq, &steal) != 8) {
      user = nice = sys = steal = 0;
    }
    fclose(f);
  }
  s->busy = user + nice + sys;
  s->steal = steal;
  char file[64];
  snprintf(file, sizeof file, "/proc/%d/stat", opt.server_pid);
  s->server = opt.server_pid > 0 ? process_ticks(file) : 0;
  s->self = process_ticks("/proc/self/stat");
}

static void sleep_until(uint64_t t) {
  struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull),
                        .tv_nsec = (long)(t % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

/* How busy the machine is: cores used by everything over --duration. */
static void run_cpu(void) {
  struct cpu_sample before, after;
  uint64_t t0 = now_ns();
  sample_cpu(&before);
  sleep_until(t0 + (uint64_t)(opt.duration * 1e9));
  sample_cpu(&after);
  double ticks = (double)sysconf(_SC_CLK_TCK) * opt.duration;
  printf("{\"mode\":\"cpu\",\"busy\":%.2f,\"steal\":%.2f}\n",
         (double)(after.busy - before.busy) / ticks,
         (double)(after.steal - before.steal) / ticks);
  exit(0);
}

/* ---------------------------------------------------------------------- */
/* idle */

struct idle_conn {
  int fd;
  uint8_t state; /* 0 connecting, 1 waiting for the echo, 2 live */
  uint8_t rx;    /* bytes of the echo received */
};

/* The 1-byte probe, bare or as a u32 length-prefixed frame (--idle-framed). */
static const uint8_t idle_framed_probe[] = {0, 0, 0, 1, 'x'};

/* VmHWM and VmRSS (KiB) of process `pid`, from /proc/PID/status. */
static void read_memory(int pid, long *hwm, long *rss) {
  char file[64], line[256];
  *hwm = *rss = -1;
  snprintf(file, sizeof file, "/proc/%d/status", pid);
  FILE *f = fopen(file, "r");
  if (f == NULL) return;
  while (fgets(line, sizeof line, f) != NULL) {
    if (!strncmp(line, "VmHWM:", 6)) *hwm = atol(line + 6);
    if (!strncmp(line, "VmRSS:", 6)) *rss = atol(line + 6);
  }
  fclose(f);
}

static void run_idle(void) {
  long hwm_before = -1, rss_before = -1, hwm = -1, rss = -1;
  if (opt.server_pid > 0) read_memory(opt.server_pid, &hwm_before, &rss_before);
  struct idle_conn *cs = calloc((size_t)opt.conns, sizeof *cs);
  if (cs == NULL) die("out of memory");
  int ep = epoll_create1(0);
  uint64_t t0 = now_ns();
  uint64_t deadline = t0 + (uint64_t)(opt.timeout * 1e9);
  int opened = 0, pending = 0, live = 0, failed = 0;
  const char *why = NULL;
  const uint8_t *probe = opt.idle_framed ? idle_framed_probe
                                         : idle_framed_probe + 4;
  const size_t probe_len = opt.idle_framed ? 5 : 1;
  struct epoll_event evs[256];
  while (live + failed < opt.conns) {
    while (pending < IDLE_PENDING && opened < opt.conns) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0) die("socket: %s", strerror(errno));
      int r = connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr);
      if (r < 0 && errno != EINPROGRESS) {
        why = strerror(errno);
        close(fd);
        failed++;
        opened++;
        continue;
      }
      cs[opened].fd = fd;
      cs[opened].state = 0;
      struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)opened};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      opened++;
      pending++;
    }
    if (now_ns() >= deadline) break;
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      struct idle_conn *c = &cs[evs[i].data.u32];
      if (c->state == 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 ||
            send(c->fd, probe, probe_len, MSG_NOSIGNAL) != (ssize_t)probe_len) {
          why = strerror(err != 0 ? err : errno);
          epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd);
          c->fd = -1;
          failed++;
          pending--;
          continue;
        }
        c->state = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = evs[i].data.u32};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
      } else if (c->state == 1) {
        uint8_t got[8];
        ssize_t r = recv(c->fd, got, probe_len - c->rx, 0);
        if (r < 0 && errno == EAGAIN) continue;
        if (r > 0 && memcmp(got, probe + c->rx, (size_t)r) == 0 &&
            c->rx + (size_t)r < probe_len) {
          c->rx += (uint8_t)r;
          continue;
        }
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        pending--;
        if (r > 0 && memcmp(got, probe + c->rx, (size_t)r) == 0) {
          c->state = 2;
          live++;
        } else {
          why = r == 0 ? "closed by the server" : "bad echo or reset";
          close(c->fd);
          c->fd = -1;
          failed++;
        }
      }
    }
  }
  double seconds = (double)(now_ns() - t0) / 1e9;
  if (opt.server_pid > 0) {
    usleep(300000); /* let the server settle on its idle connections */
    read_memory(opt.server_pid, &hwm, &rss);
  }
  printf(
      "{\"mode\":\"idle\",\"conns\":%d,\"live\":%d,\"failed\":%d,"
      "\"seconds\":%.3f,\"rss_before_kib\":%ld,\"hwm_kib\":%ld,"
      "\"rss_kib\":%ld,\"error\":",
      opt.conns, live, failed, seconds, rss_before, hwm, rss);
  if (live == opt.conns) {
    printf("null}\n");
  } else {
    printf("\"%d of %d connections not proven live (%s)\"}\n",
           opt.conns - live, opt.conns, why != NULL ? why : "timed out");
  }
  fflush(stdout);
  /* Hold them open until told (a line or EOF on stdin) or --hold passes. */
  struct pollfd pfd = {.fd = 0, .events = POLLIN};
  poll(&pfd, 1, (int)(opt.hold * 1000));
  for (int i = 0; i < opened; i++) {
    if (cs[i].fd >= 0) close(cs[i].fd);
  }
  free(cs);
  exit(live == opt.conns ? 0 : 1);
}

/* ---------------------------------------------------------------------- */

/* `text` as a JSON string. */
static void print_json_string(const char *text) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void usage(void) {
  fputs(
      "Usage: loadgen --port PORT --mode bulk|pingpong|framed|udp|idle|cpu\n"
      "                                  |handshake|sink\n"
      "  [--host 127.0.0.1] [--conns N] [--threads N] [--duration S]\n"
      "  [--warmup S] [--max-ops N] [--size BYTES] [--window N] [--batch N]\n"
      "  [--hold S] [--timeout S] [--idle-framed 0|1] [--server-pid PID]\n"
      "  [--spin 1|0] [--tls CAFILE] [--proxy v1|v2] [--prefix N]\n",
      stderr);
  exit(2);
}

static void raise_fd_limit(int needed) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit: %s", strerror(errno));
  if (rl.rlim_cur < (rlim_t)needed) {
    if (rl.rlim_max < (rlim_t)needed) {
      die("%d connections need %d file descriptors, but the hard limit "
          "(ulimit -Hn) is %llu: raise it (as root: ulimit -n %d, or "
          "LimitNOFILE= / limits.conf) and run again",
          opt.conns, needed, (unsigned long long)rl.rlim_max, needed);
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
      die("setrlimit: %s", strerror(errno));
    }
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) usage();
    if (!strcmp(a, "--host")) opt.host = v;
    else if (!strcmp(a, "--port")) opt.port = atoi(v);
    else if (!strcmp(a, "--conns")) opt.conns = atoi(v);
    else if (!strcmp(a, "--threads")) opt.threads = atoi(v);
    else if (!strcmp(a, "--duration")) opt.duration = atof(v);
    else if (!strcmp(a, "--warmup")) opt.warmup = atof(v);
    else if (!strcmp(a, "--max-ops")) opt.max_ops = atoll(v);
    else if (!strcmp(a, "--size")) opt.size = atoi(v);
    else if (!strcmp(a, "--prefix")) opt.prefix = atoi(v);
    else if (!strcmp(a, "--window")) opt.window = atoi(v);
    else if (!strcmp(a, "--batch")) opt.batch = atoi(v);
    else if (!strcmp(a, "--hold")) opt.hold = atof(v);
    else if (!strcmp(a, "--timeout")) opt.timeout = atof(v);
    else if (!strcmp(a, "--idle-framed")) opt.idle_framed = atoi(v);
    else if (!strcmp(a, "--server-pid")) opt.server_pid = atoi(v);
    else if (!strcmp(a, "--spin")) opt.spin = atoi(v);
    else if (!strcmp(a, "--tls")) opt.tls_ca = v;
    else if (!strcmp(a, "--proxy")) {
      if (!strcmp(v, "v1")) opt.proxy = 1;
      else if (!strcmp(v, "v2")) opt.proxy = 2;
      else usage();
    }
    else if (!strcmp(a, "--mode")) {
      if (!strcmp(v, "bulk")) opt.mode = BULK;
      else if (!strcmp(v, "pingpong")) opt.mode = PINGPONG;
      else if (!strcmp(v, "framed")) opt.mode = FRAMED;
      else if (!strcmp(v, "udp")) opt.mode = UDP;
      else if (!strcmp(v, "idle")) opt.mode = IDLE;
      else if (!strcmp(v, "cpu")) opt.mode = CPU;
      else if (!strcmp(v, "handshake")) opt.mode = HANDSHAKE;
      else if (!strcmp(v, "sink")) opt.mode = SINK;
      else usage();
    } else {
      usage();
    }
    i++;
  }
  if (opt.mode == CPU) run_cpu();
  if (opt.port <= 0 || opt.port > 65535 || opt.conns < 1 || opt.threads < 1 ||
      opt.size < 16 || opt.size > MAX_MSG || opt.duration <= 0 ||
      opt.prefix < 0 || opt.prefix + opt.size > MAX_MSG ||
      opt.batch < 1) {
    usage();
  }
  if (opt.threads > opt.conns) opt.threads = opt.conns;
  if (opt.spin < 0) opt.spin = opt.mode == PINGPONG || opt.mode == UDP;
  if (opt.window <= 0) {
    opt.window = opt.mode == BULK ? 1 << 20 : 512;
  }
  if (opt.mode == FRAMED && opt.window < opt.batch) opt.window = opt.batch;
  memset(&server_addr, 0, sizeof server_addr);
  server_addr.sin_family = AF_INET;
  server_addr.sin_port = htons((uint16_t)opt.port);
  if (inet_pton(AF_INET, opt.host, &server_addr.sin_addr) != 1) {
    die("--host must be an IPv4 address, not %s", opt.host);
  }
  raise_fd_limit(opt.conns + 64);
  if (opt.mode == IDLE) run_idle();
  signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write() */
  if (opt.prefix != 0 && opt.mode != PINGPONG) {
    die("--prefix works with --mode pingpong");
  }
  if (opt.proxy != 0 && opt.mode != HANDSHAKE) {
    die("--proxy works with --mode handshake");
  }
  if (opt.tls_ca != NULL && opt.mode != BULK && opt.mode != PINGPONG &&
      opt.mode != HANDSHAKE) {
    die("--tls works with --mode bulk, pingpong or handshake");
  }
#ifdef WITH_TLS
  if (opt.tls_ca != NULL) {
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (tls_ctx == NULL) die("SSL_CTX_new failed");
    if (SSL_CTX_load_verify_locations(tls_ctx, opt.tls_ca, NULL) != 1) {
      char text[200];
      ERR_error_string_n(ERR_get_error(), text, sizeof text);
      die("cannot load the CA certificate %s: %s", opt.tls_ca, text);
    }
    /* Verify as a client should; never resume a session. */
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(tls_ctx, 1);
    if (opt.mode == BULK) SSL_CTX_set_default_read_buffer_len(tls_ctx, READ_BUF);
  }
#else
  if (opt.tls_ca != NULL) {
    die("--tls: this loadgen was built without TLS (build it with "
        "-DWITH_TLS ... -lssl -lcrypto; Debian: apt-get install libssl-dev)");
  }
#endif

  pattern = malloc(READ_BUF + BULK_CHUNK + PATTERN_PERIOD);
  if (pattern == NULL) die("out of memory");
  for (int i = 0; i < READ_BUF + BULK_CHUNK + PATTERN_PERIOD; i++) {
    pattern[i] = (uint8_t)(i % PATTERN_PERIOD);
  }
  frame_template[0] = (uint8_t)(opt.size >> 24);
  frame_template[1] = (uint8_t)(opt.size >> 16);
  frame_template[2] = (uint8_t)(opt.size >> 8);
  frame_template[3] = (uint8_t)opt.size;
  for (int i = 0; i < opt.size; i++) {
    frame_template[FRAME_HEADER + i] = (uint8_t)('a' + i % 26);
  }

  struct conn *conns = calloc((size_t)opt.conns, sizeof *conns);
  if (conns == NULL) die("out of memory");
  for (int i = 0; i < opt.conns; i++) {
    struct conn *c = &conns[i];
    int udp = opt.mode == UDP;
    c->fd = -1;
    for (int k = 8; k < opt.size; k++) c->msg[k] = (uint8_t)('A' + k % 26);
    if (opt.mode == HANDSHAKE) continue; /* each worker connects its own */
    c->fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (c->fd < 0) die("socket: %s", strerror(errno));
    if (connect(c->fd, (struct sockaddr *)&server_addr, sizeof server_addr) <
        0) {
      die("cannot connect to %s:%d: %s", opt.host, opt.port, strerror(errno));
    }
    if (!udp) set_nodelay(c->fd);
#ifdef WITH_TLS
    if (opt.tls_ca != NULL) { /* the handshake, before measuring */
      int r = tls_attach(c) < 0 ? -1 : SSL_connect(c->ssl);
      if (r != 1) {
        tls_note(c, "TLS handshake");
        die("cannot complete a TLS handshake with %s:%d: %s", opt.host,
            opt.port, tls_error);
      }
      tls_describe(c->ssl);
    }
#endif
    set_nonblocking(c->fd);
    if (opt.mode == FRAMED) {
      c->txbuf = malloc((size_t)opt.batch * (size_t)(FRAME_HEADER + opt.size));
      if (c->txbuf == NULL) die("out of memory");
    }
  }

  struct worker *workers = calloc((size_t)opt.threads, sizeof *workers);
  if (workers == NULL) die("out of memory");
  for (int t = 0; t < opt.threads; t++) {
    struct worker *w = &workers[t];
    w->index = t;
    w->conns = calloc((size_t)opt.conns, sizeof *w->conns);
    w->ep = epoll_create1(0);
    w->buf = malloc(READ_BUF);
    int timed = opt.mode == PINGPONG || opt.mode == UDP ||
                opt.mode == HANDSHAKE;
    if (timed) w->samples = malloc(MAX_SAMPLES * sizeof *w->samples);
    if (w->conns == NULL || w->buf == NULL || w->ep < 0 ||
        (timed && w->samples == NULL)) {
      die("out of memory");
    }
  }
  for (int i = 0; i < opt.conns; i++) {
    struct worker *w = &workers[i % opt.threads];
    w->conns[w->n++] = &conns[i];
  }

  uint64_t t0 = now_ns();
  start_ns = t0 + (uint64_t)(opt.warmup * 1e9);
  end_ns = start_ns + (uint64_t)(opt.duration * 1e9);
  for (int t = 0; t < opt.threads; t++) {
    if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t])) {
      die("pthread_create failed");
    }
  }
  /* Who used the CPUs while we measured: the server, us, and the rest. */
  struct cpu_sample before, after;
  sleep_until(start_ns);
  sample_cpu(&before);
  sleep_until(end_ns);
  sample_cpu(&after);
  double ticks = (double)sysconf(_SC_CLK_TCK) * opt.duration;
  double cpu_server = (double)(after.server - before.server) / ticks;
  double cpu_self = (double)(after.self - before.self) / ticks;
  double cpu_other = (double)(after.busy - before.busy) / ticks - cpu_self -
                     (opt.server_pid > 0 ? cpu_server : 0);
  if (cpu_other < 0) cpu_other = 0;
  double cpu_steal = (double)(after.steal - before.steal) / ticks;

  uint64_t ops = 0, bytes = 0, lost = 0;
  double loadgen_busy = 0;
  size_t nsamples = 0;
  const char *error = NULL;
  const char *detail = "";
  for (int t = 0; t < opt.threads; t++) {
    pthread_join(workers[t].thread, NULL);
    ops += workers[t].ops;
    bytes += workers[t].bytes;
    lost += workers[t].lost;
    double busy = 1.0 - (double)workers[t].waiting / (opt.duration * 1e9);
    if (busy > loadgen_busy) loadgen_busy = busy;
    nsamples += workers[t].nsamples;
    if (error == NULL) {
      error = workers[t].error;
      detail = workers[t].detail;
    }
  }
  /* Close cleanly: FIN (after close_notify with TLS), then wait (briefly)
   * for the server's FIN. Handshake mode has closed its own. */
  for (int i = 0; i < opt.conns; i++) {
    if (opt.mode == HANDSHAKE) {
      hs_close(&conns[i]);
      continue;
    }
#ifdef WITH_TLS
    if (conns[i].ssl != NULL) SSL_shutdown(conns[i].ssl);
#endif
    if (opt.mode != UDP) shutdown(conns[i].fd, SHUT_WR);
  }
  uint64_t close_deadline = now_ns() + 500000000ull;
  for (int i = 0; i < opt.conns && opt.mode != UDP && opt.mode != HANDSHAKE;
       i++) {
    struct pollfd pfd = {.fd = conns[i].fd, .events = POLLIN};
    char sink[4096];
    while (now_ns() < close_deadline) {
      if (poll(&pfd, 1, 50) <= 0) continue;
      ssize_t r = recv(conns[i].fd, sink, sizeof sink, 0);
      if (r <= 0 && !(r < 0 && errno == EAGAIN)) break;
    }
  }
  for (int i = 0; i < opt.conns; i++) {
#ifdef WITH_TLS
    SSL_free(conns[i].ssl);
#endif
    if (conns[i].fd >= 0) close(conns[i].fd);
  }

  double p50 = 0, p99 = 0;
  if (nsamples > 0) {
    uint32_t *all = malloc(nsamples * sizeof *all);
    if (all == NULL) die("out of memory");
    size_t k = 0;
    for (int t = 0; t < opt.threads; t++) {
      memcpy(all + k, workers[t].samples,
             workers[t].nsamples * sizeof *all);
      k += workers[t].nsamples;
    }
    qsort(all, nsamples, sizeof *all, cmp_u32);
    p50 = all[(size_t)((double)nsamples * 0.50)] / 1000.0;
    p99 = all[(size_t)((double)nsamples * 0.99)] / 1000.0;
    free(all);
  }
  static const char *names[] = {"bulk", "pingpong",  "framed", "udp",
                                "idle", "cpu",       "handshake", "sink"};
  printf(
      "{\"mode\":\"%s\",\"conns\":%d,\"threads\":%d,\"seconds\":%.3f,"
      "\"ops\":%llu,\"bytes\":%llu,\"rate\":%.1f,\"mbps\":%.2f,"
      "\"p50_us\":%.2f,\"p99_us\":%.2f,\"lost\":%llu,"
      "\"cpu_server\":%.2f,\"cpu_loadgen\":%.2f,\"cpu_other\":%.2f,"
      "\"cpu_steal\":%.2f,\"loadgen_busy\":%.2f,",
      names[opt.mode], opt.conns, opt.threads, opt.duration,
      (unsigned long long)ops, (unsigned long long)bytes,
      (double)ops / opt.duration, (double)bytes / opt.duration / 1e6, p50,
      p99, (unsigned long long)lost, opt.server_pid > 0 ? cpu_server : -1,
      cpu_self, cpu_other, cpu_steal, loadgen_busy);
#ifdef WITH_TLS
  if (opt.tls_ca != NULL) {
    fputs("\"tls\":", stdout);
    print_json_string(tls_info);
    putchar(',');
  }
#endif
  fputs("\"error\":", stdout);
  if (error == NULL) {
    printf("null}\n");
  } else {
    char text[512];
    snprintf(text, sizeof text, "%s%s%s", error, detail[0] ? ": " : "",
             detail);
    print_json_string(text);
    printf("}\n");
  }
  return error == NULL ? 0 : 1;
}
