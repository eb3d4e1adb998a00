/*
 * wavesock bench: load generator and fixed echo server, in C so that it costs
 * far less per message than the Node servers it measures.
 *
 * Built by bench/run.js:  cc -O2 -o bench/results/loadgen bench/loadgen.c -lz
 *
 *   loadgen echo      --port P [--conns N --size B --window W --text --deflate --raw]
 *   loadgen broadcast --port P --subs N --size B --window W [--text --sub-ports P1,P2,... --eio --wait-go]
 *   loadgen connect   --port P --conns N            (N concurrent openers)
 *   loadgen idle      --port P --conns N            (holds N connections until stdin closes)
 *   loadgen serve     [--port P]                    (WebSocket echo server, for the client rows)
 *   common: --host 127.0.0.1 --warmup MS --duration MS
 *
 * Client frames are built (and masked) once at start-up: K variants of the
 * payload, each with its own masking key; connection i sends variants
 * i, i+1, ... in turn, so every echoed message is known in advance and is
 * checked: length always, an Adler-32 of the payload on a sample (every
 * message up to 1 KiB, one in 8 above). With --deflate the frames are
 * compressed once (each message on its own, which is valid with context
 * takeover too) and every compressed answer is inflated (the server keeps
 * its context, so all of them must be).
 *
 * --raw: no handshake; the peer is a plain TCP echo server, so what comes back
 * are our own masked frames, checked on the wire bytes.
 *
 * Broadcast across processes (the fanout rows, bench/lib/fanout.js):
 * --sub-ports spreads the subscribers round-robin over other ports than the
 * publisher's (--port); --wait-go prints "OPEN n" once every connection is in
 * and publishes only after a line on stdin (the runner first checks that
 * every server has subscribed in Redis). --eio speaks socket.io 4 over the
 * engine.io websocket transport (EIO=4): path
 * /socket.io/?EIO=4&transport=websocket&role=pub|sub, answer the engine.io
 * open packet ("0{...}") with a namespace connect ("40"), count a connection
 * in once the connect is acknowledged ("40{...}"), answer pings ("2") with
 * pongs ("3"); every message is the event packet 42["m","<size alnum bytes>"]
 * and comes back to each subscriber as the same bytes, checked like any other.
 *
 * Protocol with the runner (stdout, one line each): "MEASURE_START" when the
 * warm-up ends, "MEASURE_END" when the measured period ends, then
 * "RESULT {json}". idle prints "IDLE_READY n"; serve prints "LISTEN port".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define K 8                 /* payload variants */
#define MAX_EVENTS 1024
#define RBUF (256 * 1024)
#define MAX_LAT (1u << 21)  /* latency samples kept */

enum { M_ECHO, M_BROADCAST, M_CONNECT, M_IDLE, M_SERVE };
enum { P_WARMUP, P_MEASURE, P_DONE };
enum { S_CONNECTING, S_HANDSHAKE, S_OPEN, S_CLOSING, S_FREE, S_EIO /* --eio: WebSocket open, namespace not joined yet */ };
enum { R_ECHO, R_PUB, R_SUB };

/* ------------------------------------------------------------------ options */

static struct {
  int mode;
  const char *host;
  int port;
  int conns, size, window, text, deflate, raw, subs;
  int warmup_ms, duration_ms;
  int eio, wait_go, nsub_ports, sub_ports[16];
} opt = { M_ECHO, "127.0.0.1", 0, 1, 64, 1, 0, 0, 0, 0, 1000, 3000, 0, 0, 0, { 0 } };

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  /* xorshift64*: keys and payloads only need to vary, not to be secret */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

/* ------------------------------------------------------------ SHA-1, base64 */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
  uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
  size_t total = ((len + 8) / 64 + 1) * 64;
  uint8_t *m = calloc(1, total);
  memcpy(m, msg, len);
  m[len] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) m[total - 1 - i] = (uint8_t)(bits >> (8 * i));
  for (size_t off = 0; off < total; off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
      w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 | (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
      else { f = b ^ c ^ d; k = 0xCA62C1D6; }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  free(m);
  for (int i = 0; i < 5; i++) {
    out[4 * i] = (uint8_t)(h[i] >> 24); out[4 * i + 1] = (uint8_t)(h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(h[i] >> 8); out[4 * i + 3] = (uint8_t)h[i];
  }
}

static void base64(const uint8_t *in, size_t len, char *out) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < len ? in[i + 2] : 0);
    out[o++] = tbl[(v >> 18) & 63];
    out[o++] = tbl[(v >> 12) & 63];
    out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < len ? tbl[v & 63] : '=';
  }
  out[o] = 0;
}

