"""podcastpro-worker: retries, time limits, child replacement, shutdown,
and what inspect/events/queues report (issue 3)."""
import json
import os
import signal
import subprocess
import time

import pytest

import pp
import workerkit as wk
from workerkit import Worker


@pytest.fixture
def r(services):
    c = wk.client(services["REDIS_URL"])
    yield c
    c.close()


def test_retry_backoff_bounds_jitter_dead_and_dead_retry(services, r, tmp_path):
    q = wk.unique("retry")
    env = wk.env_for(services, RETRY_MAX=3, RETRY_BACKOFF=1, RETRY_BACKOFF_MAX=600, RETRY_JITTER="true")
    start = wk.last_event_id(r)
    jobs = [wk.envelope("test.fail", {"error": f"boom{i}"}, q) for i in range(8)]
    ids = wk.enqueue_many(r, jobs)
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=2)
    try:
        for jid in ids:
            wk.wait_event(r, start, jid, "dead", timeout=40)
        countdowns = []
        for jid in ids:
            evs = wk.events_for(r, start, jid)
            kinds = [e["event"] for e in evs]
            # 1 run + 3 retries, then dead: never a fifth run.
            assert kinds.count("started") == 4, kinds
            assert kinds.count("retried") == 3, kinds
            assert kinds[-1] == "dead"
            for n in range(1, 4):
                retried = next(e for e in evs if e["event"] == "retried" and e["attempt"] == str(n + 1))
                started = next(e for e in evs if e["event"] == "started" and e["attempt"] == str(n + 1))
                countdown = float(retried["countdown"])
                # Celery's formula: uniform whole number in [0, min(600, 1 * 2^(n-1))].
                assert countdown == int(countdown)
                assert 0 <= countdown <= 2 ** (n - 1), (n, countdown)
                delay = float(started["ts"]) - float(retried["ts"])
                assert countdown - 0.05 <= delay <= countdown + 2.0, (n, countdown, delay)
                countdowns.append((n, countdown))
            dead = next(e for e in evs if e["event"] == "dead")
            assert "attempt 4" in dead["error"]
        # Jitter: the third retry's countdown (0..4) is not one fixed value.
        assert len({c for n, c in countdowns if n == 3}) > 1, countdowns

        # The dead-letter stream carries the last error; `dead retry` brings one back.
        listing = wk.ctl(env, "dead", "list", "-Q", q).stdout
        for i, jid in enumerate(ids):
            line = next(l for l in listing.splitlines() if l.startswith(jid))
            assert f"boom{i} (attempt 4)" in line
        res = wk.ctl(env, "queues", "--json").stdout
        row = next(json.loads(l) for l in res.splitlines() if json.loads(l)["queue"] == q)
        assert row["dead"] == len(ids)
        again = wk.last_event_id(r)
        out = wk.ctl(env, "dead", "retry", ids[0]).stdout.strip()
        assert out == ids[0]
        listing = wk.ctl(env, "dead", "list", "-Q", q).stdout
        assert not [l for l in listing.splitlines() if l.startswith(ids[0])]
        assert len(listing.splitlines()) == len(ids) - 1
        # Back from the start: attempt 1 runs again.
        wk.wait_event(r, again, ids[0], "started", attempt=1)
        assert wk.ctl(env, "dead", "retry", "NO-SUCH-JOB", check=False).returncode == 1
        assert "purged" in wk.ctl(env, "dead", "purge", "-Q", q).stdout
    finally:
        assert w.stop() == 0


