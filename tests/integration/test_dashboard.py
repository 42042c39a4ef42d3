"""The job dashboard (issue 14, doc/dashboard.md): served by the responder
under DASHBOARD_PATH behind nginx or lighttpd as shipped, with credentials
of its own (DASHBOARD_USERS, DASHBOARD_TOKEN; none: off, 404), reading
the worker's state from Redis; its retry and purge are podcastpro-ctl's
(src/jobstate.c), and its events are `podcastpro-ctl events`'s.

The browser half (a podcast's stage changing on the page, a dead job, the
Retry button) is test_dashboard_browser.py."""
import base64
import json
import os
import subprocess

import pytest

import pp
import workerkit as wk
from servers import Lighttpd, behind_nginx, http, http_json

USER, PASSWORD = "ops", "correct horse battery staple"
TOKEN = "dashboard-token-0123456789abcdef"
REDIS_DB = 7


def basic(user=USER, password=PASSWORD):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def crypt_hash(password):
    """A yescrypt hash as mkpasswd or /etc/shadow has them (openssl -6 if
    mkpasswd is missing: sha512crypt)."""
    try:
        out = subprocess.run(["mkpasswd", "-m", "yescrypt", "--stdin"], input=password, text=True,
                             capture_output=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, text=True,
                             capture_output=True, timeout=30, check=True).stdout.strip()
    assert out.startswith("$"), out
    return out


@pytest.fixture
def redis_url(services):
    with wk.scratch_db(services, REDIS_DB) as url:
        yield url


def stack(tmp, services, redis_url, **settings):
    env = {"REDIS_URL": redis_url}
    env.update({k: str(v) for k, v in settings.items()})
    return behind_nginx(tmp, services, env=env)


def dead_entry(r, queue, task="test.echo", args=None, error="boom"):
    """A dead job as the worker writes one (queue_lua_finish's fields)."""
    env = wk.envelope(task, args or {}, queue, attempt=4)
    entry = r.xadd("pp:dead:" + queue, {"id": env["id"], "task": task, "queue": queue, "error": error,
                                        "job": json.dumps(env)})
    return env["id"], entry


def state(web, auth=None, after="", path="/dashboard"):
    headers = {"Authorization": auth or basic()}
    return http_json(f"{web.url}{path}/api/state?after={after}", headers=headers)


def post(web, what, body, csrf, auth=None, extra=None, path="/dashboard"):
    headers = {"Authorization": auth or basic(), "X-CSRF-Token": csrf}
    headers.update(extra or {})
    return http_json(f"{web.url}{path}/api/dead/{what}", method="POST", body=body, headers=headers)


def test_off_without_credentials_settings(tmpdir_world, services, redis_url):
    app, web = stack(tmpdir_world, services, redis_url)
    with app, web:
        for path in ("/dashboard", "/dashboard/", "/dashboard/api/state", "/dashboard/static/dashboard.js"):
            status, _, body = http_json(web.url + path, headers={"Authorization": basic()})
            assert status == 404 and body == {"detail": "Not Found"}, (path, status, body)
        status, _, _ = http_json(web.url + "/dashboard/api/dead/purge", method="POST", body={},
                                 headers={"Authorization": basic()})
        assert status == 404


