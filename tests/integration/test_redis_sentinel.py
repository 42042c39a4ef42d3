"""Redis Sentinel (issue 13, doc/scaling.md): a real master, two replicas
and three sentinels (redis-server --sentinel, quorum 2) on loopback ports of
their own. The responder (through nginx), the worker and podcastpro-ctl
are given only REDIS_SENTINELS (REDIS_URL points nowhere: its host is not
used), and follow the master through kill -9 and a demotion.

Two workers in UTS namespaces of their own (unshare --uts, a host name
each) stand for two worker hosts: their names and `inspect stats` carry
the host, and one reclaims what the other, killed, held."""
import os
import random
import shutil
import subprocess
import threading
import time
import uuid

import pytest
import redis

import pp
import workerkit as wk
from servers import http_json
from test_api_auth import ApiStack, Keys, claims, hs256

REDIS_SERVER = shutil.which("redis-server")
MASTER = "ppmaster"
NOWHERE = "redis://127.0.0.1:1/0"     # REDIS_URL's host must not be used
# A podcast of a few seconds: many are made, under ASan, in a short test.
TINY_DOCUMENT = b"# Failover\n\nThe master died. A replica took over.\n"

pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
    pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                       reason="podcastpro-fcgi is not built in PP_BUILDDIR"),
]


class Node:
    """One redis-server (or sentinel) of ours, killed by pid."""

    def __init__(self, directory, name, args, password=None):
        self.name = name
        self.port = pp.free_port()
        self.password = password
        self.log_path = os.path.join(directory, name + ".log")
        self.proc = pp.Proc([REDIS_SERVER, *args(self.port)], log=self.log_path, cwd=directory)
        pp.wait_for(self._ping, 10, 0.05, f"{name} to answer")

    def client(self, **kw):
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           decode_responses=True, socket_timeout=2, **kw)

    def _ping(self):
        try:
            with self.client() as c:
                return c.ping()
        except redis.RedisError:
            return False

    def call(self, *args):
        with self.client() as c:
            return c.execute_command(*args)

    def kill9(self):
        self.proc.signal(9)
        self.proc.wait(5)

    def restart(self):
        """Starts it again on its port, with the same arguments."""
        self.proc = pp.Proc(self.proc.argv, log=self.log_path, cwd=os.path.dirname(self.log_path))
        pp.wait_for(self._ping, 10, 0.05, f"{self.name} to answer again")


class Sentinels:
    """A master, two replicas and three sentinels watching them as MASTER.
    .master is the master of the moment, .replicas the others: the tests
    keep them up to date as they fail over."""

    def __init__(self, directory, password=None):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.password = password
        data = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir,
                "--repl-diskless-sync-delay", "0"]
        self.master = Node(self.dir, "master", lambda p: ["--port", str(p), *data])
        self.replicas = [Node(self.dir, f"replica-{i}", lambda p: [
            "--port", str(p), *data, "--replicaof", "127.0.0.1", str(self.master.port)]) for i in range(2)]
        for r in self.replicas:
            pp.wait_for(lambda r=r: r.call("INFO", "replication").get("master_link_status") == "up",
                        10, 0.05, "the replicas to sync")
        self.sentinels = [self._sentinel(i) for i in range(3)]
        # A failover needs the quorum to know each other (hello messages
        # every 2 s) and the replicas.
        for s in self.sentinels:
            pp.wait_for(lambda s=s: self._master_info(s).get("num-other-sentinels") == "2" and
                        self._master_info(s).get("num-slaves") == "2", 20, 0.1,
                        f"{s.name} to know the other sentinels and the replicas")

    def _sentinel(self, i):
        conf = os.path.join(self.dir, f"sentinel-{i}.conf")

        def args(port):
            lines = [f"port {port}", "bind 127.0.0.1", f"dir {self.dir}",
                     f"sentinel monitor {MASTER} 127.0.0.1 {self.master.port} 2",
                     f"sentinel down-after-milliseconds {MASTER} 1000",
                     f"sentinel failover-timeout {MASTER} 3000",
                     f"sentinel parallel-syncs {MASTER} 1"]
            if self.password:
                lines.append(f"requirepass {self.password}")
            with open(conf, "w") as f:
                f.write("\n".join(lines) + "\n")
            return [conf, "--sentinel"]
        return Node(self.dir, f"sentinel-{i}", args, password=self.password)

    @staticmethod
    def _master_info(s):
        flat = s.call("SENTINEL", "MASTER", MASTER)
        if isinstance(flat, dict):
            return flat
        return dict(zip(flat[::2], flat[1::2]))

    @property
    def setting(self):
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def master_port(self):
        """The master's port as a majority of live sentinels names it, or None."""
        votes = {}
        for s in self.sentinels:
            if not s.proc.alive():
                continue
            try:
                addr = s.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
            except redis.RedisError:
                continue
            if addr:
                votes[int(addr[1])] = votes.get(int(addr[1]), 0) + 1
        best = max(votes.items(), key=lambda kv: kv[1], default=(None, 0))
        return best[0] if best[1] >= 2 else None

    def env(self):
        env = {"REDIS_URL": NOWHERE, "REDIS_SENTINELS": self.setting, "REDIS_SENTINEL_MASTER": MASTER}
        if self.password:
            env["REDIS_SENTINEL_PASSWORD"] = self.password
        return env

    def promoted(self):
        """Waits for the sentinels to name one of the replicas, and makes it
        .master; returns it."""
        ports = {r.port: r for r in self.replicas}
        port = pp.wait_for(lambda: (lambda p: p if p in ports else None)(self.master_port()), 30, 0.1,
                           "the sentinels to promote a replica")
        new = ports[port]
        self.replicas = [r for r in self.replicas if r is not new] + [self.master]
        self.master = new
        return new

    def stop(self):
        # SIGKILL: nothing here is worth keeping, and a master stopped
        # with SIGTERM waits up to 10 s for its replicas.
        for n in [*self.sentinels, *self.replicas, self.master]:
            n.proc.stop(5, sig=9)


