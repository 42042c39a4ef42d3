"""Rate limits through nginx and several responder processes (issue 5).

Each test runs its own redis-server (a private one, so that counts from
other tests never leak in, and so that one test can stop and restart it),
one or two podcastpro-fcgi instances with several processes each, and an
nginx that spreads requests over them. /health carries the "health" limit;
RATE_LIMITS shrinks it so that the tests stay short.
"""
import concurrent.futures
import json
import os
import random
import re
import signal
import shutil
import subprocess
import time

import pytest

import pp
import servers

DETAIL = "Rate limit exceeded. Please try again later."
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")


class Redis:
    """A private redis-server on a free port; restartable on the same port."""

    def __init__(self, workdir):
        self.dir = workdir
        self.port = pp.free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = pp.Proc([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                            log=os.path.join(self.dir, "redis.log"))
        pp.wait_for(lambda: self.cli("PING") == "PONG", what="redis-server")

    def stop(self):
        if self.proc is not None:
            self.proc.stop()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip()


class Stack:
    """INSTANCES responders (PROCESSES each, servers.Responder) behind one
    nginx: the shipped configuration (servers.Nginx) for one instance, else
    a small one of ours with an upstream per instance, optionally appending
    to X-Forwarded-For as a load balancer does (XFF) or with nginx's real_ip
    module (REALIP, set-up A of etc/nginx/real-ip.conf.example)."""

    def __init__(self, workdir, services, redis, env=None, instances=1, processes=3, xff=False,
                 realip=False):
        self.dir = workdir
        self.responders = []
        self.nginx = None
        extra = {"REDIS_URL": redis.url, "RATE_LIMIT_ENABLED": "true", "RATE_LIMITS": "",
                 "TRUSTED_PROXIES": "", "REDIS_TIMEOUT_MS": "500"}
        extra.update(env or {})
        try:
            for i in range(instances):
                sub = os.path.join(workdir, f"instance{i}")
                os.makedirs(sub)
                os.chmod(sub, 0o755)
                self.responders.append(servers.Responder.listen(sub, services, processes=processes,
                                                                threads=2, env=extra))
            if instances == 1 and not xff and not realip:
                self.nginx = servers.Nginx(workdir, self.responders[0].socket)
                self.port = self.nginx.port
            else:
                self._own_nginx(xff, realip)
        except BaseException:
            self.stop()
            raise

    def _own_nginx(self, xff, realip):
        d = self.dir
        self.port = pp.free_port()
        upstream = "\n".join(f"server unix:{r.socket};" for r in self.responders)
        extra = ""
        if xff:
            extra += "fastcgi_param HTTP_X_FORWARDED_FOR $proxy_add_x_forwarded_for;"
        if realip:
            extra += "set_real_ip_from 127.0.0.1/32; real_ip_header X-Forwarded-For; real_ip_recursive on;"
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/nginx-body;
    fastcgi_temp_path {d}/nginx-fastcgi;
    proxy_temp_path {d}/nginx-proxy;
    uwsgi_temp_path {d}/nginx-uwsgi;
    scgi_temp_path {d}/nginx-scgi;
    upstream api {{
        {upstream}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            include /etc/nginx/fastcgi_params;
            {extra}
            fastcgi_pass api;
        }}
    }}
}}
""")
        self.own_nginx = pp.Proc([NGINX, "-p", d, "-c", conf, "-e", os.path.join(d, "nginx-error.log")],
                                 log=os.path.join(d, "nginx.out"))
        pp.wait_port(self.port)

    def get(self, path="/health", headers=None):
        return servers.http(f"http://127.0.0.1:{self.port}{path}", headers=headers, timeout=30)

    def pids_served(self, path="/health"):
        """Responder pids that logged a request line for PATH, per instance."""
        pat = re.compile(r"\[(\d+)\] info: \S+ GET " + re.escape(path) + r" \d{3} ")
        return [{m.group(1) for m in pat.finditer(r.log_text())} for r in self.responders]

    def log_text(self):
        return "".join(r.log_text() for r in self.responders)

    def stop(self):
        if self.nginx is not None:
            self.nginx.stop()
            self.nginx = None
        if getattr(self, "own_nginx", None) is not None:
            self.own_nginx.stop()
            self.own_nginx = None
        for r in self.responders:
            r.stop()
        self.responders = []


@pytest.fixture
def redis(tmpdir_world):
    r = Redis(tmpdir_world)
    yield r
    r.stop()


@pytest.fixture
def stack(tmpdir_world, services, redis):
    started = []

    def start(**kw):
        sub = tmpdir_world / f"stack{len(started)}"
        sub.mkdir()
        os.chmod(sub, 0o755)
        s = Stack(str(sub), services, redis, **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def check_limited_headers(headers, limit, window):
    assert headers["x-ratelimit-limit"] == str(limit)
    assert headers["ratelimit-policy"] == f"{limit};w={window}"
    remaining = int(headers["x-ratelimit-remaining"])
    reset = int(headers["x-ratelimit-reset"])
    assert 0 <= remaining < limit
    assert 0 < reset <= window
    assert headers["ratelimit"] == f"limit={limit}, remaining={remaining}, reset={reset}"
    return remaining


def check_429(status, headers, body, limit, window):
    assert status == 429
    doc = json.loads(body)
    assert doc["detail"] == DETAIL
    assert doc["retry_after"] == headers["retry-after"]
    retry = int(headers["retry-after"])
    assert 1 <= retry <= window
    assert check_limited_headers(headers, limit, window) == 0
    return retry


def test_exactly_n_across_processes_and_instances(stack, redis):
    """Two responder instances x three processes on one Redis: of many
    concurrent requests exactly N pass, each sees its own remaining count,
    and the rest get the deployment guide's 429."""
    limit = 12
    s = stack(env={"RATE_LIMITS": f"health={limit}/hour"}, instances=2, processes=3)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: s.get(), range(40)))
    passed = [h for st, h, _ in results if st == 200]
    refused = [(st, h, b) for st, h, b in results if st != 200]
    assert len(passed) == limit
    assert len(refused) == 40 - limit
    remaining = sorted(check_limited_headers(h, limit, 3600) for h in passed)
    assert remaining == list(range(limit))
    for st, h, b in refused:
        retry = check_429(st, h, b, limit, 3600)
        assert retry > 3500
    # Both instances and more than one process answered.
    served = s.pids_served()
    assert all(served), f"an instance served nothing: {served}"
    assert len(set().union(*served)) >= 2
    # The count lives in Redis: one list per route and client.
    assert redis.cli("LLEN", "pp:rl:health:127.0.0.1") == str(limit)
    # Routes without a limit name carry no limit headers.
    st, h, _ = s.get("/health/ready")
    assert st in (200, 503)
    assert "x-ratelimit-limit" not in h and "ratelimit" not in h


