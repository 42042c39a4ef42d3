"""What the public surface must not give away (issue 11, "Security"):
/health/ready without addresses, ports or driver messages and without a
Redis connection per call; REDIS_URL passwords in no log or error, a bad
REDIS_URL refused at start-up with 78; CORS_ORIGINS=["*"] never echoing an
origin with credentials."""
import os
import re
import signal
import subprocess
import time

import pytest

import pp
from servers import Nginx, Responder, http, http_json, stop_all

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

REDIS_PASSWORD = "redis-pw-Zq81xk"
DB_PASSWORD = "db-pw-Kp27mv"


class Redis:
    """A redis-server of our own (so a test can stop it), with a password."""

    def __init__(self, workdir, password=REDIS_PASSWORD):
        self.port = pp.free_port()
        self.password = password
        self.proc = pp.Proc(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(workdir),
                             "--requirepass", password],
                            log=os.path.join(str(workdir), "redis.log"))
        pp.wait_for(lambda: self.cli("PING") == "PONG", what="redis-server")

    @property
    def url(self):
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), "-a", self.password,
                              "--no-auth-warning", *args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def connections_received(self):
        info = self.cli("INFO", "stats")
        return int(re.search(r"total_connections_received:(\d+)", info).group(1))

    def stop(self):
        self.proc.signal(signal.SIGCONT)
        self.proc.stop()


def closed_port():
    return pp.free_port()


def assert_no_leak(text, *secrets):
    for s in secrets:
        assert s not in text, f"{s!r} leaked in: {text[-2000:]}"


# -- /health/ready -----------------------------------------------------------

def test_ready_says_down_without_addresses_and_logs_the_cause(tmpdir_world, services):
    db_port, redis_port = closed_port(), closed_port()
    env = {"DATABASE_URL": f"postgresql://pp:{DB_PASSWORD}@127.0.0.1:{db_port}/pp?connect_timeout=2",
           "REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{redis_port}/0",
           "HEALTH_READY_TIMEOUT_MS": "1500"}
    app = Responder.listen(tmpdir_world, services, processes=1, threads=2, env=env)
    web = Nginx(tmpdir_world, app.socket, keepalive=1)
    try:
        status, _, raw = http(web.url + "/health/ready")
        body = raw.decode()
        assert status == 503, body
        doc = http_json(web.url + "/health/ready")[2]
        # The shape is kept; each failed check just says "down".
        assert doc["status"] == "not_ready"
        for name in ("database", "redis"):
            check = doc["checks"][name]
            assert check["status"] == "down" and check["error"] == "down", doc
            assert set(check) == {"status", "latency_ms", "error"}, doc
        for leak in (str(db_port), str(redis_port), "127.0.0.1", "refused", "onnect", "server",
                     DB_PASSWORD, REDIS_PASSWORD):
            assert leak not in body, (leak, body)
        # The cause is in the server's log instead, with the detail.
        pp.wait_for(lambda: "not ready" in app.log_text(), 5, what="the not-ready log line")
        line = next(l for l in app.log_text().splitlines() if "not ready" in l)
        assert "database down (" in line and str(db_port) in line, line
        assert "redis down (" in line and "refused" in line.lower(), line
        assert_no_leak(app.log_text(), REDIS_PASSWORD, DB_PASSWORD)
    finally:
        stop_all(web, app)