class Stack:
    """Sentinels, the responder behind nginx, and the pipeline's worker, all
    on one database and one storage directory."""

    def __init__(self, services, tmp, name, sentinel_password=None, worker=True):
        self.tmp = str(tmp)
        self.cluster = Sentinels(os.path.join(self.tmp, "redis"), sentinel_password)
        env = dict(self.cluster.env(), REDIS_TIMEOUT_MS="300", HEALTH_READY_TIMEOUT_MS="1500")
        self.api = ApiStack(os.path.join(self.tmp, "api"), services, Keys(), name, env=env,
                            processes=2, threads=2)
        self.workers = []
        if worker:
            self.start_worker(services, "pp@" + name)

    def worker_env(self, services, **settings):
        env = wk.env_for(services, **self.cluster.env())
        env.update({
            "DATABASE_URL": self.api.db.url,
            "STORAGE_DIR": self.api.storage,
            "PUBLIC_URL": self.api.url,
            "SUPABASE_JWT_SECRET": "sentinel-test-secret-0123456789abcdef",
            "RETRY_BACKOFF": "0",
            "RETRY_BACKOFF_MAX": "1",
            "JOB_VISIBILITY_TIMEOUT": "4",
            "SWEEPER_INTERVAL": "2",
            "REDIS_TIMEOUT_MS": "300",
            "LOG_LEVEL": "info",
        })
        for k in ("GOOGLE_API_KEY", "ELEVENLABS_API_KEY", "AWS_S3_BUCKET_NAME"):
            env.pop(k, None)
        env.update({k: str(v) for k, v in settings.items()})
        return env

    def start_worker(self, services, name, concurrency=3, queues=("podcasts", "default"), **settings):
        w = wk.Worker(self.tmp, self.worker_env(services, **settings), list(queues), name,
                      concurrency=concurrency)
        self.workers.append(w)
        return w

    def user(self):
        sub = str(uuid.uuid4())
        token = hs256(claims(sub=sub, email=f"{sub[:8]}@example.com"))
        assert http_json(self.api.url + "/podcasts/", headers={"Authorization": "Bearer " + token})[0] == 200
        self.api.db.sql("UPDATE users SET podcast_limit = 100000 WHERE auth_user_id = :'p0'", sub)
        url, _ = self.api.upload(sub, name="tiny.md", data=TINY_DOCUMENT)
        return token, url

    def create(self, token, url, timeout=5.0):
        return http_json(self.api.url + "/podcasts/", method="POST", timeout=timeout,
                         body={"original_file_url": url, "requirements": None},
                         headers={"Authorization": "Bearer " + token})

    def ready(self, timeout=5.0):
        return http_json(self.api.url + "/health/ready", timeout=timeout)

    def unfinished(self):
        out = self.api.db.sql("SELECT id || ' ' || status || ' ' || coalesce(job_id, '-') FROM podcasts "
                              "WHERE status <> 'complete' ORDER BY id")
        return [line for line in out.splitlines() if line]

    def count(self):
        return int(self.api.db.sql("SELECT count(*) FROM podcasts"))

    def logs(self):
        return "\n".join([w.log_text()[-4000:] for w in self.workers] + [self.api.app.log_text()[-4000:]])

    def stop(self):
        try:
            for w in self.workers:
                assert w.stop() == 0, w.log_text()[-3000:]
        finally:
            self.api.stop()
            self.cluster.stop()


