"""The responder, the worker and podcastpro-ctl under valgrind (memcheck),
in one integration run each, from the plain build (valgrind cannot run the
sanitizer build). Every process they start, forked children included,
writes its own log; each must report no memory errors and no definite leak.

script/test passes PP_PLAIN_BUILDDIR. The programs are wrapped by small
launchers in a temp dir, and pp.binary() is pointed at them, so the same
stack helpers the other tests use start them under valgrind.
"""
import glob
import os
import re
import shutil
import stat
import tempfile
import time
import uuid

import pytest

import pp

PLAIN = os.environ.get("PP_PLAIN_BUILDDIR", "")
VALGRIND = shutil.which("valgrind")

pytestmark = [
    pytest.mark.skipif(not VALGRIND, reason="valgrind is not installed"),
    pytest.mark.skipif(not PLAIN or not os.path.exists(os.path.join(PLAIN, "podcastpro-fcgi")),
                       reason="PP_PLAIN_BUILDDIR (a build without sanitizers) is not set or not built"),
]

PROGRAMS = ("podcastpro-fcgi", "podcastpro-worker", "podcastpro-ctl")


@pytest.fixture
def under_valgrind(monkeypatch):
    """A directory of launchers that run each program under memcheck; yields
    the directory where the per-process logs go."""
    wrap = tempfile.mkdtemp(prefix="pp-vg-", dir="/tmp")
    logs = os.path.join(wrap, "logs")
    os.makedirs(logs)
    os.chmod(wrap, 0o755)
    for name in PROGRAMS:
        path = os.path.join(wrap, name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n"
                    f"exec {VALGRIND} -q --error-exitcode=99 --leak-check=full "
                    "--errors-for-leak-kinds=definite --show-leak-kinds=definite "
                    "--track-fds=no --child-silent-after-fork=no "
                    f"--log-file={logs}/{name}.%p.log {os.path.join(PLAIN, name)} \"$@\"\n")
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setattr(pp, "BUILDDIR", wrap)
    yield logs
    shutil.rmtree(wrap, ignore_errors=True)


def assert_clean(logs, program, minimum=1):
    """Every log of PROGRAM is free of errors; at least MINIMUM logs exist."""
    paths = sorted(glob.glob(os.path.join(logs, program + ".*.log")))
    assert len(paths) >= minimum, f"expected {minimum}+ valgrind logs for {program}, got {paths}"
    problems = []
    for path in paths:
        with open(path, errors="replace") as f:
            text = f.read()
        # With -q, memcheck prints only errors and leak records.
        if re.search(r"(Invalid (read|write|free)|uninitialised|definitely lost in|"
                     r"Mismatched free|Syscall param|Source and destination overlap)", text):
            problems.append(f"{os.path.basename(path)}:\n{text[:4000]}")
    assert not problems, "valgrind found problems:\n" + "\n".join(problems)
    return len(paths)


def test_responder_and_ctl_are_valgrind_clean(services, tmp_path, under_valgrind):
    from test_api_auth import ApiStack, Keys, claims, hs256  # needs PyJWT + cryptography
    from test_api_uploads import psql
    from servers import http
    # SENDFILE_MODE=off: the responder streams the audio itself, so that
    # path runs under valgrind too (nothing else here depends on the mode).
    stack = ApiStack(tmp_path, services, Keys(), "pp_valgrind_api", processes=1, threads=2,
                     env={"SENDFILE_MODE": "off"})
    try:
        sub = str(uuid.uuid4())
        token = hs256(claims(sub=sub, email=f"vg-{sub[:8]}@example.com"))
        for _ in range(30):
            assert stack.call("GET", "/health")[0] == 200
        assert stack.call("GET", "/health/ready")[0] in (200, 503)
        assert stack.call("GET", "/nope")[0] == 404
        assert stack.call("DELETE", "/health")[0] == 405
        assert stack.call("GET", "/podcasts/", "garbage.token.here")[0] == 401
        assert stack.call("GET", "/podcasts/", token)[0] == 200
        url, _ = stack.upload(sub)
        status, _, body = stack.call("POST", "/podcasts/", token,
                                  body={"original_file_url": url, "requirements": "short"})
        assert status == 202, body
        assert stack.call("GET", f"/podcasts/{body['id']}", token)[0] == 200
        assert stack.call("GET", "/podcasts/?limit=1", token)[0] == 200
        assert stack.call("POST", "/uploads/sign-url/", token, body={"filename": "a.pdf"})[0] == 200
        # Any string is normalised into the key (doc/storage.md); only a non-string is 422.
        assert stack.call("POST", "/uploads/sign-url/", token, body={"filename": "../Résumé #1?.pdf"})[0] == 200
        assert stack.call("POST", "/uploads/sign-url/", token, body={"filename": 3})[0] == 422
        assert stack.call("GET", "/elevenlabs/credits", token)[0] == 200
        # A finished podcast's audio, streamed whole and by range.
        audio = os.urandom(150000)
        key = f"podcasts/podcast_{body['id']}.mp3"
        with open(os.path.join(stack.storage, key), "wb") as f:
            f.write(audio)
        psql(stack.env["DATABASE_URL"], "UPDATE podcasts SET status = 'complete', "
             "final_podcast_url = :'p1' WHERE id = :'p0'", body["id"],
             f"{stack.url}/uploads/local/{key}")
        status, _, got = stack.call("GET", f"/podcasts/{body['id']}", token)
        assert status == 200 and got["stream_url"], got
        assert http(got["stream_url"])[::2] == (200, audio)
        assert http(got["stream_url"], headers={"Range": "bytes=70000-"})[::2] == (206, audio[70000:])
        assert stack.call("DELETE", f"/podcasts/{body['id']}", token)[0] == 204
    finally:
        stack.stop()
    # The supervisor and its one process (forked, so logged under its own pid).
    assert assert_clean(under_valgrind, "podcastpro-fcgi", minimum=1) >= 1
    assert_clean(under_valgrind, "podcastpro-ctl", minimum=1)


def test_worker_is_valgrind_clean(services, tmp_path, under_valgrind):
    import redis
    import workerkit

    db = int(time.time()) % 6 + 10   # a Redis database of its own
    base = services["REDIS_URL"].rsplit("/", 1)[0]
    url = f"{base}/{db}"
    r = redis.Redis.from_url(url, decode_responses=True)
    r.flushdb()
    worker = workerkit.Worker(tmp_path, workerkit.env_for(services, redis_url=url, RETRY_BACKOFF=0,
                                                          RETRY_MAX=1),
                              ["default"], "vg@test", concurrency=2)
    try:
        jobs = [workerkit.envelope("ping", {}, "default") for _ in range(20)]
        jobs += [workerkit.envelope("test.echo", {"text": "hello"}, "default") for _ in range(5)]
        jobs += [workerkit.envelope("test.fail", {"error": "boom", "permanent": True}, "default")]
        workerkit.enqueue_many(r, jobs)

        def settled():
            events = workerkit.events_since(r)
            done = {e.get("id") for e in events
                    if e.get("event") in ("succeeded", "dead")}
            return len(done) >= len(jobs)
        pp.wait_for(settled, timeout=120, what="every job to finish under valgrind")
    finally:
        assert worker.stop(timeout=60) == 0, worker.log_text()[-3000:]
        r.flushdb()
    # The master and both children.
    assert assert_clean(under_valgrind, "podcastpro-worker", minimum=3) >= 3
