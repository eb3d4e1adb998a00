/*
 * What every part of the load generator shares: the options, the clock, the
 * random numbers, the fatal-error exit, and the process-wide epoll instance
 * and read buffers (one thread: no locking anywhere).
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K 8                 /* payload variants */
#define MAX_EVENTS 1024
#define RBUF (256 * 1024)
#define MAX_LAT (1u << 21)  /* latency samples kept */

enum { M_ECHO, M_BROADCAST, M_CONNECT, M_IDLE, M_SERVE };

/* The command line (main.c). */
struct options {
  int mode;
  const char *host;
  int port;
  int conns, size, window, text, deflate, raw, subs;
  int warmup_ms, duration_ms;
  int eio, wait_go, nsub_ports, sub_ports[16];
};
extern struct options opt;

extern int ep;             /* the epoll instance */
extern uint8_t *rbuf;      /* RBUF bytes: every read() goes here */
extern uint8_t *scratch;   /* RBUF bytes: inflated output, looked at and dropped */
extern int stdin_tag;      /* epoll data.ptr of stdin (the runner's line, or its EOF) */

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double cpu_seconds(void);
void die(const char *what);

extern uint64_t rng_state;
static inline uint64_t rnd(void) {
  /* xorshift64*: keys and payloads only need to vary, not to be secret */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

#endif