def test_master_maps_no_task_library_its_children_do(services, r, tmp_path):
    """The master schedules; its children execute podcastpro-job, which
    runs the tasks (issue 15: the master's memory target). So the PDF,
    speech and MP3 libraries are mapped in the children only, and a job
    still runs."""
    q = wk.unique("maps")
    w = Worker(tmp_path, wk.env_for(services), [q], wk.unique("w"), concurrency=1)
    pipeline_libs = ("libpoppler", "libespeak-ng", "libmp3lame", "libmpg123")

    def mapped(pid):
        with open(f"/proc/{pid}/maps") as f:
            return {lib for line in f for lib in pipeline_libs if lib in line}
    try:
        start = wk.last_event_id(r)
        jid = wk.ctl(wk.env_for(services), "call", "ping", "-Q", q).stdout.strip()
        wk.wait_event(r, start, jid, "succeeded", timeout=30)
        (child,) = w.children()
        with open(f"/proc/{child}/cmdline", "rb") as f:
            assert os.path.basename(f.read().split(b"\0")[0].decode()) == "podcastpro-job"
        assert mapped(child) == set(pipeline_libs)
        assert mapped(w.pid) == set()
    finally:
        assert w.stop() == 0


def test_soft_and_hard_time_limits(services, r, tmp_path):
    q = wk.unique("limits")
    env = wk.env_for(services, TASK_SOFT_TIME_LIMIT=1, TASK_HARD_TIME_LIMIT=2, RETRY_MAX=0)
    start = wk.last_event_id(r)
    soft, hard = wk.enqueue_many(r, [
        wk.envelope("test.sleep", {"seconds": 8}, q),
        wk.envelope("test.sleep", {"seconds": 8, "ignore_stop": True}, q),
    ])
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=2)
    try:
        dead_soft = wk.wait_event(r, start, soft, "dead", timeout=20)
        failed_soft = wk.wait_event(r, start, soft, "failed")
        # The task saw task_should_stop() after the soft limit and gave up itself.
        assert "stopped after being asked" in dead_soft["error"]
        assert 0.9 <= float(failed_soft["runtime"]) < 2.0
        dead_hard = wk.wait_event(r, start, hard, "dead", timeout=20)
        failed_hard = wk.wait_event(r, start, hard, "failed")
        assert "hard time limit (2 s) exceeded" in dead_hard["error"]
        assert 1.9 <= float(failed_hard["runtime"]) < 5.0
        killed = int(wk.wait_event(r, start, hard, "started")["pid"])
        assert not pp_alive(killed)
        # The killed child was replaced: the pool is full again.
        pp.wait_for(lambda: len(w.children()) == 2, 10, what="a replacement child")
    finally:
        assert w.stop() == 0


def pp_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_max_tasks_per_child_replaces_children(services, r, tmp_path):
    q = wk.unique("mtpc")
    env = wk.env_for(services)
    start = wk.last_event_id(r)
    ids = wk.enqueue_many(r, [wk.envelope("test.echo", {"i": i}, q) for i in range(12)])
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=2, args=["--max-tasks-per-child", "2"])
    try:
        for jid in ids:
            wk.wait_event(r, start, jid, "succeeded", timeout=30)
        pids = [int(wk.wait_event(r, start, jid, "started")["pid"]) for jid in ids]
        per_pid = {p: pids.count(p) for p in pids}
        assert max(per_pid.values()) <= 2, per_pid
        assert len(per_pid) >= 6, per_pid
        pp.wait_for(lambda: len(w.children()) == 2, 10, what="the pool to refill")
    finally:
        assert w.stop() == 0


def test_sigterm_lets_running_job_finish_within_grace(services, r, tmp_path):
    q = wk.unique("term")
    env = wk.env_for(services, WORKER_SHUTDOWN_GRACE=10)
    start = wk.last_event_id(r)
    (jid,) = wk.enqueue_many(r, [wk.envelope("test.sleep", {"seconds": 2, "ignore_stop": True}, q)])
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=1)
    try:
        wk.wait_event(r, start, jid, "started")
        t0 = time.monotonic()
        w.signal(signal.SIGTERM)
        assert w.wait(15) == 0
        assert time.monotonic() - t0 < 8
        wk.wait_event(r, start, jid, "succeeded", timeout=1)
        assert r.xlen("pp:q:" + q) == 0
        # A stopped worker vanishes from inspect at once.
        assert r.get("pp:worker:" + w.name) is None
    finally:
        w.stop()


