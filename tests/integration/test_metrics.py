"""/metrics (issue 14, doc/metrics.md): Prometheus' text format from the
responder behind nginx as shipped, on the shipped metrics listener.

What is checked: requests counted by route and status class (2xx, 404,
422, 429) with exact deltas, the latency histogram, rate-limit refusals by
rule; the sum over the supervisor's processes (requests both processes
served add up in any process's answer) and totals that do not go back
when a process is killed with -9; queue depths and the worker's
published numbers; refusals (metrics off, the public listener, a missing
token); and the whole answer through `promtool check metrics`."""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

import pp
import workerkit as wk
from servers import Nginx, Responder, http

TOKEN = "metrics-token-0123456789abcdef"
REDIS_DB = 9
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset of (label, value)): value} of every sample."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in out, f"sample twice: {line!r}"
        out[key] = float(m.group(3))
    return out


def val(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(web, token=TOKEN):
    status, headers, body = http(web.metrics_url + "/metrics",
                                 headers={"Authorization": "Bearer " + token} if token else {})
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    return body.decode()


@pytest.fixture
def redis_url(services):
    url = services["REDIS_URL"].rsplit("/", 1)[0] + f"/{REDIS_DB}"
    r = wk.client(url)
    r.flushdb()
    yield url
    r.flushdb()
    r.close()


@pytest.fixture
def stack(tmpdir_world, services, redis_url):
    """Two processes of one thread each (so that requests spread over
    both), rate limits on with health at 3 a minute, metrics on the
    shipped listener and behind a token."""
    tmp = tmpdir_world
    web = Nginx(tmp, os.path.join(str(tmp), "responder.sock"))
    try:
        app = Responder.listen(tmp, services, processes=2, threads=1, env={
            "REDIS_URL": redis_url, "RATE_LIMIT_ENABLED": "true", "RATE_LIMITS": "health=3/minute",
            "METRICS_LISTEN": f"127.0.0.1:{web.metrics_port}", "METRICS_TOKEN": TOKEN,
            "WORKER_QUEUES": "mq"})
    except Exception:
        web.stop()
        raise
    yield app, web
    try:
        # A clean stop: no sanitizer report, no process left behind.
        assert app.stop() == 0, app.log_text()[-3000:]
    finally:
        web.stop()


def test_requests_by_route_and_class(stack):
    app, web = stack
    before = parse(scrape(web))
    codes = [http(web.url + "/health")[0] for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert http(web.url + "/no/such/thing")[0] == 404
    assert http(web.url + "/neither")[0] == 404
    assert http(web.url + "/_test/echo", method="POST", body=b"{not json",
                headers={"Content-Type": "application/json"})[0] == 422
    after = parse(scrape(web))

    def delta(name, **labels):
        return val(after, name, **labels) - val(before, name, **labels)

    req = "podcastpro_http_requests_total"
    assert delta(req, route="/health", method="GET", code="2xx") == 3
    assert delta(req, route="/health", method="GET", code="4xx") == 1
    assert delta(req, route="/health", method="GET", code="5xx") == 0
    assert delta(req, route="(unmatched)", method="-", code="4xx") == 2
    assert delta(req, route="/_test/echo", method="POST", code="4xx") == 1
    assert delta("podcastpro_ratelimit_refused_total", rule="health") == 1
    # Only the health rule refused anything.
    assert sum(v for (n, _), v in after.items() if n == "podcastpro_ratelimit_refused_total") == 1

    hist = "podcastpro_http_request_duration_seconds"
    assert delta(hist + "_count", route="/health", method="GET") == 4
    assert val(after, hist + "_sum", route="/health", method="GET") > 0
    buckets = sorted(((float(dict(lab)["le"]), v) for (n, lab), v in after.items()
                      if n == hist + "_bucket" and dict(lab)["route"] == "/health"))
    assert buckets[-1][0] == float("inf")
    assert buckets[-1][1] == val(after, hist + "_count", route="/health", method="GET")
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
    # Both processes' pools are reported (published once a second).
    assert val(after, "podcastpro_db_pool_size") >= 0
    assert ("podcastpro_db_pool_connections", frozenset({("state", "idle")})) in after
    assert ("podcastpro_redis_errors_total", frozenset()) in after
    assert val(after, "podcastpro_jobs_scrape_ok") == 1


def sleep_pair(web, ms=150):
    """Two requests at once: with one acceptor thread per process, the
    second goes to the process the first does not hold. Their pids."""
    out = []

    def one():
        status, _, body = http(f"{web.url}/_test/sleep?ms={ms}")
        assert status == 200
        out.append(json.loads(body)["pid"])
    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(out) == 2
    return out


def test_sum_over_processes_and_kill(stack):
    app, web = stack
    before = parse(scrape(web))
    seen, n = {}, 0
    for _ in range(5):
        for pid in sleep_pair(web):
            seen[pid] = seen.get(pid, 0) + 1
            n += 1
    assert len(seen) == 2, f"every request went to one process: {seen}"
    key = dict(route="/_test/sleep", method="GET", code="2xx")
    # Any process answers /metrics; each answer sums both processes.
    for _ in range(6):
        now = parse(scrape(web))
        assert val(now, "podcastpro_http_requests_total", **key) - \
            val(before, "podcastpro_http_requests_total", **key) == n, seen

    victim = next(iter(seen))
    os.kill(victim, signal.SIGKILL)
    app.wait_processes(2, exclude=(victim,))
    after = parse(scrape(web))
    for (name, labels), v in now.items():
        if name.endswith(("_total", "_bucket", "_count", "_sum")):
            assert after.get((name, labels), 0) >= v, f"{name}{dict(labels)} went back: {v} -> {after.get((name, labels))}"
    assert val(after, "podcastpro_http_requests_total", **key) == val(now, "podcastpro_http_requests_total", **key)
    # The replacement counts on in its predecessor's slot.
    for _ in range(5):
        sleep_pair(web, ms=50)
    final = parse(scrape(web))
    assert val(final, "podcastpro_http_requests_total", **key) == val(after, "podcastpro_http_requests_total", **key) + 10


def test_queue_depths(stack, redis_url):
    app, web = stack
    r = wk.client(redis_url)
    wk.enqueue_many(r, [wk.envelope("test.echo", {}, "mq") for _ in range(3)])
    env = wk.envelope("test.echo", {}, "mq", attempt=4)
    r.xadd("pp:dead:mq", {"id": env["id"], "task": "test.echo", "queue": "mq", "error": "boom",
                          "job": json.dumps(env)})
    m = parse(scrape(web))
    assert val(m, "podcastpro_queue_jobs", queue="mq", state="waiting") == 3
    assert val(m, "podcastpro_queue_jobs", queue="mq", state="running") == 0
    assert val(m, "podcastpro_queue_jobs", queue="mq", state="dead") == 1
    r.close()


def test_refusals(stack, tmpdir_world, services, redis_url):
    app, web = stack
    # The public listener: as unknown a path as any.
    status, _, body = http(web.url + "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    assert status == 404 and json.loads(body) == {"detail": "Not Found"}
    # The metrics listener without the token, or with another.
    for headers in ({}, {"Authorization": "Bearer " + TOKEN[:-1] + "x"}, {"Authorization": TOKEN}):
        status, h, body = http(web.metrics_url + "/metrics", headers=headers)
        assert status == 401, (headers, body)
        assert h["www-authenticate"].startswith("Bearer")
    # Off when METRICS_LISTEN is unset, on any listener.
    sub = tmpdir_world / "off"
    sub.mkdir()
    os.chmod(sub, 0o755)
    web2 = Nginx(sub, os.path.join(str(sub), "responder.sock"))
    try:
        app2 = Responder.listen(sub, services, processes=1, threads=1, env={"REDIS_URL": redis_url})
        try:
            for url in (web2.url, web2.metrics_url):
                assert http(url + "/metrics")[0] == 404
        finally:
            app2.stop()
    finally:
        web2.stop()


def test_promtool_accepts(stack, redis_url):
    app, web = stack
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is missing (Debian: apt-get install prometheus)")
    r = wk.client(redis_url)
    wk.enqueue_many(r, [wk.envelope("test.echo", {}, "mq")])
    r.close()
    for path in ("/health", "/nope", "/_test/pid"):
        http(web.url + path)
    text = scrape(web)
    res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr + "\n" + text


def test_worker_numbers_through_redis(stack, services, redis_url, tmpdir_world):
    """The worker publishes its job outcomes, durations, child restarts and
    time-limit kills to Redis; the responder's /metrics shows them."""
    app, web = stack
    r = wk.client(redis_url)
    env = wk.env_for(services, redis_url=redis_url, RETRY_MAX=1, RETRY_BACKOFF=0, RETRY_JITTER="false",
                     TASK_SOFT_TIME_LIMIT=1, TASK_HARD_TIME_LIMIT=2)
    start = wk.last_event_id(r)
    ok = [wk.envelope("test.echo", {"n": i}, "mq") for i in range(3)]
    permanent = wk.envelope("test.fail", {"error": "no", "permanent": True}, "mq")
    retried = wk.envelope("test.fail", {"error": "again"}, "mq")
    stuck = wk.envelope("test.sleep", {"seconds": 30, "ignore_stop": True}, "mq")
    wk.enqueue_many(r, ok + [permanent, retried, stuck])
    name = wk.unique("mw")
    w = wk.Worker(tmpdir_world, env, ["mq"], name, concurrency=2)
    try:
        for job in ok:
            wk.wait_event(r, start, job["id"], "succeeded")
        for job in (permanent, retried, stuck):
            wk.wait_event(r, start, job["id"], "dead", timeout=30)

        def published():
            m = parse(scrape(web))
            return m if val(m, "podcastpro_worker_time_limit_kills_total", worker=name) == 2 and \
                val(m, "podcastpro_worker_jobs_total", worker=name, task="test.sleep", outcome="dead") == 1 \
                else None
        m = pp.wait_for(published, 10, 0.2, "the worker's numbers in /metrics")
        jobs = "podcastpro_worker_jobs_total"
        assert val(m, jobs, worker=name, task="test.echo", outcome="succeeded") == 3
        assert val(m, jobs, worker=name, task="test.echo", outcome="failed") == 0
        assert val(m, jobs, worker=name, task="test.fail", outcome="failed") == 3
        assert val(m, jobs, worker=name, task="test.fail", outcome="retried") == 1
        assert val(m, jobs, worker=name, task="test.fail", outcome="dead") == 2
        assert val(m, jobs, worker=name, task="test.sleep", outcome="failed") == 2
        assert val(m, jobs, worker=name, task="test.sleep", outcome="retried") == 1
        dur = "podcastpro_worker_job_duration_seconds"
        assert val(m, dur + "_count", worker=name, task="test.echo") == 3
        assert val(m, dur + "_count", worker=name, task="test.sleep") == 2
        assert val(m, dur + "_bucket", worker=name, task="test.sleep", le="1") == 0
        assert val(m, dur + "_bucket", worker=name, task="test.sleep", le="5") == 2
        assert val(m, dur + "_sum", worker=name, task="test.sleep") >= 4
        assert val(m, "podcastpro_worker_child_restarts_total", worker=name, reason="died") == 2
        assert val(m, "podcastpro_queue_jobs", queue="mq", state="dead") == 3
        assert val(m, "podcastpro_queue_jobs", queue="mq", state="waiting") == 0
        promtool = shutil.which("promtool")
        if promtool is not None:
            res = subprocess.run([promtool, "check", "metrics"], input=scrape(web), capture_output=True,
                                 text=True, timeout=60)
            assert res.returncode == 0, res.stdout + res.stderr
    finally:
        assert w.stop() == 0
    # A worker whose numbers expired is dropped from the set by the next scrape.
    r.delete("pp:metrics:worker:" + name)
    m = parse(scrape(web))
    assert not [k for k in m if dict(k[1]).get("worker") == name]
    assert not r.sismember("pp:metrics:workers", name)
    r.close()


def test_processes_run_alone_report_their_own_with_pid(tmpdir_world, services, redis_url):
    """Under spawn-fcgi (or lighttpd's bin-path) no supervisor shares a
    region: each process answers its own numbers, labelled with its pid."""
    tmp = tmpdir_world
    web = Nginx(tmp, os.path.join(str(tmp), "responder.sock"))
    try:
        app = Responder.spawn_fcgi(tmp, services, children=2, threads=1, env={
            "REDIS_URL": redis_url, "METRICS_LISTEN": f"127.0.0.1:{web.metrics_port}"})
    except Exception:
        web.stop()
        raise
    try:
        pids = set(app.pids())
        assert len(pids) == 2
        for _ in range(10):
            assert http(web.url + "/_test/pid")[0] == 200
        seen = {}

        def answer():
            text = scrape(web, token=None)
            m = parse(text)
            # Every responder series carries the answering process's pid.
            labels = {dict(k[1]).get("pid") for k in m if k[0].startswith(("podcastpro_http_", "podcastpro_db_",
                                                                          "podcastpro_redis_"))}
            assert len(labels) == 1 and None not in labels, labels
            pid = int(labels.pop())
            assert pid in pids
            seen[pid] = sum(v for (n, lab), v in m.items() if n == "podcastpro_http_requests_total"
                            and dict(lab)["route"] == "/_test/pid")
            return text
        for _ in range(20):
            text = answer()
            # One process held by a slow request: the other answers.
            sleeper = threading.Thread(target=http, args=(web.url + "/_test/sleep?ms=600",))
            sleeper.start()
            time.sleep(0.2)
            answer()
            sleeper.join(30)
            if len(seen) == 2:
                break
        # Each process's own numbers: together they make the whole.
        assert len(seen) == 2, f"one process answered every scrape: {seen}"
        assert sum(seen.values()) == 10, seen
        promtool = shutil.which("promtool")
        if promtool is not None:
            res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=60)
            assert res.returncode == 0, res.stdout + res.stderr
    finally:
        app.stop()
        web.stop()


def test_redis_down_leaves_out_the_job_numbers_only(tmpdir_world, services):
    """Redis unreachable: the answer still comes, with the responder's
    numbers, podcastpro_jobs_scrape_ok 0 and the failed connect counted in
    the same answer."""
    tmp = tmpdir_world
    web = Nginx(tmp, os.path.join(str(tmp), "responder.sock"))
    try:
        app = Responder.listen(tmp, services, processes=1, threads=1, env={
            "REDIS_URL": f"redis://127.0.0.1:{pp.free_port()}/0",
            "METRICS_LISTEN": f"*:{web.metrics_port}"})
    except Exception:
        web.stop()
        raise
    try:
        assert http(web.url + "/health")[0] == 200
        text = scrape(web, token=None)
        m = parse(text)
        assert val(m, "podcastpro_jobs_scrape_ok") == 0
        assert val(m, "podcastpro_redis_errors_total") >= 1
        assert val(m, "podcastpro_http_requests_total", route="/health", method="GET", code="2xx") == 1
        assert not [k for k in m if k[0].startswith(("podcastpro_queue_", "podcastpro_worker_"))]
        promtool = shutil.which("promtool")
        if promtool is not None:
            res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                                 timeout=60)
            assert res.returncode == 0, res.stdout + res.stderr
    finally:
        app.stop()
        web.stop()
