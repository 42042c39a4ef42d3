"""The responder, the worker and podcastpro-ctl under valgrind (memcheck),
in one integration run each, from the plain build (valgrind cannot run the
sanitizer build). Every process they start, forked children and the job children they
execute (podcastpro-job, --trace-children) included,
writes its own log; each must report no memory errors and no definite leak.

script/test passes PP_PLAIN_BUILDDIR. The programs are wrapped by small
launchers in a temp dir, and pp.binary() is pointed at them, so the same
stack helpers the other tests use start them under valgrind.

The responder serves the API, the index, the OpenAPI document and /docs,
/metrics on its listener, the job dashboard and the built-in accounts
(/auth/v1/); the worker runs jobs that succeed, fail and die, publishes
its metrics, and forks an on_dead hook. Every answer's status is asserted,
so a path that breaks fails here too.
"""
import glob
import json
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
                    "--track-fds=no --child-silent-after-fork=no --trace-children=yes "
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


METRICS_TOKEN = "vg-metrics-token-0123456789abcdef"
DASHBOARD_TOKEN = "vg-dashboard-token-0123456789abcdef"
ANON_KEY = "vg-anon-key-0123456789abcdef"


def served_pages_metrics_dashboard(stack):
    """GET and HEAD /, the OpenAPI document (and its 304), /docs, /metrics
    (right and wrong token, and the public listener's 404) and the job
    dashboard (its page, the state with and without credentials, a retry of
    a dead job and of an unknown id, a purge)."""
    import workerkit as wk
    from servers import http, http_json

    status, headers, page = http(stack.url + "/")
    assert status == 200 and page, (status, page[:200])
    status, _, empty = http(stack.url + "/", method="HEAD")
    assert status == 200 and empty == b""
    status, headers, doc = http_json(stack.url + "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3."), status
    etag = headers["etag"]
    status, _, data = http(stack.url + "/openapi.json", headers={"If-None-Match": etag})
    assert status == 304 and data == b"", status
    assert http(stack.url + "/openapi.json", headers={"If-None-Match": '"other"'})[0] == 200
    status, headers, page = http(stack.url + "/docs")
    assert status == 200 and headers["content-type"].startswith("text/html"), status

    metrics = stack.web.metrics_url + "/metrics"
    status, headers, data = http(metrics, headers={"Authorization": "Bearer " + METRICS_TOKEN})
    assert status == 200 and b"podcastpro_http_requests_total" in data, (status, data[:300])
    assert http(metrics, headers={"Authorization": "Bearer wrong-token-0123456789abc"})[0] == 401
    assert http(metrics)[0] == 401
    assert http(stack.url + "/metrics", headers={"Authorization": "Bearer " + METRICS_TOKEN})[0] == 404

    dash = stack.url + "/dashboard"
    auth = {"Authorization": "Bearer " + DASHBOARD_TOKEN}
    assert http(dash + "/", headers=auth)[0] == 200
    assert http(dash + "/static/dashboard.js", headers=auth)[0] == 200
    assert http(dash + "/api/state")[0] == 401
    assert http(dash + "/api/state", headers={"Authorization": "Bearer wrong-token-0123456789abc"})[0] == 401
    r = wk.client(stack.redis.url)
    try:
        dead = []
        for _ in range(2):
            job = wk.envelope("ping", {}, "default", attempt=4)
            dead.append((job["id"], r.xadd("pp:dead:default", {
                "id": job["id"], "task": "ping", "queue": "default", "error": "boom",
                "job": json.dumps(job)})))
        status, _, state = http_json(dash + "/api/state", headers=auth)
        assert status == 200 and {d["id"] for d in state["dead"]} == {j for j, _ in dead}, state
        post = dict(auth, **{"X-CSRF-Token": state["csrf"]})
        status, _, body = http_json(dash + "/api/dead/retry", method="POST", headers=post,
                                    body={"id": "NO-SUCH-JOB-ID"})
        assert status == 404, body
        assert http(dash + "/api/dead/retry", method="POST", body={"id": dead[0][0]},
                    headers=dict(auth, **{"X-CSRF-Token": "0" * 64}))[0] == 403
        status, _, body = http_json(dash + "/api/dead/retry", method="POST", headers=post,
                                    body={"id": dead[0][0], "queue": "default"})
        assert status == 200 and body["retried"] == [{"entry": dead[0][1], "id": dead[0][0]}], body
        status, _, body = http_json(dash + "/api/dead/purge", method="POST", headers=post, body={})
        assert status == 200 and body == {"purged": 1}, body
        status, _, state = http_json(dash + "/api/state?after=0-0", headers=auth)
        assert status == 200 and state["dead"] == [], state
    finally:
        r.close()


