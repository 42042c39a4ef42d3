/* Credits: what the chosen voice provider's account may still spend, for
 * GET /elevenlabs/credits and POST /podcasts/. The voice provider the
 * settings choose (providers.h) answers through its row's credits check:
 * elevenlabs asks GET {ELEVENLABS_API_URL}/v1/user/subscription with
 * xi-api-key (src/credits-elevenlabs.c), cached for 60 s per process (per
 * API URL and key), failures not cached. A provider without a check
 * (espeak-ng, offline) has unlimited credits, shown as
 * CREDITS_OFFLINE_CHARACTERS available.
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

/* Offline (a voice provider without a credits check) the limit and the characters available: a
 * number a UI can show and compare (a null would read as "low": in
 * JavaScript null < 5000), exact in every JSON parser. */
#define CREDITS_OFFLINE_CHARACTERS 1000000000L

struct credits_info {
	gboolean offline;              /* a provider with no credits check: unlimited */
	long character_count;          /* used this period */
	long character_limit;
	long characters_available;     /* limit - count, never negative */
	char status[32];               /* subscription status ("active", ...); "offline" */
};

enum credits_result {
	CREDITS_OK = 0,                /* enough */
	CREDITS_INSUFFICIENT = 1,      /* *available < required */
	CREDITS_UNAVAILABLE = -1       /* could not ask the provider (or it refused the key) */
};

/* Fills *OUT (from the cache when fresh): 0, or -1 and *cause. */
int credits_fetch(const struct config *cfg, struct credits_info *out, char **cause);

/* Is there at least REQUIRED? *AVAILABLE (may be NULL) gets the count
 * (CREDITS_OFFLINE_CHARACTERS offline). CREDITS_UNAVAILABLE sets *cause. */
enum credits_result credits_check(const struct config *cfg, long required, long *available,
    char **cause);

/* The body of GET /elevenlabs/credits: {"character_count",
 * "character_limit", "characters_available", "usage_percentage",
 * "can_create_professional_voice", "status"}, the Python service's fields.
 * Offline: count 0, limit and available CREDITS_OFFLINE_CHARACTERS, usage
 * 0.0, status "offline"; every figure is a number, never null. */
json_t *credits_json(const struct credits_info *info);

/* The elevenlabs row's check (src/credits-elevenlabs.c), cached. */
int credits_elevenlabs(const struct config *cfg, struct credits_info *out, char **cause);

/* Forgets ElevenLabs' cached answer (tests, SIGHUP). */
void credits_cache_clear(void);

#endif
