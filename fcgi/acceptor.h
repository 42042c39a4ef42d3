/* The acceptor threads of one responder process: each owns an FCGX_Request
 * on the shared listening socket and serves one connection at a time.
 *
 * A thread waits (epoll, EPOLLEXCLUSIVE so one connection wakes one
 * thread) on the listening socket and a stop event, or with a kept
 * connection (nginx fastcgi_keep_conn) on that connection and the stop
 * event; only then does it call FCGX_Accept_r, on a non-blocking listening
 * socket, so a stop request never waits for traffic. After a stop, a
 * thread finishes the request in hand, closes its connection and exits.
 *
 * Ownership: acceptor_start() returns a set freed by acceptor_free() once
 * acceptor_join() has returned 0. The app must outlive the set. */
#ifndef PP_ACCEPTOR_H
#define PP_ACCEPTOR_H

#include "request.h"

struct acceptor_set;

/* Starts THREADS threads on LISTEN_FD (made non-blocking here). NULL and
 * *cause (caller frees) when none could start. Call FCGX_Init() first and
 * block the process's signals so that threads inherit the mask. */
struct acceptor_set *acceptor_start(struct app *app, int listen_fd, int threads, char **cause);
/* Asks every thread to stop after its current request. Async-signal-safe. */
void acceptor_stop(struct acceptor_set *set);
/* Waits up to TIMEOUT_S seconds for the threads: 0 when all have ended,
 * or the number of threads still busy. */
int acceptor_join(struct acceptor_set *set, int timeout_s);
void acceptor_free(struct acceptor_set *set);

#endif
