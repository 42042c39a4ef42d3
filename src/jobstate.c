/* The job system's state in Redis, for podcastpro-ctl and the dashboard. */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jobstate.h"
#include "queue.h"
#include "redis.h"

/* Entries read per XRANGE while walking a dead stream. */
#define JOBSTATE_PAGE 500

/* Reads the replies of N pipelined commands into OUT (each the caller's to
 * free, also on failure: the ones not read are NULL). 0, or -1 and *cause
 * when the connection failed (error replies are left to the caller). */
static int
jobstate_replies(redisContext *c, redisReply **out, size_t n, char **cause)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		void *r = NULL;

		out[i] = NULL;
		if (rc == 0 && redisGetReply(c, &r) != REDIS_OK) {
			*cause = redis_reply_error(c, NULL);
			rc = -1;
			continue;
		}
		out[i] = r;
	}
	return rc;
}

static void
jobstate_free_replies(redisReply **r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i] != NULL)
			freeReplyObject(r[i]);
	}
}

/* One command: its reply, or NULL and *cause (an error reply too). */
static redisReply *
jobstate_cmd(redisContext *c, char **cause, const char *fmt, ...)
{
	redisReply *reply;
	va_list ap;

	va_start(ap, fmt);
	reply = redisvCommand(c, fmt, ap);
	va_end(ap);
	if ((*cause = redis_reply_error(c, reply)) != NULL) {
		if (reply != NULL)
			freeReplyObject(reply);
		return NULL;
	}
	return reply;
}

json_t *
jobstate_workers(redisContext *c, char **cause)
{
	redisReply *names, **states = NULL;
	json_t *out = NULL;

	if ((names = jobstate_cmd(c, cause, "SMEMBERS %s", QUEUE_WORKERS_KEY)) == NULL)
		return NULL;
	if (names->type != REDIS_REPLY_ARRAY) {
		*cause = g_strdup("SMEMBERS: unexpected reply");
		goto out;
	}
	for (size_t i = 0; i < names->elements; i++)
		redisAppendCommand(c, "GET %s%b", QUEUE_WORKER_PREFIX, names->element[i]->str,
		    names->element[i]->len);
	states = g_new0(redisReply *, names->elements + 1);
	if (jobstate_replies(c, states, names->elements, cause) != 0)
		goto out;
	out = json_array();
	for (size_t i = 0; i < names->elements; i++) {
		json_t *state;

		if (states[i]->type == REDIS_REPLY_STRING &&
		    (state = json_loadb(states[i]->str, states[i]->len, 0, NULL)) != NULL)
			json_array_append_new(out, state);
		else if (states[i]->type == REDIS_REPLY_NIL) {
			/* Gone (stopped, or dead for more than its key's
			 * lifetime): forget the name. */
			redisReply *r = redisCommand(c, "SREM %s %b", QUEUE_WORKERS_KEY, names->element[i]->str,
			    names->element[i]->len);

			if (r != NULL)
				freeReplyObject(r);
		}
	}
out:
	if (states != NULL)
		jobstate_free_replies(states, names->elements);
	g_free(states);
	freeReplyObject(names);
	return out;
}

static void
jobstate_add_name(GPtrArray *names, GHashTable *seen, const char *q)
{
	if (*q == '\0' || g_hash_table_contains(seen, q))
		return;
	g_ptr_array_add(names, g_strdup(q));
	g_hash_table_add(seen, names->pdata[names->len - 1]);
}

GPtrArray *
jobstate_queue_names(redisContext *c, const char *configured, char **cause)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	char **conf = g_strsplit(configured != NULL ? configured : "", ",", -1);
	const char *prefixes[] = { QUEUE_PREFIX, QUEUE_DEAD_PREFIX };

	for (int i = 0; conf[i] != NULL; i++)
		jobstate_add_name(names, seen, g_strstrip(conf[i]));
	for (size_t p = 0; p < G_N_ELEMENTS(prefixes) && names != NULL; p++) {
		char cursor[32] = "0";

		do {
			redisReply *r = jobstate_cmd(c, cause, "SCAN %s MATCH %s* COUNT 1000", cursor, prefixes[p]);

			if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
				if (r != NULL) {
					*cause = g_strdup("SCAN: unexpected reply");
					freeReplyObject(r);
				}
				g_clear_pointer(&names, g_ptr_array_unref);
				break;
			}
			g_strlcpy(cursor, r->element[0]->str, sizeof cursor);
			for (size_t i = 0; i < r->element[1]->elements; i++)
				jobstate_add_name(names, seen, r->element[1]->element[i]->str + strlen(prefixes[p]));
			freeReplyObject(r);
		} while (strcmp(cursor, "0") != 0);
	}
	g_hash_table_unref(seen);
	g_strfreev(conf);
	return names;
}