class Hammer(threading.Thread):
    """Creates a podcast every POST_EVERY seconds and asks /health/ready in
    between, recording (monotonic time, what, status or the exception)."""

    POST_EVERY = 0.5

    def __init__(self, stack, token, url):
        super().__init__(daemon=True)
        self.stack, self.token, self.url = stack, token, url
        self.results = []
        self.halt = threading.Event()

    def run(self):
        last_post = 0.0
        while not self.halt.is_set():
            now = time.monotonic()
            what = "post" if now - last_post >= self.POST_EVERY else "ready"
            try:
                if what == "post":
                    last_post = now
                    status = self.stack.create(self.token, self.url)[0]
                else:
                    status = self.stack.ready()[0]
            except Exception as e:   # a connection error is a failure too
                status = repr(e)
            self.results.append((time.monotonic(), what, status))
            time.sleep(0.02)

    def stop(self):
        self.halt.set()
        self.join(10)

    def first_ok_after(self, t, what="ready"):
        for at, w, status in self.results:
            if at >= t and w == what and status == 200:
                return at
        return None

    def summary(self):
        counts = {}
        for _, what, status in self.results:
            counts[(what, status)] = counts.get((what, status), 0) + 1
        return counts


def wait_all_complete(stack, timeout):
    try:
        pp.wait_for(lambda: not stack.unfinished(), timeout, 0.25, "every podcast to complete")
    except TimeoutError as e:
        raise AssertionError(f"{e}: {stack.unfinished()}\n{stack.logs()}") from None


def programs_env(services, **settings):
    env = dict(os.environ, DATABASE_URL=services["DATABASE_URL"], REDIS_URL=NOWHERE,
               SUPABASE_JWT_SECRET="sentinel-test-secret-0123456789abcdef")
    env.update(settings)
    return env


def test_bad_sentinels_setting_stops_all_three_programs(services, tmp_path):
    """Exit 78 (EX_CONFIG) and the setting named, before anything starts
    (tests/unit/test-sentinel.c tries every kind of bad list)."""
    env = programs_env(services, REDIS_SENTINELS="127.0.0.1:26379,127.0.0.1:notaport")
    why = '"127.0.0.1:notaport" is not host:port'
    for argv in ([pp.binary("podcastpro-fcgi"), "--listen", "unix:" + str(tmp_path / "s.sock")],
                 [pp.binary("podcastpro-worker")],
                 [pp.binary("podcastpro-ctl"), "inspect", "stats"]):
        res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        assert res.returncode == 78, (argv, res.stderr)
        assert "configuration: REDIS_SENTINELS: " in res.stderr and why in res.stderr, res.stderr
    res = subprocess.run([pp.binary("podcastpro-ctl"), "inspect", "stats"], capture_output=True, text=True,
                         env=programs_env(services, REDIS_SENTINELS="127.0.0.1:1",
                                          REDIS_SENTINEL_MASTER="two words"), timeout=30)
    assert res.returncode == 78 and "REDIS_SENTINEL_MASTER: " in res.stderr, res.stderr


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sentinel")
    os.chmod(tmp, 0o755)
    s = Stack(services, tmp, "pp_sentinel_" + uuid.uuid4().hex[:6], sentinel_password="sentinel-pw-123")
    yield s
    s.stop()


