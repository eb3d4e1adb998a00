/*
 * The client side of the load generator: its connections (opened
 * non-blocking, written with writev from the pre-built frames, edge-triggered
 * epoll), the opening handshake as a client, the scenarios (echo: a window of
 * messages in flight per connection; broadcast: one publisher, the rest
 * subscribers; connect: open, close, again; idle: hold them open), the
 * warm-up / measure phases and the RESULT line. What comes back is parsed and
 * checked in receive.c.
 */
#include "client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ws.h"

static conn_t *conns;
static int nconns;
int phase = P_WARMUP;
static uint64_t t_start, t_measure, t_end;
static double cpu_measure, cpu_end;
static struct sockaddr_in addr;

totals_t tot;
static totals_t at_start, at_end;
char first_error[256];
uint32_t *lat;
size_t nlat;
uint64_t pub_owed;
uint64_t last_progress;

/* Count a wrong answer; the first one is kept for the report. */
void error_at(conn_t *c, const char *what, uint64_t got, uint64_t want) {
  if (tot.errors++ == 0)
    snprintf(first_error, sizeof first_error, "%s: got %llu, expected %llu (conn %d, message %llu)", what,
             (unsigned long long)got, (unsigned long long)want, c->id, (unsigned long long)c->recv_seq);
}

static void conn_reset(conn_t *c) {
  c->state = S_FREE; c->fd = -1; c->hlen = 0; c->send_seq = c->sent_seq = c->recv_seq = 0; c->off = 0;
  c->hhave = 0; c->hneed = 0; c->in_payload = 0; c->left = 0; c->close_rcvd = c->close_sent = 0; c->deflate = 0;
}

static void conn_open(conn_t *c) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in port_addr = addr;
  if (c->port != 0) port_addr.sin_port = htons((uint16_t)c->port);
  if (connect(fd, (struct sockaddr *)&port_addr, sizeof port_addr) < 0 && errno != EINPROGRESS) die("connect");
  conn_reset(c);
  c->fd = fd;
  c->state = S_CONNECTING;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
}

static void conn_close(conn_t *c) {
  if (c->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->state = S_FREE;
}

static int conn_flush(conn_t *c) {
  while (c->sent_seq < c->send_seq) {
    struct iovec iov[64];
    int n = 0;
    size_t total = 0, off = c->off;
    for (uint64_t s = c->sent_seq; s < c->send_seq && n < 64 && total < (1u << 20); s++, n++) {
      variant_t *v = variant_of(c, s);
      iov[n].iov_base = v->frame + off;
      iov[n].iov_len = v->flen - off;
      total += v->flen - off;
      off = 0;
    }
    ssize_t w = writev(c->fd, iov, n);
    if (w < 0) return errno == EAGAIN ? 0 : -1;
    size_t left = (size_t)w;
    while (left > 0) {
      size_t rem = variant_of(c, c->sent_seq)->flen - c->off;
      if (left >= rem) { left -= rem; c->off = 0; c->sent_seq++; }
      else { c->off += left; left = 0; }
    }
    if ((size_t)w < total) return 0;
  }
  return 0;
}

void queue_frames(conn_t *c, int n) {
  uint64_t t = now_ns();
  for (int i = 0; i < n; i++) {
    if (c->ts) c->ts[c->send_seq % (uint64_t)opt.window] = (uint64_t)t;
    c->send_seq++;
  }
}

void write_all_small(conn_t *c, const void *p, size_t n) {
  /* handshake requests and close frames: a few hundred bytes into an empty socket buffer */
  ssize_t w = write(c->fd, p, n);
  if (w != (ssize_t)n) { tot.conn_errors++; }
}

static void send_request(conn_t *c) {
  uint8_t raw[16];
  for (int i = 0; i < 16; i += 8) { uint64_t r = rnd(); memcpy(raw + i, &r, 8); }
  base64(raw, 16, c->key);
  char req[512];
  const char *path = opt.eio ? (c->role == R_PUB ? "/socket.io/?EIO=4&transport=websocket&role=pub" : "/socket.io/?EIO=4&transport=websocket&role=sub")
                   : c->role == R_PUB ? "/pub" : c->role == R_SUB ? "/sub" : "/";
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                   path, opt.host, opt.port, c->key, opt.deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "");
  write_all_small(c, req, (size_t)n);
  c->state = S_HANDSHAKE;
}