static long long
jobstate_integer(const redisReply *r)
{
	if (r == NULL)
		return 0;
	if (r->type == REDIS_REPLY_INTEGER)
		return r->integer;
	/* XPENDING's summary: [count, first, last, consumers]. */
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_INTEGER)
		return r->element[0]->integer;
	/* An error (NOGROUP: no worker has read the stream yet) counts 0. */
	return 0;
}

json_t *
jobstate_queues(redisContext *c, GPtrArray *names, char **cause)
{
	GHashTable *delayed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	redisReply *r, **depths = g_new0(redisReply *, 3 * names->len + 1);
	json_t *out = NULL;

	if ((r = jobstate_cmd(c, cause, "ZRANGE %s 0 -1", QUEUE_DELAYED_KEY)) == NULL)
		goto out;
	for (size_t i = 0; i < r->elements; i++) {
		char *why = NULL;
		struct queue_job *job = queue_job_decode(r->element[i]->str, r->element[i]->len, &why);
		const char *q = job != NULL ? job->queue : "default";

		g_hash_table_insert(delayed, g_strdup(q),
		    GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(delayed, q)) + 1));
		queue_job_free(job);
		g_free(why);
	}
	freeReplyObject(r);
	for (guint i = 0; i < names->len; i++) {
		const char *q = names->pdata[i];

		redisAppendCommand(c, "XLEN %s%s", QUEUE_PREFIX, q);
		redisAppendCommand(c, "XPENDING %s%s %s", QUEUE_PREFIX, q, QUEUE_GROUP);
		redisAppendCommand(c, "XLEN %s%s", QUEUE_DEAD_PREFIX, q);
	}
	if (jobstate_replies(c, depths, 3 * names->len, cause) != 0)
		goto out;
	out = json_array();
	for (guint i = 0; i < names->len; i++) {
		long long len = jobstate_integer(depths[3 * i]), pending = jobstate_integer(depths[3 * i + 1]);

		/* Acknowledged entries are deleted, so the stream holds the
		 * waiting jobs and the pending ones. */
		json_array_append_new(out, json_pack("{s:s, s:I, s:I, s:i, s:I}", "queue", (const char *)names->pdata[i],
		    "waiting", (json_int_t)MAX(len - pending, 0), "running", (json_int_t)pending,
		    "delayed", GPOINTER_TO_INT(g_hash_table_lookup(delayed, names->pdata[i])),
		    "dead", (json_int_t)jobstate_integer(depths[3 * i + 2])));
	}
out:
	jobstate_free_replies(depths, 3 * names->len);
	g_free(depths);
	g_hash_table_unref(delayed);
	return out;
}

json_t *
jobstate_event_json(const redisReply *fields)
{
	json_t *o = json_object();

	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		json_object_set_new(o, fields->element[i]->str,
		    json_stringn_nocheck(fields->element[i + 1]->str, fields->element[i + 1]->len));
	return o;
}

/* A reply of XRANGE/XREVRANGE is an array of {id, fields}. */
static gboolean
jobstate_is_entries(const redisReply *r)
{
	if (r->type != REDIS_REPLY_ARRAY)
		return FALSE;
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[1]->type != REDIS_REPLY_ARRAY)
			return FALSE;
	}
	return TRUE;
}

gboolean
jobstate_is_entry_id(const char *s)
{
	const char *p = s;

	while (g_ascii_isdigit(*p))
		p++;
	if (p == s || *p != '-' || !g_ascii_isdigit(p[1]))
		return FALSE;
	for (p++; g_ascii_isdigit(*p); p++)
		;
	return *p == '\0';
}

json_t *
jobstate_events(redisContext *c, const char *after, int limit, char **last, char **cause)
{
	gboolean newest = after == NULL || *after == '\0';
	redisReply *r;
	json_t *out;

	if (!newest && !jobstate_is_entry_id(after)) {
		*cause = g_strdup("not an event id");
		return NULL;
	}
	if (newest)
		r = jobstate_cmd(c, cause, "XREVRANGE %s + - COUNT %d", QUEUE_EVENTS_KEY, limit);
	else
		r = jobstate_cmd(c, cause, "XRANGE %s (%s + COUNT %d", QUEUE_EVENTS_KEY, after, limit);
	if (r == NULL)
		return NULL;
	if (!jobstate_is_entries(r)) {
		*cause = g_strdup("XRANGE: unexpected reply");
		freeReplyObject(r);
		return NULL;
	}
	out = json_array();
	*last = g_strdup(newest ? "0-0" : after);
	for (size_t k = 0; k < r->elements; k++) {
		/* Oldest first either way. */
		const redisReply *e = r->element[newest ? r->elements - 1 - k : k];

		json_array_append_new(out, jobstate_event_json(e->element[1]));
		g_free(*last);
		*last = g_strdup(e->element[0]->str);
	}
	freeReplyObject(r);
	return out;
}