def test_ctl_finds_the_master_and_names_the_hosts_of_workers(stack, services):
    """podcastpro-ctl asks the (password-protected) sentinels; two workers on
    two hosts (UTS namespaces with host names of their own, default names
    pp@%h) share one queue: inspect names each one's host, and the one left
    alive reclaims the job the other held when it was killed."""
    if subprocess.run(["unshare", "--uts", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --uts is not permitted here (needs CAP_SYS_ADMIN)")
    q = wk.unique("hosts")
    env = stack.worker_env(services, JOB_VISIBILITY_TIMEOUT="3")
    bad = dict(env, REDIS_SENTINEL_PASSWORD="wrong")
    res = wk.ctl(bad, "inspect", "stats", check=False)
    assert res.returncode != 0 and "no sentinel named the master" in res.stderr, res.stderr
    hosts = {}
    for host in ("host-a", "host-b"):
        argv = ["unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host,
                pp.binary("podcastpro-worker"), "-Q", q, "-c", "1"]
        hosts[host] = pp.Proc(argv, env=env, log=os.path.join(stack.tmp, host + ".log"))
    r = stack.cluster.master.client()
    try:
        for host in hosts:
            state = wk.wait_state(r, "pp@" + host)
            assert state["hostname"] == host
        stats = wk.ctl(env, "inspect", "stats").stdout.splitlines()
        for host in hosts:
            assert any(l.startswith(f"pp@{host} host={host} ") for l in stats), stats
        # One long job: whoever takes it is killed; the other reclaims it.
        start = wk.last_event_id(r)
        job = wk.envelope("test.sleep", {"seconds": 3}, q)
        wk.enqueue_many(r, [job])
        started = wk.wait_event(r, start, job["id"], "started")
        holder = started["worker"].split("@", 1)[1]
        line = f"{started['worker']} {job['id']} test.sleep {q} attempt=1 host={holder} "
        # The state (with the active job) is published once a second.
        pp.wait_for(lambda: line in wk.ctl(env, "inspect", "active").stdout, 5, 0.2,
                    "inspect active to show the job and its host")
        hosts[holder].signal(9)
        hosts[holder].wait(5)
        other = "pp@" + next(h for h in hosts if h != holder)
        done = wk.wait_event(r, start, job["id"], "succeeded", timeout=20)
        assert done["worker"] == other
        started_by = [e["worker"] for e in wk.events_for(r, start, job["id"]) if e["event"] == "started"]
        assert started_by == [started["worker"], other], started_by
    finally:
        r.close()
        for p in hosts.values():
            p.stop(20)


def test_kill_9_master_responders_and_worker_follow(stack):
    """kill -9 of the master: while the sentinels promote a replica, the API
    answers only 2xx (a podcast is created, its job left for the sweeper
    while Redis is away) or 503 (/health/ready), never 500 or 502; after the
    promotion /health/ready is 200 again within seconds, with no restart,
    and every podcast created before, during and after completes."""
    token, url = stack.user()
    assert stack.ready()[0] == 200
    assert stack.create(token, url)[0] == 202
    wait_all_complete(stack, 30)
    hammer = Hammer(stack, token, url)
    hammer.start()
    try:
        time.sleep(1.0)
        stack.cluster.master.kill9()
        killed = time.monotonic()
        new_master = stack.cluster.promoted()
        promoted = time.monotonic()
        pp.wait_for(lambda: hammer.first_ok_after(promoted) is not None, 15, 0.05,
                    "/health/ready to answer 200 after the promotion")
        time.sleep(1.0)
    finally:
        hammer.stop()
    first_ok = hammer.first_ok_after(killed)
    counts = hammer.summary()
    print(f"\nsentinel failover: promoted {promoted - killed:.2f} s after kill -9, first 200 of "
          f"/health/ready {first_ok - killed:.2f} s after it ({first_ok - promoted:.2f} s after the "
          f"promotion); answers {sorted(counts.items(), key=str)}")
    bad = [(round(at - killed, 2), what, status) for at, what, status in hammer.results
           if status not in (200, 202, 503) or (what == "post" and status != 202)]
    assert not bad, bad
    assert counts.get(("ready", 503), 0) > 0, "the outage was not seen at all"
    assert first_ok - promoted < 5.0
    assert stack.api.app.proc.alive() and all(w.alive() for w in stack.workers)
    # The worker followed: connected to the promoted replica, no restart.
    log = stack.workers[0].log_text()
    assert f"redis (command): connected to 127.0.0.1:{new_master.port}" in log
    assert f"redis (fetch): connected to 127.0.0.1:{new_master.port}" in log
    # A job enqueued on the new master runs; so do those that died with the
    # old one (their rows are swept once 10 s old) and those it had
    # replicated.
    r = stack.create(token, url)
    assert r[0] == 202
    # And one the old master took but never replicated (too rare to make
    # happen on purpose): its row says enqueued, job_id and all, and no
    # stream has the job. The sweeper sees it was enqueued well before the
    # oldest job Redis still holds, and enqueues it again.
    lost = "".join(random.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(26))
    stack.api.db.sql("INSERT INTO podcasts (id, owner_id, status, original_file_url, duration, job_id, "
                     "enqueued_at, created_at) SELECT :'p0', owner_id, 'pending', original_file_url, 0, "
                     "'01KN0WNJ0B0NTHE0LDMASTER00', now() - interval '20 seconds', now() - interval '20 seconds' "
                     "FROM podcasts WHERE id = :'p1'", lost, r[2]["id"])
    wait_all_complete(stack, 40)
    assert f"podcast {lost} was enqueued but its job is not in Redis" in stack.workers[0].log_text()


def test_demoted_master_is_dropped_for_the_new_one(stack):
    """REPLICAOF on the master (not a sentinel's doing, so its clients stay
    connected): the responders' and the worker's next writes get READONLY;
    they drop the connection and ask the sentinels, who still name it; it
    says ROLE slave and is not used: /health/ready is 503 (PING alone would
    say 200), POST /podcasts/ 202 with the job left for the sweeper. After
    the sentinels fail over (SENTINEL FAILOVER: their own detection of a
    master turned replica takes 20 s), the writes go to the new master."""
    token, url = stack.user()
    # Every acceptor (2 processes x 2 threads) gets its Redis connection.
    for _ in range(20):
        assert stack.ready()[0] == 200
    old = stack.cluster.master
    old.call("REPLICAOF", "127.0.0.1", "1")   # read-only at once
    demoted = time.monotonic()
    for _ in range(3):
        # First: the acceptors' connections to it are still open, and PING
        # would pass on them.
        status, _, body = stack.ready()
        assert status == 503 and body["checks"]["redis"]["status"] == "down", body
        r = stack.create(token, url)
        assert r[0] == 202, r
        assert stack.api.db.sql("SELECT coalesce(job_id, '-') FROM podcasts WHERE id = :'p0'", r[2]["id"]) == "-"
        time.sleep(0.3)
    stack.cluster.sentinels[0].call("SENTINEL", "FAILOVER", MASTER)
    new = stack.cluster.promoted()
    pp.wait_for(lambda: stack.ready()[0] == 200, 10, 0.1, "/health/ready on the new master")
    print(f"\ndemotion: /health/ready 200 again {time.monotonic() - demoted:.2f} s after REPLICAOF")
    r = stack.create(token, url)
    assert r[0] == 202
    job = stack.api.db.sql("SELECT job_id FROM podcasts WHERE id = :'p0'", r[2]["id"])
    assert len(job) == 26, job
    # The worker saw it too: READONLY on a write, or (its blocked fetch is
    # disconnected by REPLICAOF) ROLE slave on reconnecting; then it went to
    # the new master.
    def since_demotion():
        log = stack.workers[0].log_text()
        cut = max(log.rfind("READONLY"), log.rfind("the server the sentinels named is not the master"))
        return log[cut:] if cut >= 0 else ""
    assert since_demotion(), stack.workers[0].log_text()[-3000:]
    pp.wait_for(lambda: f"redis (command): connected to 127.0.0.1:{new.port}" in since_demotion(), 10, 0.1,
                "the worker on the new master")
    # This job, and those left for the sweeper above, complete in the next
    # test (the sweeper wants rows 10 s old).


def test_no_sentinel_answering_is_503_not_500_and_nothing_is_lost(stack):
    """Every sentinel hung (SIGSTOP) and the master gone: /health/ready
    answers 503 within its budget, POST /podcasts/ still creates the row
    (202, left for the sweeper); nginx never gives up on the responder.
    Then the sentinels wake up and fail over, and every podcast of this
    module completes."""
    token, url = stack.user()
    for s in stack.cluster.sentinels:
        s.proc.signal(19)    # SIGSTOP: the kernel accepts connections, nothing answers
    try:
        stack.cluster.master.kill9()
        for _ in range(5):
            t = time.monotonic()
            status, _, body = stack.ready(timeout=10)
            took = time.monotonic() - t
            assert status == 503 and body["checks"]["redis"]["status"] == "down", body
            assert took < 2.5, took
        t = time.monotonic()
        r = stack.create(token, url, timeout=10)
        assert r[0] == 202 and time.monotonic() - t < 5.0, r
        assert stack.api.db.sql("SELECT coalesce(job_id, '-') FROM podcasts WHERE id = :'p0'", r[2]["id"]) == "-"
    finally:
        for s in stack.cluster.sentinels:
            s.proc.signal(18)   # SIGCONT
    stack.cluster.promoted()
    pp.wait_for(lambda: stack.ready()[0] == 200, 15, 0.1, "/health/ready after the sentinels woke up")
    wait_all_complete(stack, 40)
