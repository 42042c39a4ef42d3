/* The SQL of OAuth sign-in (migrations/0009_oauth.sql): auth_flow_states
 * (one per /auth/v1/authorize: the state, the nonce, the PKCE challenge,
 * then the auth code) and the provider rows of auth_identities (0004).
 * Nothing else reads or writes auth_flow_states; account-store.c keeps the
 * rest of the accounts' tables.
 *
 * States and auth codes are stored as their SHA-256 (account_token_digest),
 * spent once, and expire.
 *
 * Every query is parameterised; every PGresult is cleared here.
 * Ownership: strings in the structs filled here are the caller's, freed by
 * the matching *_clear(); *cause is the caller's to g_free(). */
#ifndef PP_ACCOUNT_IDENTITY_H
#define PP_ACCOUNT_IDENTITY_H

#include <glib.h>
#include <jansson.h>

#include "account-crypto.h"
#include "db.h"

struct account_flow {
	char id[ACCOUNT_UUID_LEN + 1];
	char *provider;
	char *redirect_to;
	char *nonce;
	gboolean pkce;          /* a code_challenge was given: answer with an auth code */
};
void account_flow_clear(struct account_flow *f);

/* Records a flow: the state (its DIGEST), the provider, REDIRECT_TO, the
 * PKCE CHALLENGE and METHOD ("s256", "plain"; both NULL for the implicit
 * flow) and NONCE, expiring in TTL seconds; flows long dead are deleted on
 * the way. 0, or -1. */
int account_flow_new(struct db_conn *c, const char *flow_id, const char *state_digest,
    const char *provider, const char *redirect_to, const char *challenge, const char *method,
    const char *nonce, int ttl, char **cause);

enum account_flow_state {
	ACCOUNT_FLOW_OK,
	ACCOUNT_FLOW_UNKNOWN,    /* no such state, or already spent */
	ACCOUNT_FLOW_EXPIRED,
	ACCOUNT_FLOW_ERROR,
};

/* Spends the state stored as DIGEST (once only): ACCOUNT_FLOW_OK with *OUT
 * (also filled for EXPIRED, so the error can go back to redirect_to). */
enum account_flow_state account_flow_spend_state(struct db_conn *c, const char *state_digest,
    struct account_flow *out, char **cause);

/* What the provider said about the user, from the verified id_token. */
struct account_external {
	const char *provider;    /* the configured name */
	const char *subject;     /* sub */
	const char *email;       /* normalised, or NULL */
	gboolean email_verified;
	json_t *identity_data;   /* becomes identity_data and user_metadata */
	gboolean allow_signup;   /* FALSE: AUTH_DISABLE_SIGNUP */
};

enum account_link {
	ACCOUNT_LINK_SIGNED_IN,  /* the identity was known */
	ACCOUNT_LINK_LINKED,     /* a new identity of the account with that verified e-mail */
	ACCOUNT_LINK_CREATED,    /* a new account */
	ACCOUNT_LINK_NEED_EMAIL, /* a new identity without a verified e-mail */
	ACCOUNT_LINK_SIGNUP_DISABLED,
	ACCOUNT_LINK_BANNED,
	ACCOUNT_LINK_ERROR,
};

/* Finds or makes the account of an external identity, in one transaction:
 * the identity's account; else the account with the same e-mail when the
 * provider verified it (the identity is linked, and an unconfirmed
 * account's password is dropped and the account confirmed, as GoTrue
 * does); else a new confirmed account without a password, with its users
 * row. USER_ID is filled for the first three outcomes. */
enum account_link account_identity_sign_in(struct db_conn *c, const struct account_external *x,
    char user_id[ACCOUNT_UUID_LEN + 1], char **cause);

/* Gives flow FLOW_ID its user and auth code (stored as DIGEST), valid TTL
 * seconds. 0, or -1. */
int account_flow_set_code(struct db_conn *c, const char *flow_id, const char *user_id,
    const char *code_digest, int ttl, char **cause);

enum account_pkce {
	ACCOUNT_PKCE_OK,
	ACCOUNT_PKCE_NOT_FOUND,    /* no such code, or it was redeemed */
	ACCOUNT_PKCE_EXPIRED,
	ACCOUNT_PKCE_BAD_VERIFIER, /* the code stays redeemable, as GoTrue's */
	ACCOUNT_PKCE_ERROR,
};

/* Redeems the auth code stored as DIGEST with VERIFIER (RFC 7636: its
 * SHA-256, base64url, is the challenge for s256; itself for plain):
 * ACCOUNT_PKCE_OK with USER_ID and the provider in PROVIDER (the flow is
 * deleted: a code works once). */
enum account_pkce account_flow_redeem(struct db_conn *c, const char *code_digest,
    const char *verifier, char user_id[ACCOUNT_UUID_LEN + 1], char provider[64], char **cause);

/* RFC 7636's check of VERIFIER against CHALLENGE by METHOD (pure). */
gboolean account_pkce_matches(const char *method, const char *challenge, const char *verifier);

#endif
