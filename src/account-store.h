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
/* Replaces USER_ID's password hash OLD_HASH by NEW_HASH (an imported
 * bcrypt hash upgraded after a login); nothing when it changed meanwhile.
 * 0, or -1 and *cause. */
int account_store_rehash(struct db_conn *c, const char *user_id, const char *old_hash,
    const char *new_hash, char **cause);

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
 * than KEEP_SESSION ends, as GoTrue does; with KEEP_SESSION
 * ACCOUNT_NO_SESSION they all end) and merges META (non-NULL, an
 * object; null values remove keys) into user_metadata: 1, 0 when there is
 * no such account, -1. */
#define ACCOUNT_NO_SESSION "00000000-0000-0000-0000-000000000000"
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

/* A one-time token (a mailed link) for USER_ID: KIND is the row's kind
 * ("confirmation", "recovery", "email_change_new"; account-mail.h),
 * stored as DIGEST, expiring EXPIRY seconds from now, RELATES_TO the new
 * address of an e-mail change (else NULL). The user's earlier unspent
 * tokens of that kind are dropped: only the latest link works. 0, -1. */
int account_store_otp_new(struct db_conn *c, const char *user_id, const char *kind,
    const char *digest, const char *relates_to, int expiry, char **cause);

enum account_verify {
	ACCOUNT_VERIFY_OK,
	ACCOUNT_VERIFY_INVALID,      /* no such token, spent, expired, or not EMAIL's */
	ACCOUNT_VERIFY_EMAIL_TAKEN,  /* the new address is another account's now */
	ACCOUNT_VERIFY_DISABLED,     /* the account is disabled (token not spent) */
	ACCOUNT_VERIFY_ERROR,
};

/* Spends the one-time token stored as DIGEST of KIND, unspent and
 * unexpired, and does what it is for, in one transaction: the account is
 * confirmed (every kind: the mail reached its owner); an e-mail change
 * moves the account (and its email identity) to the new address. EMAIL
 * (normalised; may be NULL): the token must have been mailed to it. Two
 * requests with one token: one wins. USER_ID is set on OK. */
enum account_verify account_store_otp_use(struct db_conn *c, const char *digest, const char *kind,
    const char *email, char user_id[ACCOUNT_UUID_LEN + 1], char **cause);

/* Every account for the operator, oldest first: *OUT a JSON array of
 * {id, email, confirmed_at, disabled, created_at, last_sign_in_at}. 0, -1. */
int account_store_list(struct db_conn *c, json_t **out, char **cause);

/* Disables (ending every session) or enables the account with EMAIL:
 * 1, 0 when none, -1. */
int account_store_set_disabled(struct db_conn *c, const char *email, gboolean disabled,
    char **cause);

#endif