def test_sigterm_after_grace_hands_job_back(services, r, tmp_path):
    q = wk.unique("term")
    env = wk.env_for(services, WORKER_SHUTDOWN_GRACE=1)
    start = wk.last_event_id(r)
    (jid,) = wk.enqueue_many(r, [wk.envelope("test.sleep", {"seconds": 3, "ignore_stop": True}, q)])
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=1)
    try:
        wk.wait_event(r, start, jid, "started")
        w.signal(signal.SIGTERM)
        assert w.wait(15) == 0
        wk.wait_event(r, start, jid, "requeued", timeout=1)
        assert not [e for e in wk.events_for(r, start, jid) if e["event"] in ("succeeded", "dead")]
        # Handed back: waiting in its stream, owned by nobody.
        assert r.xlen("pp:q:" + q) == 1
        assert r.xpending("pp:q:" + q, "workers")["pending"] == 0
    finally:
        w.stop()
    w2 = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=1, log_name="second")
    try:
        done = wk.wait_event(r, start, jid, "succeeded", timeout=20)
        assert done["worker"] == w2.name
    finally:
        assert w2.stop() == 0


def test_grace_period_ends_once(services, r, tmp_path):
    """Two jobs outlive the grace period: one "grace period over" line, one
    kill and one hand-back per job (the first child reaped while the other
    was still busy used to end the grace period again: logged twice,
    killed twice)."""
    q = wk.unique("grace")
    env = wk.env_for(services, WORKER_SHUTDOWN_GRACE=1)
    start = wk.last_event_id(r)
    ids = wk.enqueue_many(r, [wk.envelope("test.sleep", {"seconds": 30, "ignore_stop": True}, q)
                              for _ in range(2)])
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=2)
    try:
        for jid in ids:
            wk.wait_event(r, start, jid, "started")
        w.signal(signal.SIGTERM)
        assert w.wait(15) == 0
        log = w.log_text()
        assert log.count("grace period (1 s) over") == 1, log
        assert log.count("shutdown grace period over; killing child") == 2, log
        for jid in ids:
            assert log.count(f"job {jid} (test.sleep): shutdown grace period over; killing child") == 1, log
            assert log.count(f"job {jid} (test.sleep) stopped by shutdown; handed back") == 1, log
            assert [e["event"] for e in wk.events_for(r, start, jid)].count("requeued") == 1
        assert r.xlen("pp:q:" + q) == 2
    finally:
        w.stop()
        r.delete("pp:q:" + q)


def test_second_sigterm_exits_at_once_and_loses_nothing(services, r, tmp_path):
    q = wk.unique("term2")
    env = wk.env_for(services, WORKER_SHUTDOWN_GRACE=60)
    name = wk.unique("w")
    start = wk.last_event_id(r)
    (jid,) = wk.enqueue_many(r, [wk.envelope("test.sleep", {"seconds": 3, "ignore_stop": True}, q)])
    w = Worker(tmp_path, env, [q], name, concurrency=1)
    try:
        wk.wait_event(r, start, jid, "started")
        w.signal(signal.SIGTERM)
        time.sleep(0.3)
        t0 = time.monotonic()
        w.signal(signal.SIGTERM)
        w.wait(10)
        assert time.monotonic() - t0 < 3
        # Still pending in the stream under the worker's name: not lost.
        assert r.xpending("pp:q:" + q, "workers")["pending"] == 1
    finally:
        w.stop()
    # The same worker started again takes it back at once (no visibility wait).
    w2 = Worker(tmp_path, env, [q], name, concurrency=1, log_name="again")
    try:
        done = wk.wait_event(r, start, jid, "succeeded", timeout=15)
        assert done["worker"] == name
    finally:
        assert w2.stop() == 0