def test_credentials_are_required_and_checked(tmpdir_world, services, redis_url):
    hashed_user, hashed_password = "hashed", "s3cret-with:colon"
    users = f"{USER}:{PASSWORD},{hashed_user}:{crypt_hash(hashed_password)}"
    app, web = stack(tmpdir_world, services, redis_url, DASHBOARD_USERS=users, DASHBOARD_TOKEN=TOKEN)
    with app, web:
        for path in ("/dashboard/", "/dashboard/api/state", "/dashboard/static/dashboard.css"):
            # No credentials, wrong ones, an unknown user, a wrong token.
            for auth in (None, basic(password="wrong"), basic(user="nobody"), "Bearer wrong-token-0123456789",
                         basic(hashed_user, "wrong"), "Digest x"):
                status, headers, body = http_json(web.url + path,
                                                  headers={"Authorization": auth} if auth else {})
                assert status == 401, (path, auth, status, body)
                assert headers["www-authenticate"].startswith('Basic realm="Podcast Pro dashboard"')
                assert "Bearer" in headers["www-authenticate"]
                assert body["detail"] in ("Not authenticated", "Invalid credentials")
            # Right ones: plain, hashed (twice: the second from the cache), token.
            for auth in (basic(), basic(hashed_user, hashed_password), basic(hashed_user, hashed_password),
                         "Bearer " + TOKEN):
                status, headers, _ = http(web.url + path, headers={"Authorization": auth})
                assert status == 200, (path, auth, status)
                assert headers["cache-control"] == "no-store"
                assert "frame-ancestors 'none'" in headers["content-security-policy"]
        # The page's type, and its script and style as the page links them.
        status, headers, page = http(web.url + "/dashboard/", headers={"Authorization": basic()})
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert b'src="static/dashboard.js"' in page and b'href="static/dashboard.css"' in page
        _, headers, js = http(web.url + "/dashboard/static/dashboard.js", headers={"Authorization": basic()})
        with open(os.path.join(pp.ROOT, "fcgi", "dashboard", "dashboard.js"), "rb") as f:
            assert js == f.read()
        assert headers["content-type"] == "text/javascript; charset=utf-8"
        status, _, _ = http(web.url + "/dashboard/static/nothing.js", headers={"Authorization": basic()})
        assert status == 404
        # Without the slash: to the page's directory, so its links resolve.
        status, headers, _ = http(web.url + "/dashboard?x=1", headers={"Authorization": basic()})
        assert status == 308 and headers["location"] == "/dashboard/?x=1"
        # A refused password is logged without the password.
        log = app.log_text()
        assert "dashboard: credentials refused" in log and "wrong" not in log


def test_state_shows_workers_queues_dead_and_the_ctl_event_stream(tmpdir_world, services, redis_url):
    r = wk.client(redis_url)
    app, web = stack(tmpdir_world, services, redis_url, DASHBOARD_USERS=f"{USER}:{PASSWORD}")
    worker = None
    try:
        name = wk.unique("dash")
        wenv = wk.env_for(services, redis_url=redis_url, RETRY_MAX="0", RETRY_BACKOFF="0")
        worker = wk.Worker(tmpdir_world, wenv, ["default"], name, concurrency=2)
        wk.wait_state(r, name)
        start = wk.last_event_id(r)
        ids = wk.enqueue_many(r, [wk.envelope("test.echo", {"n": 1}, "default"),
                                  wk.envelope("test.fail", {"error": "dashboard boom"}, "default"),
                                  wk.envelope("test.sleep", {"seconds": 30}, "default")])
        wk.wait_event(r, start, ids[1], "dead")
        wk.wait_event(r, start, ids[2], "started")
        wk.wait_event(r, start, ids[0], "succeeded")

        # The worker publishes its state every second.
        def settled():
            status, headers, s = state(web)
            assert status == 200, s
            assert headers["cache-control"] == "no-store"
            busy = [c for w in s["workers"] for c in w["children"] if c["busy"]]
            return s if len(s["running"]) == 1 and len(busy) == 1 else None
        s = pp.wait_for(settled, 10, 0.1, "the worker's state to show the running job")
        # Workers as they publish themselves, with their children.
        (w,) = [w for w in s["workers"] if w["name"] == name]
        assert len(w["children"]) == 2 and sum(c["busy"] for c in w["children"]) == 1
        # The running job, with the worker that runs it.
        (job,) = s["running"]
        assert job["id"] == ids[2] and job["task"] == "test.sleep" and job["worker"] == name
        assert job["pid"] in [c["pid"] for c in w["children"]]
        # Queue depths as podcastpro-ctl queues prints them.
        ctl = wk.ctl(wenv, "queues", "--json").stdout.splitlines()
        assert {q["queue"]: q for q in map(json.loads, ctl)} == {q["queue"]: q for q in s["queues"]}
        default = [q for q in s["queues"] if q["queue"] == "default"][0]
        assert default["running"] == 1 and default["dead"] == 1
        # The dead job as podcastpro-ctl dead list --json prints it.
        (dead,) = s["dead"]
        assert dead["id"] == ids[1] and "dashboard boom" in dead["error"]
        assert [json.loads(x) for x in wk.ctl(wenv, "dead", "list", "--json").stdout.splitlines()] == [dead]
        # The events: podcastpro-ctl events' stream, field for field.
        n = len(s["events"])
        assert n >= 8
        lines = wk.ctl(wenv, "events", "--json", "-n", str(n), "--count", str(n)).stdout.splitlines()
        assert [json.loads(x) for x in lines] == s["events"]
        assert s["cursor"] == wk.last_event_id(r)
        # After the cursor: only what came since, then nothing.
        status, _, later = state(web, after=s["cursor"])
        assert status == 200 and later["events"] == [] and later["cursor"] == s["cursor"]
        more = wk.enqueue_many(r, [wk.envelope("test.echo", {"n": 2}, "default")])
        wk.wait_event(r, s["cursor"], more[0], "succeeded")
        _, _, later = state(web, after=s["cursor"])
        assert [e["event"] for e in later["events"]] == ["received", "started", "succeeded"]
        assert all(e["id"] == more[0] for e in later["events"])
        assert later["cursor"] == wk.last_event_id(r)
        status, _, body = state(web, after="not-an-id")
        assert status == 422, body
    finally:
        if worker is not None:
            worker.stop()
        app.stop()
        web.stop()
        r.close()


