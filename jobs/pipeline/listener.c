#include "autoconfig.h"

#include <math.h>
#include <string.h>

#include "listener.h"

/* The named lengths, in minutes of spoken audio. */
static const struct { const char *name; double minutes; } listener_lengths[] = {
	{ "short", 3 }, { "medium", 6 }, { "long", 12 },
};

static const char *const listener_styles[] = {
	"conversational", "interview", "debate", "storytelling", "lecture",
};

/* The languages: each one espeak-ng speaks (its voice for either host, a
 * female and a male variant) and that a language model writes. English
 * without a region keeps the configured voices. */
static const struct listener_language {
	const char *tag;
	const char *name;
	const char *voice[LISTENER_HOSTS];
} listener_languages[] = {
	{ "en", "English", { NULL, NULL } },
	{ "en-US", "American English", { "en-us+f3", "en-us+m3" } },
	{ "en-GB", "British English", { "en+f3", "en+m3" } },
	{ "ar", "Arabic", { "ar+f3", "ar+m3" } },
	{ "bg", "Bulgarian", { "bg+f3", "bg+m3" } },
	{ "ca", "Catalan", { "ca+f3", "ca+m3" } },
	{ "cs", "Czech", { "cs+f3", "cs+m3" } },
	{ "da", "Danish", { "da+f3", "da+m3" } },
	{ "de", "German", { "de+f3", "de+m3" } },
	{ "el", "Greek", { "el+f3", "el+m3" } },
	{ "es", "Spanish", { "es+f3", "es+m3" } },
	{ "es-419", "Latin American Spanish", { "es-419+f3", "es-419+m3" } },
	{ "fi", "Finnish", { "fi+f3", "fi+m3" } },
	{ "fr", "French", { "fr+f3", "fr+m3" } },
	{ "he", "Hebrew", { "he+f3", "he+m3" } },
	{ "hi", "Hindi", { "hi+f3", "hi+m3" } },
	{ "hr", "Croatian", { "hr+f3", "hr+m3" } },
	{ "hu", "Hungarian", { "hu+f3", "hu+m3" } },
	{ "id", "Indonesian", { "id+f3", "id+m3" } },
	{ "it", "Italian", { "it+f3", "it+m3" } },
	{ "ja", "Japanese", { "ja+f3", "ja+m3" } },
	{ "ko", "Korean", { "ko+f3", "ko+m3" } },
	{ "nb", "Norwegian Bokmål", { "nb+f3", "nb+m3" } },
	{ "nl", "Dutch", { "nl+f3", "nl+m3" } },
	{ "pl", "Polish", { "pl+f3", "pl+m3" } },
	{ "pt", "European Portuguese", { "pt+f3", "pt+m3" } },
	{ "pt-BR", "Brazilian Portuguese", { "pt-br+f3", "pt-br+m3" } },
	{ "ro", "Romanian", { "ro+f3", "ro+m3" } },
	{ "ru", "Russian", { "ru+f3", "ru+m3" } },
	{ "sk", "Slovak", { "sk+f3", "sk+m3" } },
	{ "sv", "Swedish", { "sv+f3", "sv+m3" } },
	{ "tr", "Turkish", { "tr+f3", "tr+m3" } },
	{ "uk", "Ukrainian", { "uk+f3", "uk+m3" } },
	{ "vi", "Vietnamese", { "vi+f3", "vi+m3" } },
	{ "zh", "Mandarin Chinese", { "cmn+f3", "cmn+m3" } },
};

/* espeak-ng voices a host may name besides the languages' own: its
 * English ones, and the variants (espeak-ng-data/voices/!v) worth hearing. */
static const char *const listener_espeak_extra[] = {
	"en", "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc",
};
static const char *const listener_espeak_variants[] = {
	"f1", "f2", "f3", "f4", "f5", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8",
	"croak", "klatt", "klatt2", "klatt3", "klatt4", "whisper", "whisperf",
};

