/* podcast.generate: a document in storage becomes a two-host MP3.
 *
 * Stages, each written on the row as it starts (stage only moves forward,
 * progress only rises): fetching, extracting, writing, voicing (progress
 * per line), mixing, uploading, complete.
 *
 * What makes a second run cheap: the script is saved on the row
 * (transcript) as soon as it is written, and a run that finds it goes
 * straight to voicing; every voiced line is in the storage cache
 * (jobs/pipeline/voice.h). So a retry, a redelivery after a crash, or the
 * soft time limit loses at most the lines in flight.
 *
 * The status stays 'processing' while a retry is pending (the error is
 * shown meanwhile) and becomes 'failed' only on a permanent error or when
 * no retry is left. Completion is one transaction that flips the status
 * only if it was not already complete and, only then, counts the podcast
 * in users.podcasts_created: a second run never counts it twice.
 *
 * A podcast deleted while it runs (DELETE /podcasts/{id}) is cancelled:
 * the row is looked up before each paid step (the script, every line sent
 * to the voice provider) and the completion UPDATE finds it gone after the
 * MP3 is stored; the run then removes what it stored (its cached lines,
 * the MP3) and ends without a retry. The delete itself counted the podcast
 * against the quota (src/podcast-store.h).
 *
 * Beside the MP3 go its timed transcript (WebVTT) and chapters (JSON), from
 * where the mixer put each line: stored before the completion, which
 * records their keys; a retry writes them again (same keys, same bytes). */
#include "autoconfig.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "podcast-store.h"
#include "storage.h"
#include "task.h"
#include "tasks.h"

#include "pipeline/audio.h"
#include "pipeline/extract.h"
#include "pipeline/script.h"
#include "pipeline/transcript.h"
#include "pipeline/voice.h"
#include "pipeline/writer.h"

/* Stage order, as SQL sees it: a stage is written only if it is not behind. */
#define GEN_STAGE_ORDER "ARRAY['pending','fetching','extracting','writing','voicing'," \
	"'mixing','uploading','complete']::text[]"

/* Progress when each stage starts; voicing fills the span to mixing. */
#define GEN_AT_FETCHING 2
#define GEN_AT_EXTRACTING 5
#define GEN_AT_WRITING 10
#define GEN_AT_VOICING 25
#define GEN_AT_MIXING 85
#define GEN_AT_UPLOADING 93

struct gen {
	struct task_ctx *ctx;
	const char *id;
	struct storage *storage;
	char *owner;
	char *source_url;
	char *requirements;
	char *transcript;      /* JSON text from an earlier run, or NULL */
	struct listener_options opts;   /* what the listener asked (migration 0006) */
	int last_progress;
	gboolean gone;         /* the row was deleted: the run is cancelled */
};

/* Rows the statement touched, or -1 (logged). */
static int
gen_exec_logged(struct gen *g, const char *what, const char *sql, int n, const char *const *params)
{
	char *cause = NULL;
	struct db_conn *conn = db_acquire(g->ctx->db, &cause);
	PGresult *res;
	int rows = -1;

	if (conn == NULL) {
		log_warn("podcast %s: %s: %s", g->id, what, cause);
		g_free(cause);
		return -1;
	}
	res = db_exec(conn, NULL, sql, n, params);
	if (!db_ok(res))
		log_warn("podcast %s: %s: %s", g->id, what, PQresultErrorMessage(res));
	else
		rows = atoi(PQcmdTuples(res));
	PQclear(res);
	db_release(conn);
	return rows;
}

/* FALSE once the row is gone (g->gone set): nothing more is to be paid
 * for. A database that cannot answer is not taken for a delete: the run
 * goes on and its completion, which needs the row, decides. */
static gboolean
gen_alive(struct gen *g)
{
	const char *params[] = { g->id };

	if (!g->gone && gen_exec_logged(g, "row check",
	    "SELECT 1 FROM podcasts WHERE id = $1", 1, params) == 0) {
		log_info("podcast %s: deleted, the run is cancelled", g->id);
		g->gone = TRUE;
	}
	return !g->gone;
}

