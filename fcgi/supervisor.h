/* The prefork supervisor: N responder processes on one listening socket.
 *
 * A process that dies is replaced; one that dies young (under
 * SUPERVISOR_STABLE_S) is replaced after a delay doubling from 100 ms to
 * 30 s, reset once a replacement lives long enough. SIGHUP reloads the
 * configuration (kept as it was when it no longer loads), reopens
 * LOG_FILE and rolls the processes one at a time: a new one starts, then
 * the old one drains. SIGTERM/SIGINT: every process drains (bounded by
 * SHUTDOWN_TIMEOUT, then killed), and the supervisor returns 0. */
#ifndef PP_SUPERVISOR_H
#define PP_SUPERVISOR_H

#include <glib.h>

#define SUPERVISOR_STABLE_S 10
#define SUPERVISOR_MAX_DELAY_MS 30000

struct supervisor_opts {
	int listen_fd;
	int processes;
	int threads;
	const char *env_file;   /* reread on SIGHUP; may be NULL */
	const char *listen_spec;  /* --listen, removed (unix socket) at the end; may be NULL */
};

/* Runs until SIGTERM/SIGINT; the config is config_get()'s. Returns the
 * exit status, in the supervisor (0 after a clean stop) and in each
 * responder process it forked (which returns here when it is done, so
 * that main() ends every process the same way). */
int supervisor_run(const struct supervisor_opts *opts);

#endif
