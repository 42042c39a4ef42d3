#include "autoconfig.h"

#include <string.h>

#include <lame/lame.h>
#include <mpg123.h>

#include "audio.h"

struct audio_mix {
	GArray *pcm;    /* gint16 at AUDIO_RATE */
};

struct audio_mix *
audio_mix_new(void)
{
	struct audio_mix *mix = g_new0(struct audio_mix, 1);

	mix->pcm = g_array_new(FALSE, TRUE, sizeof(gint16));
	return mix;
}

void
audio_mix_free(struct audio_mix *mix)
{
	if (mix == NULL)
		return;
	g_array_free(mix->pcm, TRUE);
	g_free(mix);
}

static guint32
audio_le32(const guint8 *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

static guint16
audio_le16(const guint8 *p)
{
	return (guint16)(p[0] | p[1] << 8);
}

static GArray *
audio_decode_wav(const guint8 *p, gsize len, int *rate, char **cause)
{
	gsize at = 12;
	int channels = 0, bits = 0;
	GArray *pcm;

	while (at + 8 <= len) {
		guint32 size = audio_le32(p + at + 4);
		const guint8 *body = p + at + 8;

		if (size > len - at - 8)
			size = (guint32)(len - at - 8);
		if (memcmp(p + at, "fmt ", 4) == 0 && size >= 16) {
			if (audio_le16(body) != 1)
				break;
			channels = audio_le16(body + 2);
			*rate = (int)audio_le32(body + 4);
			bits = audio_le16(body + 14);
		} else if (memcmp(p + at, "data", 4) == 0 && channels > 0 && bits == 16 && *rate > 0) {
			gsize frames = size / (2u * (guint)channels);

			pcm = g_array_sized_new(FALSE, FALSE, sizeof(gint16), (guint)frames);
			for (gsize i = 0; i < frames; i++) {
				int sum = 0;

				for (int c = 0; c < channels; c++)
					sum += (gint16)audio_le16(body + (i * (gsize)channels + (gsize)c) * 2);
				g_array_append_val(pcm, (gint16){ (gint16)(sum / channels) });
			}
			return pcm;
		}
		at += 8 + size + (size & 1);
	}
	*cause = g_strdup("not a 16-bit PCM WAV clip");
	return NULL;
}

static void
audio_mpg123_init(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		mpg123_init();   /* required before 1.27, harmless after */
		g_once_init_leave(&done, 1);
	}
}

static mpg123_handle *
audio_mpg123_open(char **cause)
{
	mpg123_handle *mh;
	const long *rates;
	size_t nrates;
	int err = MPG123_OK;

	audio_mpg123_init();
	if ((mh = mpg123_new(NULL, &err)) == NULL) {
		*cause = g_strdup_printf("mpg123: %s", mpg123_plain_strerror(err));
		return NULL;
	}
	mpg123_param(mh, MPG123_ADD_FLAGS, MPG123_QUIET | MPG123_GAPLESS, 0);
	mpg123_format_none(mh);
	mpg123_rates(&rates, &nrates);
	for (size_t i = 0; i < nrates; i++)
		mpg123_format(mh, rates[i], MPG123_MONO | MPG123_STEREO, MPG123_ENC_SIGNED_16);
	if (mpg123_open_feed(mh) != MPG123_OK) {
		*cause = g_strdup_printf("mpg123: %s", mpg123_strerror(mh));
		mpg123_delete(mh);
		return NULL;
	}
	return mh;
}

/* All of an MP3 as mono samples (channels averaged). */
static GArray *
audio_decode_mp3(const guint8 *data, gsize len, int *rate, char **cause)
{
	mpg123_handle *mh = audio_mpg123_open(cause);
	GArray *pcm;
	unsigned char buf[16384];
	int channels = 1, enc = 0, rc;
	long r = 0;

	if (mh == NULL)
		return NULL;
	pcm = g_array_new(FALSE, FALSE, sizeof(gint16));
	if (mpg123_feed(mh, data, len) != MPG123_OK)
		goto fail;
	for (;;) {
		size_t got = 0;

		rc = mpg123_read(mh, buf, sizeof buf, &got);
		if (rc == MPG123_NEW_FORMAT) {
			mpg123_getformat(mh, &r, &channels, &enc);
			continue;
		}
		if (rc != MPG123_OK && rc != MPG123_NEED_MORE && rc != MPG123_DONE)
			goto fail;
		for (size_t i = 0; i + 2 * (size_t)channels <= got; i += 2 * (size_t)channels) {
			int sum = 0;

			for (int c = 0; c < channels; c++) {
				gint16 s;

				memcpy(&s, buf + i + 2 * (size_t)c, 2);
				sum += s;
			}
			g_array_append_val(pcm, (gint16){ (gint16)(sum / channels) });
		}
		if (rc != MPG123_OK && got == 0)
			break;
	}
	if (r <= 0 || pcm->len == 0) {
		*cause = g_strdup("the clip holds no MP3 audio");
		goto fail_quiet;
	}
	*rate = (int)r;
	mpg123_delete(mh);
	return pcm;
fail:
	*cause = g_strdup_printf("MP3 decoding failed: %s", mpg123_strerror(mh));
fail_quiet:
	g_array_free(pcm, TRUE);
	mpg123_delete(mh);
	return NULL;
}

