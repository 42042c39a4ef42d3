"""Checks a podcast's WebVTT transcript against its MP3 (issue 15), with
tools of our own and Debian's, none of the C code under test: the MP3 is
decoded by the mpg123 CLI (gapless, as players play it), the transcript is
read by webvtt-py (python3-webvtt), and each line's voiced span is found in
the decoded samples by level alone.

Shared by tests/integration/test_pipeline_transcript.py and
bench/pipeline.sh (the timing error it reports)."""
import html
import io
import re
import shutil
import subprocess

RATE = 44100
# Voice is a sample at -40 dBFS or louder (1 % of full scale).
LEVEL = 328
BLOCK = 441        # 10 ms: scanned a block at a time, then sample by sample
VOICE = re.compile(r"^<v ([^>]*)>(.*)</v>$", re.S)


def decode(path):
    """The MP3 at PATH as mono 16-bit samples at 44.1 kHz (an array('h'))."""
    import array
    if not shutil.which("mpg123"):
        raise RuntimeError("the mpg123 CLI is not installed (Debian package mpg123)")
    res = subprocess.run(["mpg123", "-q", "--mono", "-r", str(RATE), "-e", "s16", "-s", path],
                         capture_output=True, timeout=300)
    if res.returncode != 0:
        raise RuntimeError(res.stderr.decode(errors="replace"))
    pcm = array.array("h")
    pcm.frombytes(res.stdout[:len(res.stdout) // 2 * 2])
    return pcm


def _loud(seg):
    return len(seg) > 0 and (max(seg) >= LEVEL or min(seg) <= -LEVEL)


def first_loud(pcm, a, b):
    """The first voiced sample in PCM[a:b], or None."""
    for i in range(a, b, BLOCK):
        seg = pcm[i:min(i + BLOCK, b)]
        if _loud(seg):
            return next(i + k for k, s in enumerate(seg) if abs(s) >= LEVEL)
    return None


def last_loud(pcm, a, b):
    """The last voiced sample in PCM[a:b], or None."""
    for i in range(b, a, -BLOCK):
        seg = pcm[max(a, i - BLOCK):i]
        if _loud(seg):
            return i - 1 - next(k for k, s in enumerate(reversed(seg)) if abs(s) >= LEVEL)
    return None


def parse_vtt(data):
    """[(start s, end s, voice, text)] of a WebVTT file's bytes, through
    webvtt-py (which raises on a malformed file); the voice span and the
    character references are undone here."""
    import webvtt
    cues = []
    for c in webvtt.read_buffer(io.StringIO(data.decode("utf-8"))):
        m = VOICE.match(c.raw_text)
        assert m, f"cue without a voice span: {c.raw_text!r}"
        cues.append((c.start_in_seconds, c.end_in_seconds,
                     html.unescape(m.group(1)), html.unescape(m.group(2))))
    return cues


def timing_errors(pcm, cues):
    """For each cue, (start error, end error) in seconds: the cue's times
    minus its line's voiced span in PCM. The span of line i is searched
    between the middles of the silences before and after its cue."""
    out = []
    n = len(pcm)
    for i, (start, end, _, _) in enumerate(cues):
        lo = 0 if i == 0 else int((cues[i - 1][1] + start) / 2 * RATE)
        hi = n if i + 1 == len(cues) else int((end + cues[i + 1][0]) / 2 * RATE)
        a, b = first_loud(pcm, lo, hi), last_loud(pcm, lo, hi)
        if a is None:
            out.append((float("inf"), float("inf")))
            continue
        out.append((start - a / RATE, end - (b + 1) / RATE))
    return out


def summary(errors):
    """(mean, max) of the absolute errors, in milliseconds."""
    flat = [abs(e) for pair in errors for e in pair]
    return 1000 * sum(flat) / len(flat), 1000 * max(flat)
