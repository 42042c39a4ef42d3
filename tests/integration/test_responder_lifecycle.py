"""The responder's processes over time: kill -9 under load, SIGTERM drain,
SIGHUP rolling reload, PostgreSQL restarted or hung under load."""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

import pp
from servers import Nginx, Responder, children_of, http, http_json, pid_alive, stop_all


class Load:
    """THREADS clients requesting URL in a loop until stop(); each result is
    (monotonic time, status or error text, seconds taken)."""

    def __init__(self, url, threads=6, timeout=30.0):
        self.url = url
        self.timeout = timeout
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                status, _, _ = http(self.url, timeout=self.timeout)
            except OSError as e:
                status = repr(e)
            with self._lock:
                self.results.append((t, status, time.monotonic() - t))

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.results

    def count(self):
        with self._lock:
            return len(self.results)

    def failures(self):
        with self._lock:
            return [r for r in self.results if r[1] != 200]


def test_kill9_under_load_loses_only_requests_in_flight(tmpdir_world, services):
    threads = 2
    app = Responder.listen(tmpdir_world, services, processes=2, threads=threads)
    web = Nginx(tmpdir_world, app.socket, keepalive=app.acceptors - 1)
    load = None
    try:
        load = Load(web.url + "/_test/sleep?ms=20", threads=6).start()
        pp.wait_for(lambda: load.count() > 50, 20, what="load to run")
        victim = app.pids()[0]
        os.kill(victim, signal.SIGKILL)
        # The supervisor replaces it.
        app.wait_processes(2, exclude=[victim], timeout=15)
        new = [p for p in app.pids() if p != victim]
        assert len(new) == 2 and victim not in app.pids()
        served = load.count()
        pp.wait_for(lambda: load.count() > served + 50, 20, what="load after the respawn")
        results = load.stop()
        load = None
        failed = [r for r in results if r[1] != 200]
        # Only requests the killed process held can fail: one per thread.
        assert len(failed) <= threads, failed
        assert len(results) - len(failed) > 100
        log = app.log_text()
        assert f"process {victim} was killed by signal 9" in log

        # A process that dies young is replaced after a growing delay.
        young = app.pids()[0]
        os.kill(young, signal.SIGKILL)
        app.wait_processes(2, exclude=[young], timeout=15)
        younger = [p for p in app.pids() if p not in new][0]
        os.kill(younger, signal.SIGKILL)
        app.wait_processes(2, exclude=[young, younger], timeout=15)
        log = app.log_text()
        assert "replacing it in 100 ms" in log and "replacing it in 200 ms" in log
        assert http_json(web.url + "/health")[0] == 200
    finally:
        if load is not None:
            load.stop()
        stop_all(web, app)


def test_sigterm_drains_requests_in_flight(tmpdir_world, services):
    app = Responder.listen(tmpdir_world, services, processes=2, threads=2,
                           env={"SHUTDOWN_TIMEOUT": "10"})
    web = Nginx(tmpdir_world, app.socket, keepalive=app.acceptors - 1)
    try:
        workers = app.pids()
        outcome = {}

        def slow():
            outcome["result"] = http_json(web.url + "/_test/sleep?ms=2000", timeout=20)
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.7)   # the request is in a handler by now
        started = time.monotonic()
        app.proc.signal(signal.SIGTERM)
        t.join(20)
        status, _, doc = outcome["result"]
        assert status == 200 and doc["slept_ms"] == 2000
        assert app.proc.wait(20) == 0
        assert time.monotonic() - started < 10
        assert not any(pid_alive(p) for p in workers)
        assert not os.path.exists(app.socket)
        log = app.log_text()
        assert log.count("stopped") >= 3, log   # both processes and the supervisor
    finally:
        stop_all(web, app)


def test_sigterm_drain_is_bounded(tmpdir_world, services):
    app = Responder.listen(tmpdir_world, services, processes=1, threads=2,
                           env={"SHUTDOWN_TIMEOUT": "1"})
    web = Nginx(tmpdir_world, app.socket, keepalive=1)
    try:
        outcome = {}

        def slow():
            outcome["status"] = http(web.url + "/_test/sleep?ms=8000", timeout=20)[0]
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.7)
        started = time.monotonic()
        app.proc.signal(signal.SIGTERM)
        assert app.proc.wait(15) == 0
        assert time.monotonic() - started < 6
        t.join(20)
        assert outcome["status"] != 200
        assert "still running after SHUTDOWN_TIMEOUT" in app.log_text()
    finally:
        stop_all(web, app)


def test_sighup_rolls_processes_without_errors(tmpdir_world, services):
    envfile = tmpdir_world / "pp.env"
    envfile.write_text('CORS_ORIGINS=["https://old.example"]\n')
    env = {k: v for k, v in os.environ.items()}
    app = Responder.listen(tmpdir_world, services, processes=2, threads=2,
                           args=("--env-file", str(envfile)))
    # The file must be the source of CORS_ORIGINS: the environment wins.
    assert "CORS_ORIGINS" not in env
    web = Nginx(tmpdir_world, app.socket, keepalive=app.acceptors - 1)
    load = None
    try:
        before = app.pids()
        h = http(web.url + "/health", headers={"Origin": "https://new.example"})[1]
        assert "access-control-allow-origin" not in h
        load = Load(web.url + "/health", threads=4).start()
        pp.wait_for(lambda: load.count() > 50, 20, what="load to run")
        envfile.write_text('CORS_ORIGINS=["https://new.example"]\n')
        app.proc.signal(signal.SIGHUP)
        pp.wait_for(lambda: "every process runs the new configuration" in app.log_text(), 30,
                    what="the rolling reload")
        served = load.count()
        pp.wait_for(lambda: load.count() > served + 50, 20, what="load after the reload")
        results = load.stop()
        load = None
        assert [r for r in results if r[1] != 200] == []
        after = app.pids()
        assert len(after) == 2 and not set(after) & set(before)
        h = http(web.url + "/health", headers={"Origin": "https://new.example"})[1]
        assert h.get("access-control-allow-origin") == "https://new.example"

        # A configuration with problems is refused; the processes stay.
        envfile.write_text("DB_POOL_SIZE=zero\n")
        app.proc.signal(signal.SIGHUP)
        pp.wait_for(lambda: "keeping the current one" in app.log_text(), 20, what="refusal")
        assert "DB_POOL_SIZE" in app.log_text()
        time.sleep(0.5)
        assert app.pids() == after
        assert http_json(web.url + "/health")[0] == 200
    finally:
        if load is not None:
            load.stop()
        stop_all(web, app)


