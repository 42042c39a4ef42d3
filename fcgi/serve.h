/* One responder process: its app, its acceptor threads, its signals.
 *
 * SIGTERM or SIGINT: stop accepting, let the requests in hand finish
 * (bounded by SHUTDOWN_TIMEOUT), return 0. SIGHUP, when the process runs
 * alone (spawn-fcgi, lighttpd): reopen LOG_FILE (a config change needs a
 * restart there); under the supervisor, SIGHUP is the supervisor's. */
#ifndef PP_SERVE_H
#define PP_SERVE_H

#include <glib.h>

struct config;

/* Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (inherited by
 * every thread and child created afterwards). */
void serve_block_signals(void);

/* Serves LISTEN_FD with THREADS acceptors until told to stop; returns the
 * process's exit status. SUPERVISED: a child of the supervisor, which
 * handles SIGHUP and whose death ends this process. */
int serve_run(const struct config *cfg, int listen_fd, int threads, gboolean supervised);

#endif
