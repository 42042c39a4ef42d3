/* Redis Sentinel: which server is the master now (doc/scaling.md).
 *
 * REDIS_SENTINELS is "host:port,host:port,..." (a port may be left out:
 * 26379; an IPv6 address is bracketed, [::1]:26379). REDIS_SENTINEL_MASTER
 * names the master the sentinels watch, REDIS_SENTINEL_PASSWORD is the
 * sentinels' own requirepass. The master's password, user and database
 * still come from REDIS_URL, whose host and port are then not used.
 *
 * The sentinels are asked in turn, starting with the one that answered
 * last in this process (shared by its threads), with SENTINEL
 * get-master-addr-by-name. Blocking here; the worker's master asks the same
 * question on its main loop (jobs/worker-sentinel.c).
 *
 * Ownership: a GArray from redis_sentinel_parse() holds struct
 * redis_sentinel_addr and frees their strings itself (g_array_unref).
 * Host names returned are the caller's to g_free(). */
#ifndef PP_REDIS_SENTINEL_H
#define PP_REDIS_SENTINEL_H

#include <glib.h>
#include <hiredis/hiredis.h>

#include "config.h"

#define REDIS_SENTINEL_PORT 26379

struct redis_sentinel_addr {
	char *host;
	int port;
};

/* Parses LIST: an array of at least one address, or NULL and *cause (the
 * caller frees), which quotes the bad entry (lists hold no secrets). */
GArray *redis_sentinel_parse(const char *list, char **cause);
/* REDIS_SENTINELS's check in the config table. */
int redis_sentinel_check(const char *list, char **cause);
/* REDIS_SENTINEL_MASTER's check: a name of printable characters, no space. */
int redis_sentinel_check_name(const char *name, char **cause);

/* The master's address from the reply to SENTINEL get-master-addr-by-name:
 * 0 with *HOST (caller frees) and *PORT, or -1 and *cause (a nil reply:
 * the sentinel does not know that master). */
int redis_sentinel_reply_addr(const redisReply *reply, const char *master, char **host, int *port,
    char **cause);

/* Asks CFG's sentinels in turn, all of them within TIMEOUT_MS (each gets a
 * share, at least 100 ms, so one that does not answer cannot use it all).
 * 0 with *HOST (caller frees) and *PORT, or -1 and *cause. */
int redis_sentinel_master(const struct config *cfg, int timeout_ms, char **host, int *port, char **cause);

/* The sentinel to ask first (an index into the parsed list), and the one
 * that just answered, remembered for this process's next question. */
guint redis_sentinel_first(guint n);
void redis_sentinel_answered(guint index);

/* How long one sentinel may take when N share TIMEOUT_MS. */
int redis_sentinel_share_ms(int timeout_ms, guint n);

#endif