def test_retry_and_purge_are_ctls_and_refuse_csrf(tmpdir_world, services, redis_url):
    r = wk.client(redis_url)
    app, web = stack(tmpdir_world, services, redis_url, DASHBOARD_USERS=f"{USER}:{PASSWORD}",
                     RATE_LIMIT_ENABLED="true", RATE_LIMITS="dashboard_action=12/minute")
    with app, web:
        job, entry = dead_entry(r, "default")
        other, _ = dead_entry(r, "podcasts", task="test.fail")
        _, _, s = state(web)
        csrf = s["csrf"]
        assert len(csrf) == 64
        # CSRF: no token, a wrong one, another user's credentials' token,
        # another origin (even with the right token) are refused.
        for token, extra in ((None, {}), ("0" * 64, {}), (csrf, {"Origin": "http://evil.example"}),
                             (csrf, {"Sec-Fetch-Site": "cross-site"})):
            headers = {"Authorization": basic()}
            if token:
                headers["X-CSRF-Token"] = token
            headers.update(extra)
            status, _, body = http_json(f"{web.url}/dashboard/api/dead/retry", method="POST",
                                        body={"id": job}, headers=headers)
            assert status == 403, (token, extra, status, body)
        assert r.xlen("pp:dead:default") == 1 and r.xlen("pp:q:default") == 0
        # The state itself is refused to another origin's page.
        status, _, _ = http_json(f"{web.url}/dashboard/api/state",
                                 headers={"Authorization": basic(), "Origin": "http://evil.example"})
        assert status == 403

        # Retry by the dead entry's id: a fresh start on its queue (attempt
        # 1, same id and args), and the dead entry gone, as ctl does it.
        status, _, body = post(web, "retry", {"id": entry, "queue": "default"}, csrf,
                               extra={"Origin": web.url})
        assert status == 200, body
        assert body == {"matched": 1, "retried": [{"entry": entry, "id": job}], "failed": []}
        assert r.xlen("pp:dead:default") == 0
        ((_, fields),) = r.xrange("pp:q:default")
        env = json.loads(fields["job"])
        assert env["id"] == job and env["attempt"] == 1 and env["task"] == "test.echo"
        # (Entry ids are per stream: the page always names the queue.)
        status, _, body = post(web, "retry", {"id": entry, "queue": "default"}, csrf)
        assert status == 404, body
        status, _, body = post(web, "retry", {}, csrf)
        assert status == 422, body

        # A malformed envelope is reported, and stays for purge.
        bad = r.xadd("pp:dead:default", {"id": "X", "task": "t", "queue": "default", "error": "e", "job": "{"})
        status, _, body = post(web, "retry", {"id": bad}, csrf)
        assert status == 409 and body["failed"][0]["entry"] == bad, body
        # Purge one queue, then all: counts as ctl's.
        status, _, body = post(web, "purge", {"queue": "default"}, csrf)
        assert status == 200 and body == {"purged": 1}
        assert r.xlen("pp:dead:podcasts") == 1
        status, _, body = post(web, "purge", {}, csrf)
        assert status == 200 and body == {"purged": 1}
        assert r.xlen("pp:dead:podcasts") == 0
        # The buttons' rate limit, by route name (12 a minute here, 10
        # used, refusals included): two more, then 429.
        statuses = [post(web, "purge", {}, csrf)[0] for _ in range(3)]
        assert statuses == [200, 200, 429], statuses
        assert "retried dead job" in app.log_text() and "purged 1 dead job(s)" in app.log_text()
    r.close()


