/* The built-in accounts: GoTrue's API under /auth/v1/ (doc/auth.md), what
 * @supabase/supabase-js v2 calls. This header is what the gotrue-*.c files
 * share: the apikey check, GoTrue's error bodies, the JSON body, the caller
 * of a bearer token, and handing out a session.
 *
 * Files: gotrue.c (this), gotrue-token.c (signup, token), gotrue-user.c
 * (user, logout), gotrue-settings.c (settings, health). Their SQL is
 * src/account-store.c's, their secrets src/account-crypto.c's.
 *
 * Ownership: strings and json_t handed back are the caller's (g_free,
 * json_decref); a struct db_conn from gotrue_db() is released by the
 * caller with db_release(). */
#ifndef PP_FCGI_GOTRUE_H
#define PP_FCGI_GOTRUE_H

#include "account-crypto.h"
#include "app.h"
#include "db.h"
#include "request.h"

/* Initialises libsodium and the dummy hash in each process. */
extern const struct app_module gotrue_app_module;

/* The checks every /auth/v1/ call starts with: the service is configured
 * (SUPABASE_JWT_SECRET) and the apikey header (or ?apikey=) is accepted.
 * TRUE, or FALSE after answering. Sets X-Supabase-Api-Version. */
gboolean gotrue_begin(struct request *req);

/* Answers GoTrue's error: {"code":STATUS,"error_code":CODE,"msg":MSG} or,
 * to a client that sent X-Supabase-Api-Version 2024-01-01 or later (as
 * supabase-js does), {"code":CODE,"message":MSG}. */
void gotrue_error(struct request *req, int status, const char *code, const char *msg);
/* 422 weak_password, with {"weak_password":{"reasons":["length"]}}. */
void gotrue_weak_password(struct request *req, int min_length);

/* The body as a JSON object (an empty object when there is none): a new
 * reference, or NULL after answering 400 bad_json (or 413). */
json_t *gotrue_body(struct request *req);
/* The string member KEY of BODY: TRUE with *OUT (borrowed; NULL when
 * absent or null), or FALSE after answering 400 bad_json (wrong type). */
gboolean gotrue_string(struct request *req, json_t *body, const char *key, const char **out);

/* A pooled connection, or NULL after answering 500. */
struct db_conn *gotrue_db(struct request *req);
/* Logs CAUSE (freed) and answers 500 unexpected_failure. */
void gotrue_fail(struct request *req, const char *what, char *cause);

/* The caller of an Authorization: Bearer access token whose account and
 * session still exist: TRUE with USER_ID and SESSION_ID, or FALSE after
 * answering (401 no_authorization, 403 bad_jwt, 403 user_not_found, 403
 * session_not_found, 500). */
gboolean gotrue_caller(struct request *req, struct db_conn *c,
    char user_id[ACCOUNT_UUID_LEN + 1], char session_id[ACCOUNT_UUID_LEN + 1]);

/* Answers 200 with a session for USER (GoTrue's user object): a new access
 * token for SESSION_ID and the refresh token REFRESH (already stored). */
void gotrue_session(struct request *req, json_t *user, const char *session_id,
    const char *method, gint64 signed_in_at, const char *refresh);

/* The same session as a JSON object (a new reference), or NULL after
 * answering 500: for an answer that is not 200 JSON (GET /verify's
 * redirect). */
json_t *gotrue_session_body(struct request *req, json_t *user, const char *session_id,
    const char *method, gint64 signed_in_at, const char *refresh);

/* Starts a session for USER_ID (signed in now by METHOD): the session
 * object (a new reference), or NULL after answering 500. */
json_t *gotrue_session_start(struct request *req, struct db_conn *c, const char *user_id,
    const char *method);

/* Starts a session for USER_ID (signed in now by METHOD) and answers it. */
void gotrue_sign_in(struct request *req, struct db_conn *c, const char *user_id,
    const char *method);

/* TRUE when PASSWORD is long enough (counted in characters, as GoTrue). */
gboolean gotrue_password_ok(struct request *req, const char *password);

#endif
