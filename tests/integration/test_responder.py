"""podcastpro-fcgi behind nginx and lighttpd, started each way it can be:
its own supervisor, spawn-fcgi, systemd socket activation, lighttpd's
bin-path. Errors are JSON; the route table answers 404/405; bodies are
bounded; the request id travels."""
import json
import os
import subprocess
import threading
import time

import pytest

import pp
from servers import Lighttpd, Nginx, Responder, http, http_json, stop_all


def start(combo, tmp, services):
    """(responder or None, web server) for a combination name."""
    if combo == "lighttpd+bin-path":
        web = Lighttpd(tmp, bin_path=pp.binary("podcastpro-fcgi"), max_procs=2,
                       bin_env={k: v for k, v in responder_env_small(services).items()})
        return None, web
    server, way = combo.split("+")
    if way == "listen":
        app = Responder.listen(tmp, services, processes=2, threads=2)
    elif way == "spawn-fcgi":
        app = Responder.spawn_fcgi(tmp, services, children=2, threads=2)
    else:
        app = Responder.systemd(tmp, services, processes=2, threads=2)
    try:
        if server == "nginx":
            web = Nginx(tmp, app.socket, storage_dir=app.storage_dir)   # as shipped
        else:
            web = Lighttpd(tmp, socket_path=app.socket, storage_dir=app.storage_dir)
    except Exception:
        app.stop()
        raise
    return app, web


def responder_env_small(services):
    return {
        "DATABASE_URL": services["DATABASE_URL"],
        "REDIS_URL": services["REDIS_URL"],
        "SUPABASE_JWT_SECRET": "test-secret-for-the-responder-tests-0123456789",
        "PP_TEST_ROUTES": "1",
        "RATE_LIMIT_ENABLED": "false",
    }


COMBOS = ["nginx+listen", "nginx+spawn-fcgi", "nginx+systemd",
          "lighttpd+listen", "lighttpd+spawn-fcgi", "lighttpd+bin-path"]


