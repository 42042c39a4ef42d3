#!/bin/bash
# The generation pipeline, end to end, against stubs at realistic speed
# (Gemini 3 s a call, ElevenLabs 1.5 s a line, a 40-line script), side by
# side in the same run with the Python service's order of work against the
# same stubs: three Gemini calls one after another (summary, title,
# dialogue), then the 40 lines one after another (bench/pipeline_pyorder.py
# replays exactly that). Also our worker with ELEVENLABS_CONCURRENCY=1, and
# the offline providers turning a 10-page PDF into an MP3.
#
# Prints the seconds of each and the ratio ours / Python order (target
# <= 1/3), and the offline time (target < 60 s). Then the length accuracy
# of the builtin writer with espeak-ng (the listener's `length`, issue 15):
# for a few targets, the target and the measured minutes of the decoded MP3
# and the error (target within 15 %). For our runs also the timed
# transcript's error: every cue edge of the .vtt against where its line is
# voiced in the MP3 as mpg123 decodes it (tests/integration/transcript_check.py),
# mean and max in ms (target max <= 50 ms), with MP3 clips (the ElevenLabs
# stub) and WAV clips (espeak-ng).
#
# Usage: bench/pipeline.sh
# Env: PP_BUILDDIR (default build/plain), GEMINI_DELAY (3), TTS_DELAY (1.5),
#      LINES (40), CONCURRENCY (4), KEEP_LOGS (copy logs there).
# Needs: PostgreSQL, redis-server, /usr/bin/python3 with psycopg2, redis,
#      pytest, webvtt (the helpers of tests/integration/test_pipeline.py are reused).
set -u -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
builddir=${PP_BUILDDIR:-$root/build/plain}
[ -x "$builddir/podcastpro-worker" ] || { echo "pipeline.sh: build first (no $builddir/podcastpro-worker), or set PP_BUILDDIR" >&2; exit 2; }
if strings "$builddir/podcastpro-worker" 2>/dev/null | grep -q __asan_init; then
	echo "pipeline.sh: warning: the worker is built with sanitizers; figures will be slow" >&2