static const char *GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static void accept_key(const char *key, char out[29]) {
  char buf[128];
  uint8_t digest[20];
  int n = snprintf(buf, sizeof buf, "%s%s", key, GUID);
  sha1((const uint8_t *)buf, (size_t)n, digest);
  base64(digest, 20, out);
}

/* Value of header `name` (lower case, with the colon) in a response head, copied into out. */
static int find_header(const char *head, const char *name, char *out, size_t outlen) {
  size_t nl = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p != NULL && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
    const char *line = p + 2;
    if (strncasecmp(line, name, nl) == 0) {
      line += nl;
      while (*line == ' ' || *line == '\t') line++;
      const char *end = strstr(line, "\r\n");
      size_t n = end ? (size_t)(end - line) : strlen(line);
      while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
      if (n >= outlen) n = outlen - 1;
      memcpy(out, line, n);
      out[n] = 0;
      return 1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ payloads */

typedef struct {
  uint8_t *frame;   /* the whole client frame, masked */
  size_t flen;
  size_t plen;      /* payload length as the application sees it */
  uint32_t ck;      /* Adler-32 of what the echo must carry (plain payload; wire bytes in --raw) */
} variant_t;

static variant_t var_plain[K], var_deflate[K];

static void fill_payload(uint8_t *p, size_t n, int variant) {
  if (!opt.text) {
    for (size_t i = 0; i < n; i++) {
      if ((i & 7) == 0) {
        uint64_t r = rnd();
        memcpy(p + i, &r, n - i < 8 ? n - i : 8);
        i += 7;
      }
    }
    return;
  }
  /* JSON-like chat messages: what permessage-deflate is for. */
  static const char *words[] = { "hello", "world", "message", "room", "user", "status", "online", "typing",
                                 "lorem", "ipsum", "dolor", "sit", "amet", "update", "ping", "ok" };
  size_t o = 0;
  int id = variant * 1000;
  char item[256];
  while (o < n) {
    int len = snprintf(item, sizeof item,
                       "{\"id\":%d,\"user\":\"user-%d\",\"type\":\"%s\",\"text\":\"%s %s %s\",\"ts\":%d},",
                       id, (int)(rnd() % 100), words[rnd() % 16], words[rnd() % 16], words[rnd() % 16],
                       words[rnd() % 16], 1700000000 + id);
    id++;
    for (int i = 0; i < len && o < n; i++) p[o++] = (uint8_t)item[i];
  }
}

static size_t put_header(uint8_t *h, int first, uint64_t len, int masked) {
  size_t o = 0;
  h[o++] = (uint8_t)first;
  uint8_t m = masked ? 0x80 : 0;
  if (len < 126) h[o++] = m | (uint8_t)len;
  else if (len < 65536) { h[o++] = m | 126; h[o++] = (uint8_t)(len >> 8); h[o++] = (uint8_t)len; }
  else { h[o++] = m | 127; for (int i = 7; i >= 0; i--) h[o++] = (uint8_t)(len >> (8 * i)); }
  return o;
}

static void build_frame(variant_t *v, int first, const uint8_t *payload, size_t n) {
  v->frame = malloc(n + 14);
  size_t o = put_header(v->frame, first, n, 1);
  uint8_t key[4];
  uint64_t r = rnd();
  memcpy(key, &r, 4);
  memcpy(v->frame + o, key, 4);
  o += 4;
  for (size_t i = 0; i < n; i++) v->frame[o + i] = payload[i] ^ key[i & 3];
  v->flen = o + n;
}

/* --eio: the socket.io event packet 42["m","<size alphanumeric bytes>"] (no JSON escaping needed). */
static void fill_eio_event(uint8_t *p, size_t n) {
  static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  memcpy(p, "42[\"m\",\"", 8);
  for (size_t i = 0; i < n; i++) p[8 + i] = (uint8_t)alnum[rnd() % 62];
  memcpy(p + 8 + n, "\"]", 2);
}

static void build_variants(void) {
  int opcode = opt.text ? 1 : 2;
  size_t size = (size_t)opt.size + (opt.eio ? 10 : 0); /* what goes on the wire as the message */
  uint8_t *p = malloc(size + 1);
  for (int v = 0; v < K; v++) {
    if (opt.eio) fill_eio_event(p, (size_t)opt.size);
    else fill_payload(p, size, v);
    build_frame(&var_plain[v], 0x80 | opcode, p, size);
    var_plain[v].plen = size;
    size_t hl = var_plain[v].flen - size;
    var_plain[v].ck = opt.raw ? (uint32_t)adler32(1, var_plain[v].frame + hl, (uInt)size)
                              : (uint32_t)adler32(1, p, (uInt)size);
    if (opt.deflate) {
      /* one raw deflate stream per message, sync-flushed, the 00 00 ff ff tail cut (RFC 7692 §7.2.1) */
      z_stream z;
      memset(&z, 0, sizeof z);
      if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("deflateInit2");
      size_t cap = deflateBound(&z, (uLong)opt.size) + 16;
      uint8_t *c = malloc(cap);
      z.next_in = p; z.avail_in = (uInt)opt.size; z.next_out = c; z.avail_out = (uInt)cap;
      if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0) die("deflate");
      size_t clen = cap - z.avail_out;
      deflateEnd(&z);
      if (clen >= 4 && memcmp(c + clen - 4, "\0\0\xff\xff", 4) == 0) clen -= 4;
      build_frame(&var_deflate[v], 0x80 | 0x40 | opcode, c, clen);
      var_deflate[v].plen = (size_t)opt.size;
      var_deflate[v].ck = var_plain[v].ck;
      free(c);
    }
  }
  free(p);
}

/* ------------------------------------------------------------- client side */

typedef struct conn {
  int fd, id, state, role, deflate, port;
  uint8_t lead[2]; /* --eio: the first two bytes of the message being received (its packet type) */
  char key[32];
  char *hbuf;
  size_t hlen;
  /* sending: frames [sent_seq, send_seq) are queued; `off` bytes of sent_seq are written */
  uint64_t send_seq, sent_seq, recv_seq;
  size_t off;
  uint64_t *ts;
  /* receiving */
  uint8_t hdr[14];
  int hhave, hneed, in_payload;
  uint64_t left;
  int opcode, fin, rsv1, masked, ctrl, msg_opcode, msg_compressed, checking;
  uint64_t msglen;
  uint32_t ck;
  z_stream *inf;
  int close_rcvd, close_sent;
} conn_t;

static int ep;
static conn_t *conns;
static int nconns;
static int phase = P_WARMUP;
static uint64_t t_start, t_measure, t_end;
static double cpu_measure, cpu_end;
static struct sockaddr_in addr;

static struct {
  uint64_t msgs, bytes, checked, errors, handshakes, lost, deflate_ok, opened, conn_errors;
  uint64_t compressed; /* messages that came with RSV1 set (permessage-deflate): a server may send any uncompressed */
} tot, at_start, at_end;
static char first_error[256];
static uint32_t *lat;
static size_t nlat;
static uint64_t pub_owed;   /* deliveries still expected for what the publisher sent */
static uint64_t last_progress;
static uint8_t *rbuf;
static uint8_t *scratch;

/* Count a wrong answer; the first one is kept for the report. */
static void error_at(conn_t *c, const char *what, uint64_t got, uint64_t want) {
  if (tot.errors++ == 0)
    snprintf(first_error, sizeof first_error, "%s: got %llu, expected %llu (conn %d, message %llu)", what,
             (unsigned long long)got, (unsigned long long)want, c->id, (unsigned long long)c->recv_seq);
}

static variant_t *variant_of(conn_t *c, uint64_t seq) {
  int v = (int)((c->id + seq) % K);
  return c->deflate ? &var_deflate[v] : &var_plain[v];
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

static void queue_frames(conn_t *c, int n) {
  uint64_t t = now_ns();
  for (int i = 0; i < n; i++) {
    if (c->ts) c->ts[c->send_seq % (uint64_t)opt.window] = (uint64_t)t;
    c->send_seq++;
  }
}

static void write_all_small(conn_t *c, const void *p, size_t n) {
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

static void on_open(conn_t *c);
static void on_message(conn_t *c);

/* Feed received bytes to the frame parser. */
static void parse(conn_t *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    if (!c->in_payload) {
      if (c->hhave < 2) {
        size_t take = (size_t)(2 - c->hhave) < n ? (size_t)(2 - c->hhave) : n;
        memcpy(c->hdr + c->hhave, p, take);
        c->hhave += (int)take; p += take; n -= take;
        if (c->hhave < 2) return;
        int l7 = c->hdr[1] & 127;
        c->hneed = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
      }
      if (c->hhave < c->hneed) {
        size_t take = (size_t)(c->hneed - c->hhave) < n ? (size_t)(c->hneed - c->hhave) : n;
        memcpy(c->hdr + c->hhave, p, take);
        c->hhave += (int)take; p += take; n -= take;
        if (c->hhave < c->hneed) return;
      }
      c->fin = c->hdr[0] >> 7;
      c->opcode = c->hdr[0] & 15;
      c->masked = c->hdr[1] >> 7;
      int l7 = c->hdr[1] & 127, o = 2;
      uint64_t len = (uint64_t)l7;
      if (l7 == 126) { len = (uint64_t)c->hdr[2] << 8 | c->hdr[3]; o = 4; }
      else if (l7 == 127) { len = 0; for (int i = 0; i < 8; i++) len = len << 8 | c->hdr[2 + i]; o = 10; }
      (void)o;
      c->hhave = 0; c->hneed = 0;
      c->left = len;
      c->ctrl = c->opcode >= 8;
      if (!c->ctrl) {
        if (c->opcode != 0) {
          c->msg_opcode = c->opcode;
          c->msg_compressed = (c->hdr[0] & 0x40) != 0;
          c->msglen = 0;
          /* every message up to 1 KiB, one in 8 above: 100 subscribers × 4 KiB must not make the checksum the limit */
          c->checking = opt.size <= 1024 || c->recv_seq % 8 == 0;
          c->ck = (uint32_t)adler32(0, NULL, 0);
        }
      }
      c->in_payload = 1;
    } else {
      size_t take = c->left < n ? (size_t)c->left : n;
      if (!c->ctrl) {
        if (c->msg_compressed) {
          z_stream *z = c->inf;
          if (z == NULL) { error_at(c, "compressed frame without permessage-deflate", 1, 0); }
          else {
            z->next_in = (Bytef *)p; z->avail_in = (uInt)take;
            do {
              z->next_out = scratch; z->avail_out = RBUF;
              int r = inflate(z, Z_SYNC_FLUSH);
              if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) { error_at(c, "inflate error", (uint64_t)-r, 0); break; }
              size_t out = RBUF - z->avail_out;
              c->msglen += out;
              if (c->checking) c->ck = (uint32_t)adler32(c->ck, scratch, (uInt)out);
              if (r == Z_STREAM_END) inflateReset(z);
            } while (z->avail_in > 0 || z->avail_out == 0);
          }
        } else {
          if (opt.eio && c->msglen < 2) memcpy(c->lead + c->msglen, p, 2 - c->msglen < take ? 2 - c->msglen : take);
          c->msglen += take;
          if (c->checking) c->ck = (uint32_t)adler32(c->ck, p, (uInt)take);
        }
      }
      p += take; n -= take; c->left -= take;
    }
    if (c->in_payload && c->left == 0) {
      c->in_payload = 0;
      if (c->ctrl) {
        if (c->opcode == 8) c->close_rcvd = 1;
      } else if (c->fin) {
        if (c->msg_compressed && c->inf != NULL) {
          static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
          z_stream *z = c->inf;
          z->next_in = (Bytef *)tail; z->avail_in = 4;
          do {
            z->next_out = scratch; z->avail_out = RBUF;
            int r = inflate(z, Z_SYNC_FLUSH);
            if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) { error_at(c, "inflate error", (uint64_t)-r, 0); break; }
            size_t out = RBUF - z->avail_out;
            c->msglen += out;
            if (c->checking) c->ck = (uint32_t)adler32(c->ck, scratch, (uInt)out);
          } while (z->avail_in > 0 || z->avail_out == 0);
        }
        on_message(c);
      }
    }
  }
}