static void publish(void) {
  conn_t *pub = &conns[0];
  if (t_start == 0 || pub->state != S_OPEN || phase == P_DONE) return; /* not before every subscriber is in */
  uint64_t limit = (uint64_t)opt.window * (uint64_t)opt.subs;
  int n = 0;
  while (pub_owed + (uint64_t)opt.subs <= limit) { pub_owed += (uint64_t)opt.subs; n++; }
  if (n > 0) { queue_frames(pub, n); conn_flush(pub); }
}

static int nopen, nstarted;
static int waiting_go; /* --wait-go: every connection is in, waiting for the runner's line on stdin */

static void start_traffic(void) {
  if (opt.wait_go && opt.mode == M_BROADCAST && !waiting_go) {
    waiting_go = 1;
    printf("OPEN %d\n", nopen);
    fflush(stdout);
    return;
  }
  waiting_go = 0;
  t_start = now_ns();
  last_progress = t_start;
  if (opt.mode == M_ECHO) {
    for (int i = 0; i < nconns; i++) { queue_frames(&conns[i], opt.window); conn_flush(&conns[i]); }
  } else if (opt.mode == M_BROADCAST) {
    publish();
  }
}

void on_open(conn_t *c) {
  c->state = S_OPEN;
  tot.opened++;
  if (opt.mode == M_CONNECT) {
    /* close at once: masked close frame, code 1000 */
    uint8_t f[8] = { 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8 };
    uint64_t r = rnd();
    memcpy(f + 2, &r, 4);
    f[6] ^= f[2]; f[7] ^= f[3];
    write_all_small(c, f, 8);
    c->close_sent = 1;
    c->state = S_CLOSING;
    return;
  }
  nopen++;
  if (opt.mode == M_IDLE) {
    if (nopen == nconns) { printf("IDLE_READY %d\n", nopen); fflush(stdout); }
    else if (nstarted < nconns) conn_open(&conns[nstarted++]);
    return;
  }
  if (nopen == nconns) start_traffic();
}

static void handshake_data(conn_t *c, const uint8_t *p, size_t n) {
  size_t room = 4095 - c->hlen;
  size_t take = n < room ? n : room;
  memcpy(c->hbuf + c->hlen, p, take);
  size_t before = c->hlen;
  c->hlen += take;
  c->hbuf[c->hlen] = 0;
  char *end = strstr(c->hbuf, "\r\n\r\n");
  if (end == NULL) {
    if (c->hlen >= 4095) { error_at(c, "response head too long", c->hlen, 4095); conn_close(c); }
    return;
  }
  size_t headlen = (size_t)(end - c->hbuf) + 4;
  end[2] = 0; /* keep the last header's CRLF for find_header */
  char value[256], expect[29];
  if (strncmp(c->hbuf, "HTTP/1.1 101", 12) != 0) {
    if (tot.errors++ == 0) snprintf(first_error, sizeof first_error, "handshake refused: %.60s", c->hbuf);
    conn_close(c);
    return;
  }
  accept_key(c->key, expect);
  if (!find_header(c->hbuf, "sec-websocket-accept:", value, sizeof value) || strcmp(value, expect) != 0) {
    error_at(c, "bad Sec-WebSocket-Accept", 0, 1);
    conn_close(c);
    return;
  }
  if (opt.deflate && find_header(c->hbuf, "sec-websocket-extensions:", value, sizeof value) && strstr(value, "permessage-deflate")) {
    c->deflate = 1;
    tot.deflate_ok++;
    if (c->inf == NULL) {
      c->inf = calloc(1, sizeof(z_stream));
      if (inflateInit2(c->inf, -15) != Z_OK) die("inflateInit2");
    } else {
      inflateReset(c->inf);
    }
  }
  if (opt.eio) c->state = S_EIO; /* in once socket.io acknowledges the namespace connect (eio_control) */
  else on_open(c);
  size_t rest_off = headlen - before;
  if (c->state != S_FREE && rest_off < n) parse(c, p + rest_off, n - rest_off);
}

