/* ElevenLabs credits: GET {ELEVENLABS_API_URL}/v1/user/subscription with
 * xi-api-key, cached for 60 s per process (per API URL and key). Failures
 * are not cached. With no ELEVENLABS_API_KEY the speech provider is the
 * offline one (espeak-ng): credits are unlimited.
 *
 * Thread safety: every function may be called from any thread.
 * Ownership: credits_json() returns a new reference; *cause is the caller's. */
#ifndef PP_CREDITS_H
#define PP_CREDITS_H

#include <glib.h>
#include <jansson.h>

struct config;

/* Characters one podcast needs, roughly (the Python service's estimate). */
#define CREDITS_REQUIRED_PER_PODCAST 5000L

#define CREDITS_CACHE_SECONDS 60

struct credits_info {
	gboolean offline;              /* no ElevenLabs key: unlimited */
	long character_count;          /* used this period */
	long character_limit;
	long characters_available;     /* limit - count, never negative */
	char status[32];               /* subscription status ("active", ...); "offline" */
};

enum credits_result {
	CREDITS_OK = 0,                /* enough */
	CREDITS_INSUFFICIENT = 1,      /* *available < required */
	CREDITS_UNAVAILABLE = -1       /* could not ask ElevenLabs (or it refused the key) */
};

/* Fills *OUT (from the cache when fresh): 0, or -1 and *cause. */
int credits_fetch(const struct config *cfg, struct credits_info *out, char **cause);

/* Is there at least REQUIRED? *AVAILABLE (may be NULL) gets the count
 * (G_MAXLONG offline). CREDITS_UNAVAILABLE sets *cause. */
enum credits_result credits_check(const struct config *cfg, long required, long *available,
    char **cause);

/* The body of GET /elevenlabs/credits: {"character_count",
 * "character_limit", "characters_available", "usage_percentage",
 * "can_create_professional_voice", "status"}. Offline: limit and available
 * are null (unlimited), usage 0, status "offline". */
json_t *credits_json(const struct credits_info *info);

/* Forgets the cached answer (tests, SIGHUP). */
void credits_cache_clear(void);

#endif
