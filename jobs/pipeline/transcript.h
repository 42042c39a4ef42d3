/* The timed transcript and the chapters of a mixed podcast (issue 15).
 *
 * Cue times come from the mix itself (audio_mix_voiced): each line's first
 * and last voiced sample in the final MP3, so they match what a gapless
 * player plays. From them:
 *
 * - WebVTT (text/vtt): "WEBVTT", then one cue per script line, numbered
 *   from 1, "HH:MM:SS.mmm --> HH:MM:SS.mmm", the text in a voice span
 *   "<v Name>text</v>" with & < > escaped and line breaks made spaces;
 * - Podcasting 2.0 JSON chapters (application/json+chapters):
 *   {"version": "1.2.0", "chapters": [{"startTime": s, "title": t}, ...]},
 *   one chapter per topic the script turns to (script.h: a line's topic,
 *   a repeat of the current topic is no change), starting at that line's
 *   cue; the first chapter starts at 0 (titled with the first line's
 *   topic, or the script's title when that line has none).
 *
 * Ownership: returned strings are the caller's (g_free). */
#ifndef PP_TRANSCRIPT_H
#define PP_TRANSCRIPT_H

#include <glib.h>

#include "script.h"

#define TRANSCRIPT_VTT_TYPE "text/vtt"
#define TRANSCRIPT_CHAPTERS_TYPE "application/json+chapters"
#define TRANSCRIPT_CHAPTERS_VERSION "1.2.0"

/* Where one line is heard, in seconds from the start of the audio. */
struct transcript_cue {
	double start;   /* its first voiced sample */
	double end;     /* just after its last */
};

/* Room for any time transcript_time() writes (hours of up to 10 digits). */
#define TRANSCRIPT_TIME_MAX 24

/* SECONDS as a WebVTT timestamp HH:MM:SS.mmm, rounded to the millisecond
 * (negative and NaN as 0; hours take more digits past 99). */
void transcript_time(double seconds, char out[TRANSCRIPT_TIME_MAX]);

/* TEXT for a cue or a voice name: & < > as &amp; &lt; &gt;, CR, LF and tab
 * as a space (a blank line would end the cue). */
char *transcript_escape(const char *text);

/* The WebVTT file of S, CUES[i] being line i's. NAMES[0] and NAMES[1] are
 * the display names of the SCRIPT_DOROTHY and SCRIPT_WILL roles (NULL or
 * "" for the role's own name). A cue never ends before it starts: one
 * that would is given a millisecond. */
char *transcript_vtt(const struct script *s, const struct transcript_cue *cues,
    const char *const names[2]);

/* The chapters JSON of S (text, compact). */
char *transcript_chapters(const struct script *s, const struct transcript_cue *cues);

#endif
