"""The listener's options (issue 15) through the real pipeline: the builtin
writer's length measured on the mixed MP3 (espeak-ng, real audio), host
voices and the language's espeak-ng voices in use (their cache keys), host
names in the script, and the options in the Gemini stub's prompt."""
import json
import os

import pytest

from test_pipeline import Pipeline, decode_seconds, espeak_cache_key  # noqa: F401
from test_pipeline import pipe  # noqa: F401  (the fixture)
from test_pipeline_providers import Stub


def with_options(pipe, pid, length=None, language=None, style=None, hosts=None):
    pipe.sql("UPDATE podcasts SET length = %s::jsonb, language = %s, style = %s, hosts = %s::jsonb "
             "WHERE id = %s", json.dumps(length) if length is not None else None, language, style,
             json.dumps(hosts) if hosts is not None else None, pid)


@pytest.mark.parametrize("length,minutes", [("short", 3), ("long", 12)])
def test_builtin_length_is_measured_within_15_percent(pipe, length, minutes):
    pid = pipe.podcast("ten-pages.pdf")
    with_options(pipe, pid, length=length)
    pipe.start_worker()
    pipe.enqueue(pid)
    row = pipe.wait_done(pid, timeout=300)
    assert row["status"] == "complete", row
    seconds, errors = decode_seconds(pipe.mp3_path(pid))
    assert errors == ""
    target = minutes * 60
    assert abs(seconds - target) <= 0.15 * target, (length, seconds, target)


def test_without_a_length_the_podcast_is_as_before(pipe):
    """The default (16 picks) is far from "long": the option is what moved it."""
    pid = pipe.podcast("ten-pages.pdf")
    pipe.start_worker()
    pipe.enqueue(pid)
    row = pipe.wait_done(pid, timeout=300)
    assert row["status"] == "complete", row
    seconds, _ = decode_seconds(pipe.mp3_path(pid))
    assert seconds < 0.6 * 12 * 60, seconds


def test_host_voices_language_and_names_are_used(pipe):
    pid = pipe.podcast("sample.pdf")
    with_options(pipe, pid, language="de", style="interview",
                 hosts=[{"name": "Ada", "voice": "en-us+m2"}, {"name": None, "voice": None}])
    pipe.start_worker()
    pipe.enqueue(pid)
    row = pipe.wait_done(pid, timeout=120)
    assert row["status"] == "complete", row
    lines = row["transcript"]["lines"]
    assert {l["speaker"] for l in lines} == {"Dorothy", "Will"}  # the roles stay
    assert lines[0]["text"].startswith("Welcome back to the show. I'm Ada, and today Will is asking")
    # Dorothy's role speaks with the host's voice, Will's with German's.
    voices = {"Dorothy": "en-us+m2", "Will": "de+m3"}
    for l in lines:
        assert os.path.exists(os.path.join(pipe.storage, espeak_cache_key(voices[l["speaker"]], l["text"]))), l
    defaults = {"Dorothy": "en-us+f3", "Will": "en-gb+m3"}
    assert not any(os.path.exists(os.path.join(pipe.storage, espeak_cache_key(defaults[l["speaker"]], l["text"])))
                   for l in lines)


def test_gemini_prompt_states_the_options(pipe, tmp_path):
    gemini = Stub(tmp_path, "gemini_stub.py", "--key", "gem-key", "--lines", "8")
    try:
        pid = pipe.podcast("sample.pdf")
        with_options(pipe, pid, length=5, language="fr", style="debate",
                     hosts=[{"name": "Ada", "voice": None}, {"name": "Bo", "voice": None}])
        plain = pipe.podcast("sample.pdf")
        pipe.start_worker(GOOGLE_API_KEY="gem-key", GEMINI_API_URL=gemini.url,
                          GEMINI_MODEL="gemini-2.5-flash")
        pipe.enqueue(pid)
        assert pipe.wait_done(pid, timeout=120)["status"] == "complete"
        pipe.enqueue(plain)
        assert pipe.wait_done(plain, timeout=120)["status"] == "complete"
        asked, default = [r["body"]["systemInstruction"]["parts"][0]["text"] for r in gemini.call("/_requests")]
    finally:
        gemini.stop()
    assert "about 750 words" in asked and "5 minutes" in asked, asked
    assert "French" in asked and "debate" in asked, asked
    assert "Ada" in asked and "Bo" in asked, asked
    # Without options: the rules as before.
    assert "about 1200 words" in default and "French" not in default and "Ada" not in default


def test_elevenlabs_host_voice_replaces_the_configured_one(pipe, tmp_path):
    """A host's ElevenLabs voice id is the one asked for that role's lines;
    the other role keeps the configured voice, and a language changes no
    ElevenLabs voice (its multilingual model follows the text)."""
    eleven = Stub(tmp_path, "elevenlabs_stub.py", "--key", "el-key")
    try:
        pid = pipe.podcast("notes.md")
        with_options(pipe, pid, language="de",
                     hosts=[{"name": None, "voice": None}, {"name": None, "voice": "AbCdEfGhIjKlMnOpQrSt"}])
        pipe.start_worker(ELEVENLABS_API_KEY="el-key", ELEVENLABS_API_URL=eleven.url,
                          ELEVENLABS_VOICE_DOROTHY="ThT5KcBeYPX3keUQqHPh")
        pipe.enqueue(pid)
        row = pipe.wait_done(pid, timeout=120)
        assert row["status"] == "complete", row
        reqs = eleven.call("/_requests")["requests"]
    finally:
        eleven.stop()
    voices = {"Dorothy": "ThT5KcBeYPX3keUQqHPh", "Will": "AbCdEfGhIjKlMnOpQrSt"}
    by_text = {r["text"]: r["voice_id"] for r in reqs if r.get("answer") == "ok"}
    lines = row["transcript"]["lines"]
    assert lines and all(by_text[l["text"]] == voices[l["speaker"]] for l in lines), (by_text, lines)
