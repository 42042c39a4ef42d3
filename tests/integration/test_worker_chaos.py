"""podcastpro-worker under crashes: kill -9 of children and of the master,
and Redis restarted mid-run. No job may be lost; duplicates are counted
and reported (delivery is at least once)."""
import os
import random
import shutil
import signal
import subprocess
import time

import pytest

import pp
import workerkit as wk
from workerkit import Worker


def record_jobs(queues, prefix, n, max_sleep_ms):
    rng = random.Random(7)
    return [wk.envelope("test.record", {"key": prefix, "sleep_ms": rng.randint(0, max_sleep_ms)},
                        queues[i % len(queues)]) for i in range(n)]


def test_kill_9_children_and_master_loses_nothing(services, tmp_path):
    r = wk.client(services["REDIS_URL"])
    queues = [wk.unique("chaos-a"), wk.unique("chaos-b")]
    prefix = wk.unique("pp:test:chaos")
    name = wk.unique("w")
    env = wk.env_for(services, JOB_VISIBILITY_TIMEOUT=3, RETRY_BACKOFF_MAX=1, LOG_LEVEL="warning")
    jobs = record_jobs(queues, prefix, 1000, 60)
    wk.enqueue_many(r, jobs)
    rng = random.Random(11)
    kills_child = kills_master = restarts = 0
    w = Worker(tmp_path, env, queues, name, concurrency=4, log_name="master-0")
    deadline = time.monotonic() + 150
    # A master is killed once it has got some work done (its children
    # execute podcastpro-job, which takes a moment to start, longer under
    # ASan on a busy machine), at most once a second.
    # Children likewise: one is killed per tick while jobs get done.
    done_at_start = done_at_kill = 0
    try:
        tick = 0
        while r.scard(prefix + ":done") < len(jobs) and time.monotonic() < deadline:
            time.sleep(0.25)
            tick += 1
            done = r.scard(prefix + ":done")
            if tick % 4 == 0 and done_at_start < done < len(jobs) * 0.9:
                done_at_start = done
                # The master, and with it (PDEATHSIG) its children.
                w.signal(signal.SIGKILL)
                w.wait(10)
                kills_master += 1
                restarts += 1
                w = Worker(tmp_path, env, queues, name, concurrency=4, log_name=f"master-{restarts}")
                continue
            kids = w.children()
            if kids and done > done_at_kill:
                done_at_kill = done
                try:
                    os.kill(rng.choice(kids), signal.SIGKILL)
                    kills_child += 1
                except ProcessLookupError:
                    pass
        done = r.scard(prefix + ":done")
        runs = int(r.get(prefix + ":runs") or 0)
        print(f"\nchaos: {len(jobs)} jobs, {done} completed, {runs} executions "
              f"({runs - done} duplicates), {kills_child} children and {kills_master} masters killed")
        assert kills_master >= 3 and kills_child >= 10
        assert done == len(jobs), f"{len(jobs) - done} jobs lost or unfinished"
        assert runs >= done
        # Duplicates only come from jobs killed after recording, before acking.
        assert runs - done <= kills_child + kills_master * 4 + 10
        for q in queues:
            assert r.xlen("pp:dead:" + q) == 0
        # Everything acked: streams empty, nothing pending.
        pp.wait_for(lambda: all(r.xlen("pp:q:" + q) == 0 for q in queues), 20, what="streams to drain")
    finally:
        assert w.stop() == 0
        r.delete(prefix + ":done", prefix + ":runs", *["pp:q:" + q for q in queues])
        r.close()


