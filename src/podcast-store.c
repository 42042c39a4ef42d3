#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "pg-json.h"
#include "podcast-store.h"

/* A podcast is the row's every column (later migrations' columns appear
 * without a change here) but our bookkeeping, written out as JSON by
 * pg-json.c: see podcast-store.h. stream_url is null until the caller
 * signs one, and so are transcript_url and chapters_url in lists; a single
 * podcast carries their storage keys there for the caller to sign. */
#define PODCAST_COLUMNS "p.*"
static const char *const podcast_hidden_columns[] = { "job_id", "enqueued_at",
    "transcript_vtt_key", "chapters_key", "audio_bytes", NULL };

static void
podcast_append_json(GString *out, const struct pg_json_plan *plan, const PGresult *res, int row)
{
	g_string_append_c(out, '{');
	if (pg_json_append_row(out, plan, res, row) > 0)
		g_string_append_c(out, ',');
	g_string_append(out, "\"stream_url\":null,\"transcript_url\":null,\"chapters_url\":null}");
}

/* OBJ's FIELD := the row's COLUMN, when the result has it and it is set. */
static void
podcast_set_text(json_t *obj, const PGresult *res, int row, const char *column, const char *field)
{
	int col = PQfnumber(res, column);

	if (col >= 0 && !PQgetisnull(res, row, col))
		json_object_set_new(obj, field, json_string(PQgetvalue(res, row, col)));
}

static char *
podcast_error(const PGresult *res, const char *what)
{
	char *msg = PQresultErrorMessage(res);
	char *copy = g_strchomp(g_strdup(msg != NULL && *msg != '\0' ? msg : PQresStatus(PQresultStatus(res))));
	char *out = g_strdup_printf("%s: %s", what, copy);

	g_free(copy);
	return out;
}

json_t *
podcast_json_from_row(const PGresult *res, int row)
{
	GString *text = g_string_sized_new(1024);
	struct pg_json_plan *plan = pg_json_plan_new(res, podcast_hidden_columns);
	json_t *obj;

	podcast_append_json(text, plan, res, row);
	pg_json_plan_free(plan);
	obj = json_loadb(text->str, text->len, 0, NULL);
	g_string_free(text, TRUE);
	if (obj != NULL && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}
	if (obj != NULL) {
		podcast_set_text(obj, res, row, "transcript_vtt_key", "transcript_url");
		podcast_set_text(obj, res, row, "chapters_key", "chapters_url");
	}
	return obj;
}

static gboolean
podcast_uuid_valid(const char *s)
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (strlen(s) != 36)
		return FALSE;
	for (int i = 0, d = 0; i < 36; i++) {
		if (d < 4 && i == dash[d]) {
			if (s[i] != '-')
				return FALSE;
			d++;
		} else if (!g_ascii_isxdigit(s[i]))
			return FALSE;
	}
	return TRUE;
}

/* One lookup of the user row of SUB: 1 and OUT, 0 when there is none, -1. */
static int
podcast_user_by_sub(struct db_conn *c, const char *sub, char out[ULID_LEN + 1], char **cause)
{
	const char *params[] = { sub };
	PGresult *res = db_exec(c, "pp_user_by_sub", "SELECT id FROM users WHERE auth_user_id = $1::uuid",
	    1, params);
	int rc = -1;

	if (!db_ok(res)) {
		*cause = podcast_error(res, "user lookup");
		goto out;
	}
	if ((rc = PQntuples(res) == 1))
		g_strlcpy(out, PQgetvalue(res, 0, 0), ULID_LEN + 1);
out:
	PQclear(res);
	return rc;
}

/* Inserts the row ID for SUB with EMAIL: 1 (inserted), 0 when a unique key
 * (auth_user_id or email) is taken, -1. */
static int
podcast_user_insert(struct db_conn *c, const char *id, const char *sub, const char *email,
    char **cause)
{
	const char *params[] = { id, email, sub };
	PGresult *res = db_exec(c, "pp_user_insert",
	    "INSERT INTO users (id, email, auth_user_id, podcast_limit, podcasts_created) "
	    "VALUES ($1, $2, $3::uuid, 1, 0) ON CONFLICT DO NOTHING RETURNING id", 3, params);
	int rc = -1;

	if (!db_ok(res)) {
		*cause = podcast_error(res, "user insert");
		goto out;
	}
	rc = PQntuples(res) == 1;
out:
	PQclear(res);
	return rc;
}