GArray *
audio_decode(GBytes *clip, int *rate, char **cause)
{
	gsize len = 0;
	const guint8 *p = g_bytes_get_data(clip, &len);

	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WAVE", 4) == 0)
		return audio_decode_wav(p, len, rate, cause);
	return audio_decode_mp3(p, len, rate, cause);
}

/* Linear interpolation is plenty for speech going up (22.05 to 44.1 kHz)
 * and for the rare MP3 at another rate. */
static void
audio_append_resampled(GArray *out, const gint16 *in, gsize n, int rate)
{
	gsize m;

	if (rate == AUDIO_RATE) {
		g_array_append_vals(out, in, (guint)n);
		return;
	}
	m = (gsize)((double)n * AUDIO_RATE / rate + 0.5);
	for (gsize j = 0; j < m; j++) {
		double pos = (double)j * rate / AUDIO_RATE;
		gsize i = (gsize)pos;
		double frac = pos - (double)i;
		double a = in[MIN(i, n - 1)], b = in[MIN(i + 1, n - 1)];
		gint16 v = (gint16)(a + (b - a) * frac);

		g_array_append_val(out, v);
	}
}

int
audio_mix_add(struct audio_mix *mix, GBytes *clip, char **cause)
{
	int rate = 0;
	GArray *pcm = audio_decode(clip, &rate, cause);

	if (pcm == NULL)
		return -1;
	if (pcm->len > 0)
		audio_append_resampled(mix->pcm, (const gint16 *)(void *)pcm->data, pcm->len, rate);
	g_array_free(pcm, TRUE);
	return 0;
}

void
audio_mix_pause(struct audio_mix *mix, int ms)
{
	guint n = (guint)((gint64)ms * AUDIO_RATE / 1000);

	g_array_set_size(mix->pcm, mix->pcm->len + n);   /* zero-filled */
}

gsize
audio_mix_samples(const struct audio_mix *mix)
{
	return mix->pcm->len;
}

double
audio_mix_seconds(const struct audio_mix *mix)
{
	return (double)mix->pcm->len / AUDIO_RATE;
}

gboolean
audio_mix_voiced(const struct audio_mix *mix, gsize from, gsize *first, gsize *end)
{
	const gint16 *pcm = (const gint16 *)(void *)mix->pcm->data;
	gsize n = mix->pcm->len, a = from, b = n;

	while (a < n && ABS((int)pcm[a]) < AUDIO_VOICED_LEVEL)
		a++;
	while (b > a && ABS((int)pcm[b - 1]) < AUDIO_VOICED_LEVEL)
		b--;
	if (a == b) {
		*first = MIN(from, n);
		*end = n;
		return FALSE;
	}
	*first = a;
	*end = b;
	return TRUE;
}

GBytes *
audio_mix_encode(const struct audio_mix *mix, char **cause)
{
	lame_global_flags *gf = lame_init();
	GByteArray *out = g_byte_array_new();
	const gint16 *pcm = (const gint16 *)(void *)mix->pcm->data;
	gsize total = mix->pcm->len, chunk = 1152 * 64;
	gsize bufsize = chunk * 5 / 4 + 7200;
	unsigned char *buf = g_malloc(bufsize);
	unsigned char tag[4096];
	size_t taglen;
	int n;

	if (gf == NULL) {
		*cause = g_strdup("LAME could not start");
		goto fail;
	}
	lame_set_in_samplerate(gf, AUDIO_RATE);
	lame_set_out_samplerate(gf, AUDIO_RATE);
	lame_set_num_channels(gf, 1);
	lame_set_mode(gf, MONO);
	lame_set_brate(gf, AUDIO_BITRATE_KBPS);
	lame_set_quality(gf, 5);
	lame_set_bWriteVbrTag(gf, 1);
	if (lame_init_params(gf) < 0) {
		*cause = g_strdup("LAME rejected its parameters");
		goto fail;
	}
	for (gsize at = 0; at < total; at += chunk) {
		int len = (int)MIN(chunk, total - at);

		/* Mono: LAME reads only the left buffer. */
		n = lame_encode_buffer(gf, (short *)(pcm + at), (short *)(pcm + at), len, buf, (int)bufsize);
		if (n < 0) {
			*cause = g_strdup_printf("LAME failed (%d)", n);
			goto fail;
		}
		g_byte_array_append(out, buf, (guint)n);
	}
	if ((n = lame_encode_flush(gf, buf, (int)bufsize)) < 0) {
		*cause = g_strdup_printf("LAME failed to flush (%d)", n);
		goto fail;
	}
	g_byte_array_append(out, buf, (guint)n);
	/* The tag (delay, padding, length) replaces the placeholder frame
	 * LAME wrote first, so decoders can be sample-exact. */
	taglen = lame_get_lametag_frame(gf, tag, sizeof tag);
	if (taglen > 0 && taglen <= out->len)
		memcpy(out->data, tag, taglen);
	lame_close(gf);
	g_free(buf);
	return g_byte_array_free_to_bytes(out);
fail:
	if (gf != NULL)
		lame_close(gf);
	g_free(buf);
	g_byte_array_unref(out);
	return NULL;
}

double
audio_mp3_seconds(const void *data, gsize len, char **cause)
{
	int rate = 0;
	GArray *pcm = audio_decode_mp3(data, len, &rate, cause);
	double seconds;

	if (pcm == NULL)
		return -1;
	seconds = (double)pcm->len / rate;
	g_array_free(pcm, TRUE);
	return seconds;
}