def test_retry_and_purge_without_redis(tmpdir_world, services, redis_url):
    """Redis down: both buttons answer 503 (and log the cause); a retry
    without an id is still a 422, checked before Redis is asked."""
    users = f"{USER}:{PASSWORD}"
    first, second = tmpdir_world / "up", tmpdir_world / "down"
    first.mkdir()
    second.mkdir()
    app, web = stack(first, services, redis_url, DASHBOARD_USERS=users)
    with app, web:
        csrf = state(web)[2]["csrf"]
    # The CSRF key follows from the credentials: valid in the next stack.
    app, web = stack(second, services, f"redis://127.0.0.1:{pp.free_port()}/{REDIS_DB}",
                     DASHBOARD_USERS=users)
    with app, web:
        assert state(web)[0] == 503
        for what, body in (("retry", {"id": "all"}), ("purge", {}), ("purge", {"queue": "default"})):
            status, _, answer = post(web, what, body, csrf)
            assert status == 503 and answer == {"detail": "Redis unavailable"}, (what, status, answer)
        status, _, answer = post(web, "retry", {}, csrf)
        assert status == 422 and answer["detail"][0]["loc"] == ["body", "id"], answer
        assert "dashboard: redis:" in app.log_text()


def test_ctl_dead_retry_and_purge_unchanged(tmpdir_world, services, redis_url):
    """podcastpro-ctl's dead verbs, now on src/jobstate.c: same output."""
    r = wk.client(redis_url)
    env = wk.env_for(services, redis_url=redis_url)
    job, entry = dead_entry(r, "default")
    job2, entry2 = dead_entry(r, "default")
    res = wk.ctl(env, "dead", "retry", job)
    assert res.stdout.strip() == job
    res = wk.ctl(env, "dead", "retry", entry2)
    assert res.stdout.strip() == job2
    assert r.xlen("pp:dead:default") == 0 and r.xlen("pp:q:default") == 2
    res = wk.ctl(env, "dead", "retry", "nothing", check=False)
    assert res.returncode == 1 and "no dead job nothing" in res.stderr
    dead_entry(r, "default")
    dead_entry(r, "other")
    res = wk.ctl(env, "dead", "purge", "-Q", "other")
    assert res.stdout.strip() == "purged 1 dead job(s)"
    res = wk.ctl(env, "dead", "purge")
    assert res.stdout.strip() == "purged 1 dead job(s)"
    r.close()


def test_configured_path_and_lighttpd(tmpdir_world, services, redis_url):
    env = {"REDIS_URL": redis_url, "DASHBOARD_PATH": "/ops/jobs", "DASHBOARD_TOKEN": TOKEN,
           "DATABASE_URL": services["DATABASE_URL"], "SUPABASE_JWT_SECRET": "x" * 40,
           "RATE_LIMIT_ENABLED": "false"}
    with Lighttpd(tmpdir_world, bin_path=pp.binary("podcastpro-fcgi"), max_procs=1, bin_env=env) as web:
        auth = {"Authorization": "Bearer " + TOKEN}
        status, _, _ = http(web.url + "/dashboard/", headers=auth)
        assert status == 404
        status, headers, page = http(web.url + "/ops/jobs/", headers=auth)
        assert status == 200 and b"static/dashboard.js" in page, (status, page[:200])
        status, _, s = http_json(web.url + "/ops/jobs/api/state", headers=auth)
        assert status == 200 and s["user"] == "token", s
        status, headers, _ = http(web.url + "/ops/jobs/api/state")
        assert status == 401 and headers["www-authenticate"] == 'Bearer realm="Podcast Pro dashboard"'


@pytest.mark.parametrize("name,value,why", [
    ("DASHBOARD_PATH", "dashboard", "must be a path"),
    ("DASHBOARD_PATH", "/dashboard/", "must be a path"),
    ("DASHBOARD_PATH", "/", "must be a path"),
    ("DASHBOARD_PATH", "/a/../b", "must be a path"),
    ("DASHBOARD_USERS", "nopassword", "is not user:password"),
    ("DASHBOARD_TOKEN", "short", "at least 16"),
])
def test_bad_settings_stop_start_up(services, name, value, why):
    env = dict(os.environ, DATABASE_URL=services["DATABASE_URL"], SUPABASE_JWT_SECRET="x" * 40,
               **{name: value})
    res = subprocess.run([pp.binary("podcastpro-fcgi"), "--check-config"], env=env, capture_output=True,
                         text=True, timeout=30)
    out = res.stdout + res.stderr
    assert res.returncode == 78 and f"{name}: " in out and why in out, out
    if name != "DASHBOARD_PATH":
        assert value not in out