def test_inspect_events_queues_show_a_known_workload(services, r, tmp_path):
    q = wk.unique("obs")
    env = wk.env_for(services, RETRY_MAX=0)
    name = wk.unique("w")
    follower = subprocess.Popen([pp.binary("podcastpro-ctl"), "events", "--json"], env=env,
                                stdout=subprocess.PIPE, text=True)
    w = Worker(tmp_path, env, [q], name, concurrency=2)
    try:
        wk.wait_state(r, name)
        time.sleep(0.5)   # the follower is blocking on XREAD by now
        fail = wk.ctl(env, "call", "test.fail", '{"error":"nope","permanent":true}', "-Q", q).stdout.strip()
        wk.wait_event(r, "-", fail, "dead")
        start = wk.last_event_id(r)
        sleeps = [wk.ctl(env, "call", "test.sleep", '{"seconds":4,"ignore_stop":true}', "-Q", q).stdout.strip()
                  for _ in range(2)]
        for jid in sleeps:
            wk.wait_event(r, "-", jid, "started")
        pings = [wk.ctl(env, "call", "ping", "-Q", q).stdout.strip() for _ in range(3)]
        later = wk.ctl(env, "call", "ping", "-Q", q, "--countdown", "120").stdout.strip()

        def published_active():
            s = json.loads(r.get("pp:worker:" + name))
            return s if len(s["active"]) == 2 else None
        pp.wait_for(published_active, 5, what="active jobs published")

        active = wk.ctl(env, "inspect", "active").stdout
        mine = [l for l in active.splitlines() if l.startswith(name + " ")]
        assert sorted(l.split()[1] for l in mine) == sorted(sleeps)
        assert all("test.sleep" in l and " pid=" in l for l in mine)
        active_pids = sorted(int(l.split("pid=")[1].split()[0]) for l in mine)
        reserved = wk.ctl(env, "inspect", "reserved").stdout
        assert not [l for l in reserved.splitlines() if l.startswith(name + " ")]   # prefetch 1
        scheduled = wk.ctl(env, "inspect", "scheduled").stdout
        assert any(l.startswith(later) and "eta_in=" in l for l in scheduled.splitlines())
        stats = next(l for l in wk.ctl(env, "inspect", "stats").stdout.splitlines() if l.startswith(name + " "))
        assert "concurrency=2" in stats
        assert sorted(int(p) for p in stats.split("children=")[1].split()[0].split(",")) == active_pids
        assert " dead=1" in stats and " succeeded=0" in stats
        rows = {json.loads(l)["queue"]: json.loads(l) for l in wk.ctl(env, "queues", "--json").stdout.splitlines()}
        assert rows[q] == {"queue": q, "waiting": 3, "running": 2, "delayed": 1, "dead": 1}
        human = wk.ctl(env, "queues").stdout
        assert any(l.split() == [q, "3", "2", "1", "1"] for l in human.splitlines())

        for jid in sleeps + pings:
            wk.wait_event(r, start, jid, "succeeded", timeout=20)
        rows = {json.loads(l)["queue"]: json.loads(l) for l in wk.ctl(env, "queues", "--json").stdout.splitlines()}
        assert rows[q]["waiting"] == 0 and rows[q]["running"] == 0
        time.sleep(0.5)
    finally:
        assert w.stop() == 0
        follower.terminate()
        out, _ = follower.communicate(timeout=10)
        r.zrem("pp:delayed", *[m for m in r.zrange("pp:delayed", 0, -1) if later in m])
        r.delete("pp:dead:" + q)
    seen = {}
    for line in out.splitlines():
        e = json.loads(line)
        seen.setdefault(e.get("id"), []).append(e["event"])
    assert seen[fail] == ["received", "started", "failed", "dead"]
    for jid in sleeps + pings:
        assert seen[jid] == ["received", "started", "succeeded"], (jid, seen.get(jid))
    assert later not in seen


def assert_still_works(w, r, q):
    """A ping on Q succeeds, and W's master is still there."""
    start = wk.last_event_id(r)
    (jid,) = wk.enqueue_many(r, [wk.envelope("ping", {}, q)])
    wk.wait_event(r, start, jid, "succeeded")
    assert w.alive()