def test_window_slides(stack):
    """3 per 4 s: a refused client passes again exactly when its oldest
    request leaves the window, not at a fixed boundary, and only as many as
    have left."""
    window = 4
    s = stack(env={"RATE_LIMITS": f"health=3/{window}second"}, processes=2)
    t_a = time.monotonic()
    assert s.get()[0] == 200                      # A
    assert s.get()[0] == 200                      # A'
    t_a2 = time.monotonic()                       # A' is in Redis by now
    time.sleep(1.0)
    t_b = time.monotonic()
    st, h, _ = s.get()                            # B, a second later
    assert st == 200 and h["x-ratelimit-remaining"] == "0"
    assert 2 <= int(h["x-ratelimit-reset"]) <= window   # when A leaves
    st, h, b = s.get()
    assert check_429(st, h, b, 3, window) <= window
    # Poll until one passes: never before A is a whole window old.
    deadline = time.monotonic() + 3 * window
    while True:
        st, h, b = s.get()
        if st == 200:
            t_pass = time.monotonic()
            break
        check_429(st, h, b, 3, window)
        assert time.monotonic() < deadline, "never passed again"
        time.sleep(0.05)
    assert t_pass - t_a >= window
    # A' leaves right after A, so one more passes while B is still in the
    # window; until A' has left, refusals are right. Checked only while B is
    # certainly in the window (a slow machine may not get there in time).
    while True:
        sent = time.monotonic()
        st, h, b = s.get()
        if time.monotonic() >= t_b + window:
            break
        if st == 200:
            assert h["x-ratelimit-remaining"] == "0"
            st, h, b = s.get()
            if time.monotonic() < t_b + window:
                check_429(st, h, b, 3, window)
            break
        check_429(st, h, b, 3, window)
        assert sent < t_a2 + window + 0.2, "A' left the window but the request was refused"
        time.sleep(0.02)


