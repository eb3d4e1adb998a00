/*
 * wavesock bench: load generator and fixed echo server, in C so that it costs
 * far less per message than the Node servers it measures.
 *
 * Built by bench/run.js (bench/lib/proc.js) from every .c file in bench/loadgen/:
 *   cc -O2 -o bench/results/loadgen client.c main.c payloads.c receive.c server.c ws.c -lz
 * main.c: the command line; ws.c: handshake keys and frame headers; payloads.c:
 * the client frames, built once; client.c: the client connections, event loop
 * and scenarios; receive.c: the client's frame parser and checks; server.c:
 * `loadgen serve`.
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
#include "loadgen.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "client.h"
#include "payloads.h"
#include "server.h"

/* ------------------------------------------------------------------ options */

struct options opt = { M_ECHO, "127.0.0.1", 0, 1, 64, 1, 0, 0, 0, 0, 1000, 3000, 0, 0, 0, { 0 } };

int ep;
uint8_t *rbuf;
uint8_t *scratch;
int stdin_tag;

double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(2);
}

uint64_t rng_state = 0x9e3779b97f4a7c15ull;

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