static void conn_event(conn_t *c, uint32_t events) {
  if (c->state == S_CONNECTING) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      errno = err;
      if (tot.conn_errors++ == 0) fprintf(stderr, "loadgen: connect: %s\n", strerror(err));
      conn_close(c);
      return;
    }
    if (opt.raw) { on_open(c); }
    else send_request(c);
  }
  if ((events & EPOLLOUT) && c->state == S_OPEN) {
    if (conn_flush(c) < 0) { tot.conn_errors++; conn_close(c); return; }
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    for (;;) {
      ssize_t r = read(c->fd, rbuf, RBUF);
      if (r > 0) {
        if (c->state == S_HANDSHAKE) handshake_data(c, rbuf, (size_t)r);
        else parse(c, rbuf, (size_t)r);
        if (c->state == S_FREE) return;
        if (r < RBUF) {
          /* a short read usually means the buffer is empty: check with one more read only if RDHUP */
          if (!(events & (EPOLLRDHUP | EPOLLHUP))) break;
        }
        continue;
      }
      if (r < 0 && errno == EAGAIN) break;
      /* EOF or error */
      if (opt.mode == M_CONNECT && c->close_rcvd) {
        tot.handshakes++;
      } else if (phase != P_DONE) {
        if (tot.conn_errors++ == 0) fprintf(stderr, "loadgen: connection %d closed by the server (%s)\n", c->id, r < 0 ? strerror(errno) : "EOF");
      }
      conn_close(c);
      if (opt.mode == M_CONNECT && phase != P_DONE) conn_open(c);
      return;
    }
  }
  if (c->state == S_OPEN && c->sent_seq < c->send_seq) {
    if (conn_flush(c) < 0) { tot.conn_errors++; conn_close(c); }
  }
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void print_result(void) {
  double secs = (double)(t_end - t_measure) / 1e9;
  double cpu = cpu_end - cpu_measure;
  uint64_t msgs = at_end.msgs - at_start.msgs, bytes = at_end.bytes - at_start.bytes;
  uint64_t hs = at_end.handshakes - at_start.handshakes;
  double p50 = 0, p99 = 0, pmax = 0;
  if (nlat > 0) {
    qsort(lat, nlat, sizeof *lat, cmp_u32);
    p50 = lat[nlat / 2] / 10.0;
    p99 = lat[(size_t)((double)nlat * 0.99)] / 10.0;
    pmax = lat[nlat - 1] / 10.0;
  }
  char err[300];
  size_t j = 0;
  for (size_t i = 0; first_error[i] && j < sizeof err - 2; i++) {
    char ch = first_error[i];
    if (ch == '"' || ch == '\\') err[j++] = '\\';
    err[j++] = (ch == '\r' || ch == '\n') ? ' ' : ch;
  }
  err[j] = 0;
  printf("RESULT {\"mode\":%d,\"conns\":%d,\"opened\":%llu,\"seconds\":%.4f,\"msgs\":%llu,\"bytes\":%llu,"
         "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"handshakes\":%llu,\"handshakes_per_s\":%.1f,"
         "\"cpu_s\":%.4f,\"cpu_pct\":%.1f,\"checked\":%llu,\"errors\":%llu,\"first_error\":\"%s\","
         "\"conn_errors\":%llu,\"lost\":%llu,\"deflate_negotiated\":%llu,\"compressed\":%llu,"
         "\"lat_samples\":%zu,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_max_us\":%.1f}\n",
         opt.mode, nconns, (unsigned long long)tot.opened, secs, (unsigned long long)msgs, (unsigned long long)bytes,
         secs > 0 ? msgs / secs : 0, secs > 0 ? bytes / secs / 1e6 : 0, (unsigned long long)hs, secs > 0 ? hs / secs : 0,
         cpu, secs > 0 ? 100 * cpu / secs : 0, (unsigned long long)tot.checked, (unsigned long long)tot.errors, err,
         (unsigned long long)tot.conn_errors, (unsigned long long)(at_end.lost - at_start.lost), (unsigned long long)tot.deflate_ok,
         (unsigned long long)(at_end.compressed - at_start.compressed),
         nlat, p50, p99, pmax);
  fflush(stdout);
}