/* What a run stores beside podcasts/podcast_{id}: the audio, its
 * transcript and its chapters. */
static const char *const gen_audio_suffixes[] = { ".mp3", ".vtt", ".chapters.json" };

/* A cancelled run removes what it stored: the MP3, transcript and chapters
 * (stored or not: their keys are fixed) and the line audio of SCRIPT (NULL: no script yet). Lines are
 * cached by content, so one another podcast shares is voiced again there,
 * which costs less than keeping audio of a deleted podcast. */
static void
gen_cancel_cleanup(struct gen *g, const struct script *s)
{
	char *cause = NULL, *key;
	guint removed = 0;

	if (g->storage == NULL && (g->storage = storage_new(g->ctx->cfg, &cause)) == NULL) {
		log_warn("podcast %s: cancelled, its audio not removed: %s", g->id, cause);
		g_free(cause);
		return;
	}
	for (gsize k = 0; k < G_N_ELEMENTS(gen_audio_suffixes); k++) {
		key = g_strdup_printf("podcasts/podcast_%s%s", g->id, gen_audio_suffixes[k]);
		if (storage_delete(g->storage, key, &cause) != STORAGE_OK)
			log_warn("podcast %s: cancelled, %s not removed: %s", g->id, key, cause);
		g_clear_pointer(&cause, g_free);
		g_free(key);
	}
	for (guint i = 0; s != NULL && i < s->lines->len; i++) {
		key = voice_line_key(g->ctx->cfg, &g->opts, g_ptr_array_index(s->lines, i));
		if (storage_delete(g->storage, key, &cause) == STORAGE_OK)
			removed++;
		else
			log_warn("podcast %s: cancelled, %s not removed: %s", g->id, key, cause);
		g_clear_pointer(&cause, g_free);
		g_free(key);
	}
	log_info("podcast %s: cancelled; its MP3 and %u cached lines removed", g->id, removed);
}

/* Records STAGE (unless the row is already past it) and raises progress. */
static void
gen_stage(struct gen *g, const char *stage, int progress)
{
	char pct[16];
	const char *params[] = { g->id, stage, pct };

	if (stage == NULL && progress <= g->last_progress)
		return;
	g->last_progress = MAX(g->last_progress, progress);
	g_snprintf(pct, sizeof pct, "%d", progress);
	gen_exec_logged(g, "stage",
	    "UPDATE podcasts SET stage = CASE WHEN $2::text IS NOT NULL AND "
	    "  COALESCE(array_position(" GEN_STAGE_ORDER ", stage::text), 0) "
	    "  <= array_position(" GEN_STAGE_ORDER ", $2::text) THEN $2 ELSE stage END, "
	    "progress = GREATEST(progress, $3::int), updated_at = now() "
	    "WHERE id = $1 AND status <> 'complete'", 3, params);
	if (stage != NULL)
		log_info("podcast %s: %s", g->id, stage);
}

static enum task_result
gen_fail(struct gen *g, const struct pipeline_error *err)
{
	const char *message = err->message != NULL ? err->message : "Generation failed";
	gboolean final = err->permanent || g->ctx->last_attempt;
	const char *params[] = { g->id, message };

	if (final)
		gen_exec_logged(g, "fail", "UPDATE podcasts SET status = 'failed', error = $2, "
		    "updated_at = now() WHERE id = $1 AND status <> 'complete'", 2, params);
	else
		gen_exec_logged(g, "error", "UPDATE podcasts SET error = $2, updated_at = now() "
		    "WHERE id = $1 AND status <> 'complete'", 2, params);
	g->ctx->retry_min_delay = err->retry_after;
	log_warn("podcast %s: %s (%s)", g->id, message,
	    err->permanent ? "permanent" : final ? "no retry left" : "will retry");
	return task_error(g->ctx, err->permanent ? TASK_FAIL : TASK_RETRY, "%s", message);
}