#define LISTENER_LENGTH_MSG "Input should be 'short', 'medium', 'long' or a number of minutes from 1 to 30"
#define LISTENER_STYLE_MSG \
	"Input should be 'conversational', 'interview', 'debate', 'storytelling' or 'lecture'"
/* Kept equal to the table by tests/unit/test-listener.c. */
#define LISTENER_LANGUAGE_MSG "Input should be a supported language tag: en, en-US, en-GB, ar, bg, " \
	"ca, cs, da, de, el, es, es-419, fi, fr, he, hi, hr, hu, id, it, ja, ko, nb, nl, pl, pt, " \
	"pt-BR, ro, ru, sk, sv, tr, uk, vi or zh"

static const struct listener_language *
listener_language_find(const char *tag)
{
	for (gsize i = 0; tag != NULL && i < G_N_ELEMENTS(listener_languages); i++) {
		if (g_ascii_strcasecmp(tag, listener_languages[i].tag) == 0)
			return &listener_languages[i];
	}
	return NULL;
}

static const char *
listener_in(const char *s, const char *const *list, gsize n)
{
	for (gsize i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0)
			return list[i];
	}
	return NULL;
}

/* The language part of an espeak voice is one of ours or espeak's
 * English voices; lower case, as espeak-ng names its voices. */
static gboolean
listener_espeak_base_known(const char *base)
{
	for (gsize i = 0; i < G_N_ELEMENTS(listener_languages); i++) {
		const char *v = listener_languages[i].voice[0];

		if (v != NULL && strncmp(v, base, strlen(base)) == 0 && v[strlen(base)] == '+')
			return TRUE;
	}
	return listener_in(base, listener_espeak_extra, G_N_ELEMENTS(listener_espeak_extra)) != NULL;
}

static gboolean
listener_voice_valid(const char *provider, const char *voice)
{
	if (strcmp(provider, "elevenlabs") == 0) {
		/* Voice ids are 20 letters and digits; whether one exists is
		 * known only to ElevenLabs (a 404 fails the run at once). */
		if (strlen(voice) != 20)
			return FALSE;
		for (const char *p = voice; *p != '\0'; p++) {
			if (!g_ascii_isalnum(*p))
				return FALSE;
		}
		return TRUE;
	}
	if (strcmp(provider, "espeak") == 0) {
		const char *plus = strchr(voice, '+');
		char *base = plus != NULL ? g_strndup(voice, (gsize)(plus - voice)) : g_strdup(voice);
		gboolean ok = listener_espeak_base_known(base) &&
		    (plus == NULL || listener_in(plus + 1, listener_espeak_variants,
		    G_N_ELEMENTS(listener_espeak_variants)) != NULL);

		g_free(base);
		return ok;
	}
	return TRUE;   /* a provider whose voices we cannot check offline */
}

static gboolean
listener_name_valid(const char *name)
{
	glong n = g_utf8_strlen(name, -1);

	if (n < 1 || n > LISTENER_NAME_MAX)
		return FALSE;
	/* Spoken and shown as a cue's speaker: words, not markup. */
	for (const char *p = name; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (!g_unichar_isalnum(c) && !g_unichar_ismark(c) && c != ' ' && c != '.' && c != '\'' &&
		    c != '-' && c != 0x2019)
			return FALSE;
	}
	return TRUE;
}

static int
listener_refuse(struct listener_invalid *bad, const char *field, int index, const char *key,
    const char *msg, const char *type)
{
	*bad = (struct listener_invalid){ field, index, key, msg, type };
	return -1;
}

static int
listener_parse_length(const json_t *v, struct listener_options *out, struct listener_invalid *bad)
{
	if (json_is_string(v)) {
		for (gsize i = 0; i < G_N_ELEMENTS(listener_lengths); i++) {
			if (strcmp(json_string_value(v), listener_lengths[i].name) == 0) {
				out->length = listener_lengths[i].name;
				out->minutes = listener_lengths[i].minutes;
				return 0;
			}
		}
		return listener_refuse(bad, "length", -1, NULL, LISTENER_LENGTH_MSG, "enum");
	}
	if (!json_is_number(v))
		return listener_refuse(bad, "length", -1, NULL, LISTENER_LENGTH_MSG, "float_type");
	out->minutes = json_number_value(v);
	if (!isfinite(out->minutes) || out->minutes < LISTENER_MINUTES_MIN)
		return listener_refuse(bad, "length", -1, NULL,
		    "Input should be greater than or equal to 1", "greater_than_equal");
	if (out->minutes > LISTENER_MINUTES_MAX)
		return listener_refuse(bad, "length", -1, NULL,
		    "Input should be less than or equal to 30", "less_than_equal");
	return 0;
}