class PrivateRedis:
    """A redis-server with an append-only file, restartable on its port."""

    def __init__(self, directory):
        self.dir = str(directory)
        self.port = pp.free_port()
        self.proc = None

    def start(self):
        self.proc = pp.Proc(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                             "--dir", self.dir], log=os.path.join(self.dir, "redis.log"))
        pp.wait_port(self.port)
        # Accepting is not serving: PING fails with LOADING while the AOF loads.
        c = wk.client(self.url)
        try:
            pp.wait_for(c.ping, 20, what="redis to load its append-only file")
        finally:
            c.close()

    def stop(self):
        if self.proc is not None:
            self.proc.stop()   # SIGTERM: Redis fsyncs the AOF and exits

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def test_redis_restart_mid_run_loses_nothing(services, tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    red = PrivateRedis(tmp_path)
    red.start()
    r = wk.client(red.url)
    q = wk.unique("restart")
    prefix = "pp:test:restart"
    env = wk.env_for(services, redis_url=red.url, JOB_VISIBILITY_TIMEOUT=5, RETRY_BACKOFF_MAX=1)
    jobs = record_jobs([q], prefix, 300, 40)
    w = None
    try:
        wk.enqueue_many(r, jobs)
        w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=3)
        pp.wait_for(lambda: r.scard(prefix + ":done") >= 30, 30, what="some jobs done")
        red.stop()
        time.sleep(1.0)
        assert w.alive()
        red.start()
        r = wk.client(red.url)
        pp.wait_for(lambda: r.scard(prefix + ":done") == len(jobs), 90, 0.2, what="every job done")
        runs = int(r.get(prefix + ":runs"))
        print(f"\nredis restart: {len(jobs)} jobs, {runs} executions ({runs - len(jobs)} duplicates)")
        assert r.xlen("pp:dead:" + q) == 0
        pp.wait_for(lambda: r.xlen("pp:q:" + q) == 0, 20, what="the stream to drain")
        assert "redis (command): connected" in w.log_text().split("disconnected", 1)[1]
    finally:
        if w is not None:
            assert w.stop() == 0
        r.close()
        red.stop()


def test_redis_unreachable_and_back_with_fatal_criticals(services, tmp_path):
    """Redis refused (stopped) and then hung (SIGSTOP) and back, twice: the
    master reconnects again and again and goes on, with every GLib critical
    fatal (a GSource destroyed before hiredis's cleanup once gave one per
    failed connect, and with fatal-criticals killed the master)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    red = PrivateRedis(tmp_path)
    red.start()
    q = wk.unique("outage")
    stream = "pp:q:" + q
    env = wk.env_for(services, redis_url=red.url)
    assert env["G_DEBUG"] == "fatal-criticals"
    w = Worker(tmp_path, env, [q], wk.unique("w"), concurrency=1)

    def job_runs(task, args):
        """Enqueues one job and waits until it was run and acknowledged (the
        ack is durable; events sent while a connection is away are not)."""
        r = wk.client(red.url)
        try:
            wk.enqueue_many(r, [wk.envelope(task, args, q)])
            pp.wait_for(lambda: r.xlen(stream) == 0 and r.xpending(stream, "workers")["pending"] == 0, 20, 0.1,
                        what=f"a {task} job to run after the outage")
        finally:
            r.close()

    try:
        for rnd in range(2):
            job_runs("ping", {})
            # Refused: each connection fails to connect several times over.
            log_before = w.log_text()
            red.stop()
            for what in ("command", "fetch"):
                pp.wait_for(lambda: w.log_text()[len(log_before):].count(f"redis ({what}): cannot connect") >= 3,
                            20, what=f"three failed connects of the {what} connection")
            assert w.alive()
            red.start()
            job_runs("ping", {})
            # Hung: connected sockets that never answer; the watchdog drops
            # them (an established context freed) and connects again.
            log_before = w.log_text()
            red.proc.signal(signal.SIGSTOP)
            try:
                pp.wait_for(lambda: "no reply in time; reconnecting" in w.log_text()[len(log_before):], 20,
                            what="the watchdog to drop a hung connection")
                assert w.alive()
            finally:
                red.proc.signal(signal.SIGCONT)
        job_runs("test.echo", {"after": "outages"})
        assert w.alive()
        log = w.log_text()
        assert "CRITICAL" not in log and "WARNING **" not in log, log[-3000:]
    finally:
        assert w.stop() == 0
        red.stop()
