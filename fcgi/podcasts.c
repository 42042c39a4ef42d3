/* /podcasts/: create (and hand to the worker), list, get, delete.
 * doc/api.md says where and why we differ from the Python service. */
#include "autoconfig.h"

#include <string.h>

#include "auth.h"
#include "config.h"
#include "credits.h"
#include "db.h"
#include "log.h"
#include "podcast-store.h"
#include "replica.h"
#include "providers.h"
#include "queue.h"
#include "request.h"
#include "route.h"
#include "storage.h"

#include "../jobs/pipeline/listener.h"

#define PODCAST_REQUIREMENTS_MAX 2000
#define PODCAST_LIST_DEFAULT 50
#define PODCAST_LIST_MAX 200
#define PODCAST_QUEUE "podcasts"
#define PODCAST_TASK "podcast.generate"

/* An optional string field of BODY: 0 and *out (borrowed, NULL for null or
 * absent), or -1 after answering 422. */
static int
podcasts_string_field(struct request *req, json_t *body, const char *name, const char **out)
{
	json_t *v = json_object_get(body, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		response_validation(req, "body", name, "Input should be a valid string", "string_type");
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* Why a create request's body is refused (answered only after the quota,
 * whose 429 comes first). A listener option's host member is located
 * deeper: ["body", "hosts", INDEX, KEY]. */
struct podcasts_invalid {
	const char *field;
	const char *msg;
	const char *type;
	gboolean host;
	int index;
	const char *key;
};

/* The voice provider whose voices a request's hosts may name: the one the
 * settings choose (VOICE_PROVIDER, src/providers.h), as the worker does. */
static const char *
podcasts_voice_provider(const struct config *cfg)
{
	const struct provider *p = provider_choose(cfg, PROVIDER_VOICE);

	return p != NULL ? p->name : NULL;
}

/* The listener's options of BODY: 0 with *options (NULL when none is
 * asked, else the stored form, a new reference), or -1 with *bad. */
static int
podcasts_options(struct request *req, json_t *body, json_t **options, struct podcasts_invalid *bad)
{
	struct listener_options opts;
	struct listener_invalid why;

	*options = NULL;
	if (listener_options_parse(body, podcasts_voice_provider(req->app->cfg), &opts, &why) != 0) {
		*bad = (struct podcasts_invalid){ why.field, why.msg, why.type, why.index >= 0,
		    why.index, why.key };
		return -1;
	}
	if (listener_options_any(&opts))
		*options = listener_options_to_json(&opts);
	listener_options_clear(&opts);
	return 0;
}

static void
podcasts_refuse(struct request *req, const struct podcasts_invalid *bad)
{
	json_t *loc;

	if (!bad->host) {
		response_validation(req, "body", bad->field, bad->msg, bad->type);
		return;
	}
	loc = json_pack("[s, s, i]", "body", bad->field, bad->index);
	if (bad->key != NULL)
		json_array_append_new(loc, json_string(bad->key));
	response_validation_at(req, loc, bad->msg, bad->type);
}

/* Checks the fields of a create request: 0 when valid (*requirements is
 * the trimmed text or NULL, *options the listener's options or NULL;
 * caller frees both), -1 with *bad set, or -2 after answering (a field of
 * the wrong type, storage down). */
static int
podcasts_validate(struct request *req, json_t *body, char **requirements, json_t **options,
    struct podcasts_invalid *bad)
{
	struct storage *st = req->app->storage;
	const char *url, *req_text;
	char *key = NULL, *prefix = NULL, *cause = NULL;
	int rc = -1;

	*requirements = NULL;
	*options = NULL;
	if (podcasts_string_field(req, body, "requirements", &req_text) != 0 ||
	    podcasts_string_field(req, body, "original_file_url", &url) != 0)
		return -2;   /* answered */
	if (req_text != NULL) {
		char *trimmed = g_strstrip(g_strdup(req_text));

		if (g_utf8_strlen(trimmed, -1) > PODCAST_REQUIREMENTS_MAX) {
			g_free(trimmed);
			*bad = (struct podcasts_invalid){ "requirements",
			    "Value error, Requirements text must be 2000 characters or less", "value_error" };
			return -1;
		}
		if (*trimmed == '\0')
			g_free(trimmed);
		else
			*requirements = trimmed;
	}
	if (podcasts_options(req, body, options, bad) != 0)
		goto out;
	if (url == NULL) {
		*bad = (struct podcasts_invalid){ "original_file_url",
		    "Field required: the URL of an uploaded document", "missing" };
		goto out;
	}
	/* Only our own storage, and only the caller's own uploads: the worker
	 * never fetches a URL somebody typed in. */
	prefix = g_strdup_printf("podcasts/%s/", req->user->sub);
	if (st == NULL || (key = storage_key_from_url(st, url)) == NULL ||
	    !g_str_has_prefix(key, prefix) || strlen(key) == strlen(prefix)) {
		*bad = (struct podcasts_invalid){ "original_file_url",
		    "Value error, original_file_url must be one of your uploads", "value_error" };
		goto out;
	}
	switch (storage_exists(st, key, NULL, &cause)) {
	case STORAGE_OK:
		rc = 0;
		break;
	case STORAGE_NOT_FOUND:
		*bad = (struct podcasts_invalid){ "original_file_url",
		    "Value error, original_file_url: no such upload", "value_error" };
		break;
	default:
		log_error("%s storage: %s", req->request_id, cause);
		response_error(req, 503, "Storage temporarily unavailable");
		rc = -2;
		break;
	}
out:
	if (rc != 0) {
		g_clear_pointer(requirements, g_free);
		g_clear_pointer(options, json_decref);
	}
	g_free(cause);
	g_free(key);
	g_free(prefix);
	return rc;
}

/* Enqueues the podcast's job and records it. A failure here is not the
 * client's: the row exists and the sweeper enqueues it later. */
static void
podcasts_enqueue(struct request *req, struct db_conn *conn, const char *id)
{
	char job_id[ULID_LEN + 1], *cause = NULL;
	json_t *args = json_pack("{s:s}", "podcast_id", id);
	redisContext *redis = request_redis(req, &cause);

	if (redis == NULL) {
		log_warn("%s podcast %s left for the sweeper: %s", req->request_id, id, cause);
		goto out;
	}
	if (queue_enqueue(redis, PODCAST_QUEUE, PODCAST_TASK, args, 0, job_id, &cause) != 0) {
		log_warn("%s podcast %s left for the sweeper: %s", req->request_id, id, cause);
		request_redis_reset(req);
		goto out;
	}
	if (podcast_store_mark_enqueued(conn, id, job_id, &cause) != 0)
		log_warn("%s podcast %s: job %s enqueued but not recorded: %s", req->request_id, id,
		    job_id, cause);
out:
	g_free(cause);
	json_decref(args);
}

static void
podcasts_create(struct request *req)
{
	const struct config *cfg = req->app->cfg;
	struct podcasts_invalid bad = { NULL, NULL, NULL };
	struct db_conn *conn = NULL;
	json_t *body, *podcast = NULL, *options = NULL;
	char *requirements = NULL, *cause = NULL, id[ULID_LEN + 1];
	const char *url;
	gboolean over = FALSE;
	long available = 0;
	int valid;

	if ((body = request_json(req)) == NULL)
		return;
	if (!cfg->api_generation_enabled) {
		response_error(req, 503, "Podcast generation is temporarily disabled");
		goto out;
	}
	switch (credits_check(cfg, CREDITS_REQUIRED_PER_PODCAST, &available, &cause)) {
	case CREDITS_OK:
		break;
	case CREDITS_INSUFFICIENT: {
		char *detail = g_strdup_printf("Insufficient ElevenLabs credits. Available: %ld, "
		    "Required: ~%ld. Please purchase more credits.", available, CREDITS_REQUIRED_PER_PODCAST);

		response_error(req, 402, detail);
		g_free(detail);
		goto out;
	}
	default:
		log_warn("%s credits: %s", req->request_id, cause);
		response_error(req, 503, "Unable to verify ElevenLabs credits. Please try again later.");
		goto out;
	}
	if ((valid = podcasts_validate(req, body, &requirements, &options, &bad)) == -2)
		goto out;
	if ((conn = request_db(req)) == NULL)
		goto out;
	if (valid != 0) {
		/* The quota's 429 comes before the body's 422. */
		if (podcast_store_quota_reached(conn, req->user->id, &over, &cause) != 0) {
			request_db_failed(req, g_steal_pointer(&cause));
			goto out;
		}
		if (over)
			response_error(req, 429, "You have reached your podcast creation limit");
		else
			podcasts_refuse(req, &bad);
		goto out;
	}
	url = json_string_value(json_object_get(body, "original_file_url"));
	ulid_new(id);
	switch (podcast_store_create(conn, id, req->user->id, url, requirements, options, &podcast,
	    &cause)) {
	case PODCAST_CREATED:
		break;
	case PODCAST_OVER_QUOTA:
		response_error(req, 429, "You have reached your podcast creation limit");
		goto out;
	default:
		request_db_failed(req, g_steal_pointer(&cause));
		goto out;
	}
	replica_note_write(req);
	podcasts_enqueue(req, conn, id);
	response_json(req, 202, g_steal_pointer(&podcast));
out:
	db_release(conn);
	json_decref(podcast);
	json_decref(options);
	json_decref(body);
	g_free(requirements);
	g_free(cause);
}

/* Strictly digits, in [lo, hi]. */
static gboolean
podcasts_parse_int(const char *s, int lo, int hi, int *out)
{
	guint64 v;

	if (s == NULL || *s == '\0' || strlen(s) > 9 || !g_ascii_string_to_unsigned(s, 10, lo, hi, &v, NULL))
		return FALSE;
	*out = (int)v;
	return TRUE;
}

static void
podcasts_list(struct request *req)
{
	const char *limit_text = request_query(req, "limit"), *before = request_query(req, "before");
	int limit = PODCAST_LIST_DEFAULT, n;
	struct db_conn *conn = NULL;
	char *cause = NULL, last_id[ULID_LEN + 1];
	GString *body;
	gboolean more;

	if (limit_text != NULL && !podcasts_parse_int(limit_text, 1, PODCAST_LIST_MAX, &limit)) {
		response_validation(req, "query", "limit",
		    "Input should be a whole number from 1 to 200", "int_parsing");
		return;
	}
	if (before != NULL && !ulid_valid(before)) {
		response_validation(req, "query", "before", "Input should be a podcast id", "string_pattern_mismatch");
		return;
	}
	if ((conn = replica_db_read(req)) == NULL && (conn = request_db(req)) == NULL)
		return;
	body = g_string_sized_new(16384);
	n = podcast_store_list(conn, req->user->id, before, limit, body, &more, last_id, &cause);
	if (n < 0 && replica_is_replica(req, conn)) {
		/* The replica failed under us (stopped, say): the primary answers. */
		log_warn("%s read replica: %s; asking the primary", req->request_id, cause);
		g_clear_pointer(&cause, g_free);
		db_release(conn);
		g_string_truncate(body, 0);
		if ((conn = request_db(req)) == NULL) {
			g_string_free(body, TRUE);
			return;
		}
		n = podcast_store_list(conn, req->user->id, before, limit, body, &more, last_id, &cause);
	}
	db_release(conn);
	if (n < 0) {
		g_string_free(body, TRUE);
		request_db_failed(req, cause);
		return;
	}
	if (more)
		response_header(req, "Link", "<%s/podcasts/?limit=%d&before=%s>; rel=\"next\"",
		    req->app->cfg->public_url, limit, last_id);
	/* The page is JSON text already (the database made it): it goes out
	 * as it is instead of being parsed and printed again. */
	response_empty(req, 200);
	g_string_append_len(req->out, body->str, (gssize)body->len);
	g_string_free(body, TRUE);
}

/* A stream URL for a complete podcast, or NULL. */
static char *
podcasts_stream_url(struct request *req, json_t *podcast)
{
	struct storage *st = req->app->storage;
	const char *status = json_string_value(json_object_get(podcast, "status"));
	const char *final = json_string_value(json_object_get(podcast, "final_podcast_url"));
	char *key, *url, *cause = NULL;

	if (st == NULL || status == NULL || strcmp(status, PODCAST_COMPLETE) != 0 || final == NULL)
		return NULL;
	/* Rows from before us name their audio by the Python service's rule. */
	if ((key = storage_key_from_url(st, final)) == NULL)
		key = g_strdup_printf("podcasts/podcast_%s.mp3",
		    json_string_value(json_object_get(podcast, "id")));
	url = storage_stream_url(st, key, req->app->cfg->stream_url_ttl, &cause);
	if (url == NULL) {
		log_error("%s stream URL for %s: %s", req->request_id, key, cause);
		g_free(cause);
	}
	g_free(key);
	return url;
}

/* FIELD of a complete PODCAST holds a storage key (podcast_json_from_row:
 * transcript_url, chapters_url): replaced by a stream URL for it, signed
 * like stream_url; null when the podcast is not complete, has no such
 * object, or the URL cannot be made. */
static void
podcasts_sign_field(struct request *req, json_t *podcast, const char *field)
{
	struct storage *st = req->app->storage;
	const char *status = json_string_value(json_object_get(podcast, "status"));
	const char *key = json_string_value(json_object_get(podcast, field));
	char *url = NULL, *cause = NULL;

	if (st != NULL && key != NULL && g_strcmp0(status, PODCAST_COMPLETE) == 0 &&
	    (url = storage_stream_url(st, key, req->app->cfg->stream_url_ttl, &cause)) == NULL) {
		log_error("%s stream URL for %s: %s", req->request_id, key, cause);
		g_free(cause);
	}
	json_object_set_new(podcast, field, url != NULL ? json_string(url) : json_null());
	g_free(url);
}

/* The podcast id in the path, or NULL after answering 404: an id that is
 * not a ULID names no podcast. */
static const char *
podcasts_path_id(struct request *req)
{
	const char *id = request_param(req, 0);

	if (id == NULL || !ulid_valid(id)) {
		response_error(req, 404, "Podcast not found");
		return NULL;
	}
	return id;
}

/* TRUE when a podcast_store lookup FOUND the caller's podcast; otherwise
 * answers 503 (the database failed: CAUSE, taken) or 404 (missing or
 * someone else's: the same answer, so ids of others are not revealed). */
static gboolean
podcasts_found(struct request *req, int found, char *cause)
{
	if (found < 0) {
		request_db_failed(req, cause);
		return FALSE;
	}
	if (found == 0) {
		response_error(req, 404, "Podcast not found");
		return FALSE;
	}
	return TRUE;
}

static void
podcasts_get(struct request *req)
{
	const char *id;
	struct db_conn *conn;
	json_t *podcast = NULL;
	char *cause = NULL, *stream;
	int found;

	if ((id = podcasts_path_id(req)) == NULL)
		return;
	if ((conn = replica_db_read(req)) == NULL && (conn = request_db(req)) == NULL)
		return;
	found = podcast_store_get(conn, id, req->user->id, &podcast, &cause);
	if (found != 1 && replica_is_replica(req, conn)) {
		/* Not there yet, or the replica failed: the primary knows. */
		g_clear_pointer(&cause, g_free);
		db_release(conn);
		if ((conn = request_db(req)) == NULL)
			return;
		found = podcast_store_get(conn, id, req->user->id, &podcast, &cause);
	}
	db_release(conn);
	if (!podcasts_found(req, found, cause))
		return;
	if ((stream = podcasts_stream_url(req, podcast)) != NULL) {
		json_object_set_new(podcast, "stream_url", json_string(stream));
		g_free(stream);
	}
	podcasts_sign_field(req, podcast, "transcript_url");
	podcasts_sign_field(req, podcast, "chapters_url");
	response_json(req, 200, podcast);
}

static void
podcasts_delete(struct request *req)
{
	const char *id;
	struct storage *st = req->app->storage;
	struct db_conn *conn;
	char *cause = NULL, *final = NULL, *key = NULL;
	gboolean in_flight = FALSE;
	int found;

	if ((id = podcasts_path_id(req)) == NULL || (conn = request_db(req)) == NULL)
		return;
	found = podcast_store_delete(conn, id, req->user->id, &final, &in_flight, &cause);
	if (found == 1)
		replica_note_write(req);
	db_release(conn);
	if (!podcasts_found(req, found, cause))
		return;
	/* The row goes first: audio left behind by a failed removal is only
	 * disk space (logged), a row without its audio would be a broken podcast.
	 * A run still going may have put its MP3 without having recorded it:
	 * its key is the task's rule. The run itself removes what it writes
	 * after this (it checks the row after every upload). */
	if (st != NULL && final != NULL)
		key = storage_key_from_url(st, final);
	if (st != NULL && key == NULL && in_flight)
		key = g_strdup_printf("podcasts/podcast_%s.mp3", id);
	if (key != NULL && storage_delete(st, key, &cause) != STORAGE_OK) {
		log_error("%s podcast %s deleted, its audio %s not: %s", req->request_id, id, key, cause);
		g_clear_pointer(&cause, g_free);
	}
	/* Its transcript and chapters, stored beside the MP3 by the task's rule. */
	for (int i = 0; key != NULL && i < 2; i++) {
		char *side = g_strdup_printf("podcasts/podcast_%s%s", id, i == 0 ? ".vtt" : ".chapters.json");

		if (storage_delete(st, side, &cause) != STORAGE_OK) {
			log_error("%s podcast %s deleted, its %s not: %s", req->request_id, id, side, cause);
			g_clear_pointer(&cause, g_free);
		}
		g_free(side);
	}
	g_free(key);
	g_free(final);
	response_empty(req, 204);
}

const struct route podcast_routes[] = {
	{ .method = "POST", .pattern = "/podcasts", .handler = podcasts_create, .limit = "create_podcast", .flags = ROUTE_AUTH },
	{ .method = "GET", .pattern = "/podcasts", .handler = podcasts_list, .limit = "list_podcasts", .flags = ROUTE_AUTH },
	{ .method = "GET", .pattern = "/podcasts/{id}", .handler = podcasts_get, .limit = "get_podcast", .flags = ROUTE_AUTH },
	{ .method = "DELETE", .pattern = "/podcasts/{id}", .handler = podcasts_delete, .limit = "delete_podcast", .flags = ROUTE_AUTH },
	{ .method = NULL }
};