/* Marks the row processing and reads what the run needs. 1 go on, 0
 * nothing to do (already complete), -1 *err. */
static int
gen_begin(struct gen *g, struct pipeline_error *err)
{
	const char *params[] = { g->id };
	char *cause = NULL;
	struct db_conn *conn = db_acquire(g->ctx->db, &cause);
	PGresult *res = NULL;
	int rc = -1;

	if (conn == NULL) {
		pipeline_error_set(err, FALSE, "Database unavailable: %s", cause);
		goto out;
	}
	res = db_exec(conn, NULL, "UPDATE podcasts SET status = 'processing', attempts = attempts + 1, "
	    "updated_at = now() WHERE id = $1 AND status IS DISTINCT FROM 'complete' "
	    "RETURNING owner_id, original_file_url, requirements, transcript::text", 1, params);
	if (!db_ok(res)) {
		pipeline_error_set(err, FALSE, "Database error: %s", PQresultErrorMessage(res));
		goto out;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		res = db_exec(conn, NULL, "SELECT status FROM podcasts WHERE id = $1", 1, params);
		if (!db_ok(res)) {
			pipeline_error_set(err, FALSE, "Database error: %s", PQresultErrorMessage(res));
			goto out;
		}
		if (PQntuples(res) == 1) {
			rc = 0;   /* complete already: a duplicate delivery */
			goto out;
		}
		pipeline_error_set(err, TRUE, "Podcast not found");
		g->gone = TRUE;
		goto out;
	}
	g->owner = PQgetisnull(res, 0, 0) ? NULL : g_strdup(PQgetvalue(res, 0, 0));
	g->source_url = PQgetisnull(res, 0, 1) ? NULL : g_strdup(PQgetvalue(res, 0, 1));
	g->requirements = PQgetisnull(res, 0, 2) ? NULL : g_strdup(PQgetvalue(res, 0, 2));
	g->transcript = PQgetisnull(res, 0, 3) ? NULL : g_strdup(PQgetvalue(res, 0, 3));
	rc = 1;
out:
	g_free(cause);
	PQclear(res);
	db_release(conn);
	return rc;
}

/* Reads the listener's options into g->opts. Values the API did not
 * check (a row edited by hand) are logged and the run uses the defaults:
 * a podcast is better made plainly than not at all. */
static void
gen_options(struct gen *g)
{
	char *cause = NULL;
	struct db_conn *conn = db_acquire(g->ctx->db, &cause);
	json_t *obj = NULL;

	if (conn == NULL || podcast_store_options(conn, g->id, &obj, &cause) < 0 ||
	    listener_options_from_json(obj, &g->opts, &cause) != 0)
		log_warn("podcast %s: the listener's options are not used: %s", g->id, cause);
	else if (listener_options_any(&g->opts))
		log_info("podcast %s: %.1f minutes, %s, %s", g->id, g->opts.minutes,
		    g->opts.language != NULL ? g->opts.language : "en", listener_style(&g->opts));
	json_decref(obj);
	db_release(conn);
	g_free(cause);
}

static GBytes *
gen_fetch(struct gen *g, char **key_out, struct pipeline_error *err)
{
	const struct config *cfg = g->ctx->cfg;
	char *key = NULL, *cause = NULL;
	GBytes *doc = NULL;
	enum storage_result r;

	if (g->source_url == NULL || (key = storage_key_from_url(g->storage, g->source_url)) == NULL) {
		pipeline_error_set(err, TRUE, "The podcast has no document in our storage");
		return NULL;
	}
	/* Room above the upload limit: objects may predate a lower limit. */
	r = storage_get(g->storage, key, (gsize)cfg->max_file_size_mb * 2 * 1024 * 1024, &doc, &cause);
	if (r == STORAGE_NOT_FOUND)
		pipeline_error_set(err, TRUE, "The uploaded document was not found");
	else if (r != STORAGE_OK)
		pipeline_error_set(err, r == STORAGE_FAIL, "Fetching the document failed: %s", cause);
	g_free(cause);
	if (doc == NULL) {
		g_free(key);
		return NULL;
	}
	*key_out = key;
	return doc;
}

