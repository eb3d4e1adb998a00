/*
 * The client's receive path: the frame parser (any split of the bytes, any
 * length encoding), inflating compressed answers (one stream per connection:
 * the server keeps its context), the check of every message against the
 * frame it echoes or the publisher's, and socket.io's own packets (--eio).
 */
#include "client.h"

static void on_message(conn_t *c);

/**
 * Inflate `n` bytes of a compressed message into the scratch buffer, adding
 * the output to the message's length (and checksum). `reset_at_end`: a
 * payload piece may end a DEFLATE stream, after which the inflater starts
 * anew; the 0x00 0x00 0xff 0xff tail (RFC 7692 §7.2.2) never does.
 */
static void inflate_some(conn_t *c, z_stream *z, const uint8_t *in, size_t n, int reset_at_end) {
  z->next_in = (Bytef *)in; z->avail_in = (uInt)n;
  do {
    z->next_out = scratch; z->avail_out = RBUF;
    int r = inflate(z, Z_SYNC_FLUSH);
    if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) { error_at(c, "inflate error", (uint64_t)-r, 0); break; }
    size_t out = RBUF - z->avail_out;
    c->msglen += out;
    if (c->checking) c->ck = (uint32_t)adler32(c->ck, scratch, (uInt)out);
    if (reset_at_end && r == Z_STREAM_END) inflateReset(z);
  } while (z->avail_in > 0 || z->avail_out == 0);
}

/* Feed received bytes to the frame parser. */
void parse(conn_t *c, const uint8_t *p, size_t n) {
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
            inflate_some(c, z, p, take, 1);
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
          inflate_some(c, c->inf, tail, 4, 0);
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