/* A masked client text frame of a few bytes (--eio: "40", "3"). */
static void send_small_text(conn_t *c, const char *text) {
  size_t n = strlen(text);
  uint8_t f[32];
  uint64_t r = rnd();
  f[0] = 0x81;
  f[1] = (uint8_t)(0x80 | n);
  memcpy(f + 2, &r, 4);
  for (size_t i = 0; i < n; i++) f[6 + i] = (uint8_t)text[i] ^ f[2 + (i & 3)];
  write_all_small(c, f, 6 + n);
}

/* --eio: an engine.io / socket.io packet that is not an event ("42..."): the connection's own business. */
static void eio_control(conn_t *c) {
  uint8_t t0 = c->msglen > 0 ? c->lead[0] : 0, t1 = c->msglen > 1 ? c->lead[1] : 0;
  if (c->msg_opcode != 1) error_at(c, "socket.io: binary frame", (uint64_t)c->msg_opcode, 1);
  else if (t0 == '0') send_small_text(c, "40");                      /* engine.io open: join the main namespace */
  else if (t0 == '4' && t1 == '0') { if (c->state == S_EIO) on_open(c); } /* namespace connect acknowledged */
  else if (t0 == '2' && c->msglen == 1) send_small_text(c, "3");     /* engine.io ping */
  else if (t0 == '4' && t1 == '4') error_at(c, "socket.io: connect error", 0, 1);
}