def test_forged_left_most_xff_does_not_change_bucket(stack):
    """TRUSTED_PROXIES=127.0.0.1/32 with nginx appending to X-Forwarded-For:
    the client is the right-most untrusted hop; whatever it writes to the
    left is ignored. IPv6 clients are counted by their /64."""
    s = stack(env={"RATE_LIMITS": "health=3/hour", "TRUSTED_PROXIES": "127.0.0.1/32"}, xff=True)
    real = f"198.51.100.{random.randint(1, 254)}"
    forged = ["6.6.6.6", "10.0.0.1", "garbage", "127.0.0.1", "2001:db8::66"]
    for i in range(3):
        st, h, _ = s.get(headers={"X-Forwarded-For": f"{forged[i]}, {real}"})
        assert st == 200, h
        assert h["x-ratelimit-remaining"] == str(2 - i)
    for f in forged[3:]:
        st, h, b = s.get(headers={"X-Forwarded-For": f"{f}, {real}"})
        check_429(st, h, b, 3, 3600)
    st, h, b = s.get(headers={"X-Forwarded-For": f"1.2.3.4, 5.6.7.8, {real}"})
    check_429(st, h, b, 3, 3600)
    # Another client behind the same proxy has its own bucket.
    st, h, _ = s.get(headers={"X-Forwarded-For": "198.51.100.255"})
    assert st == 200 and h["x-ratelimit-remaining"] == "2"
    # No header at all: nginx's own peer (127.0.0.1) is the client.
    st, h, _ = s.get()
    assert st == 200 and h["x-ratelimit-remaining"] == "2"
    # IPv6: one /64 is one client, whatever its interface identifier.
    for addr in ("2001:db8:7:8::1", "2001:DB8:7:8::2", "2001:db8:7:8:abcd:ef01:2345:6789"):
        st, h, _ = s.get(headers={"X-Forwarded-For": addr})
        assert st == 200
    st, h, b = s.get(headers={"X-Forwarded-For": "[2001:db8:7:8::99]:443"})
    check_429(st, h, b, 3, 3600)
    st, h, _ = s.get(headers={"X-Forwarded-For": "2001:db8:7:9::1"})
    assert st == 200


def test_nginx_real_ip(stack):
    """Set-up A of etc/nginx/real-ip.conf.example: nginx's real_ip module
    resolves the client (REMOTE_ADDR), TRUSTED_PROXIES stays empty, and a
    forged left-most X-Forwarded-For still changes nothing."""
    s = stack(env={"RATE_LIMITS": "health=2/hour"}, realip=True)
    real = f"192.0.2.{random.randint(1, 254)}"
    for forged in ("6.6.6.6", "7.7.7.7"):
        st, h, _ = s.get(headers={"X-Forwarded-For": f"{forged}, {real}"})
        assert st == 200
    st, h, b = s.get(headers={"X-Forwarded-For": f"8.8.8.8, {real}"})
    check_429(st, h, b, 2, 3600)
    st, h, _ = s.get(headers={"X-Forwarded-For": "192.0.2.255"})
    assert st == 200 and h["x-ratelimit-remaining"] == "1"