@pytest.fixture(scope="module")
def private_pg():
    """A PostgreSQL (and Redis) of our own, to stop, hang and restart."""
    tmp = tempfile.mkdtemp(prefix="pp-fcgi-pg-")
    os.chmod(tmp, 0o755)
    env = dict(os.environ, PP_PG_FSYNC="off")
    subprocess.run([os.path.join(pp.ROOT, "script", "services"), "start", tmp], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    try:
        yield dict(pp.read_env_file(os.path.join(tmp, "env")), DIR=tmp)
    finally:
        subprocess.run([os.path.join(pp.ROOT, "script", "services"), "stop", tmp], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def _as_pg(argv):
    if os.getuid() == 0:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _pg_ctl(pg, action):
    data, port = pg["PP_PG_DATA"], pg["PP_PG_PORT"]
    argv = [os.path.join(pg["PP_PG_BIN"], "pg_ctl"), action, "-w", "-t", "60", "-D", data]
    if action == "stop":
        argv += ["-m", "fast"]
    else:
        argv += ["-l", os.path.join(data, "server.log"), "-o",
                 f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"]
    _as_pg(argv)


def _postmaster_pid(pg):
    with open(os.path.join(pg["PP_PG_DATA"], "postmaster.pid")) as f:
        return int(f.readline())


def test_postgres_restart_under_load(tmpdir_world, private_pg):
    app = Responder.listen(tmpdir_world, private_pg, processes=2, threads=2,
                           env={"HEALTH_READY_TIMEOUT_MS": "2000"})
    web = Nginx(tmpdir_world, app.socket, keepalive=app.acceptors - 1)
    load = None
    try:
        before = app.pids()
        assert http_json(web.url + "/health/ready")[0] == 200
        load = Load(web.url + "/health/ready", threads=3).start()
        pp.wait_for(lambda: load.count() > 10, 20, what="load to run")
        _pg_ctl(private_pg, "stop")
        down_at = time.monotonic()
        status, _, doc = pp.wait_for(
            lambda: (lambda r: r if r[0] == 503 else None)(http_json(web.url + "/health/ready")),
            10, what="503 while PostgreSQL is down")
        assert doc["status"] == "not_ready"
        assert doc["checks"]["database"]["status"] == "down"
        assert doc["checks"]["redis"]["status"] == "up"
        assert time.monotonic() - down_at < 8
        time.sleep(1)
        _pg_ctl(private_pg, "start")
        up_at = time.monotonic()
        pp.wait_for(lambda: http_json(web.url + "/health/ready")[0] == 200, 15,
                    what="200 after PostgreSQL is back")
        assert time.monotonic() - up_at < 10
        time.sleep(1)
        results = load.stop()
        load = None
        # Every answer was 200 or 503, each within the readiness budget.
        assert {r[1] for r in results} <= {200, 503}, {r[1] for r in results}
        assert max(r[2] for r in results) < 2.0 + 2.0
        recent = [r for r in results if r[0] > up_at + 5]
        assert all(r[1] == 200 for r in recent)
        # Nothing was restarted to get there.
        assert app.pids() == before
        assert http_json(web.url + "/health")[0] == 200
    finally:
        if load is not None:
            load.stop()
        stop_all(web, app)


def _signal_each(pids, sig):
    """Signals each pid; a short-lived backend may have ended meanwhile."""
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def test_ready_answers_in_time_when_postgres_hangs(tmpdir_world, private_pg):
    app = Responder.listen(tmpdir_world, private_pg, processes=1, threads=2,
                           env={"HEALTH_READY_TIMEOUT_MS": "1500"})
    web = Nginx(tmpdir_world, app.socket, keepalive=1)
    stopped = []
    try:
        assert http_json(web.url + "/health/ready")[0] == 200
        master = _postmaster_pid(private_pg)
        stopped = [master] + children_of(master)
        _signal_each(stopped, signal.SIGSTOP)
        for _ in range(2):   # a pooled connection, then a new one
            t = time.monotonic()
            status, _, doc = http_json(web.url + "/health/ready", timeout=20)
            took = time.monotonic() - t
            assert status == 503 and doc["checks"]["database"]["status"] == "down"
            assert took < 1.5 + 1.5, f"/health/ready took {took:.1f} s"
        # Liveness never touches the database.
        assert http_json(web.url + "/health", timeout=5)[0] == 200
        _signal_each(stopped, signal.SIGCONT)
        stopped = []
        pp.wait_for(lambda: http_json(web.url + "/health/ready")[0] == 200, 20,
                    what="ready after PostgreSQL resumes")
    finally:
        _signal_each(stopped, signal.SIGCONT)
        stop_all(web, app)