static int
listener_parse_host(const json_t *h, int i, const char *provider, struct listener_host *out,
    struct listener_invalid *bad)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(h))
		return listener_refuse(bad, "hosts", i, NULL,
		    "Input should be a valid dictionary or object to extract fields from", "model_attributes_type");
	json_object_foreach((json_t *)h, key, v) {
		if (strcmp(key, "name") != 0 && strcmp(key, "voice") != 0)
			return listener_refuse(bad, "hosts", i, key, "Extra inputs are not permitted",
			    "extra_forbidden");
		if (json_is_null(v))
			continue;
		if (!json_is_string(v))
			return listener_refuse(bad, "hosts", i, strcmp(key, "name") == 0 ? "name" : "voice",
			    "Input should be a valid string", "string_type");
	}
	if ((v = json_object_get(h, "name")) != NULL && !json_is_null(v)) {
		char *name = g_strstrip(g_strdup(json_string_value(v)));

		if (!listener_name_valid(name)) {
			g_free(name);
			return listener_refuse(bad, "hosts", i, "name", "Value error, a host's name is 1 to 40 "
			    "letters, digits, spaces and . ' -", "value_error");
		}
		out->name = name;
	}
	if ((v = json_object_get(h, "voice")) != NULL && !json_is_null(v)) {
		if (provider != NULL && !listener_voice_valid(provider, json_string_value(v)))
			return listener_refuse(bad, "hosts", i, "voice", strcmp(provider, "elevenlabs") == 0 ?
			    "Value error, an ElevenLabs voice id is 20 letters and digits" :
			    "Value error, not an espeak-ng voice of ours (doc/api.md lists them)", "value_error");
		out->voice = g_strdup(json_string_value(v));
	}
	return 0;
}

int
listener_options_parse(const json_t *obj, const char *voice_provider,
    struct listener_options *out, struct listener_invalid *bad)
{
	const json_t *v;
	const struct listener_language *lang;
	const char *style;

	memset(out, 0, sizeof *out);
	if ((v = json_object_get(obj, "length")) != NULL && !json_is_null(v) &&
	    listener_parse_length(v, out, bad) != 0)
		goto fail;
	if ((v = json_object_get(obj, "language")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			listener_refuse(bad, "language", -1, NULL, "Input should be a valid string", "string_type");
			goto fail;
		}
		if ((lang = listener_language_find(json_string_value(v))) == NULL) {
			listener_refuse(bad, "language", -1, NULL, LISTENER_LANGUAGE_MSG, "enum");
			goto fail;
		}
		out->language = g_strdup(lang->tag);   /* the tag's usual spelling */
	}
	if ((v = json_object_get(obj, "style")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			listener_refuse(bad, "style", -1, NULL, "Input should be a valid string", "string_type");
			goto fail;
		}
		if ((style = listener_in(json_string_value(v), listener_styles,
		    G_N_ELEMENTS(listener_styles))) == NULL) {
			listener_refuse(bad, "style", -1, NULL, LISTENER_STYLE_MSG, "enum");
			goto fail;
		}
		out->style = g_strdup(style);
	}
	if ((v = json_object_get(obj, "hosts")) != NULL && !json_is_null(v)) {
		if (!json_is_array(v)) {
			listener_refuse(bad, "hosts", -1, NULL, "Input should be a valid list", "list_type");
			goto fail;
		}
		if (json_array_size(v) < LISTENER_HOSTS) {
			listener_refuse(bad, "hosts", -1, NULL, "List should have at least 2 items after "
			    "validation", "too_short");
			goto fail;
		}
		if (json_array_size(v) > LISTENER_HOSTS) {
			listener_refuse(bad, "hosts", -1, NULL, "List should have at most 2 items after "
			    "validation", "too_long");
			goto fail;
		}
		for (int i = 0; i < LISTENER_HOSTS; i++) {
			if (listener_parse_host(json_array_get(v, (size_t)i), i, voice_provider,
			    &out->hosts[i], bad) != 0)
				goto fail;
		}
	}
	return 0;
fail:
	listener_options_clear(out);
	return -1;
}