static void on_message(conn_t *c) {
  if (opt.eio && !(c->msglen >= 2 && c->lead[0] == '4' && c->lead[1] == '2')) { eio_control(c); return; }
  /* subscribers get the publisher's (connection 0's) sequence */
  variant_t *v = c->role == R_SUB ? &var_plain[c->recv_seq % K] : variant_of(c, c->recv_seq);
  int expect_op = opt.text ? 1 : 2;
  if (c->msg_opcode != expect_op) error_at(c, "opcode", (uint64_t)c->msg_opcode, (uint64_t)expect_op);
  if (c->msglen != v->plen) error_at(c, "message length", c->msglen, v->plen);
  else if (c->checking) {
    tot.checked++;
    int ok = c->ck == v->ck;
    if (!ok && c->role == R_SUB) /* a broadcast may skip a slow subscriber: any variant will do */
      for (int i = 0; i < K; i++) ok |= c->ck == var_plain[i].ck;
    if (!ok) error_at(c, "payload Adler-32", c->ck, v->ck);
  }
  if (phase == P_MEASURE && c->ts && nlat < MAX_LAT) {
    lat[nlat++] = (uint32_t)((now_ns() - c->ts[c->recv_seq % (uint64_t)opt.window]) / 100); /* 0.1 µs */
  }
  c->recv_seq++;
  tot.msgs++;
  if (c->msg_compressed) tot.compressed++;
  tot.bytes += c->msglen;
  if (c->role == R_ECHO) {
    if (phase != P_DONE) queue_frames(c, 1);
  } else if (c->role == R_SUB) {
    if (pub_owed > 0) pub_owed--;
    last_progress = now_ns();
  }
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

static void on_open(conn_t *c) {
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

static int stdin_tag;

static void run_client(void) {
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

/* ------------------------------------------------------------- server side */

typedef struct sconn {
  int fd, open, closing, reading;
  char head[4096];
  size_t hlen;
  uint8_t *ob;
  size_t olen, ooff, ocap;
  uint8_t hdr[14];
  int hhave, hneed, in_payload, opcode, drop;
  uint64_t left, mpos;
  uint8_t mkey[4];
  size_t ctrl_start; /* where a control frame's payload starts in ob */
} sconn_t;

static int listen_tag;

static void ob_reserve(sconn_t *s, size_t n) {
  if (s->ooff > 0 && s->ooff == s->olen) { s->ooff = s->olen = 0; }
  if (s->olen + n <= s->ocap) return;
  if (s->ooff > 0) { memmove(s->ob, s->ob + s->ooff, s->olen - s->ooff); s->olen -= s->ooff; s->ooff = 0; }
  if (s->olen + n <= s->ocap) return;
  size_t cap = s->ocap ? s->ocap : 65536;
  while (cap < s->olen + n) cap *= 2;
  s->ob = realloc(s->ob, cap);
  s->ocap = cap;
}

static void s_interest(sconn_t *s) {
  uint32_t want = 0;
  s->reading = s->olen - s->ooff < (8u << 20); /* after a close, still read: to see the EOF */
  if (s->reading) want |= EPOLLIN;
  if (s->olen > s->ooff) want |= EPOLLOUT;
  struct epoll_event ev = { .events = want, .data.ptr = s };
  epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
}

static void s_close(sconn_t *s) {
  epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
  close(s->fd);
  free(s->ob);
  free(s);
}

/* Returns -1 when the connection is gone. */
static int s_flush(sconn_t *s) {
  while (s->olen > s->ooff) {
    ssize_t w = write(s->fd, s->ob + s->ooff, s->olen - s->ooff);
    if (w < 0) {
      if (errno == EAGAIN) break;
      s_close(s);
      return -1;
    }
    s->ooff += (size_t)w;
  }
  if (s->olen == s->ooff) {
    s->olen = s->ooff = 0;
    if (s->closing) { shutdown(s->fd, SHUT_WR); }
  }
  s_interest(s);
  return 0;
}

static void s_frames(sconn_t *s, const uint8_t *p, size_t n) {
  while (n > 0) {
    if (!s->in_payload) {
      if (s->hhave < 2) {
        size_t take = (size_t)(2 - s->hhave) < n ? (size_t)(2 - s->hhave) : n;
        memcpy(s->hdr + s->hhave, p, take);
        s->hhave += (int)take; p += take; n -= take;
        if (s->hhave < 2) return;
        int l7 = s->hdr[1] & 127;
        s->hneed = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((s->hdr[1] & 0x80) ? 4 : 0);
      }
      if (s->hhave < s->hneed) {
        size_t take = (size_t)(s->hneed - s->hhave) < n ? (size_t)(s->hneed - s->hhave) : n;
        memcpy(s->hdr + s->hhave, p, take);
        s->hhave += (int)take; p += take; n -= take;
        if (s->hhave < s->hneed) return;
      }
      int l7 = s->hdr[1] & 127, o = 2;
      uint64_t len = (uint64_t)l7;
      if (l7 == 126) { len = (uint64_t)s->hdr[2] << 8 | s->hdr[3]; o = 4; }
      else if (l7 == 127) { len = 0; for (int i = 0; i < 8; i++) len = len << 8 | s->hdr[2 + i]; o = 10; }
      if (s->hdr[1] & 0x80) memcpy(s->mkey, s->hdr + o, 4);
      else memset(s->mkey, 0, 4);
      s->opcode = s->hdr[0] & 15;
      s->hhave = 0; s->hneed = 0; s->left = len; s->mpos = 0; s->in_payload = 1;
      s->drop = s->opcode == 10 || s->closing; /* pongs are dropped, and everything after a close */
      if (!s->drop) {
        int first = s->opcode == 9 ? (0x80 | 10) : s->hdr[0]; /* ping -> pong; data and close echoed */
        ob_reserve(s, 14 + (size_t)len);
        s->olen += put_header(s->ob + s->olen, first, len, 0);
      }
    } else {
      size_t take = s->left < n ? (size_t)s->left : n;
      if (!s->drop) {
        ob_reserve(s, take);
        /* word at a time (the key turned to where this chunk starts): the fixed server of the
           client rows must stay far cheaper than the clients it measures, 1 MiB messages too */
        uint8_t *dst = s->ob + s->olen, k[8];
        for (int j = 0; j < 8; j++) k[j] = s->mkey[(s->mpos + (uint64_t)j) & 3];
        uint64_t k64, w;
        memcpy(&k64, k, 8);
        size_t i = 0;
        for (; i + 8 <= take; i += 8) { memcpy(&w, p + i, 8); w ^= k64; memcpy(dst + i, &w, 8); }
        for (; i < take; i++) dst[i] = p[i] ^ k[i & 3];
        s->olen += take;
      }
      s->mpos += take; s->left -= take; p += take; n -= take;
    }
    if (s->in_payload && s->left == 0) {
      s->in_payload = 0;
      if (s->opcode == 8 && !s->closing) s->closing = 1;
    }
  }
}

static void s_handshake(sconn_t *s, const uint8_t *p, size_t n) {
  size_t room = sizeof s->head - 1 - s->hlen;
  size_t take = n < room ? n : room;
  size_t before = s->hlen;
  memcpy(s->head + s->hlen, p, take);
  s->hlen += take;
  s->head[s->hlen] = 0;
  char *end = strstr(s->head, "\r\n\r\n");
  if (end == NULL) {
    if (s->hlen >= sizeof s->head - 1) s->closing = 1;
    return;
  }
  size_t headlen = (size_t)(end - s->head) + 4;
  end[2] = 0;
  char key[128], acc[29], resp[256];
  if (!find_header(s->head, "sec-websocket-key:", key, sizeof key)) {
    const char *bad = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    ob_reserve(s, strlen(bad));
    memcpy(s->ob + s->olen, bad, strlen(bad));
    s->olen += strlen(bad);
    s->closing = 1;
    return;
  }
  accept_key(key, acc);
  int rn = snprintf(resp, sizeof resp,
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
  ob_reserve(s, (size_t)rn);
  memcpy(s->ob + s->olen, resp, (size_t)rn);
  s->olen += (size_t)rn;
  s->open = 1;
  size_t rest_off = headlen - before;
  if (rest_off < n) s_frames(s, p + rest_off, n - rest_off);
}

static void run_server(void) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
  inet_pton(AF_INET, opt.host, &a.sin_addr);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");
  socklen_t alen = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &alen);
  printf("LISTEN %d\n", ntohs(a.sin_port));
  fflush(stdout);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_tag };
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event sev = { .events = EPOLLIN, .data.ptr = &stdin_tag };
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);
  struct epoll_event evs[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      void *tag = evs[i].data.ptr;
      if (tag == &stdin_tag) {
        char b[256];
        if (read(0, b, sizeof b) <= 0) exit(0);
        continue;
      }
      if (tag == &listen_tag) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          sconn_t *s = calloc(1, sizeof(sconn_t));
          s->fd = fd;
          s->reading = 1;
          struct epoll_event cev = { .events = EPOLLIN, .data.ptr = s };
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      sconn_t *s = tag;
      if (evs[i].events & EPOLLOUT) {
        if (s_flush(s) < 0) continue;
      }
      if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r = read(s->fd, rbuf, RBUF);
        if (r == 0 || (r < 0 && errno != EAGAIN)) { s_close(s); continue; }
        if (r > 0) {
          if (!s->open) s_handshake(s, rbuf, (size_t)r);
          else s_frames(s, rbuf, (size_t)r);
        }
        s_flush(s);
      }
    }
  }
}

