/*
 * The client side of the load generator (echo, broadcast, connect, idle):
 * its connections and the counters they feed, shared by client.c (the
 * connections, the event loop, the scenarios and the result line) and
 * receive.c (the frame parser and the check of every message).
 */
#ifndef LOADGEN_CLIENT_H
#define LOADGEN_CLIENT_H

#include "loadgen.h"

#include <zlib.h>

#include "payloads.h"

enum { P_WARMUP, P_MEASURE, P_DONE };
enum { S_CONNECTING, S_HANDSHAKE, S_OPEN, S_CLOSING, S_FREE, S_EIO /* --eio: WebSocket open, namespace not joined yet */ };
enum { R_ECHO, R_PUB, R_SUB };

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

typedef struct {
  uint64_t msgs, bytes, checked, errors, handshakes, lost, deflate_ok, opened, conn_errors;
  uint64_t compressed; /* messages that came with RSV1 set (permessage-deflate): a server may send any uncompressed */
} totals_t;

extern totals_t tot;
extern int phase;
extern char first_error[256];
extern uint32_t *lat;       /* MAX_LAT latency samples, 0.1 µs each */
extern size_t nlat;
extern uint64_t pub_owed;   /* deliveries still expected for what the publisher sent */
extern uint64_t last_progress;

/* The frame connection c sends as its message number seq (and whose echo it expects back). */
static inline variant_t *variant_of(conn_t *c, uint64_t seq) {
  int v = (int)((c->id + seq) % K);
  return c->deflate ? &var_deflate[v] : &var_plain[v];
}

/* client.c */
void error_at(conn_t *c, const char *what, uint64_t got, uint64_t want);
void queue_frames(conn_t *c, int n);
void write_all_small(conn_t *c, const void *p, size_t n);
void on_open(conn_t *c);
void run_client(void);

/* receive.c */
void parse(conn_t *c, const uint8_t *p, size_t n);

#endif
