/* The voice table (voice.h). A row's name is also a row of kind
 * PROVIDER_VOICE in src/providers.c, which holds the settings it needs and
 * its credits check. */
#include "autoconfig.h"

#include <string.h>

#include "providers.h"
#include "voice.h"

const struct voice_provider voice_table[] = {
	{ .name = "elevenlabs", .extension = "mp3", .content_type = "audio/mpeg",
	  .voice = voice_elevenlabs_voice, .model = voice_elevenlabs_model,
	  .synthesise = voice_elevenlabs_synthesise },
	{ .name = "espeak", .extension = "wav", .content_type = "audio/wav",
	  .voice = voice_espeak_voice, .model = voice_espeak_model,
	  .synthesise = voice_espeak_synthesise },
	{ .name = NULL }
};

const struct voice_provider *
voice_find(const char *name)
{
	for (const struct voice_provider *v = voice_table; name != NULL && v->name != NULL; v++) {
		if (strcmp(v->name, name) == 0)
			return v;
	}
	return NULL;
}

const struct voice_provider *
voice_for(const struct config *cfg)
{
	const struct provider *p = provider_choose(cfg, PROVIDER_VOICE);

	return voice_find(p != NULL ? p->name : NULL);
}

const char *
voice_provider(const struct config *cfg)
{
	const struct voice_provider *v = voice_for(cfg);

	return v != NULL ? v->name : NULL;
}
