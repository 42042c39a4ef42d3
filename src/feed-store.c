/* The feeds table's SQL (see feed-store.h). */
#include "autoconfig.h"

#include <string.h>

#include "feed-store.h"

/* The podcast JSON's timestamp form. */
#define FEED_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

/* One statement returning rows: 0 rows, 1 and the first row's column 0
 * in *value (caller frees; NULL when VALUE is NULL), or -1 and *cause. */
static int
feed_exec(struct db_conn *c, const char *name, const char *sql, int n, const char *const *params,
    char **value, char **cause)
{
	PGresult *res = db_exec(c, name, sql, n, params);
	int rc = -1;

	if (!db_ok(res)) {
		*cause = g_strdup_printf("feed %s: %s", name, g_strchomp(PQresultErrorMessage(res)));
		goto out;
	}
	rc = PQntuples(res) > 0;
	if (rc == 1 && value != NULL)
		*value = g_strdup(PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	return rc;
}

int
feed_store_rotate(struct db_conn *c, const char *owner, const char *digest,
    char **created_at, char **cause)
{
	const char *params[] = { owner, digest };
	/* One statement: concurrent rotations of one user serialise on the
	 * row (the last one's secret wins), and no moment has two live secrets. */
	int rc = feed_exec(c, "pp_feed_rotate",
	    "INSERT INTO feeds AS f (owner_id, token_hash) VALUES ($1, $2) "
	    "ON CONFLICT (owner_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now(), "
	    "rotations = f.rotations + 1, revoked_at = NULL "
	    "RETURNING " FEED_TS("created_at"), 2, params, created_at, cause);

	if (rc == 0) {
		*cause = g_strdup("feed rotate: no row returned");
		rc = -1;
	}
	return rc < 0 ? -1 : 0;
}

int
feed_store_get(struct db_conn *c, const char *owner, char **created_at, char **cause)
{
	const char *params[] = { owner };

	return feed_exec(c, "pp_feed_get", "SELECT " FEED_TS("created_at") " FROM feeds "
	    "WHERE owner_id = $1 AND token_hash IS NOT NULL", 1, params, created_at, cause);
}

int
feed_store_revoke(struct db_conn *c, const char *owner, char **cause)
{
	const char *params[] = { owner };

	return feed_exec(c, "pp_feed_revoke", "UPDATE feeds SET token_hash = NULL, revoked_at = now() "
	    "WHERE owner_id = $1 AND token_hash IS NOT NULL RETURNING owner_id", 1, params, NULL, cause);
}

int
feed_store_find(struct db_conn *c, const char *digest, char owner[ULID_LEN + 1],
    gint64 *created, char **cause)
{
	const char *params[] = { digest };
	char *row = NULL, *sep;
	int rc = feed_exec(c, "pp_feed_find", "SELECT owner_id || ' ' || "
	    "floor(extract(epoch FROM created_at))::bigint FROM feeds WHERE token_hash = $1",
	    1, params, &row, cause);

	if (rc != 1)
		return rc;
	if ((sep = strchr(row, ' ')) == NULL || sep - row != ULID_LEN) {
		*cause = g_strdup_printf("feed find: unexpected row \"%s\"", row);
		rc = -1;
	} else {
		g_strlcpy(owner, row, ULID_LEN + 1);
		*created = g_ascii_strtoll(sep + 1, NULL, 10);
	}
	g_free(row);
	return rc;
}
