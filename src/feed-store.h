/* The SQL of the feeds table (migrations/0008_feeds.sql): one private
 * podcast feed per user, found by the SHA-256 of the secret in its URL.
 * Nothing else reads or writes the table; the podcasts a feed lists come
 * from podcast-store.h (podcast_store_feed_items), which owns that table.
 *
 * DIGEST arguments are the hex SHA-256 of a feed secret (64 lower-case hex
 * characters, account_token_digest()); the secret itself is never stored.
 * CREATED_AT results are ISO 8601 in UTC with microseconds and "+00:00",
 * as the podcast JSON writes timestamps.
 *
 * Every query is parameterised; every PGresult is cleared here.
 * Ownership: char * results and *cause are the caller's to g_free(). */
#ifndef PP_FEED_STORE_H
#define PP_FEED_STORE_H

#include <glib.h>

#include "db.h"
#include "ulid.h"

/* Makes DIGEST the live secret of OWNER's feed, replacing (in the same
 * statement) any secret it had, revoked or not: the old URL stops working
 * when this commits. 0 and *created_at, or -1 and *cause. */
int feed_store_rotate(struct db_conn *c, const char *owner, const char *digest,
    char **created_at, char **cause);

/* OWNER's live feed: 1 and *created_at, 0 when none (never made, or
 * revoked), -1 and *cause. */
int feed_store_get(struct db_conn *c, const char *owner, char **created_at, char **cause);

/* Revokes OWNER's live feed: 1, 0 when there was none, -1 and *cause. */
int feed_store_revoke(struct db_conn *c, const char *owner, char **cause);

/* The live feed whose secret's digest is DIGEST: 1 with its OWNER and
 * *created (Unix seconds), 0 when none, -1 and *cause. */
int feed_store_find(struct db_conn *c, const char *digest, char owner[ULID_LEN + 1],
    gint64 *created, char **cause);

#endif
