/* Where the responder's listening socket comes from: --listen, systemd
 * socket activation, or fd 0 (spawn-fcgi, lighttpd bin-path).
 *
 * Each function returns a listening descriptor the caller owns, or -1. */
#ifndef PP_LISTEN_H
#define PP_LISTEN_H

#include <glib.h>
#include <sys/types.h>

/* SPEC is "unix:PATH" (or an absolute PATH) or "HOST:PORT" ("[::1]:9000").
 * A unix socket gets MODE and, when GROUP is non-NULL, that group; a
 * stale socket file left by a dead process is replaced, a live one is an
 * error. -1 and *cause (caller frees) on failure. */
int listen_open(const char *spec, int backlog, mode_t mode, const char *group, char **cause);
/* The socket systemd passed (LISTEN_PID/LISTEN_FDS), or -1: none (with
 * *cause NULL) or an unusable set (with *cause). */
int listen_from_systemd(char **cause);
/* TRUE when FD is a listening stream socket (spawn-fcgi's fd 0). */
gboolean listen_fd_is_listening(int fd);
/* Removes the unix socket file SPEC named, if it was one (on exit). */
void listen_cleanup(const char *spec);

#endif