const char *
jobstate_entry_field(const redisReply *entry, const char *name)
{
	const redisReply *f = entry->element[1];

	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		if (strcmp(f->element[i]->str, name) == 0)
			return f->element[i + 1]->str;
	}
	return NULL;
}

json_t *
jobstate_dead_json(const redisReply *entry)
{
	json_t *o = json_object();
	const redisReply *f = entry->element[1];

	json_object_set_new(o, "entry", json_string(entry->element[0]->str));
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		json_object_set_new(o, f->element[i]->str, json_stringn_nocheck(f->element[i + 1]->str,
		    f->element[i + 1]->len));
	return o;
}

/* Entry ids compare as (ms, seq) pairs; newest first. */
static int
jobstate_entry_cmp_desc(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "entry"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "entry"));
	guint64 xm = g_ascii_strtoull(x, NULL, 10), ym = g_ascii_strtoull(y, NULL, 10);
	guint64 xs = g_ascii_strtoull(strchr(x, '-') + 1, NULL, 10), ys = g_ascii_strtoull(strchr(y, '-') + 1, NULL, 10);

	if (xm != ym)
		return xm < ym ? 1 : -1;
	return xs < ys ? 1 : xs > ys ? -1 : 0;
}

json_t *
jobstate_dead_recent(redisContext *c, GPtrArray *names, int limit, char **cause)
{
	redisReply **r = g_new0(redisReply *, names->len + 1);
	GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
	json_t *out = NULL;

	for (guint i = 0; i < names->len; i++)
		redisAppendCommand(c, "XREVRANGE %s%s + - COUNT %d", QUEUE_DEAD_PREFIX, (const char *)names->pdata[i],
		    limit);
	if (jobstate_replies(c, r, names->len, cause) != 0)
		goto out;
	for (guint i = 0; i < names->len; i++) {
		if (r[i]->type == REDIS_REPLY_ERROR || !jobstate_is_entries(r[i]))
			continue;   /* a key of another type: nothing of ours */
		for (size_t j = 0; j < r[i]->elements; j++)
			g_ptr_array_add(all, jobstate_dead_json(r[i]->element[j]));
	}
	g_ptr_array_sort(all, jobstate_entry_cmp_desc);
	out = json_array();
	for (guint i = 0; i < all->len && (int)i < limit; i++)
		json_array_append(out, all->pdata[i]);
out:
	jobstate_free_replies(r, names->len);
	g_free(r);
	g_ptr_array_unref(all);
	return out;
}

int
jobstate_dead_each(redisContext *c, GPtrArray *names, const char *queue, jobstate_dead_fn fn, void *data,
    char **cause)
{
	gboolean more = TRUE;

	for (guint i = 0; i < names->len && more; i++) {
		char *dead, *from = g_strdup("-");

		if (queue != NULL && strcmp(queue, names->pdata[i]) != 0) {
			g_free(from);
			continue;
		}
		dead = queue_dead_key(names->pdata[i]);
		while (more) {
			redisReply *r = jobstate_cmd(c, cause, "XRANGE %s %s + COUNT %d", dead, from, JOBSTATE_PAGE);
			size_t n;

			if (r == NULL || !jobstate_is_entries(r)) {
				if (r != NULL)
					freeReplyObject(r);
				if (*cause == NULL)
					*cause = g_strdup_printf("%s: not a stream", dead);
				g_free(dead);
				g_free(from);
				return -1;
			}
			n = r->elements;
			for (size_t j = 0; j < n && more; j++)
				more = fn(c, dead, r->element[j], data);
			if (n > 0) {
				g_free(from);
				from = g_strconcat("(", r->element[n - 1]->element[0]->str, NULL);
			}
			freeReplyObject(r);
			if (n < JOBSTATE_PAGE)
				break;
		}
		g_free(dead);
		g_free(from);
	}
	return 0;
}

/* Puts ENTRY of the dead stream STREAM back on its queue: a fresh start
 * (attempt 1, due now; id and arguments kept) and the dead entry deleted,
 * in one transaction. */