static void
gen_save_script(struct gen *g, const struct script *s)
{
	json_t *j = script_to_json(s);
	char *text = json_dumps(j, JSON_COMPACT);
	const char *params[] = { g->id, s->title, text };

	/* The title the moment it exists, with the script it belongs to. */
	if (gen_exec_logged(g, "save script", "UPDATE podcasts SET title = $2, transcript = $3::jsonb, "
	    "updated_at = now() WHERE id = $1", 3, params) == 0) {
		log_info("podcast %s: deleted while its script was written, the run is cancelled", g->id);
		g->gone = TRUE;
	}
	free(text);
	json_decref(j);
}

static struct script *
gen_write(struct gen *g, struct pipeline_error *err)
{
	const struct config *cfg = g->ctx->cfg;
	char *key = NULL, *text = NULL;
	GBytes *doc;
	struct script *s = NULL;
	const void *data;
	gsize len = 0;

	gen_stage(g, "fetching", GEN_AT_FETCHING);
	if ((doc = gen_fetch(g, &key, err)) == NULL)
		return NULL;
	gen_stage(g, "extracting", GEN_AT_EXTRACTING);
	data = g_bytes_get_data(doc, &len);
	text = extract_text(data, len, key, cfg->document_max_chars, err);
	g_bytes_unref(doc);
	if (text == NULL)
		goto out;
	log_info("podcast %s: %ld characters of text", g->id, g_utf8_strlen(text, -1));
	if (!gen_alive(g)) {
		pipeline_error_set(err, TRUE, "The podcast was deleted");
		goto out;
	}
	gen_stage(g, "writing", GEN_AT_WRITING);
	s = writer_for(cfg)->write(cfg, text, g->requirements, &g->opts, err);
	if (s != NULL)
		gen_save_script(g, s);
out:
	g_free(text);
	g_free(key);
	return s;
}

static int
gen_cache_get(void *data, const char *key, GBytes **out, char **cause)
{
	struct gen *g = data;

	switch (storage_get(g->storage, key, 0, out, cause)) {
	case STORAGE_OK:
		return 1;
	case STORAGE_NOT_FOUND:
		return 0;
	default:
		return -1;
	}
}

static int
gen_cache_put(void *data, const char *key, GBytes *bytes, const char *type, char **cause)
{
	struct gen *g = data;
	gsize len;
	const void *p = g_bytes_get_data(bytes, &len);

	return storage_put(g->storage, key, p, len, type, cause) == STORAGE_OK ? 0 : -1;
}

static gboolean
gen_line_ready(guint done, guint total, void *data)
{
	struct gen *g = data;

	task_heartbeat(g->ctx);
	gen_stage(g, NULL, GEN_AT_VOICING + (int)((GEN_AT_MIXING - GEN_AT_VOICING) * done / MAX(total, 1)));
	return !task_should_stop(g->ctx);
}

static gboolean
gen_line_start(guint index, void *data)
{
	(void)index;
	return gen_alive(data);
}

static gboolean
gen_tick(void *data)
{
	struct gen *g = data;

	task_heartbeat(g->ctx);
	return !task_should_stop(g->ctx);
}

/* The MP3 of CLIPS, and in CUES (one per line) where each line's voice is
 * heard in it. */
static GBytes *
gen_mix(struct gen *g, const struct script *s, GPtrArray *clips, double *seconds,
    struct transcript_cue *cues, struct pipeline_error *err)
{
	struct audio_mix *mix = audio_mix_new();
	char *cause = NULL;
	GBytes *mp3 = NULL;

