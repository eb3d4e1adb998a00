/*
 * The client's messages, built once at start-up: K variants of the payload,
 * each a whole masked frame with its own key (plain, and compressed with
 * --deflate), and what its echo must carry.
 */
#ifndef LOADGEN_PAYLOADS_H
#define LOADGEN_PAYLOADS_H

#include "loadgen.h"

typedef struct {
  uint8_t *frame;   /* the whole client frame, masked */
  size_t flen;
  size_t plen;      /* payload length as the application sees it */
  uint32_t ck;      /* Adler-32 of what the echo must carry (plain payload; wire bytes in --raw) */
} variant_t;

extern variant_t var_plain[K], var_deflate[K];

/* Build var_plain (and var_deflate with --deflate) from the options. */
void build_variants(void);

#endif