@pytest.mark.parametrize("combo", COMBOS)
def test_served_every_way(combo, tmpdir_world, services):
    app, web = start(combo, tmpdir_world, services)
    try:
        status, headers, doc = http_json(web.url + "/health")
        assert (status, doc) == (200, {"status": "healthy"})
        assert headers["content-type"] == "application/json"
        assert len(headers["x-request-id"]) == 26

        # Both spellings of a path, no redirect.
        assert http_json(web.url + "/health/")[::2] == (200, {"status": "healthy"})

        status, headers, doc = http_json(web.url + "/health", headers={"X-Request-ID": "abc-123.x_y"})
        assert headers["x-request-id"] == "abc-123.x_y"
        # An id that could forge log lines is replaced.
        status, headers, doc = http_json(web.url + "/health", headers={"X-Request-ID": "a b;c"})
        assert headers["x-request-id"] != "a b;c" and len(headers["x-request-id"]) == 26

        assert http_json(web.url + "/no/such/thing")[::2] == (404, {"detail": "Not Found"})
        status, headers, doc = http_json(web.url + "/health", method="DELETE")
        assert (status, doc) == (405, {"detail": "Method Not Allowed"})
        assert headers["allow"] == "GET"

        status, _, doc = http_json(web.url + "/_test/echo", method="POST", body={"a": [1, "é"]})
        assert (status, doc) == (200, {"a": [1, "é"]})
        status, _, doc = http_json(web.url + "/_test/echo", method="POST", body=b'{"a": ',
                                   headers={"Content-Type": "application/json"})
        assert status == 422
        assert doc["detail"][0]["type"] == "json_invalid"
        assert doc["detail"][0]["loc"][0] == "body"
        status, _, doc = http_json(web.url + "/_test/echo", method="POST", body=b"x" * (1024 * 1024 + 1))
        assert (status, doc) == (413, {"detail": "Request body too large"})

        # Concurrent slow requests spread over more than one process.
        pids = set()
        lock = threading.Lock()

        def slow():
            s, _, d = http_json(web.url + "/_test/sleep?ms=300")
            assert s == 200
            with lock:
                pids.add(d["pid"])
        threads = [threading.Thread(target=slow) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(pids) >= 2, f"all slow requests went to {pids}"
        served_by = set(app.pids()) if app is not None else set(web.pids())
        assert pids <= served_by
    finally:
        stop_all(web, app)


def test_keepalive_below_acceptors_does_not_stall(tmpdir_world, services):
    """nginx's upstream keepalive one below the acceptors: 16 clients get
    every answer quickly (a cache as large as the acceptors stalls them)."""
    app = Responder.listen(tmpdir_world, services, processes=2, threads=2)
    web = Nginx(tmpdir_world, app.socket, keepalive=app.acceptors - 1)
    try:
        worst = [0.0]
        errors = []
        deadline = time.monotonic() + 3

        def client():
            while time.monotonic() < deadline:
                t = time.monotonic()
                try:
                    s, _, _ = http(web.url + "/health", timeout=20)
                    if s != 200:
                        errors.append(s)
                except OSError as e:
                    errors.append(repr(e))
                worst[0] = max(worst[0], time.monotonic() - t)
        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert worst[0] < 5.0, f"a request took {worst[0]:.1f} s"
    finally:
        stop_all(web, app)


def test_error_shapes_and_oversized_requests(tmpdir_world, services):
    app = Responder.listen(tmpdir_world, services, processes=1, threads=2)
    web = Nginx(tmpdir_world, app.socket, keepalive=1)
    try:
        before = app.pids()
        # A body that is JSON but not an object.
        status, _, doc = http_json(web.url + "/_test/echo", method="POST", body=[1, 2])
        assert status == 422 and doc["detail"][0]["loc"] == ["body"]
        # An empty body where one is required.
        status, _, doc = http_json(web.url + "/_test/echo", method="POST", body=b"")
        assert status == 422 and doc["detail"][0]["type"] == "missing"
        # Over the limit by a lot, and a declared length over the limit.
        status, _, doc = http_json(web.url + "/_test/echo", method="POST", body=b"{" * (3 << 20))
        assert (status, doc) == (413, {"detail": "Request body too large"})
        # Bad method on a path with parameters: Allow lists each method once.
        status, headers, doc = http_json(web.url + "/_test/items/42", method="PUT")
        assert status == 405 and headers["allow"] == "GET, DELETE"
        # A path nginx passes on (long, but under its buffers): our 404.
        status, _, doc = http_json(web.url + "/" + "a" * 4000)
        assert (status, doc) == (404, {"detail": "Not Found"})
        # A request line longer than nginx's buffers: nginx refuses (414),
        # in JSON thanks to the shipped error_page.
        status, _, body = http(web.url + "/" + "a" * 20000)
        assert status == 414
        assert json.loads(body) == {"detail": "URI too long"}
        # A long header that reaches us, and one nginx refuses itself.
        status, _, doc = http_json(web.url + "/health", headers={"X-Long": "v" * 6000})
        assert status == 200
        status, _, _ = http(web.url + "/health", headers={"X-Long": "v" * 20000})
        assert status in (400, 431, 494)
        # Encoded NUL and other escapes in the path.
        # (nginx refuses an encoded NUL itself with 400; we would too.)
        status, _, doc = http_json(web.url + "/health%00")
        assert status == 400
        status, _, doc = http_json(web.url + "/caf%C3%A9/%41")
        assert (status, doc) == (404, {"detail": "Not Found"})
        # Escapes are decoded before matching.
        assert http_json(web.url + "/%68ealth")[0] == 200
        # The responder survived all of it, without a restart.
        assert http_json(web.url + "/health")[0] == 200
        assert app.pids() == before
    finally:
        stop_all(web, app)


def test_cors(tmpdir_world, services):
    app = Responder.listen(tmpdir_world, services, processes=1, threads=2,
                           env={"CORS_ORIGINS": '["https://app.example"]'})
    web = Nginx(tmpdir_world, app.socket, keepalive=1)
    try:
        status, h, _ = http(web.url + "/_test/items/1", method="OPTIONS", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert status == 200
        assert h["access-control-allow-origin"] == "https://app.example"
        assert h["access-control-allow-credentials"] == "true"
        assert h["access-control-allow-methods"] == "GET, DELETE"
        assert h["access-control-allow-headers"] == "authorization, content-type"
        assert "origin" in h["vary"].lower()
        status, h, _ = http(web.url + "/health", headers={"Origin": "https://app.example"})
        assert status == 200 and h["access-control-allow-origin"] == "https://app.example"
        # An unknown origin gets no CORS headers, and its preflight fails.
        status, h, _ = http(web.url + "/health", headers={"Origin": "https://evil.example"})
        assert status == 200 and "access-control-allow-origin" not in h
        status, h, doc = http_json(web.url + "/health", method="OPTIONS", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        assert status == 400 and "access-control-allow-origin" not in h
        # OPTIONS on an unknown path is a 404.
        assert http(web.url + "/nope", method="OPTIONS", headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "GET"})[0] == 404
    finally:
        stop_all(web, app)


def test_check_config_and_bad_config(tmp_path, services):
    binary = pp.binary("podcastpro-fcgi")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "SUPABASE_"))}
    bad = dict(env, DB_POOL_SIZE="zero", CORS_ORIGINS="not json")
    r = subprocess.run([binary, "--check-config"], env=bad, capture_output=True, text=True)
    assert r.returncode == 78
    # One line per problem, all of them.
    for name in ("DATABASE_URL", "DB_POOL_SIZE", "CORS_ORIGINS", "SUPABASE_JWT_SECRET"):
        assert name in r.stdout, r.stdout
    envfile = tmp_path / "pp.env"
    envfile.write_text(f"DATABASE_URL={services['DATABASE_URL']}\nSUPABASE_JWT_SECRET=s3cret\n")
    r = subprocess.run([binary, "--check-config", "--env-file", str(envfile)], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # Starting with a bad configuration stops before serving, status 78.
    r = subprocess.run([binary, "--listen", f"unix:{tmp_path}/x.sock"], env=bad,
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 78 and "DB_POOL_SIZE" in r.stderr
    assert not os.path.exists(tmp_path / "x.sock")
    # No socket at all: a usage error, not a hang.
    r = subprocess.run([binary], env=dict(env, DATABASE_URL=services["DATABASE_URL"],
                       SUPABASE_JWT_SECRET="x"), capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 64 and "no socket" in r.stderr