def test_xff_ignored_without_trusted_proxies(stack):
    """No TRUSTED_PROXIES: X-Forwarded-For is the client's own claim and is
    never believed, so rotating it does not buy more requests."""
    s = stack(env={"RATE_LIMITS": "health=3/hour"}, xff=True)
    for i in range(3):
        st, _, _ = s.get(headers={"X-Forwarded-For": f"203.0.113.{i + 1}"})
        assert st == 200
    st, h, b = s.get(headers={"X-Forwarded-For": "203.0.113.99"})
    check_429(st, h, b, 3, 3600)


def test_overrides_and_disabled(stack):
    """Per-route overrides, health=off, and RATE_LIMIT_ENABLED=false."""
    s = stack(env={"RATE_LIMITS": "health=2/minute"}, processes=2)
    assert s.get()[0] == 200
    st, h, _ = s.get()
    assert st == 200 and h["ratelimit-policy"] == "2;w=60"
    st, h, b = s.get()
    assert check_429(st, h, b, 2, 60) <= 60
    s.stop()

    off = stack(env={"RATE_LIMITS": "health=off,create_podcast=1/hour"}, processes=2)
    for _ in range(15):
        st, h, _ = off.get()
        assert st == 200
        assert "x-ratelimit-limit" not in h and "ratelimit-policy" not in h
    off.stop()

    disabled = stack(env={"RATE_LIMIT_ENABLED": "false", "RATE_LIMITS": "health=1/hour"}, processes=2)
    for _ in range(15):
        st, h, _ = disabled.get()
        assert st == 200
        assert "x-ratelimit-limit" not in h and "retry-after" not in h


