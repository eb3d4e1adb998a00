/*
 * The client's messages, built once at start-up (see payloads.h): random
 * bytes, JSON-like text (what permessage-deflate is for) or socket.io event
 * packets; masked once, compressed once.
 */
#include "payloads.h"

#include <zlib.h>

#include "ws.h"

variant_t var_plain[K], var_deflate[K];

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

void build_variants(void) {
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
