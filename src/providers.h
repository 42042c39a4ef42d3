/* The provider catalogue: which script writers and voice providers exist,
 * the settings each needs, which one the settings choose, and each voice
 * provider's credits check.
 *
 * Two tables, joined by name. This one (src/providers.c) is the light
 * half every program links: the responder asks it for the credits of
 * GET /elevenlabs/credits and POST /podcasts/, and config_load() checks
 * with it that an explicitly chosen provider has its settings (exit 78
 * otherwise). The heavy half, the work itself (writers.c and voices.c in
 * jobs/pipeline/), links poppler, espeak-ng, mpg123 and LAME and is loaded
 * only where podcasts are generated; a credits check there would drag all
 * of that into the responder (and the worker master). So a provider is one
 * file under jobs/pipeline/ plus one row there, and one row here; a unit
 * test (tests/unit/test-providers.c) fails when the two tables disagree.
 *
 * Choice: SCRIPT_WRITER and VOICE_PROVIDER name a row, or "auto" (also
 * unset): the first row of that kind, in table order, whose settings are
 * set. Writers: gemini (GOOGLE_API_KEY), openai (OPENAI_API_KEY or
 * OPENAI_BASE_URL), builtin. Voices: elevenlabs (ELEVENLABS_API_KEY),
 * espeak. With no keys that is today's offline pair.
 *
 * Thread safety: the table is constant; every function may be called from
 * any thread. Ownership: nothing returned is the caller's but *cause and
 * the strings added to PROBLEMS. */
#ifndef PP_PROVIDERS_H
#define PP_PROVIDERS_H

#include <glib.h>

struct config;
struct credits_info;

enum provider_kind {
	PROVIDER_WRITER,
	PROVIDER_VOICE
};

struct provider {
	enum provider_kind kind;
	const char *name;
	/* Its settings are set; NULL: it needs none (always usable). */
	gboolean (*configured)(const struct config *cfg);
	const char *needs;      /* the settings configured() looks for, for the error */
	/* Voices: fills *OUT with what the account may still spend (0, or -1
	 * and *cause). NULL: unlimited, the offline answer (credits.h). */
	int (*credits)(const struct config *cfg, struct credits_info *out, char **cause);
};

/* Every row; the array ends with a row whose name is NULL. */
extern const struct provider provider_table[];

/* The row of KIND called NAME, or NULL. */
const struct provider *provider_find(enum provider_kind kind, const char *name);

/* The row the settings choose (SCRIPT_WRITER / VOICE_PROVIDER, "auto"
 * resolved). Never NULL for a configuration config_load() accepted. */
const struct provider *provider_choose(const struct config *cfg, enum provider_kind kind);

/* The setting's value is "auto" or a row's name of KIND: 0, or -1 and
 * *cause. For the config table's checks. */
int provider_check_writer_name(const char *value, char **cause);
int provider_check_voice_name(const char *value, char **cause);

/* Adds a message to PROBLEMS for an explicitly chosen provider whose
 * settings are not set (config_load's rules that tie settings together). */
void provider_check_config(const struct config *cfg, GPtrArray *problems);

#endif