int
podcast_store_user(struct db_conn *c, const char *sub, const char *email,
    char out[ULID_LEN + 1], char **cause)
{
	char id[ULID_LEN + 1], *address = NULL;
	int rc;

	if (!podcast_uuid_valid(sub)) {
		*cause = g_strdup("sub is not a UUID");
		return -1;
	}
	if ((rc = podcast_user_by_sub(c, sub, out, cause)) != 0)
		return rc < 0 ? -1 : 0;
	address = email != NULL ? g_strdup(email) : g_strdup_printf("%s@unknown.invalid", sub);
	for (int attempt = 0; attempt < 3; attempt++) {
		ulid_new(id);
		if ((rc = podcast_user_insert(c, id, sub, address, cause)) < 0)
			goto out;
		if (rc == 1) {
			g_strlcpy(out, id, ULID_LEN + 1);
			goto out;
		}
		/* A conflict: a concurrent first request of SUB made its row (the
		 * insert waited for it to commit, so this statement sees it), or
		 * the address belongs to another subject's row. That row is never
		 * ours: this subject gets a row of its own under an address made
		 * unique by the new row's id. */
		if ((rc = podcast_user_by_sub(c, sub, out, cause)) != 0)
			goto out;
		g_free(address);
		address = g_strdup_printf("%s+%s@unknown.invalid", sub, id);
	}
	*cause = g_strdup("user insert: every address conflicted");
	rc = -1;
out:
	g_free(address);
	return rc < 0 ? -1 : 0;
}