void run_client(void) {
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)opt.port);
  if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) { fprintf(stderr, "loadgen: bad --host\n"); exit(2); }
  if (opt.mode == M_BROADCAST) nconns = opt.subs + 1;
  else nconns = opt.conns;
  conns = calloc((size_t)nconns, sizeof(conn_t));
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    c->id = i;
    c->fd = -1;
    c->state = S_FREE;
    c->hbuf = malloc(4096);
    c->role = opt.mode == M_BROADCAST ? (i == 0 ? R_PUB : R_SUB) : R_ECHO;
    if (c->role == R_SUB && opt.nsub_ports > 0) c->port = opt.sub_ports[(i - 1) % opt.nsub_ports];
    if (opt.mode == M_ECHO && opt.window > 0) c->ts = calloc((size_t)opt.window, sizeof(uint64_t));
  }
  if (opt.mode == M_IDLE || opt.wait_go) {
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &stdin_tag };
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  }
  /* open: everything at once, except idle (a bounded number of handshakes in flight) */
  int first = opt.mode == M_IDLE ? (nconns < 128 ? nconns : 128) : nconns;
  for (nstarted = 0; nstarted < first; nstarted++) conn_open(&conns[nstarted]);
  if (opt.mode == M_CONNECT) start_traffic();

  struct epoll_event evs[MAX_EVENTS];
  uint64_t t_open_deadline = now_ns() + 30ull * 1000000000u;
  for (;;) {
    int n = epoll_wait(ep, evs, MAX_EVENTS, 5);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == &stdin_tag) {
        char b[256];
        ssize_t r = read(0, b, sizeof b);
        if (r <= 0) { print_result(); return; }
        if (waiting_go) start_traffic(); /* --wait-go: the runner says go */
        continue;
      }
      conn_event(evs[i].data.ptr, evs[i].events);
    }
    if (opt.mode == M_BROADCAST) publish();
    uint64_t t = now_ns();
    if (t_start == 0) {
      if (t > t_open_deadline && !waiting_go) { fprintf(stderr, "loadgen: only %d of %d connections opened\n", nopen, nconns); print_result(); exit(1); }
      continue;
    }
    if (opt.mode == M_BROADCAST && pub_owed > 0 && t - last_progress > 2000000000ull) {
      /* no delivery for 2 s: those messages were skipped (or lost); carry on */
      tot.lost += pub_owed;
      pub_owed = 0;
      last_progress = t;
    }
    if (phase == P_WARMUP && t - t_start >= (uint64_t)opt.warmup_ms * 1000000u) {
      phase = P_MEASURE;
      t_measure = t;
      at_start = tot;
      cpu_measure = cpu_seconds();
      nlat = 0;
      printf("MEASURE_START\n");
      fflush(stdout);
    } else if (phase == P_MEASURE && t - t_measure >= (uint64_t)opt.duration_ms * 1000000u) {
      phase = P_DONE;
      t_end = t;
      at_end = tot;
      cpu_end = cpu_seconds();
      printf("MEASURE_END\n");
      fflush(stdout);
      print_result();
      return;
    }
  }
}