def test_sighup_rolls_children_and_keeps_working(services, r, tmp_path):
    q = wk.unique("hup")
    env = wk.env_for(services)
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=2)
    try:
        before = pp.wait_for(lambda: w.children() if len(w.children()) == 2 else None, 10, what="two children")
        w.signal(signal.SIGHUP)
        pp.wait_for(lambda: len(w.children()) == 2 and not set(w.children()) & set(before), 10,
                    what="children replaced after SIGHUP")
        assert_still_works(w, r, q)
    finally:
        assert w.stop() == 0


def test_sighup_as_the_first_child_starts_keeps_the_master(services, r, tmp_path):
    """The signal handlers are in place before any child is forked: a SIGHUP
    sent the moment the first child exists rolls the children (the master
    used to install them after forking and died of SIGHUP's default action)."""
    q = wk.unique("hup0")
    env = wk.env_for(services)
    for i in range(3):
        w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=2, log_name=f"hup0-{i}")
        try:
            pp.wait_for(lambda: w.children() or not w.alive(), 10, interval=0.001, what="a first child")
            w.signal(signal.SIGHUP)
            assert_still_works(w, r, q)
        finally:
            assert w.stop() == 0


def test_dead_consumer_jobs_reclaimed_and_poison_jobs_dead(services, r, tmp_path):
    """Jobs pending under a consumer that vanished are reclaimed after the
    visibility timeout; one delivered too often already is dead instead."""
    q = wk.unique("reclaim")
    stream = "pp:q:" + q
    r.xgroup_create(stream, "workers", id="0", mkstream=True)
    good, poison = wk.enqueue_many(r, [wk.envelope("ping", {}, q), wk.envelope("ping", {}, q)])
    # A "ghost" worker takes both and dies; the poison one was delivered 3 times.
    got = r.xreadgroup("workers", "ghost", {stream: ">"}, count=2)
    entries = {json.loads(f["job"])["id"]: eid for eid, f in got[0][1]}
    for _ in range(2):
        r.xclaim(stream, "workers", "ghost", 0, [entries[poison]])
    env = wk.env_for(services, JOB_VISIBILITY_TIMEOUT=2, JOB_MAX_DELIVERIES=3)
    start = wk.last_event_id(r)
    t0 = time.monotonic()
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=1)
    try:
        done = wk.wait_event(r, start, good, "succeeded", timeout=15)
        assert time.monotonic() - t0 >= 1.5   # not before the visibility timeout
        assert done["worker"] == w.name
        dead = wk.wait_event(r, start, poison, "dead", timeout=15)
        assert "delivered 4 times without an outcome (JOB_MAX_DELIVERIES=3)" in dead["error"]
        assert not [e for e in wk.events_for(r, start, poison) if e["event"] == "started"]
        assert r.xlen("pp:dead:" + q) == 1
        assert r.xpending(stream, "workers")["pending"] == 0
    finally:
        assert w.stop() == 0
        r.delete("pp:dead:" + q, stream)


