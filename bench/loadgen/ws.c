/*
 * The WebSocket wire (RFC 6455) for both sides of the load generator:
 * SHA-1 and base64 for the opening handshake's accept key (§4.2.2), header
 * lookup in a response or request head, and frame headers (§5.2).
 */
#define _GNU_SOURCE
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ SHA-1, base64 */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* FIPS 180-4 SHA-1 of msg, whole (the handshake's only use: a key and the GUID). */
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

void base64(const uint8_t *in, size_t len, char *out) {
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

void accept_key(const char *key, char out[29]) {
  char buf[128];
  uint8_t digest[20];
  int n = snprintf(buf, sizeof buf, "%s%s", key, GUID);
  sha1((const uint8_t *)buf, (size_t)n, digest);
  base64(digest, 20, out);
}

/* Value of header `name` (lower case, with the colon) in an HTTP head, copied into out. */
int find_header(const char *head, const char *name, char *out, size_t outlen) {
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

/* ------------------------------------------------------------ frame headers */

size_t put_header(uint8_t *h, int first, uint64_t len, int masked) {
  size_t o = 0;
  h[o++] = (uint8_t)first;
  uint8_t m = masked ? 0x80 : 0;
  if (len < 126) h[o++] = m | (uint8_t)len;
  else if (len < 65536) { h[o++] = m | 126; h[o++] = (uint8_t)(len >> 8); h[o++] = (uint8_t)len; }
  else { h[o++] = m | 127; for (int i = 7; i >= 0; i--) h[o++] = (uint8_t)(len >> (8 * i)); }
  return o;
}
