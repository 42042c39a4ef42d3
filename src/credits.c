/* Credits of the chosen voice provider (credits.h). */
#include "autoconfig.h"

#include <math.h>
#include <string.h>

#include "config.h"
#include "credits.h"
#include "providers.h"

int
credits_fetch(const struct config *cfg, struct credits_info *out, char **cause)
{
	const struct provider *voice = provider_choose(cfg, PROVIDER_VOICE);

	if (voice != NULL && voice->credits != NULL)
		return voice->credits(cfg, out, cause);
	memset(out, 0, sizeof *out);
	out->offline = TRUE;
	out->character_limit = CREDITS_OFFLINE_CHARACTERS;
	out->characters_available = CREDITS_OFFLINE_CHARACTERS;
	g_strlcpy(out->status, "offline", sizeof out->status);
	return 0;
}

enum credits_result
credits_check(const struct config *cfg, long required, long *available, char **cause)
{
	struct credits_info info;

	if (credits_fetch(cfg, &info, cause) != 0)
		return CREDITS_UNAVAILABLE;
	if (available != NULL)
		*available = info.characters_available;
	return info.characters_available >= required ? CREDITS_OK : CREDITS_INSUFFICIENT;
}

json_t *
credits_json(const struct credits_info *info)
{
	double pct;

	/* Offline too: its figures are numbers like the others (status "offline"). */
	pct = info->character_limit > 0 ?
	    round((double)info->character_count * 10000.0 / (double)info->character_limit) / 100.0 : 0.0;
	return json_pack("{s:I,s:I,s:I,s:f,s:b,s:s}",
	    "character_count", (json_int_t)info->character_count,
	    "character_limit", (json_int_t)info->character_limit,
	    "characters_available", (json_int_t)info->characters_available,
	    "usage_percentage", pct,
	    "can_create_professional_voice", info->characters_available >= CREDITS_REQUIRED_PER_PODCAST,
	    "status", info->status);
}