	for (guint i = 0; i < clips->len; i++) {
		const struct script_line *line = g_ptr_array_index(s->lines, i);
		gsize from = audio_mix_samples(mix), first, end;

		if (audio_mix_add(mix, g_ptr_array_index(clips, i), &cause) != 0) {
			/* Dropped from the cache, so the retry voices it again. */
			char *key = voice_line_key(g->ctx->cfg, &g->opts, line), *why = NULL;

			if (storage_delete(g->storage, key, &why) != STORAGE_OK)
				log_warn("podcast %s: %s: %s", g->id, key, why);
			pipeline_error_set(err, FALSE, "Line %u's audio is damaged: %s", i + 1, cause);
			g_free(why);
			g_free(key);
			goto out;
		}
		audio_mix_voiced(mix, from, &first, &end);
		cues[i] = (struct transcript_cue){ (double)first / AUDIO_RATE, (double)end / AUDIO_RATE };
		if (i + 1 < clips->len) {
			const struct script_line *next = g_ptr_array_index(s->lines, i + 1);

			audio_mix_pause(mix, next->speaker == line->speaker ?
			    AUDIO_PAUSE_SAME_MS : AUDIO_PAUSE_SPEAKER_MS);
		}
	}
	*seconds = audio_mix_seconds(mix);
	if ((mp3 = audio_mix_encode(mix, &cause)) == NULL)
		pipeline_error_set(err, FALSE, "Encoding the MP3 failed: %s", cause);
out:
	g_free(cause);
	audio_mix_free(mix);
	return mp3;
}

/* Stores the transcript and chapters of S beside the MP3: 0 and their keys
 * in KEYS, or -1 and *err. NAMES: the hosts' display names (transcript.h). */
static int
gen_store_transcript(struct gen *g, const struct script *s, const struct transcript_cue *cues,
    const char *const names[2], char *keys[2], struct pipeline_error *err)
{
	char *text[2] = { transcript_vtt(s, cues, names), transcript_chapters(s, cues) };
	static const char *const types[2] = { TRANSCRIPT_VTT_TYPE, TRANSCRIPT_CHAPTERS_TYPE };
	char *cause = NULL;
	int rc = 0;

	for (int k = 0; k < 2; k++) {
		enum storage_result put;

		keys[k] = g_strdup_printf("podcasts/podcast_%s%s", g->id, gen_audio_suffixes[k + 1]);
		if (rc == 0 && (put = storage_put(g->storage, keys[k], text[k], strlen(text[k]), types[k],
		    &cause)) != STORAGE_OK) {
			pipeline_error_set(err, put == STORAGE_FAIL, "Uploading %s failed: %s", keys[k], cause);
			rc = -1;
		}
		g_free(text[k]);
	}
	g_free(cause);
	return rc;
}

/* One transaction: the row complete (once) and the owner's count raised
 * only by the run that made it complete. BYTES: the MP3's size (the
 * private feed's enclosure length, doc/feeds.md). */
static int
gen_complete(struct gen *g, const char *url, double seconds, char *const keys[2], gsize bytes,
    struct pipeline_error *err)
{
	char *cause = NULL, dur[32], size[24];
	struct db_conn *conn = db_acquire(g->ctx->db, &cause);
	const char *params[] = { g->id, url, dur, keys[0], keys[1], size };
	PGresult *res = NULL;
	int rc = -1;