def test_refused_by_auth_still_counts(stack):
    """The gate runs before authentication: requests that end in 401 carry
    the limit headers and use up the quota, so tokens cannot be guessed
    without limit."""
    s = stack(env={"RATE_LIMITS": "list_podcasts=2/hour,get_podcast=off"}, processes=2)
    for i in range(2):
        st, h, b = s.get("/podcasts/")
        assert st == 401, (st, b)
        assert h["x-ratelimit-remaining"] == str(1 - i)
        assert h["ratelimit-policy"] == "2;w=3600"
    st, h, b = s.get("/podcasts/", headers={"Authorization": "Bearer not-a-token"})
    check_429(st, h, b, 2, 3600)
    # A route whose limit is off is not counted at all.
    st, h, _ = s.get("/podcasts/01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert st == 401 and "x-ratelimit-limit" not in h


def test_delete_podcast_has_its_own_limit(stack, redis):
    """DELETE /podcasts/{id} is counted as delete_podcast, in its own bucket:
    an override of that name limits it, GET on the same path (get_podcast)
    is neither counted in it nor refused by it, and without an override the
    default is 100/hour."""
    pid = "01HZZZZZZZZZZZZZZZZZZZZZZZ"
    s = stack(env={"RATE_LIMITS": "delete_podcast=2/hour"}, processes=2)

    def delete(headers=None):
        return servers.http(f"http://127.0.0.1:{s.port}/podcasts/{pid}", method="DELETE",
                            headers=headers, timeout=30)

    for i in range(2):
        st, h, b = delete()
        assert st == 401, (st, b)
        assert h["ratelimit-policy"] == "2;w=3600"
        assert h["x-ratelimit-remaining"] == str(1 - i)
    st, h, b = delete(headers={"Authorization": "Bearer not-a-token"})
    check_429(st, h, b, 2, 3600)
    assert redis.cli("LLEN", "pp:rl:delete_podcast:127.0.0.1") == "2"
    # The same path with GET is get_podcast's, untouched by the deletes.
    st, h, _ = s.get(f"/podcasts/{pid}")
    assert st == 401
    assert h["ratelimit-policy"] == "100;w=3600" and h["x-ratelimit-remaining"] == "99"
    st, h, b = delete()
    assert st == 429
    s.stop()

    redis.cli("FLUSHALL")
    default = stack(env={"RATE_LIMITS": ""}, processes=1)
    st, h, _ = servers.http(f"http://127.0.0.1:{default.port}/podcasts/{pid}", method="DELETE",
                            timeout=30)
    assert st == 401
    assert h["ratelimit-policy"] == "100;w=3600" and h["x-ratelimit-remaining"] == "99"


def test_bad_rate_limits_refuse_to_start(tmpdir_world, services, redis):
    """A typo in RATE_LIMITS or TRUSTED_PROXIES stops start-up with a message
    naming the setting, before anything is served."""
    for name, value in (("RATE_LIMITS", "helth=10/hour"), ("RATE_LIMITS", "health=10/fortnight"),
                        ("TRUSTED_PROXIES", "10.0.0.0/33")):
        env = dict(os.environ, DATABASE_URL=services["DATABASE_URL"], REDIS_URL=redis.url,
                   SUPABASE_JWT_SECRET="x" * 32, **{name: value})
        r = subprocess.run([pp.binary("podcastpro-fcgi"), "--check-config"], env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert name in r.stdout + r.stderr


def test_redis_stopped_mid_test(stack, redis):
    """Redis stops: every request is still answered, limits still hold per
    process, one warning per process; Redis back: counting returns to it
    (with the script re-sent, the restarted Redis having forgotten it)."""
    limit, processes = 4, 2
    s = stack(env={"RATE_LIMITS": f"health={limit}/hour"}, processes=processes)
    # Stay under the limit: a process that saw a refusal keeps refusing
    # that client for the window's remainder without asking Redis.
    for i in range(limit - 1):
        st, h, _ = s.get()
        assert st == 200 and h["x-ratelimit-remaining"] == str(limit - 1 - i)

    redis.stop()
    statuses = [s.get() for _ in range(30)]
    codes = [st for st, _, _ in statuses]
    assert all(c in (200, 429) for c in codes), codes
    passed = codes.count(200)
    # Fresh per-process counters: at least one process's worth, at most all.
    assert limit <= passed <= limit * processes, codes
    for st, h, b in statuses:
        if st == 429:
            check_429(st, h, b, limit, 3600)
        else:
            check_limited_headers(h, limit, 3600)
    warnings = s.log_text().count("counting in this process only")
    assert 1 <= warnings <= processes

    redis.start()
    # Back on Redis (after the reconnect back-off): the key reappears.
    pp.wait_for(lambda: s.get()[0] in (200, 429) and
                redis.cli("EXISTS", "pp:rl:health:127.0.0.1") == "1",
                timeout=15, interval=0.2, what="counting in Redis again")
    assert int(redis.cli("LLEN", "pp:rl:health:127.0.0.1")) <= limit


def test_redis_hung(stack, redis):
    """A Redis that hangs (SIGSTOP) instead of refusing: requests are still
    answered, and only about one a second per process waits for
    REDIS_TIMEOUT_MS; the rest are counted in memory meanwhile."""
    s = stack(env={"RATE_LIMITS": "health=1000/hour", "REDIS_TIMEOUT_MS": "400"}, processes=2)
    assert s.get()[0] == 200
    redis.proc.signal(signal.SIGSTOP)
    try:
        slow = 0
        for _ in range(30):
            t = time.monotonic()
            st, h, _ = s.get()
            assert st == 200 and h["x-ratelimit-limit"] == "1000"
            slow += time.monotonic() - t >= 0.35
        # Without the pause every one of them would wait 400 ms.
        assert 1 <= slow <= 10, slow
    finally:
        redis.proc.signal(signal.SIGCONT)