/* -------------------------------------------------------------------- main */

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: loadgen echo|broadcast|connect|idle|serve [options]\n"); return 2; }
  const char *m = argv[1];
  opt.mode = !strcmp(m, "echo") ? M_ECHO : !strcmp(m, "broadcast") ? M_BROADCAST : !strcmp(m, "connect") ? M_CONNECT
           : !strcmp(m, "idle") ? M_IDLE : !strcmp(m, "serve") ? M_SERVE : -1;
  if (opt.mode < 0) { fprintf(stderr, "loadgen: unknown mode %s\n", m); return 2; }
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : "0";
    if (!strcmp(a, "--host")) { opt.host = v; i++; }
    else if (!strcmp(a, "--port")) { opt.port = atoi(v); i++; }
    else if (!strcmp(a, "--conns")) { opt.conns = atoi(v); i++; }
    else if (!strcmp(a, "--size")) { opt.size = atoi(v); i++; }
    else if (!strcmp(a, "--window")) { opt.window = atoi(v); i++; }
    else if (!strcmp(a, "--subs")) { opt.subs = atoi(v); i++; }
    else if (!strcmp(a, "--warmup")) { opt.warmup_ms = atoi(v); i++; }
    else if (!strcmp(a, "--duration")) { opt.duration_ms = atoi(v); i++; }
    else if (!strcmp(a, "--text")) opt.text = 1;
    else if (!strcmp(a, "--deflate")) opt.deflate = 1;
    else if (!strcmp(a, "--raw")) opt.raw = 1;
    else if (!strcmp(a, "--eio")) { opt.eio = 1; opt.text = 1; }
    else if (!strcmp(a, "--wait-go")) opt.wait_go = 1;
    else if (!strcmp(a, "--sub-ports")) {
      for (const char *q = v; *q && opt.nsub_ports < 16; q = strchr(q, ',') ? strchr(q, ',') + 1 : q + strlen(q))
        opt.sub_ports[opt.nsub_ports++] = atoi(q);
      i++;
    }
    else { fprintf(stderr, "loadgen: unknown option %s\n", a); return 2; }
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
  rng_state ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
  ep = epoll_create1(EPOLL_CLOEXEC);
  rbuf = malloc(RBUF);
  scratch = malloc(RBUF);
  if (opt.mode == M_SERVE) { run_server(); return 0; }
  if (opt.window < 1) opt.window = 1;
  lat = malloc(MAX_LAT * sizeof *lat);
  build_variants();
  run_client();
  return tot.errors > 0 ? 1 : 0;
}
