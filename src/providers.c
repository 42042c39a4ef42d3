/* The provider catalogue (providers.h): settings, choice, credits. */
#include "autoconfig.h"

#include <string.h>

#include "config.h"
#include "credits.h"
#include "providers.h"

static gboolean
provider_set(const char *value)
{
	return value != NULL && *value != '\0';
}

static gboolean
provider_gemini_configured(const struct config *cfg)
{
	return provider_set(cfg->google_api_key);
}

/* A key, or a base URL alone: a local server (llama-server, Ollama) wants
 * no key. */
static gboolean
provider_openai_configured(const struct config *cfg)
{
	return provider_set(cfg->openai_api_key) || provider_set(cfg->openai_base_url);
}

static gboolean
provider_elevenlabs_configured(const struct config *cfg)
{
	return provider_set(cfg->elevenlabs_api_key);
}

/* Table order is the order "auto" tries them in: the paid or remote
 * providers first, the offline ones last (they need nothing). */
const struct provider provider_table[] = {
	{ .kind = PROVIDER_WRITER, .name = "gemini", .configured = provider_gemini_configured,
	  .needs = "GOOGLE_API_KEY" },
	{ .kind = PROVIDER_WRITER, .name = "openai", .configured = provider_openai_configured,
	  .needs = "OPENAI_API_KEY or OPENAI_BASE_URL" },
	{ .kind = PROVIDER_WRITER, .name = "builtin" },
	{ .kind = PROVIDER_VOICE, .name = "elevenlabs", .configured = provider_elevenlabs_configured,
	  .needs = "ELEVENLABS_API_KEY", .credits = credits_elevenlabs },
	{ .kind = PROVIDER_VOICE, .name = "espeak" },
	{ .name = NULL }
};

const struct provider *
provider_find(enum provider_kind kind, const char *name)
{
	for (const struct provider *p = provider_table; name != NULL && p->name != NULL; p++) {
		if (p->kind == kind && strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

static const char *
provider_setting(const struct config *cfg, enum provider_kind kind)
{
	return kind == PROVIDER_WRITER ? cfg->script_writer : cfg->voice_provider;
}

const struct provider *
provider_choose(const struct config *cfg, enum provider_kind kind)
{
	const char *want = provider_setting(cfg, kind);
	const struct provider *p, *last = NULL;

	if (want != NULL && *want != '\0' && strcmp(want, "auto") != 0)
		return provider_find(kind, want);
	for (p = provider_table; p->name != NULL; p++) {
		if (p->kind != kind)
			continue;
		if (p->configured == NULL || p->configured(cfg))
			return p;
		last = p;
	}
	return last;
}

static int
provider_check_name(enum provider_kind kind, const char *value, char **cause)
{
	GString *names;

	if (strcmp(value, "auto") == 0 || provider_find(kind, value) != NULL)
		return 0;
	names = g_string_new("must be auto");
	for (const struct provider *p = provider_table; p->name != NULL; p++) {
		if (p->kind == kind)
			g_string_append_printf(names, ", %s", p->name);
	}
	*cause = g_string_free(names, FALSE);
	return -1;
}

int
provider_check_writer_name(const char *value, char **cause)
{
	return provider_check_name(PROVIDER_WRITER, value, cause);
}

int
provider_check_voice_name(const char *value, char **cause)
{
	return provider_check_name(PROVIDER_VOICE, value, cause);
}

void
provider_check_config(const struct config *cfg, GPtrArray *problems)
{
	static const struct {
		enum provider_kind kind;
		const char *setting;
	} kinds[] = { { PROVIDER_WRITER, "SCRIPT_WRITER" }, { PROVIDER_VOICE, "VOICE_PROVIDER" } };

	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
		const struct provider *p = provider_find(kinds[i].kind, provider_setting(cfg, kinds[i].kind));

		if (p != NULL && p->configured != NULL && !p->configured(cfg))
			g_ptr_array_add(problems, g_strdup_printf("%s: %s needs %s", kinds[i].setting,
			    p->name, p->needs));
	}
}
