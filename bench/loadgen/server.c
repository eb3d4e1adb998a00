/*
 * `loadgen serve`: the fixed WebSocket echo server the client rows measure
 * their clients against. It must stay far cheaper than the clients: one
 * output buffer per connection, frames unmasked 8 bytes at a time straight
 * into it, pings answered, pongs dropped, a close echoed and then the TCP
 * connection ended. No permessage-deflate.
 */
#include "loadgen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server.h"
#include "ws.h"

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

void run_server(void) {
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
