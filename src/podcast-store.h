/* The API's SQL: users by their token, and podcasts (create with the
 * quota, get, list by keyset, delete, and the sweeper's scan).
 *
 * Every query is parameterised and runs through db_exec(); the hot ones
 * are named prepared statements. A podcast comes back as the JSON object
 * the API answers with, made from the row by pg-json.c: the Python
 * service's fields (original_file_url, id, owner_id, status, created_at,
 * final_podcast_url, title, duration, requirements, stream_url (always
 * null here: the caller signs it)) and every further column of the table
 * (the pipeline's stage, progress, error, ..., the listener's length,
 * language, style and hosts, null when not asked) except our bookkeeping
 * (job_id, enqueued_at, transcript_vtt_key, chapters_key, audio_bytes),
 * in the table's column order. Timestamps are
 * ISO 8601 in UTC with an offset ("2025-01-01T00:00:00.000000+00:00").
 *
 * Migration 0007 (issue 15): transcript_vtt_key and chapters_key are the
 * storage keys of a complete podcast's WebVTT transcript
 * (podcasts/podcast_{id}.vtt, text/vtt) and Podcasting 2.0 chapters
 * (podcasts/podcast_{id}.chapters.json, application/json+chapters),
 * stored beside its MP3 and set in the UPDATE that sets final_podcast_url
 * (NULL before, and on rows completed before 0007). Readers sign a URL for
 * a key with storage_stream_url(), as for the MP3. The podcast JSON has
 * transcript_url and chapters_url after stream_url: null in lists; in the
 * object of podcast_json_from_row() (so _get and _create) they hold these
 * keys (or null), which the caller must replace by signed URLs (or null).
 *
 * Ownership: json_t results are new references; *cause is the caller's to
 * g_free(); GPtrArray results own their strings. */
#ifndef PP_PODCAST_STORE_H
#define PP_PODCAST_STORE_H

#include <glib.h>
#include <jansson.h>

#include "db.h"
#include "ulid.h"

/* Statuses (the Python service's). */
#define PODCAST_PENDING    "pending"
#define PODCAST_PROCESSING "processing"
#define PODCAST_COMPLETE   "complete"
#define PODCAST_FAILED     "failed"

/* The user row of a token: the one whose auth_user_id is SUB, else a new
 * one (limit 1, created 0). Only the subject finds a row: never by e-mail
 * (another subject may carry the same address; users.auth_user_id is NOT
 * NULL, so no row is without an owner). The row keeps EMAIL, or
 * "SUB@unknown.invalid" when EMAIL is NULL; when that address is already
 * another row's (users.email is unique), "SUB+ID@unknown.invalid" with
 * the new row's id. Concurrent first requests of one SUB make one row.
 * SUB must be a UUID (the column's type). 0 and OUT, or -1 and *cause. */
int podcast_store_user(struct db_conn *c, const char *sub, const char *email,
    char out[ULID_LEN + 1], char **cause);

/* TRUE in *OVER when the user may not queue another podcast. 0, or -1. */
int podcast_store_quota_reached(struct db_conn *c, const char *owner, gboolean *over, char **cause);

enum podcast_create_result { PODCAST_CREATED, PODCAST_OVER_QUOTA, PODCAST_CREATE_ERROR };

/* Inserts a pending podcast (ID a fresh ULID) for OWNER unless the quota
 * is used up (checked under a lock on the user's row). ORIGINAL_FILE_URL
 * and REQUIREMENTS may be NULL. OPTIONS (NULL: none asked) is the
 * listener's, checked already: {length, language, style, hosts}, each
 * written to its column (migration 0006), null ones as NULL. On
 * PODCAST_CREATED *OUT is the podcast. */
enum podcast_create_result podcast_store_create(struct db_conn *c, const char *id,
    const char *owner, const char *original_file_url, const char *requirements,
    const json_t *options, json_t **out, char **cause);

/* Records that the podcast's job JOB_ID was enqueued. 0, or -1. */
int podcast_store_mark_enqueued(struct db_conn *c, const char *id, const char *job_id, char **cause);

/* OWNER's podcast ID: 1 and *OUT, 0 when missing or someone else's, -1. */
int podcast_store_get(struct db_conn *c, const char *id, const char *owner, json_t **out, char **cause);

/* Appends up to LIMIT of OWNER's podcasts, newest first, with ids below
 * BEFORE (NULL: from the newest), to OUT as a JSON array (text, as the
 * database made it). Returns how many, with *more TRUE when there are
 * further ones and LAST_ID the last one's id; -1 and *cause. */
int podcast_store_list(struct db_conn *c, const char *owner, const char *before, int limit,
    GString *out, gboolean *more, char last_id[ULID_LEN + 1], char **cause);

/* Deletes OWNER's podcast ID: 1, 0 when missing or someone else's, -1.
 * On 1, *final_url is the stored audio's URL or NULL (caller frees) and
 * *in_flight TRUE when the podcast was pending or processing: its run is
 * cancelled (the task finds the row gone and stops) and, in the same
 * transaction as the delete, the owner's podcasts_created is raised: a
 * podcast deleted before it finished counts against the quota as made. */
int podcast_store_delete(struct db_conn *c, const char *id, const char *owner, char **final_url,
    gboolean *in_flight, char **cause);

/* The listener's options of podcast ID as one object {length, language,
 * style, hosts} (members null when not asked; jobs/pipeline/listener.h
 * reads it): 1 and *OUT, 0 when the row is gone, -1 and *cause. */
int podcast_store_options(struct db_conn *c, const char *id, json_t **out, char **cause);

/* The sweeper: ids of podcasts pending for longer than MIN_AGE_S seconds
 * whose job was never enqueued, oldest first, at most LIMIT. */
GPtrArray *podcast_store_unqueued(struct db_conn *c, int min_age_s, int limit, char **cause);

/* A complete podcast as its owner's private feed lists it (doc/feeds.md). */
struct podcast_feed_item {
	char id[ULID_LEN + 1];
	char *title;              /* NULL when none */
	char *summary;            /* the script's summary (transcript.summary), NULL when none */
	char *final_url;          /* final_podcast_url, NULL when none */
	char *vtt_key;            /* transcript_vtt_key (migration 0007), NULL when none */
	char *chapters_key;       /* chapters_key (migration 0007), NULL when none */
	gint64 created;           /* created_at, Unix seconds */
	gint64 modified;          /* updated_at (created_at when NULL), Unix seconds */
	int duration;             /* seconds */
	gint64 audio_bytes;       /* audio_bytes (migration 0008), -1 when NULL */
};

/* Frees a struct podcast_feed_item (NULL harmless). */
void podcast_feed_item_free(gpointer item);

/* OWNER's complete podcasts, newest first (by id), at most LIMIT; with ID
 * not NULL, only that one (when it is OWNER's and complete). A new array
 * of struct podcast_feed_item that frees them, or NULL and *cause. */
GPtrArray *podcast_store_feed_items(struct db_conn *c, const char *owner, const char *id,
    int limit, char **cause);
/* Records the size of podcast ID's MP3 (a row finished before migration
 * 0008, measured in storage): 0, or -1 and *cause. */
int podcast_store_set_audio_bytes(struct db_conn *c, const char *id, gint64 bytes, char **cause);

/* The podcast of ROW in RES (a result of the queries above, column
 * "podcast"): a new object, or NULL. */
json_t *podcast_json_from_row(const PGresult *res, int row);

#endif