def served_accounts(stack):
    """/auth/v1/: signup, the password grant (right and wrong password), the
    refresh grant and the reuse of a spent refresh token (no grace period
    here), GET and PUT /user, logout, and malformed JSON."""
    key = {"apikey": ANON_KEY}
    email = f"vg-{uuid.uuid4().hex[:12]}@example.com"

    def call(method, path, body=None, token=None, raw=None):
        h = dict(key)
        if raw is not None:
            h["Content-Type"] = "application/json"
        status, _, doc = stack.call(method, "/auth/v1" + path, token,
                                    body=raw if raw is not None else body, headers=h)
        return status, doc

    status, signup = call("POST", "/signup", {"email": email, "password": "first-password",
                                              "data": {"name": "vg"}})
    assert status == 200 and signup["user"]["email"] == email, signup
    token = signup["access_token"]
    status, login = call("POST", "/token?grant_type=password", {"email": email, "password": "first-password"})
    assert status == 200 and login["refresh_token"], login
    status, body = call("POST", "/token?grant_type=password", {"email": email, "password": "wrong-password"})
    assert status == 400 and body["error_code"] == "invalid_credentials", body
    status, fresh = call("POST", "/token?grant_type=refresh_token", {"refresh_token": login["refresh_token"]})
    assert status == 200 and fresh["refresh_token"] != login["refresh_token"], fresh
    status, body = call("POST", "/token?grant_type=refresh_token", {"refresh_token": login["refresh_token"]})
    assert status == 400 and body["error_code"] == "refresh_token_already_used", body
    # The reuse ended that session; the signup's goes on.
    status, body = call("GET", "/user", token=fresh["access_token"])
    assert status == 403 and body["error_code"] == "session_not_found", body
    status, user = call("GET", "/user", token=token)
    assert status == 200 and user["email"] == email, user
    status, user = call("PUT", "/user", {"password": "second-password", "data": {"name": "vg2"}}, token=token)
    assert status == 200 and user["user_metadata"]["name"] == "vg2", user
    status, body = call("PUT", "/user", raw=b"{,}", token=token)
    assert status == 400 and body["error_code"] == "bad_json", body
    status, body = call("POST", "/signup", raw=b'{"email": "x@example.com", "password": ')
    assert status == 400 and body["error_code"] == "bad_json", body
    assert call("POST", "/logout", token=token)[0] == 204
    status, body = call("GET", "/user", token=token)
    assert status == 403 and body["error_code"] == "session_not_found", body


def test_responder_and_ctl_are_valgrind_clean(services, tmp_path, under_valgrind, monkeypatch):
    import functools

    import test_api_auth
    from test_api_auth import ApiStack, Keys, claims, hs256  # needs PyJWT + cryptography
    from test_api_uploads import psql
    from servers import Nginx, http
    # The shipped metrics listener, on a port the responder is told before
    # nginx starts (doc/metrics.md: METRICS_LISTEN names it).
    metrics_port = pp.free_port()
    monkeypatch.setattr(test_api_auth, "Nginx", functools.partial(Nginx, metrics_port=metrics_port))
    # SENDFILE_MODE=off: the responder streams the audio itself, so that
    # path runs under valgrind too (nothing else here depends on the mode).
    stack = ApiStack(tmp_path, services, Keys(), "pp_valgrind_api", processes=1, threads=2,
                     env={"SENDFILE_MODE": "off",
                          "METRICS_LISTEN": f"127.0.0.1:{metrics_port}", "METRICS_TOKEN": METRICS_TOKEN,
                          "DASHBOARD_TOKEN": DASHBOARD_TOKEN,
                          "SUPABASE_ANON_KEY": ANON_KEY, "AUTH_REFRESH_REUSE_INTERVAL": "0"})
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
        served_pages_metrics_dashboard(stack)
        served_accounts(stack)
    finally:
        stack.stop()
    # The supervisor and its one process (forked, so logged under its own pid).
    assert assert_clean(under_valgrind, "podcastpro-fcgi", minimum=1) >= 1
    assert_clean(under_valgrind, "podcastpro-ctl", minimum=1)