fi
tmp=$(mktemp -d /tmp/pp-pipeline-bench.XXXXXX) || exit 1
chmod 755 "$tmp"
cleanup() {
	trap - EXIT INT TERM
	[ -n "${KEEP_LOGS:-}" ] && mkdir -p "$KEEP_LOGS" && cp "$tmp"/*.log "$KEEP_LOGS"/ 2>/dev/null
	"$root/script/services" stop "$tmp/svc" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
PP_PG_FSYNC=on "$root/script/services" start "$tmp/svc" >/dev/null || exit 1

PP_SERVICES_ENV=$tmp/svc/env PP_BUILDDIR=$builddir BENCH_TMP=$tmp \
GEMINI_DELAY=${GEMINI_DELAY:-3} TTS_DELAY=${TTS_DELAY:-1.5} LINES=${LINES:-40} \
CONCURRENCY=${CONCURRENCY:-4} PYTHONPATH=$root/tests/integration \
/usr/bin/python3 - <<'PY'
import json, os, subprocess, sys, time
import pp
import workerkit as wk
from test_pipeline import Pipeline, decode_seconds
import transcript_check as tc

tmp = os.environ["BENCH_TMP"]
services = pp.read_env_file(os.environ["PP_SERVICES_ENV"])
gd, td = float(os.environ["GEMINI_DELAY"]), float(os.environ["TTS_DELAY"])
lines, conc = int(os.environ["LINES"]), int(os.environ["CONCURRENCY"])
stubs = os.path.join(pp.ROOT, "tests", "stubs")


def stub(script, *args):
    port = pp.free_port()
    p = pp.Proc(["/usr/bin/python3", os.path.join(stubs, script), "--port", str(port), *args],
                log=os.path.join(tmp, script + ".log"))
    pp.wait_port(port)
    return p, f"http://127.0.0.1:{port}"


gem, gem_url = stub("gemini_stub.py", "--delay", str(gd), "--lines", str(lines))
el, el_url = stub("elevenlabs_stub.py", "--delay", str(td))
results = {}
timing = []     # (start, end) errors of every cue of every run, seconds


def transcript_error(pipe, pid):
    """'transcript error mean/max ms' of the podcast's .vtt against its MP3."""
    with open(os.path.join(pipe.storage, "podcasts", f"podcast_{pid}.vtt"), "rb") as f:
        errors = tc.timing_errors(tc.decode(pipe.mp3_path(pid)), tc.parse_vtt(f.read()))
    timing.extend(errors)
    return "transcript error %.1f/%.1f ms" % tc.summary(errors)


try:
    def ours(label, **env):
        pipe = Pipeline(services, os.path.join(tmp, label))
        try:
            pid = pipe.podcast("sample.pdf")
            w = pipe.start_worker(**env)
            wk.wait_state(pipe.r, w.name)
            t0 = time.monotonic()
            pipe.enqueue(pid)
            row = pipe.wait_done(pid, timeout=600)
            took = time.monotonic() - t0
            assert row["status"] == "complete", row
            seconds, _ = decode_seconds(pipe.mp3_path(pid))
            n = len(row["transcript"]["lines"])
            print(f"{label:<34} {took:7.1f} s   ({n} lines, {seconds:.0f} s of audio, "
                  f"{transcript_error(pipe, pid)})", flush=True)
            return took
        finally:
            pipe.close()

    providers = {"GOOGLE_API_KEY": "k", "GEMINI_API_URL": gem_url, "ELEVENLABS_API_KEY": "k",
                 "ELEVENLABS_API_URL": el_url}
    results["ours"] = ours(f"ours (concurrency {conc})", ELEVENLABS_CONCURRENCY=conc, **providers)
    results["ours1"] = ours("ours (concurrency 1)", ELEVENLABS_CONCURRENCY=1, **providers)
    t0 = time.monotonic()
    subprocess.run(["/usr/bin/python3", os.path.join(pp.ROOT, "bench", "pipeline_pyorder.py"),
                    gem_url, el_url, os.path.join(pp.ROOT, "tests", "data", "sample.pdf")], check=True)
    results["py"] = time.monotonic() - t0
    print(f"{'Python service order (sequential)':<34} {results['py']:7.1f} s   (3 Gemini calls, {lines} lines one by one)")
    gem.stop()
    el.stop()
    pipe = Pipeline(services, os.path.join(tmp, "offline"))
    try:
        pid = pipe.podcast("ten-pages.pdf")
        w = pipe.start_worker()
        wk.wait_state(pipe.r, w.name)
        t0 = time.monotonic()
        pipe.enqueue(pid)
        row = pipe.wait_done(pid, timeout=600)
        results["offline"] = time.monotonic() - t0
        assert row["status"] == "complete", row
        seconds, _ = decode_seconds(pipe.mp3_path(pid))
        print(f"{'offline (builtin + espeak-ng), 10 pages':<34} {results['offline']:7.1f} s   "
              f"({len(row['transcript']['lines'])} lines, {seconds:.0f} s of audio, "
              f"{transcript_error(pipe, pid)})")
    finally:
        pipe.close()
finally:
    gem.stop()
    el.stop()

lengths = []
for asked, minutes in (("short", 3), (5, 5), ("medium", 6), (9, 9), ("long", 12)):
    pipe = Pipeline(services, os.path.join(tmp, f"length-{asked}"))
    try:
        pid = pipe.podcast("ten-pages.pdf")
        pipe.sql("UPDATE podcasts SET length = %s::jsonb WHERE id = %s", json.dumps(asked), pid)
        w = pipe.start_worker()
        wk.wait_state(pipe.r, w.name)
        pipe.enqueue(pid)
        row = pipe.wait_done(pid, timeout=600)
        assert row["status"] == "complete", row
        seconds, _ = decode_seconds(pipe.mp3_path(pid))
        err = 100 * (seconds / 60 - minutes) / minutes
        lengths.append(abs(err))
        print(f"length {json.dumps(asked):<9} target {minutes:5.1f} min   measured {seconds / 60:5.2f} min   "
              f"error {err:+5.1f} %", flush=True)
    finally:
        pipe.close()

ratio = results["ours"] / results["py"]
print(f"ratio ours / Python order: {ratio:.3f} (target <= 0.333) {'OK' if ratio <= 1 / 3 else 'MISSED'}")
print(f"offline 10-page PDF: {results['offline']:.1f} s (target < 60 s) "
      f"{'OK' if results['offline'] < 60 else 'MISSED'}")
print(f"length accuracy: worst error {max(lengths):.1f} % (target <= 15 %) "
      f"{'OK' if max(lengths) <= 15 else 'MISSED'}")
mean_ms, max_ms = tc.summary(timing)
print(f"transcript timing error: mean {mean_ms:.1f} ms, max {max_ms:.1f} ms over {len(timing)} cues "
      f"(target max <= 50 ms) {'OK' if max_ms <= 50 else 'MISSED'}")
PY