def test_ready_reuses_its_redis_connection(tmpdir_world, services):
    redis = Redis(tmpdir_world)
    app = web = None
    try:
        app = Responder.listen(tmpdir_world, services, processes=1, threads=2,
                               env={"REDIS_URL": redis.url, "HEALTH_READY_TIMEOUT_MS": "2000"})
        web = Nginx(tmpdir_world, app.socket, keepalive=1)
        assert http_json(web.url + "/health/ready")[0] == 200
        before = redis.connections_received()
        for _ in range(50):
            status, _, doc = http_json(web.url + "/health/ready")
            assert status == 200 and doc["checks"]["redis"]["status"] == "up", doc
        grown = redis.connections_received() - before
        # At most one per acceptor thread (a thread's first call), never one per call.
        assert grown <= app.acceptors, f"{grown} new Redis connections for 50 calls"
        # A connection Redis dropped is replaced within the same call.
        redis.cli("CLIENT", "KILL", "TYPE", "normal")
        for _ in range(6):
            status, _, doc = http_json(web.url + "/health/ready")
            assert status == 200, doc
        assert_no_leak(app.log_text(), REDIS_PASSWORD)
    finally:
        stop_all(web, app, redis)


def test_ready_bounded_when_redis_is_stopped(tmpdir_world, services):
    redis = Redis(tmpdir_world)
    app = web = None
    try:
        app = Responder.listen(tmpdir_world, services, processes=1, threads=2,
                               env={"REDIS_URL": redis.url, "HEALTH_READY_TIMEOUT_MS": "1500",
                                    "REDIS_TIMEOUT_MS": "1000"})
        web = Nginx(tmpdir_world, app.socket, keepalive=1)
        for _ in range(4):   # each thread connected
            assert http_json(web.url + "/health/ready")[0] == 200
        redis.proc.signal(signal.SIGSTOP)
        # A held connection, then (once dropped) new ones, on either thread.
        for _ in range(4):
            t = time.monotonic()
            status, _, raw = http(web.url + "/health/ready", timeout=20)
            took = time.monotonic() - t
            assert status == 503, raw
            assert took < 1.5 + 1.0, f"/health/ready took {took:.1f} s"
            assert_no_leak(raw.decode(), str(redis.port), "127.0.0.1", REDIS_PASSWORD)
        redis.proc.signal(signal.SIGCONT)
        pp.wait_for(lambda: http_json(web.url + "/health/ready")[0] == 200, 10,
                    what="ready after Redis resumes")
        assert_no_leak(app.log_text(), REDIS_PASSWORD)
    finally:
        stop_all(web, app, redis)


# -- REDIS_URL ---------------------------------------------------------------

def program_env(services, **settings):
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS")}
    env.update({"DATABASE_URL": services["DATABASE_URL"],
                "SUPABASE_JWT_SECRET": "test-secret-for-the-security-tests-0123456789",
                "LOG_LEVEL": "debug"})
    env.update(settings)
    return env


def test_redis_password_in_no_log_or_error(tmpdir_world, services):
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{closed_port()}/0"
    # The responder: readiness and a rate-limited route both try Redis.
    app = Responder.listen(tmpdir_world, services, processes=1, threads=2,
                           env={"REDIS_URL": url, "RATE_LIMIT_ENABLED": "true", "LOG_LEVEL": "debug"})
    web = Nginx(tmpdir_world, app.socket)
    try:
        assert http(web.url + "/health/ready")[0] == 503
        http(web.url + "/health")
        http(web.url + "/podcasts/")
    finally:
        stop_all(web, app)
    assert "redis" in app.log_text().lower()
    assert_no_leak(app.log_text(), REDIS_PASSWORD)
    # The worker: its connections fail and are retried.
    log = os.path.join(str(tmpdir_world), "worker.log")
    worker = pp.Proc([pp.binary("podcastpro-worker"), "-c", "1"],
                     env=program_env(services, REDIS_URL=url), log=log)
    try:
        pp.wait_for(lambda: "cannot connect" in worker.log_text(), 15,
                    what="the worker's failed Redis connect")
    finally:
        worker.stop()
    assert_no_leak(worker.log_text(), REDIS_PASSWORD)
    # podcastpro-ctl: its error names the server, not the password.
    for args in (["queues"], ["dead", "list"], ["check-config"]):
        r = subprocess.run([pp.binary("podcastpro-ctl"), *args], env=program_env(services, REDIS_URL=url),
                           capture_output=True, text=True, timeout=30)
        assert_no_leak(r.stdout + r.stderr, REDIS_PASSWORD)
        if args != ["check-config"]:
            assert r.returncode == 1 and "refused" in r.stderr.lower(), r