def test_graceful_restarts_do_not_use_up_retries(services, r, tmp_path):
    """A task that stops when shutdown asks it to is handed back unchanged:
    more graceful restarts than it has retries, during one job, do not
    dead-letter it (nor does a SIGHUP roll in between), and it completes
    afterwards at attempt 1."""
    q = wk.unique("restarts")
    env = wk.env_for(services, RETRY_MAX=1, RETRY_BACKOFF=0, WORKER_SHUTDOWN_GRACE=10)
    name = wk.unique("w")
    start = wk.last_event_id(r)
    (jid,) = wk.enqueue_many(r, [wk.envelope("test.sleep", {"seconds": 3}, q)])
    for n in range(3):
        mark = wk.last_event_id(r)
        w = Worker(tmp_path, env, [q], name, concurrency=1, log_name=f"run-{n}")
        try:
            wk.wait_event(r, mark, jid, "started", timeout=20)
            if n == 1:
                # A roll replaces children after their job: this one runs on.
                w.signal(signal.SIGHUP)
                pp.wait_for(lambda: "SIGHUP: reloading" in w.log_text(), 10, what="the SIGHUP to be handled")
            t0 = time.monotonic()
            w.signal(signal.SIGTERM)
            assert w.wait(15) == 0
            # It stopped when asked (test.sleep checks every 10 ms), well within the grace.
            assert time.monotonic() - t0 < 5
        finally:
            w.stop()
        wk.wait_event(r, mark, jid, "requeued", timeout=1)
        kinds = [e["event"] for e in wk.events_for(r, start, jid)]
        assert not {"failed", "retried", "dead"} & set(kinds), kinds
        assert "stopped for shutdown; handed back without counting an attempt" in w.log_text()
        assert r.zcard("pp:delayed") == 0 or not [m for m in r.zrange("pp:delayed", 0, -1) if jid in m]
    w = Worker(tmp_path, env, [q], name, concurrency=1, log_name="last")
    try:
        done = wk.wait_event(r, start, jid, "succeeded", timeout=20)
        assert done["attempt"] == "1"
        starts = [e for e in wk.events_for(r, start, jid) if e["event"] == "started"]
        assert len(starts) == 4 and all(e["attempt"] == "1" for e in starts), starts
        assert r.xlen("pp:dead:" + q) == 0
    finally:
        assert w.stop() == 0
        r.delete("pp:q:" + q)


def test_dead_retry_of_a_malformed_entry_says_what_it_is(services, r, tmp_path):
    q = wk.unique("malformed")
    env = wk.env_for(services)
    dead = "pp:dead:" + q
    bad = r.xadd(dead, {"id": "01MALFORMEDJOB", "task": "ping", "queue": q, "error": "x", "job": "{not json"})
    nojob = r.xadd(dead, {"id": "01NOJOBFIELD", "task": "ping", "queue": q, "error": "x"})
    try:
        for ident in ("01MALFORMEDJOB", bad):
            res = wk.ctl(env, "dead", "retry", ident, check=False)
            assert res.returncode == 1, res
            assert "no dead job" not in res.stderr
            assert f"dead job 01MALFORMEDJOB (entry {bad} of {dead}) has a malformed envelope: " in res.stderr
            assert f"'redis-cli XDEL {dead} {bad}' removes it" in res.stderr
            assert f"'podcastpro-ctl dead purge -Q {q}'" in res.stderr
            assert res.stderr.count("\n") == 1, res.stderr
        res = wk.ctl(env, "dead", "retry", "01NOJOBFIELD", check=False)
        assert res.returncode == 1
        assert f"dead job 01NOJOBFIELD (entry {nojob} of {dead}) has a malformed envelope: no job field" in res.stderr
        # Both are still there; an id that is nowhere is still "no dead job".
        assert r.xlen(dead) == 2
        res = wk.ctl(env, "dead", "retry", "01NOSUCHJOB", check=False)
        assert res.returncode == 1 and "no dead job 01NOSUCHJOB" in res.stderr
        # `retry all` retries what it can and reports the rest, non-zero.
        good = wk.envelope("ping", {}, q)
        r.xadd(dead, {"id": good["id"], "task": "ping", "queue": q, "error": "x", "job": json.dumps(good)})
        res = wk.ctl(env, "dead", "retry", "all", "-Q", q, check=False)
        assert res.returncode == 1
        assert res.stdout.split() == [good["id"]]
        assert res.stderr.count("has a malformed envelope") == 2
        assert r.xlen(dead) == 2 and r.xlen("pp:q:" + q) == 1
    finally:
        r.delete(dead, "pp:q:" + q)


