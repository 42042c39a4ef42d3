/* The rate limiter as a responder app module: its init builds the limiter
 * for the process (struct app.limits) and installs the dispatcher's limit
 * gate, which counts every request to a route with a limit name before
 * authentication and answers 429 over the limit. */
#ifndef PP_RATELIMIT_HOOK_H
#define PP_RATELIMIT_HOOK_H

#include "app.h"

extern const struct app_module ratelimit_app_module;

/* What the gate does, under the limit NAME instead of the route's: for a
 * handler whose limit depends on the request (POST /auth/v1/token counts
 * grant_type=password as login_email). TRUE, or FALSE after answering 429
 * (the rate-limit headers are set either way). */
gboolean ratelimit_hook_check(struct request *req, const char *name);
/* The same with the bucket KEY instead of the client's (NULL: the
 * client's): /auth/v1/recover also counts per target address. KEY must not
 * collide with a client bucket (an address): prefix it. */
gboolean ratelimit_hook_check_key(struct request *req, const char *name, const char *key);

#endif