def test_worker_is_valgrind_clean(services, tmp_path, under_valgrind):
    """Jobs that succeed, fail and die; the metrics the master publishes
    (jobs/worker-metrics.c); and a podcast.generate job found poison, whose
    on_dead hook runs in a process of its own (jobs/worker-hook.c) and marks
    the podcast failed in PostgreSQL."""
    import redis
    import workerkit
    from test_api_auth import Database

    db = int(time.time()) % 6 + 10   # a Redis database of its own
    base = services["REDIS_URL"].rsplit("/", 1)[0]
    url = f"{base}/{db}"
    r = redis.Redis.from_url(url, decode_responses=True)
    r.flushdb()
    pg = Database(services, "pp_valgrind_worker")
    owner = str(uuid.uuid4().hex[:26]).upper()
    podcast = str(uuid.uuid4().hex[:26]).upper()
    pg.sql("INSERT INTO users (id, email, auth_user_id, podcast_limit, podcasts_created) "
           "VALUES (:'p0', :'p1', :'p2', 100, 0)", owner, f"{owner.lower()}@example.com", str(uuid.uuid4()))
    pg.sql("INSERT INTO podcasts (id, owner_id, status, original_file_url, duration) "
           "VALUES (:'p0', :'p1', 'pending', 'http://127.0.0.1:9/nothing.pdf', 0)", podcast, owner)
    # The podcast's job was delivered twice to a consumer that vanished: the
    # worker finds it poison (JOB_MAX_DELIVERIES=3) and dead without running
    # it, and only its on_dead hook touches the database.
    hook_queue = "vghook"
    stream = "pp:q:" + hook_queue
    r.xgroup_create(stream, "workers", id="0", mkstream=True)
    (poison,) = workerkit.enqueue_many(r, [workerkit.envelope("podcast.generate", {"podcast_id": podcast},
                                                              hook_queue)])
    (entry, _), = r.xreadgroup("workers", "ghost", {stream: ">"}, count=1)[0][1]
    r.xclaim(stream, "workers", "ghost", 0, [entry])
    r.xclaim(stream, "workers", "ghost", 0, [entry])
    name = "vg@test"
    worker = workerkit.Worker(tmp_path, workerkit.env_for(services, redis_url=url, RETRY_BACKOFF=0,
                                                          RETRY_MAX=1, DATABASE_URL=pg.url,
                                                          JOB_VISIBILITY_TIMEOUT=2, JOB_MAX_DELIVERIES=3),
                              ["default", hook_queue], name, concurrency=2)
    try:
        jobs = [workerkit.envelope("ping", {}, "default") for _ in range(20)]
        jobs += [workerkit.envelope("test.echo", {"text": "hello"}, "default") for _ in range(5)]
        jobs += [workerkit.envelope("test.fail", {"error": "boom", "permanent": True}, "default")]
        workerkit.enqueue_many(r, jobs)

        def settled():
            events = workerkit.events_since(r)
            done = {e.get("id") for e in events
                    if e.get("event") in ("succeeded", "dead")}
            return len(done) >= len(jobs) + 1
        pp.wait_for(settled, timeout=120, what="every job to finish under valgrind")
        dead = {e["id"]: e for e in workerkit.events_since(r) if e.get("event") == "dead"}
        assert poison in dead and "JOB_MAX_DELIVERIES=3" in dead[poison]["error"], dead
        pp.wait_for(lambda: pg.sql("SELECT status FROM podcasts WHERE id = :'p0'", podcast) == "failed",
                    timeout=60, what="the on_dead hook to mark the podcast failed")
        # The master's numbers, as /metrics reads them: every outcome counted.
        key = "pp:metrics:worker:" + name

        def published():
            jobs_total = r.hget(key, "podcastpro_worker_jobs_total") or ""
            return ('task="ping",outcome="succeeded"} 20' in jobs_total
                    and 'task="test.fail",outcome="dead"} 1' in jobs_total)
        pp.wait_for(published, timeout=30, what="the worker's metrics in Redis")
        assert name in r.smembers("pp:metrics:workers")
    finally:
        assert worker.stop(timeout=60) == 0, worker.log_text()[-3000:]
        r.flushdb()
        pg.drop()
    # The master, both children and the hook's process.
    assert assert_clean(under_valgrind, "podcastpro-worker", minimum=4) >= 4
    assert_clean(under_valgrind, "podcastpro-ctl", minimum=1)   # the database's migration