BAD_REDIS_URLS = [
    f"http://:{REDIS_PASSWORD}@127.0.0.1:6379/0",
    f"rediss://:{REDIS_PASSWORD}@127.0.0.1:6379/0",
    f"redis://:{REDIS_PASSWORD}@127.0.0.1:99999/0",
    f"redis://:{REDIS_PASSWORD}@127.0.0.1:abc/0",
    f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/db1",
    f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/-1",
    f"redis://:{REDIS_PASSWORD}@bad host/0",
    "127.0.0.1:6379",
    "garbage",
]


@pytest.mark.parametrize("url", BAD_REDIS_URLS)
@pytest.mark.parametrize("program", ["podcastpro-fcgi", "podcastpro-worker", "podcastpro-ctl"])
def test_bad_redis_url_stops_start_up(services, program, url):
    argv = {"podcastpro-fcgi": [pp.binary(program), "--listen", "unix:/nonexistent/dir/x.sock"],
            "podcastpro-worker": [pp.binary(program), "-c", "1"],
            "podcastpro-ctl": [pp.binary(program), "queues"]}[program]
    # Its own process group: a worker that did start is stopped with its children.
    p = subprocess.Popen(argv, env=program_env(services, REDIS_URL=url), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        stdout, stderr = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        pytest.fail(f"{program} started with REDIS_URL={url}")
    out = stdout + stderr
    assert p.returncode == 78, (p.returncode, out)
    problems = [l for l in stderr.splitlines() if l.startswith("configuration: REDIS_URL: ")]
    assert len(problems) == 1, out
    assert "configuration: 1 problem; not starting" in stderr, out
    assert_no_leak(out, REDIS_PASSWORD)


# -- CORS_ORIGINS with "*" ---------------------------------------------------

def preflight(web, path, origin, method="DELETE", headers="authorization, content-type"):
    return http(web.url + path, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers})


@pytest.mark.parametrize("origins", ['["*"]', '[" * "]', '["https://app.example", "*"]'])
def test_cors_wildcard_never_with_credentials(tmpdir_world, services, origins):
    app = Responder.listen(tmpdir_world, services, processes=1, threads=2,
                           env={"CORS_ORIGINS": origins})
    web = Nginx(tmpdir_world, app.socket)
    try:
        for origin in ("https://evil.example", "null", "http://localhost:1234"):
            # Preflight: any origin, but "*" and no credentials.
            status, h, _ = preflight(web, "/_test/items/1", origin)
            assert status == 200, h
            assert h["access-control-allow-origin"] == "*", h
            assert "access-control-allow-credentials" not in h, h
            assert h["access-control-allow-methods"] == "GET, DELETE"
            assert h["access-control-allow-headers"] == "authorization, content-type"
            # Simple requests, with or without a cookie: the same.
            for extra in ({}, {"Cookie": "session=1"}):
                status, h, _ = http(web.url + "/health", headers=dict(extra, Origin=origin))
                assert status == 200
                assert h["access-control-allow-origin"] == "*", h
                assert "access-control-allow-credentials" not in h, h
                assert "x-request-id" in h["access-control-expose-headers"].lower()
        if "app.example" in origins:
            # A listed origin keeps its credentials next to "*".
            status, h, _ = preflight(web, "/_test/items/1", "https://app.example")
            assert status == 200
            assert h["access-control-allow-origin"] == "https://app.example"
            assert h["access-control-allow-credentials"] == "true"
            status, h, _ = http(web.url + "/health", headers={"Origin": "https://app.example"})
            assert h["access-control-allow-origin"] == "https://app.example"
            assert h["access-control-allow-credentials"] == "true"
            assert "origin" in h["vary"].lower()
    finally:
        stop_all(web, app)
