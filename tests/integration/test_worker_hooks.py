"""A dead job's on_dead hook (podcast.generate marks its podcast failed in
PostgreSQL) runs in a process of its own: a hung database never stops the
master's loop, and the bookkeeping is still done once the database is back."""
import json
import os
import signal
import time

import pp
import workerkit as wk
from test_pipeline import Pipeline
from workerkit import Worker


def postmaster_pid(services):
    with open(os.path.join(services["PP_PG_DATA"], "postmaster.pid")) as f:
        return int(f.readline())


def test_hung_database_does_not_stop_the_master(services, tmp_path):
    pipe = Pipeline(services, tmp_path)
    pg = postmaster_pid(services)
    r = pipe.r
    q = wk.unique("other")
    stream = "pp:q:podcasts"
    stopped = False
    w = None
    try:
        podcast = pipe.podcast("sample.pdf")
        # A podcast job whose worker vanished after delivering it over and
        # over: the next worker finds it poison and dead at once, without
        # running it, and only the on_dead hook needs the database.
        r.xgroup_create(stream, "workers", id="0", mkstream=True)
        (jid,) = wk.enqueue_many(r, [wk.envelope("podcast.generate", {"podcast_id": podcast}, "podcasts")])
        (entry, _), = r.xreadgroup("workers", "ghost", {stream: ">"}, count=1)[0][1]
        r.xclaim(stream, "workers", "ghost", 0, [entry])
        r.xclaim(stream, "workers", "ghost", 0, [entry])

        os.kill(pg, signal.SIGSTOP)   # new connections now hang in the listen queue
        stopped = True
        start = wk.last_event_id(r)
        # Long enough to still be running after the poison job's death and
        # the pings below, with job children that take a moment to start
        # (they execute podcastpro-job; about 1 s under ASan on a busy box).
        (sleeper,) = wk.enqueue_many(r, [wk.envelope("test.sleep", {"seconds": 15}, q)])
        w = Worker(tmp_path, pipe.worker_env(JOB_VISIBILITY_TIMEOUT=2, JOB_MAX_DELIVERIES=3),
                   ["podcasts", q], wk.unique("hooks"), concurrency=2)
        wk.wait_event(r, start, sleeper, "started")
        dead = wk.wait_event(r, start, jid, "dead", timeout=20)
        assert "times without an outcome (JOB_MAX_DELIVERIES=3)" in dead["error"]

        # The database hangs the hook; the master goes on: jobs are fetched
        # and run at once, heartbeats keep the running job's entry fresh,
        # the state is published every second.
        t0 = time.monotonic()
        pings = wk.enqueue_many(r, [wk.envelope("ping", {}, q) for _ in range(5)])
        for p in pings:
            wk.wait_event(r, start, p, "succeeded", timeout=5)
        assert time.monotonic() - t0 < 4
        entry_of_sleeper = next(e for e, f in r.xrange("pp:q:" + q) if json.loads(f["job"])["id"] == sleeper)
        stamps = set()
        for _ in range(4):
            pending = r.xpending_range("pp:q:" + q, "workers", min=entry_of_sleeper, max=entry_of_sleeper, count=1)
            assert pending and pending[0]["time_since_delivered"] < 1500, pending
            stamps.add(json.loads(r.get("pp:worker:" + w.name))["ts"])
            time.sleep(0.5)
        assert len(stamps) >= 2, stamps
        assert pipe.row(podcast)["status"] == "pending"   # not written yet: the database is stopped
        assert w.alive()

        os.kill(pg, signal.SIGCONT)
        stopped = False
        row = pp.wait_for(lambda: (lambda row: row if row["status"] == "failed" else None)(pipe.row(podcast)),
                          40, 0.2, what="the podcast to be marked failed")
        assert row["error"] == dead["error"]
        pp.wait_for(lambda: "on_dead hook done" in w.log_text(), 10, what="the hook to report")
        wk.wait_event(r, start, sleeper, "succeeded", timeout=20)
    finally:
        if stopped:
            os.kill(pg, signal.SIGCONT)
        if w is not None:
            assert w.stop() == 0
        pipe.close()