static enum jobstate_retry
jobstate_retry_entry(redisContext *c, const char *stream, const redisReply *entry, char **job_id, char **cause)
{
	const char *raw = jobstate_entry_field(entry, "job");
	struct queue_job *job;
	redisReply *r[4];
	char *text, *key;
	enum jobstate_retry outcome = JOBSTATE_RETRIED;

	if (raw == NULL || (job = queue_job_decode(raw, strlen(raw), cause)) == NULL) {
		if (*cause == NULL)
			*cause = g_strdup("no job field");
		return JOBSTATE_MALFORMED;
	}
	job->attempt = 1;
	job->eta = 0;
	job->enqueued_at = queue_now();
	text = queue_job_encode(job);
	key = queue_stream_key(job->queue);
	redisAppendCommand(c, "MULTI");
	redisAppendCommand(c, "XADD %s * job %s", key, text);
	redisAppendCommand(c, "XDEL %s %s", stream, entry->element[0]->str);
	redisAppendCommand(c, "EXEC");
	if (jobstate_replies(c, r, 4, cause) != 0)
		outcome = JOBSTATE_FAILED;
	for (int i = 0; i < 4 && outcome == JOBSTATE_RETRIED; i++) {
		if (r[i]->type == REDIS_REPLY_ERROR) {
			*cause = g_strdup(r[i]->str);
			outcome = JOBSTATE_FAILED;
		}
	}
	if (outcome == JOBSTATE_RETRIED && (r[3]->type != REDIS_REPLY_ARRAY || r[3]->elements != 2)) {
		*cause = g_strdup("the transaction was not carried out");
		outcome = JOBSTATE_FAILED;
	}
	jobstate_free_replies(r, 4);
	if (outcome == JOBSTATE_RETRIED)
		*job_id = g_strdup(job->id);
	g_free(text);
	g_free(key);
	queue_job_free(job);
	return outcome;
}

struct jobstate_retry_walk {
	const char *id;
	gboolean all;
	jobstate_retry_fn report;
	void *data;
	int found;
	int failed;
};

static gboolean
jobstate_retry_one(redisContext *c, const char *stream, const redisReply *entry, void *data)
{
	struct jobstate_retry_walk *w = data;
	const char *id = jobstate_entry_field(entry, "id");
	char *job_id = NULL, *cause = NULL;
	enum jobstate_retry outcome;

	if (!w->all && strcmp(w->id, entry->element[0]->str) != 0 && (id == NULL || strcmp(w->id, id) != 0))
		return TRUE;
	outcome = jobstate_retry_entry(c, stream, entry, &job_id, &cause);
	w->found++;
	if (outcome != JOBSTATE_RETRIED)
		w->failed++;
	if (w->report != NULL)
		w->report(stream, entry, outcome, job_id, cause, w->data);
	g_free(job_id);
	g_free(cause);
	return w->all;
}

int
jobstate_dead_retry(redisContext *c, GPtrArray *names, const char *queue, const char *id,
    jobstate_retry_fn report, void *data, int *failed, char **cause)
{
	struct jobstate_retry_walk w = { id, strcmp(id, "all") == 0, report, data, 0, 0 };
	int rc = 0;

	if (jobstate_is_entry_id(id)) {
		/* A dead entry's id: read just that entry of each stream. */
		for (guint i = 0; i < names->len && w.found == 0 && rc == 0; i++) {
			char *dead;
			redisReply *r;

			if (queue != NULL && strcmp(queue, names->pdata[i]) != 0)
				continue;
			dead = queue_dead_key(names->pdata[i]);
			if ((r = jobstate_cmd(c, cause, "XRANGE %s %s %s", dead, id, id)) == NULL)
				rc = -1;
			else if (jobstate_is_entries(r) && r->elements == 1)
				jobstate_retry_one(c, dead, r->element[0], &w);
			if (r != NULL)
				freeReplyObject(r);
			g_free(dead);
		}
	} else
		rc = jobstate_dead_each(c, names, queue, jobstate_retry_one, &w, cause);
	if (failed != NULL)
		*failed = w.failed;
	return rc == 0 ? w.found : -1;
}

long long
jobstate_dead_purge(redisContext *c, GPtrArray *names, const char *queue, char **cause)
{
	long long total = 0;

	for (guint i = 0; i < names->len; i++) {
		char *dead;
		redisReply *r[4];
		int rc;

		if (queue != NULL && strcmp(queue, names->pdata[i]) != 0)
			continue;
		dead = queue_dead_key(names->pdata[i]);
		/* Counted and deleted together: a job dying meanwhile is
		 * either counted and removed, or kept. */
		redisAppendCommand(c, "MULTI");
		redisAppendCommand(c, "XLEN %s", dead);
		redisAppendCommand(c, "DEL %s", dead);
		redisAppendCommand(c, "EXEC");
		g_free(dead);
		rc = jobstate_replies(c, r, 4, cause);
		if (rc == 0 && (r[3]->type != REDIS_REPLY_ARRAY || r[3]->elements != 2 ||
		    r[3]->element[0]->type != REDIS_REPLY_INTEGER)) {
			*cause = g_strdup(r[3]->type == REDIS_REPLY_ERROR ? r[3]->str : "the transaction was not carried out");
			rc = -1;
		}
		if (rc == 0)
			total += r[3]->element[0]->integer;
		jobstate_free_replies(r, 4);
		if (rc != 0)
			return -1;
	}
	return total;
}
