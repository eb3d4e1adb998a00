/*
 * `loadgen serve`: the fixed WebSocket echo server of the client rows.
 */
#ifndef LOADGEN_SERVER_H
#define LOADGEN_SERVER_H

/* Listen on --host / --port (0: any free port; prints "LISTEN port"), echo until stdin closes. */
void run_server(void);

#endif
