/* The SQL of the built-in accounts' tables (migrations/0004_accounts.sql):
 * auth_credentials, auth_identities, auth_sessions, auth_refresh_tokens and
 * auth_one_time_tokens. Nothing else reads or writes them. The Python
 * schema's users row of a new account is made through podcast-store.h
 * (which owns that table's SQL), in the same transaction.
 *
 * A user comes back as GoTrue's user object, built by the database (id,
 * aud, role, email, email_confirmed_at, phone, confirmed_at,
 * last_sign_in_at, app_metadata, user_metadata, identities, created_at,
 * updated_at, is_anonymous).
 *
 * Every query is parameterised; every PGresult is cleared here.
 * Ownership: json_t results are new references; *cause is the caller's to
 * g_free(). */
#ifndef PP_ACCOUNT_STORE_H
#define PP_ACCOUNT_STORE_H

#include <glib.h>
#include <jansson.h>

#include "account-crypto.h"
#include "db.h"

/* Creates the account USER_ID for EMAIL (normalised) with the password
 * HASH, confirmed now when CONFIRMED, user_metadata META (an object, may be
 * NULL), its "email" identity and its users row: 1 and *USER; 0 when the
 * address is taken (concurrent signups of one address make one account);
 * -1 and *cause. */
int account_store_create(struct db_conn *c, const char *user_id, const char *email,
    const char *hash, gboolean confirmed, json_t *meta, json_t **user, char **cause);

/* The account with EMAIL (normalised): 1 with USER_ID, *HASH (caller frees;
 * NULL when it has no password), *DISABLED and *CONFIRMED; 0 when none; -1. */
int account_store_find_email(struct db_conn *c, const char *email,
    char user_id[ACCOUNT_UUID_LEN + 1], char **hash, gboolean *disabled, gboolean *confirmed,
    char **cause);

/* The password hash of USER_ID (caller frees; NULL when none): 1, 0 when
 * there is no such account, -1. */
int account_store_password_hash(struct db_conn *c, const char *user_id, char **hash, char **cause);

/* GoTrue's user object of USER_ID: 1 and *USER, 0 when none, -1. */
int account_store_user(struct db_conn *c, const char *user_id, json_t **user, char **cause);

/* A new session SESSION_ID for USER_ID signed in by METHOD ("password"),
 * with its first refresh token (stored as DIGEST), and the user's
 * last_sign_in_at set: 0 with *SIGNED_IN_AT (s), or -1. */
int account_store_session_new(struct db_conn *c, const char *session_id, const char *user_id,
    const char *method, const char *digest, gint64 *signed_in_at, char **cause);

/* Whether SESSION_ID is a live session of USER_ID: 1, 0, -1. */
int account_store_session_live(struct db_conn *c, const char *session_id, const char *user_id,
    char **cause);

enum account_refresh {
	ACCOUNT_REFRESH_OK,
	ACCOUNT_REFRESH_NOT_FOUND,   /* no such token (or its session ended) */
	ACCOUNT_REFRESH_REUSED,      /* spent before REUSE_INTERVAL: the session is ended */
	ACCOUNT_REFRESH_DISABLED,    /* the account is disabled */
	ACCOUNT_REFRESH_ERROR,
};

struct account_refreshed {
	char user_id[ACCOUNT_UUID_LEN + 1];
	char session_id[ACCOUNT_UUID_LEN + 1];
	char method[32];
	gint64 signed_in_at;
};

/* Spends the refresh token stored as DIGEST and stores its successor as
 * NEW_DIGEST, in one transaction with the token's row locked. A token spent
 * no more than REUSE_INTERVAL seconds ago still gets a successor (two tabs
 * refreshing at once); one spent earlier ends its whole session. */
enum account_refresh account_store_refresh(struct db_conn *c, const char *digest,
    const char *new_digest, int reuse_interval, struct account_refreshed *out, char **cause);

/* Sets USER_ID's password hash (HASH non-NULL; then every other session
 * than KEEP_SESSION ends, as GoTrue does) and merges META (non-NULL, an
 * object; null values remove keys) into user_metadata: 1, 0 when there is
 * no such account, -1. */
int account_store_update(struct db_conn *c, const char *user_id, const char *hash,
    const char *keep_session, json_t *meta, char **cause);

/* Statement helpers shared with account-identity.c (the OAuth tables). */
/* Runs one statement: the result when it succeeded, else NULL and *cause
 * (the result cleared). */
PGresult *account_exec(struct db_conn *c, const char *name, const char *sql, int n,
    const char *const *params, const char *what, char **cause);
/* A statement whose rows do not matter: 0, or -1. */
int account_run(struct db_conn *c, const char *name, const char *sql, int n,
    const char *const *params, const char *what, char **cause);
void account_rollback(struct db_conn *c);

enum account_logout_scope { ACCOUNT_LOGOUT_GLOBAL, ACCOUNT_LOGOUT_LOCAL, ACCOUNT_LOGOUT_OTHERS };

/* Ends sessions of USER_ID: all, SESSION_ID only, or all but it. 0, -1. */
int account_store_logout(struct db_conn *c, const char *user_id, const char *session_id,
    enum account_logout_scope scope, char **cause);

#endif
