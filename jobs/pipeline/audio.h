/* Mixing: line clips (MP3 or WAV) to one MP3.
 *
 * Everything is brought to one format, 44.1 kHz mono 16-bit (ElevenLabs'
 * mp3_44100_128 needs no resampling; espeak-ng's 22.05 kHz doubles), with
 * a pause between lines (longer when the speaker changes), then encoded
 * once with LAME (CBR, with a LAME tag so decoders trim the encoder delay
 * and padding and give back exactly the samples we put in). The duration is
 * that sample count over the rate.
 *
 * Ownership: a struct audio_mix is freed with audio_mix_free(NULL-safe);
 * returned GBytes are the caller's. */
#ifndef PP_AUDIO_H
#define PP_AUDIO_H

#include <glib.h>

#define AUDIO_RATE 44100
#define AUDIO_PAUSE_SPEAKER_MS 450   /* between two hosts */
#define AUDIO_PAUSE_SAME_MS 150      /* between two lines of one host */
#define AUDIO_BITRATE_KBPS 96
/* A sample this loud (|s| >= 1 % of full scale, -40 dBFS) is voice; a
 * clip's quieter lead-in and tail are not part of its line's cue. */
#define AUDIO_VOICED_LEVEL 328

struct audio_mix;

struct audio_mix *audio_mix_new(void);
void audio_mix_free(struct audio_mix *mix);

/* Decodes CLIP (MP3, or WAV 16-bit PCM) and appends it in the mix format.
 * 0, or -1 and *cause (caller frees). */
int audio_mix_add(struct audio_mix *mix, GBytes *clip, char **cause);
void audio_mix_pause(struct audio_mix *mix, int ms);
gsize audio_mix_samples(const struct audio_mix *mix);
double audio_mix_seconds(const struct audio_mix *mix);
/* The voiced part of the mix from sample FROM to its end (what the last
 * audio_mix_add() appended, when FROM is audio_mix_samples() before it):
 * *first the first sample at AUDIO_VOICED_LEVEL or louder, *end one past
 * the last. FALSE (both FROM..end) when no sample there is that loud.
 * Sample n of the mix is sample n of the encoded MP3 as a gapless decoder
 * plays it (audio_mix_encode), so these are times in the final audio. */
gboolean audio_mix_voiced(const struct audio_mix *mix, gsize from, gsize *first, gsize *end);

/* The mix as MP3, or NULL and *cause. */
GBytes *audio_mix_encode(const struct audio_mix *mix, char **cause);

/* Decodes CLIP to mono 16-bit at its own rate: a new array of gint16 and
 * *rate, or NULL and *cause. */
GArray *audio_decode(GBytes *clip, int *rate, char **cause);

/* Decodes an MP3 to the end and returns its length in seconds, or -1 and
 * *cause when a frame fails to decode. */
double audio_mp3_seconds(const void *data, gsize len, char **cause);

#endif
