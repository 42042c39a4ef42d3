/* The responder's authentication: the dispatch auth hook (Authorization:
 * Bearer <JWT>, verified by src/auth-jwt.h) and the user row behind a token.
 *
 * The Python service upserted the user by e-mail on every request; we keep
 * a per-process cache (sub + e-mail -> users.id, bounded, entries expire
 * after AUTH_USER_CACHE_TTL seconds) so a known user costs no query at all,
 * and only an unknown one costs the lookup and, if needed, the insert.
 * Verified tokens are cached too (by their SHA-256, until they expire and
 * for at most five minutes): a client sends the same token for an hour.
 *
 * Ownership: req->user points at storage of the acceptor thread that runs
 * the request (one request per thread at a time); it is valid until the
 * request is finished and must not be kept or freed. */
#ifndef PP_FCGI_AUTH_H
#define PP_FCGI_AUTH_H

#include "app.h"
#include "request.h"
#include "ulid.h"

#define AUTH_USER_CACHE_TTL 300
#define AUTH_USER_CACHE_MAX 50000

struct auth_user {
	char id[ULID_LEN + 1];   /* users.id: owner_id of the user's podcasts */
	char sub[64];            /* the token's sub (a UUID): storage prefix podcasts/{sub}/ */
	char email[321];         /* the token's e-mail, "" when it has none */
};

/* Builds app->auth from the configuration and sets the auth hook. */
extern const struct app_module auth_app_module;

/* The hook: TRUE with req->user set, or FALSE after answering 401 (or 503
 * when the user's row cannot be read). */
gboolean auth_gate(struct request *req);

#endif