	g_snprintf(dur, sizeof dur, "%ld", lround(seconds));
	g_snprintf(size, sizeof size, "%" G_GSIZE_FORMAT, bytes);
	if (conn == NULL) {
		pipeline_error_set(err, FALSE, "Database unavailable: %s", cause);
		goto out;
	}
	res = db_exec(conn, NULL, "BEGIN", 0, NULL);
	if (!db_ok(res))
		goto db_fail;
	PQclear(res);
	res = db_exec(conn, NULL, "UPDATE podcasts SET status = 'complete', stage = 'complete', "
	    "progress = 100, error = NULL, final_podcast_url = $2, duration = $3::int, "
	    "transcript_vtt_key = $4, chapters_key = $5, audio_bytes = $6::bigint, "
	    "updated_at = now() WHERE id = $1 AND status IS DISTINCT FROM 'complete' "
	    "RETURNING owner_id", 6, params);
	if (!db_ok(res))
		goto db_fail;
	if (PQntuples(res) == 0) {
		/* Complete already (a concurrent run), or deleted: then the MP3
		 * just stored is nobody's. The DELETE and this UPDATE lock the
		 * row, so a delete after this point finds the URL and removes it. */
		PQclear(res);
		res = db_exec(conn, NULL, "SELECT 1 FROM podcasts WHERE id = $1", 1, params);
		if (!db_ok(res))
			goto db_fail;
		g->gone = PQntuples(res) == 0;
	} else if (!PQgetisnull(res, 0, 0)) {
		const char *owner[] = { PQgetvalue(res, 0, 0) };
		PGresult *inc = db_exec(conn, NULL, "UPDATE users SET podcasts_created = "
		    "COALESCE(podcasts_created, 0) + 1 WHERE id = $1", 1, owner);

		PQclear(res);
		res = inc;
		if (!db_ok(res))
			goto db_fail;
	}
	PQclear(res);
	res = db_exec(conn, NULL, "COMMIT", 0, NULL);
	if (!db_ok(res))
		goto db_fail;
	rc = 0;
	goto out;
db_fail:
	pipeline_error_set(err, FALSE, "Database error: %s", PQresultErrorMessage(res));
out:
	PQclear(res);
	db_release(conn);   /* rolls back an open transaction */
	g_free(cause);
	return rc;
}

enum task_result
task_podcast_generate_run(struct task_ctx *ctx)
{
	struct gen g = { 0 };
	struct pipeline_error err = { 0 };
	struct line_cache cache = { gen_cache_get, gen_cache_put, &g };
	struct voice_observer obs = { .line_ready = gen_line_ready, .tick = gen_tick,
	    .line_start = gen_line_start, .data = &g };
	struct script *s = NULL;
	GPtrArray *clips = NULL;
	GBytes *mp3 = NULL;
	struct transcript_cue *cues = NULL;
	/* The hosts' names as the listener gave them (NULL: Dorothy, Will). */
	const char *names[2] = { NULL, NULL };
	char *cause = NULL, *key = NULL, *url = NULL, *keys[2] = { NULL, NULL };
	enum task_result result = TASK_OK;
	enum storage_result put;
	double seconds = 0;
	int begun;

	g.ctx = ctx;
	g.id = json_string_value(json_object_get(ctx->args, "podcast_id"));
	if (g.id == NULL)
		return task_error(ctx, TASK_FAIL, "podcast.generate needs {\"podcast_id\": id}");
	if ((begun = gen_begin(&g, &err)) == 0) {
		log_info("podcast %s: already complete", g.id);
		goto out;
	}
	if (begun < 0) {
		/* Nothing was written on the row: it may not exist. A run that
		 * stored the MP3 and died before the check after it leaves the
		 * MP3 of a deleted row: removed here. */
		if (g.gone)
			gen_cancel_cleanup(&g, NULL);
		result = task_error(ctx, err.permanent ? TASK_FAIL : TASK_RETRY, "%s", err.message);
		goto out;
	}
	gen_options(&g);
	for (int i = 0; i < LISTENER_HOSTS; i++)
		names[i] = listener_host_name(&g.opts, i, NULL);
	if ((g.storage = storage_new(ctx->cfg, &cause)) == NULL) {
		pipeline_error_set(&err, FALSE, "Storage unavailable: %s", cause);
		goto fail;
	}

	if (g.transcript != NULL) {
		json_t *j = json_loads(g.transcript, 0, NULL);

		s = j != NULL ? script_from_json(j, &cause) : NULL;
		json_decref(j);
		g_clear_pointer(&cause, g_free);
		if (s != NULL)
			log_info("podcast %s: reusing the saved script", g.id);
	}
	if ((s == NULL && (s = gen_write(&g, &err)) == NULL) || g.gone)
		goto fail;
	if (task_should_stop(ctx)) {
		pipeline_error_set(&err, FALSE, "Stopped before voicing; the script is saved");
		goto fail;
	}

	gen_stage(&g, "voicing", GEN_AT_VOICING);
	if (voice_script(ctx->cfg, &g.opts, s, &cache, &obs, &clips, &err) != 0)
		goto fail;

	gen_stage(&g, "mixing", GEN_AT_MIXING);
	cues = g_new0(struct transcript_cue, s->lines->len);
	if ((mp3 = gen_mix(&g, s, clips, &seconds, cues, &err)) == NULL)
		goto fail;

	if (!gen_alive(&g))
		goto fail;
	gen_stage(&g, "uploading", GEN_AT_UPLOADING);
	key = g_strdup_printf("podcasts/podcast_%s.mp3", g.id);
	put = storage_put(g.storage, key, g_bytes_get_data(mp3, NULL), g_bytes_get_size(mp3),
	    "audio/mpeg", &cause);
	if (put != STORAGE_OK) {
		pipeline_error_set(&err, put == STORAGE_FAIL, "Uploading the MP3 failed: %s", cause);
		goto fail;
	}
	if (gen_store_transcript(&g, s, cues, names, keys, &err) != 0)
		goto fail;
	url = storage_object_url(g.storage, key);
	if (gen_complete(&g, url, seconds, keys, g_bytes_get_size(mp3), &err) != 0 || g.gone)
		goto fail;
	log_info("podcast %s: complete, %u lines, %.1f s, %zu bytes", g.id, s->lines->len, seconds,
	    g_bytes_get_size(mp3));
	ctx->result = json_pack("{s:s, s:f, s:i}", "final_podcast_url", url, "duration", seconds,
	    "lines", (int)s->lines->len);
	goto out;
fail:
	if (g.gone) {
		/* Cancelled by a delete: nothing to retry, nothing to mark. */
		gen_cancel_cleanup(&g, s);
		json_decref(ctx->result);
		ctx->result = json_pack("{s:b}", "cancelled", 1);
	} else
		result = gen_fail(&g, &err);
out:
	pipeline_error_clear(&err);
	if (clips != NULL)
		g_ptr_array_unref(clips);
	if (mp3 != NULL)
		g_bytes_unref(mp3);
	g_free(cues);
	g_free(keys[0]);
	g_free(keys[1]);
	script_free(s);
	storage_free(g.storage);
	g_free(g.owner);
	g_free(g.source_url);
	g_free(g.requirements);
	g_free(g.transcript);
	listener_options_clear(&g.opts);
	g_free(cause);
	g_free(key);
	g_free(url);
	return result;
}