int
listener_options_from_json(const json_t *obj, struct listener_options *out, char **cause)
{
	struct listener_invalid bad;

	if (obj != NULL && !json_is_object(obj)) {
		memset(out, 0, sizeof *out);
		*cause = g_strdup("listener options: not a JSON object");
		return -1;
	}
	if (listener_options_parse(obj, NULL, out, &bad) != 0) {
		*cause = g_strdup_printf("listener options: %s%s%s: %s", bad.field,
		    bad.key != NULL ? "." : "", bad.key != NULL ? bad.key : "", bad.msg);
		return -1;
	}
	return 0;
}

json_t *
listener_options_to_json(const struct listener_options *o)
{
	json_t *length = json_null(), *hosts = json_null();
	gboolean named = FALSE;

	if (o->length != NULL)
		length = json_string(o->length);
	else if (o->minutes > 0 && o->minutes == floor(o->minutes))
		length = json_integer((json_int_t)o->minutes);
	else if (o->minutes > 0)
		length = json_real(o->minutes);
	for (int i = 0; i < LISTENER_HOSTS; i++)
		named = named || o->hosts[i].name != NULL || o->hosts[i].voice != NULL;
	if (named) {
		hosts = json_array();
		for (int i = 0; i < LISTENER_HOSTS; i++)
			json_array_append_new(hosts, json_pack("{s:s?, s:s?}", "name", o->hosts[i].name,
			    "voice", o->hosts[i].voice));
	}
	return json_pack("{s:o, s:s?, s:s?, s:o}", "length", length, "language", o->language,
	    "style", o->style, "hosts", hosts);
}

void
listener_options_clear(struct listener_options *o)
{
	if (o == NULL)
		return;
	g_free(o->language);
	g_free(o->style);
	for (int i = 0; i < LISTENER_HOSTS; i++) {
		g_free(o->hosts[i].name);
		g_free(o->hosts[i].voice);
	}
	memset(o, 0, sizeof *o);
}

gboolean
listener_options_any(const struct listener_options *o)
{
	if (o == NULL)
		return FALSE;
	if (o->minutes > 0 || o->language != NULL || o->style != NULL)
		return TRUE;
	for (int i = 0; i < LISTENER_HOSTS; i++) {
		if (o->hosts[i].name != NULL || o->hosts[i].voice != NULL)
			return TRUE;
	}
	return FALSE;
}

const char *
listener_style(const struct listener_options *o)
{
	return o != NULL && o->style != NULL ? o->style : listener_styles[0];
}

const char *
listener_language_name(const struct listener_options *o)
{
	const struct listener_language *lang = o != NULL ? listener_language_find(o->language) : NULL;

	return lang != NULL ? lang->name : NULL;
}

const char *
listener_espeak_voice(const struct listener_options *o, int role)
{
	const struct listener_language *lang = o != NULL ? listener_language_find(o->language) : NULL;

	return lang != NULL && role >= 0 && role < LISTENER_HOSTS ? lang->voice[role] : NULL;
}

const char *
listener_host_name(const struct listener_options *o, int role, const char *default_name)
{
	if (o == NULL || role < 0 || role >= LISTENER_HOSTS || o->hosts[role].name == NULL)
		return default_name;
	return o->hosts[role].name;
}

const char *
listener_host_voice(const struct listener_options *o, int role)
{
	if (o == NULL || role < 0 || role >= LISTENER_HOSTS)
		return NULL;
	return o->hosts[role].voice;
}