int
podcast_store_quota_reached(struct db_conn *c, const char *owner, gboolean *over, char **cause)
{
	const char *params[] = { owner };
	PGresult *res = db_exec(c, "pp_user_quota",
	    "SELECT coalesce(u.podcasts_created, 0) + (SELECT count(*) FROM podcasts p "
	    "WHERE p.owner_id = u.id AND p.status IN ('pending', 'processing')) "
	    ">= coalesce(u.podcast_limit, 1) FROM users u WHERE u.id = $1", 1, params);
	int rc = -1;

	if (!db_ok(res)) {
		*cause = podcast_error(res, "quota");
		goto out;
	}
	*over = PQntuples(res) != 1 || PQgetvalue(res, 0, 0)[0] == 't';
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/* OPTIONS' member NAME as a column's text: JSON text when AS_JSON, else
 * the string; NULL when null or absent (new string, or NULL). */
static char *
podcast_option_text(const json_t *options, const char *name, gboolean as_json)
{
	const json_t *v = json_object_get(options, name);
	char *text, *copy;

	if (v == NULL || json_is_null(v))
		return NULL;
	if (!as_json)
		return json_is_string(v) ? g_strdup(json_string_value(v)) : NULL;
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	copy = g_strdup(text);
	free(text);
	return copy;
}

enum podcast_create_result
podcast_store_create(struct db_conn *c, const char *id, const char *owner,
    const char *original_file_url, const char *requirements, const json_t *options,
    json_t **out, char **cause)
{
	char *length = podcast_option_text(options, "length", TRUE);
	char *language = podcast_option_text(options, "language", FALSE);
	char *style = podcast_option_text(options, "style", FALSE);
	char *hosts = podcast_option_text(options, "hosts", TRUE);
	const char *params[] = { id, owner, original_file_url, requirements, length, language, style,
	    hosts };
	PGresult *res = db_exec(c, "pp_podcast_create",
	    "SELECT " PODCAST_COLUMNS " FROM pp_podcast_create($1, $2, $3, $4, $5::jsonb, $6, $7, "
	    "$8::jsonb) p", 8, params);
	enum podcast_create_result r = PODCAST_CREATE_ERROR;

	g_free(length);
	g_free(language);
	g_free(style);
	g_free(hosts);
	*out = NULL;
	if (!db_ok(res)) {
		*cause = podcast_error(res, "podcast insert");
		goto out;
	}
	if (PQntuples(res) == 0) {
		r = PODCAST_OVER_QUOTA;
		goto out;
	}
	if ((*out = podcast_json_from_row(res, 0)) == NULL) {
		*cause = g_strdup("podcast insert: no JSON for the new row");
		goto out;
	}
	r = PODCAST_CREATED;
out:
	PQclear(res);
	return r;
}

int
podcast_store_mark_enqueued(struct db_conn *c, const char *id, const char *job_id, char **cause)
{
	const char *params[] = { id, job_id };
	PGresult *res = db_exec(c, "pp_podcast_enqueued",
	    "SELECT pp_podcast_enqueued($1, $2)", 2, params);
	int rc = 0;

	if (!db_ok(res)) {
		*cause = podcast_error(res, "mark enqueued");
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int
podcast_store_get(struct db_conn *c, const char *id, const char *owner, json_t **out, char **cause)
{
	const char *params[] = { id, owner };
	PGresult *res = db_exec(c, "pp_podcast_get",
	    "SELECT " PODCAST_COLUMNS " FROM podcasts p WHERE p.id = $1 AND p.owner_id = $2", 2, params);
	int rc = -1;

	*out = NULL;
	if (!db_ok(res)) {
		*cause = podcast_error(res, "podcast get");
		goto out;
	}
	rc = PQntuples(res) == 1 && (*out = podcast_json_from_row(res, 0)) != NULL;
out:
	PQclear(res);
	return rc;
}

int
podcast_store_list(struct db_conn *c, const char *owner, const char *before, int limit, GString *out,
    gboolean *more, char last_id[ULID_LEN + 1], char **cause)
{
	char limit_text[16];
	const char *params[3];
	struct pg_json_plan *plan;
	PGresult *res;
	int n = -1;

	*more = FALSE;
	last_id[0] = '\0';
	/* One more than asked tells whether there is a next page. */
	g_snprintf(limit_text, sizeof limit_text, "%d", limit + 1);
	params[0] = owner;
	params[1] = limit_text;
	params[2] = before;
	/* Two statements rather than "$3 IS NULL OR id < $3": each keeps a
	 * plan that walks ix_podcasts_owner_id_id backwards and stops. */
	if (before == NULL)
		res = db_exec(c, "pp_podcast_list",
		    "SELECT " PODCAST_COLUMNS " FROM podcasts p WHERE p.owner_id = $1 "
		    "ORDER BY p.id DESC LIMIT $2::int", 2, params);
	else
		res = db_exec(c, "pp_podcast_list_before",
		    "SELECT " PODCAST_COLUMNS " FROM podcasts p WHERE p.owner_id = $1 AND p.id < $3 "
		    "ORDER BY p.id DESC LIMIT $2::int", 3, params);
	if (!db_ok(res)) {
		*cause = podcast_error(res, "podcast list");
		goto out;
	}
	n = MIN(PQntuples(res), limit);
	*more = PQntuples(res) > limit;
	plan = pg_json_plan_new(res, podcast_hidden_columns);
	g_string_append_c(out, '[');
	for (int i = 0; i < n; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		podcast_append_json(out, plan, res, i);
	}
	g_string_append_c(out, ']');
	pg_json_plan_free(plan);
	if (n > 0)
		g_strlcpy(last_id, PQgetvalue(res, n - 1, PQfnumber(res, "id")), ULID_LEN + 1);
out:
	PQclear(res);
	return n;
}

int
podcast_store_delete(struct db_conn *c, const char *id, const char *owner, char **final_url,
    gboolean *in_flight, char **cause)
{
	const char *params[] = { id, owner };
	/* One statement, so one transaction: the row goes and, when its run
	 * had not finished, the owner's count rises with it. The completion
	 * (jobs/task-podcast-generate.c) raises the count in the UPDATE that
	 * makes the row complete; the row lock orders the two, so exactly one
	 * of them counts the podcast. */
	PGresult *res = db_exec(c, "pp_podcast_delete",
	    "WITH gone AS (DELETE FROM podcasts WHERE id = $1 AND owner_id = $2 "
	    "  RETURNING final_podcast_url, status IN ('pending', 'processing') AS in_flight), "
	    "counted AS (UPDATE users SET podcasts_created = COALESCE(podcasts_created, 0) + 1 "
	    "  WHERE id = $2 AND EXISTS (SELECT 1 FROM gone WHERE in_flight) RETURNING id) "
	    "SELECT final_podcast_url, COALESCE(in_flight, false) FROM gone", 2, params);
	int rc = -1;

	*final_url = NULL;
	*in_flight = FALSE;
	if (!db_ok(res)) {
		*cause = podcast_error(res, "podcast delete");
		goto out;
	}
	rc = PQntuples(res) == 1;
	if (rc == 1 && !PQgetisnull(res, 0, 0))
		*final_url = g_strdup(PQgetvalue(res, 0, 0));
	if (rc == 1)
		*in_flight = PQgetvalue(res, 0, 1)[0] == 't';
out:
	PQclear(res);
	return rc;
}

int
podcast_store_options(struct db_conn *c, const char *id, json_t **out, char **cause)
{
	const char *params[] = { id };
	PGresult *res = db_exec(c, NULL,
	    "SELECT jsonb_build_object('length', length, 'language', language, 'style', style, "
	    "'hosts', hosts)::text FROM podcasts WHERE id = $1", 1, params);
	int rc = -1;

	*out = NULL;
	if (!db_ok(res)) {
		*cause = podcast_error(res, "podcast options");
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	if ((*out = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL) {
		*cause = g_strdup("podcast options: not JSON");
		goto out;
	}
	rc = 1;
out:
	PQclear(res);
	return rc;
}

GPtrArray *
podcast_store_unqueued(struct db_conn *c, int min_age_s, int limit, char **cause)
{
	char age[16], lim[16];
	const char *params[] = { age, lim };
	GPtrArray *ids = NULL;
	PGresult *res;

	g_snprintf(age, sizeof age, "%d", min_age_s);
	g_snprintf(lim, sizeof lim, "%d", limit);
	res = db_exec(c, NULL,
	    "SELECT id FROM podcasts WHERE enqueued_at IS NULL AND status = 'pending' "
	    "AND created_at < now() - make_interval(secs => $1::int) ORDER BY created_at LIMIT $2::int",
	    2, params);
	if (!db_ok(res)) {
		*cause = podcast_error(res, "sweep scan");
		goto out;
	}
	ids = g_ptr_array_new_with_free_func(g_free);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(ids, g_strdup(PQgetvalue(res, i, 0)));
out:
	PQclear(res);
	return ids;
}

/* A feed's columns of p, in podcast_feed_item's order. */
#define PODCAST_FEED_COLUMNS \
	"p.id, p.title, p.transcript->>'summary', p.final_podcast_url, p.transcript_vtt_key, " \
	"p.chapters_key, floor(extract(epoch FROM p.created_at))::bigint, " \
	"floor(extract(epoch FROM coalesce(p.updated_at, p.created_at)))::bigint, " \
	"coalesce(p.duration, 0), p.audio_bytes"

void
podcast_feed_item_free(gpointer p)
{
	struct podcast_feed_item *it = p;

	if (it == NULL)
		return;
	g_free(it->title);
	g_free(it->summary);
	g_free(it->final_url);
	g_free(it->vtt_key);
	g_free(it->chapters_key);
	g_free(it);
}

static char *
podcast_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : g_strdup(PQgetvalue(res, row, col));
}

GPtrArray *
podcast_store_feed_items(struct db_conn *c, const char *owner, const char *id, int limit,
    char **cause)
{
	char limit_text[16];
	const char *params[] = { owner, id != NULL ? id : limit_text };
	GPtrArray *items = NULL;
	PGresult *res;

	g_snprintf(limit_text, sizeof limit_text, "%d", limit);
	/* Complete rows only, newest first: the walk down ix_podcasts_owner_id_id
	 * that the list does. */
	if (id == NULL)
		res = db_exec(c, "pp_podcast_feed", "SELECT " PODCAST_FEED_COLUMNS " FROM podcasts p "
		    "WHERE p.owner_id = $1 AND p.status = 'complete' ORDER BY p.id DESC LIMIT $2::int",
		    2, params);
	else
		res = db_exec(c, "pp_podcast_feed_one", "SELECT " PODCAST_FEED_COLUMNS " FROM podcasts p "
		    "WHERE p.owner_id = $1 AND p.id = $2 AND p.status = 'complete'", 2, params);
	if (!db_ok(res)) {
		*cause = podcast_error(res, "feed items");
		goto out;
	}
	items = g_ptr_array_new_full((guint)PQntuples(res), podcast_feed_item_free);
	for (int i = 0; i < PQntuples(res); i++) {
		struct podcast_feed_item *it = g_new0(struct podcast_feed_item, 1);

		g_strlcpy(it->id, PQgetvalue(res, i, 0), sizeof it->id);
		it->title = podcast_value(res, i, 1);
		it->summary = podcast_value(res, i, 2);
		it->final_url = podcast_value(res, i, 3);
		it->vtt_key = podcast_value(res, i, 4);
		it->chapters_key = podcast_value(res, i, 5);
		it->created = g_ascii_strtoll(PQgetvalue(res, i, 6), NULL, 10);
		it->modified = g_ascii_strtoll(PQgetvalue(res, i, 7), NULL, 10);
		it->duration = atoi(PQgetvalue(res, i, 8));
		it->audio_bytes = PQgetisnull(res, i, 9) ? -1 : g_ascii_strtoll(PQgetvalue(res, i, 9), NULL, 10);
		g_ptr_array_add(items, it);
	}
out:
	PQclear(res);
	return items;
}

int
podcast_store_set_audio_bytes(struct db_conn *c, const char *id, gint64 bytes, char **cause)
{
	char text[24];
	const char *params[] = { id, text };
	PGresult *res;
	int rc = 0;

	g_snprintf(text, sizeof text, "%" G_GINT64_FORMAT, bytes);
	res = db_exec(c, "pp_podcast_audio_bytes", "UPDATE podcasts SET audio_bytes = $2::bigint "
	    "WHERE id = $1 AND audio_bytes IS NULL", 2, params);
	if (!db_ok(res)) {
		*cause = podcast_error(res, "audio size");
		rc = -1;
	}
	PQclear(res);
	return rc;
}