def test_test_tasks_only_with_pp_test_tasks(services, tmp_path):
    """Without PP_TEST_TASKS=1 a worker does not know test.*: such a job is
    dead as an unknown task, saying why, and `ctl call` refuses it."""
    url = services["REDIS_URL"].rsplit("/", 1)[0] + "/7"   # only this test's workers publish here
    r = wk.client(url)
    r.flushdb()
    q = wk.unique("prod")
    env = wk.env_for(services, redis_url=url, RETRY_MAX=0)
    del env["PP_TEST_TASKS"]
    name = wk.unique("w")
    (jid,) = wk.enqueue_many(r, [wk.envelope("test.sleep", {"seconds": 0}, q)])
    w = Worker(tmp_path, env, [q], name, concurrency=1)
    try:
        state = wk.wait_state(r, name)
        assert sorted(state["tasks"]) == ["email.send", "ping", "podcast.generate", "podcast.sweep"], state["tasks"]
        dead = wk.wait_event(r, "-", jid, "dead")
        assert dead["error"] == ("unknown task test.sleep: test tasks run only on a worker started "
                                 "with PP_TEST_TASKS=1")
        assert not [e for e in wk.events_for(r, "-", jid) if e["event"] == "started"]
        assert "PP_TEST_TASKS" not in w.log_text().split("unknown task", 1)[0]

        res = wk.ctl(env, "call", "test.sleep", '{"seconds":0}', "-Q", q, check=False)
        assert res.returncode == 1 and res.stdout == ""
        assert ("test.sleep: unknown task: no live worker runs it (they run: email.send, ping, podcast.generate, "
                "podcast.sweep); test tasks run only on a worker started with PP_TEST_TASKS=1") in res.stderr
        assert "--force" in res.stderr
        assert r.xlen("pp:q:" + q) == 0
        res = wk.ctl(env, "call", "no.such.task", check=False)
        assert res.returncode == 1 and "no.such.task: unknown task" in res.stderr
        # --force enqueues it anyway (an operator who knows better): dead as unknown.
        start = wk.last_event_id(r)
        forced = wk.ctl(env, "call", "test.echo", "{}", "-Q", q, "--force").stdout.strip()
        assert "unknown task test.echo" in wk.wait_event(r, start, forced, "dead")["error"]
        # Known tasks are enqueued as before.
        ping = wk.ctl(env, "call", "ping", "-Q", q).stdout.strip()
        wk.wait_event(r, start, ping, "succeeded")
    finally:
        assert w.stop() == 0
        r.flushdb()
        r.close()
    # With the setting, the same worker runs them and says so at start.
    env["PP_TEST_TASKS"] = "1"
    r = wk.client(url)
    w = Worker(tmp_path, env, [q], name, concurrency=1, log_name="with-test-tasks")
    try:
        assert "test.sleep" in wk.wait_state(r, name)["tasks"]
        jid = wk.ctl(env, "call", "test.sleep", '{"seconds":0}', "-Q", q).stdout.strip()
        wk.wait_event(r, "-", jid, "succeeded")
        assert "PP_TEST_TASKS=1: the test tasks (test.*) are enabled" in w.log_text()
    finally:
        assert w.stop() == 0
        r.flushdb()
        r.close()


def test_jobs_waiting_at_start_run_once_each(services, r, tmp_path):
    """At start the worker takes back what its previous run left pending;
    fetching waits for that, or a job fetched meanwhile came back in the
    recovery's reply after it had finished, and ran twice."""
    for n in range(3):
        q = wk.unique("once")
        start = wk.last_event_id(r)
        ids = wk.enqueue_many(r, [wk.envelope("test.fail", {"error": "x", "permanent": True}, q)
                                  for _ in range(30)])
        w = Worker(tmp_path, wk.env_for(services), [q], wk.unique("w"), concurrency=4, log_name=f"once-{n}")
        try:
            for jid in ids:
                wk.wait_event(r, start, jid, "dead", timeout=30)
        finally:
            # Stopped (and flushed) before counting: a second run shows by then.
            assert w.stop() == 0
        try:
            runs = [e["id"] for e in wk.events_since(r, start) if e["event"] == "started" and e["id"] in ids]
            assert sorted(runs) == sorted(ids), "some ran twice"
            assert "recovered job entry" not in w.log_text()
            assert r.xlen("pp:dead:" + q) == len(ids)
        finally:
            r.delete("pp:dead:" + q, "pp:q:" + q)
