/*
 * The WebSocket wire as both sides of the load generator need it (RFC 6455):
 * the opening handshake's keys and headers, and frame headers.
 */
#ifndef LOADGEN_WS_H
#define LOADGEN_WS_H

#include <stddef.h>
#include <stdint.h>

/* base64 of `len` bytes into `out` (4 * ceil(len / 3) + 1 bytes, NUL-terminated). */
void base64(const uint8_t *in, size_t len, char *out);

/* §4.2.2: Sec-WebSocket-Accept for Sec-WebSocket-Key `key`: base64(SHA-1(key + GUID)). */
void accept_key(const char *key, char out[29]);

/* Value of header `name` (lower case, with the colon) in an HTTP head, copied into out. */
int find_header(const char *head, const char *name, char *out, size_t outlen);

/* A frame header (first byte `first`, minimal length encoding) into h (at most 10 bytes): its length.
   With `masked` the mask bit is set; the caller writes the 4 key bytes after it. */
size_t put_header(uint8_t *h, int first, uint64_t len, int masked);

#endif