int
task_podcast_generate_dead(const struct config *cfg, const char *job_id, json_t *args,
    const char *error)
{
	const char *id = json_string_value(json_object_get(args, "podcast_id"));
	char *conninfo;
	PGconn *pg;
	PGresult *res = NULL;
	const char *params[2];
	int rc = -1;

	if (id == NULL || cfg->database_url == NULL)
		return 0;
	/* Runs in a process of its own (task.h): one short connection for a
	 * rare event, bounded by connect_timeout, statement_timeout and the
	 * master's kill timer. A run that ended by itself has already written
	 * this; this is for a child that was killed or a job given up as
	 * poison. */
	conninfo = db_conninfo_from_config(cfg);
	pg = PQconnectdb(conninfo);
	g_free(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		log_error("podcast %s (job %s): cannot mark it failed: %s", id, job_id, PQerrorMessage(pg));
		goto out;
	}
	res = PQexec(pg, "SET statement_timeout = '10s'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("podcast %s (job %s): cannot mark it failed: %s", id, job_id, PQresultErrorMessage(res));
		goto out;
	}
	PQclear(res);
	params[0] = id;
	params[1] = error != NULL && *error != '\0' ? error : "Generation failed";
	res = PQexecParams(pg, "UPDATE podcasts SET status = 'failed', error = COALESCE(error, $2), "
	    "updated_at = now() WHERE id = $1 AND status NOT IN ('complete', 'failed')",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("podcast %s (job %s): cannot mark it failed: %s", id, job_id,
		    PQresultErrorMessage(res));
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	PQfinish(pg);
	return rc;
}
