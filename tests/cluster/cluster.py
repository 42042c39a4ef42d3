"""Simulated hosts for the cluster tests (issue 13, doc/scaling.md): Linux
network namespaces on a bridge of their own, each running its own real
servers. Only script/test-cluster runs this (root, minutes).

    with Cluster(tmp, pooler=False) as c:
        c.start()
        ...

Hosts (namespace ppc-NAME, address 10.213.0.X/24, eth0 on the bridge br0
of the namespace ppc-sw; the root namespace has no address on it, so all
traffic stays between these namespaces):

    lb     .10  nginx (FastCGI over TCP to api1..3), wrk
    api1-3 .11-.13  podcastpro-fcgi --listen 10.213.0.X:9000
    w1, w2 .21, .22 podcastpro-worker
    redis1 .31  Redis master (6379) + sentinel 1 (26379)
    redis2 .32  Redis replica (6379) + sentinel 2 (26379)
    redis3 .33  sentinel 3 (26379)
    pg1    .41  PostgreSQL primary (5432), PgBouncer (6432, transaction mode)
    pg2    .42  PostgreSQL streaming replica (pg_basebackup -R)

Everything is stopped by pid (then anything still in one of our
namespaces, from `ip netns pids`), and the namespaces deleted, on
stop(), whatever failed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import jwt  # noqa: E402
import pp  # noqa: E402
from servers import write_nginx_main  # noqa: E402

PREFIX = "ppc-"
NET = "10.213.0."
HOSTS = {"lb": 10, "api1": 11, "api2": 12, "api3": 13, "w1": 21, "w2": 22,
         "redis1": 31, "redis2": 32, "redis3": 33, "pg1": 41, "pg2": 42}
API_HOSTS = ["api1", "api2", "api3"]
WORKER_HOSTS = ["w1", "w2"]
SENTINEL_HOSTS = ["redis1", "redis2", "redis3"]
MASTER = "ppmaster"
SECRET = "cluster-test-secret-0123456789abcdef"
PG_BIN = sorted(os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql"))[-1]
NGINX_UPSTREAMS = os.path.join(pp.ROOT, "etc", "nginx", "podcast-pro-upstreams.conf")
DOCUMENT = b"# Cluster\n\nOne host died. Another carried on.\n"


def ip(host):
    return NET + str(HOSTS[host])


def run(argv, check=True, timeout=120, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


def ns(host):
    return PREFIX + host


def in_ns(host, argv):
    return ["ip", "netns", "exec", ns(host), *argv]


def as_postgres(argv):
    # setpriv execs (runuser would stay as a parent): the pid is the server's.
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]


def remove_namespaces():
    """Stops whatever still runs in one of our namespaces and deletes them."""
    out = run(["ip", "netns", "list"], check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]
    for name in names:
        pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
        for p in pids:
            try:
                os.kill(int(p), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    for name in names:
        run(["ip", "netns", "del", name], check=False)


class Cluster:
    def __init__(self, tmp, pooler=False, api_hosts=API_HOSTS, log=print):
        self.tmp = tempfile.mkdtemp(prefix="ppc-", dir="/tmp")
        os.chmod(self.tmp, 0o755)
        self.logs = str(tmp)
        self.pooler = pooler
        self.api_hosts = list(api_hosts)
        self.say = log
        self.procs = {}          # host -> [Proc]
        self.storage = os.path.join(self.tmp, "storage")
        os.makedirs(self.storage, mode=0o777)
        os.chmod(self.storage, 0o777)
        self.url = f"http://{ip('lb')}"
        self.redis_master = "redis1"
        self.db = "podcastpro"

    # ---- the network -------------------------------------------------
    def _network(self):
        remove_namespaces()
        run(["ip", "netns", "add", ns("sw")])
        run(["ip", "-n", ns("sw"), "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", ns("sw"), "link", "set", "br0", "up"])
        for host in HOSTS:
            run(["ip", "netns", "add", ns(host)])
            run(["ip", "-n", ns("sw"), "link", "add", "v-" + host, "type", "veth",
                 "peer", "name", "eth0", "netns", ns(host)])
            run(["ip", "-n", ns("sw"), "link", "set", "v-" + host, "master", "br0", "up"])
            run(["ip", "-n", ns(host), "addr", "add", ip(host) + "/24", "dev", "eth0"])
            run(["ip", "-n", ns(host), "link", "set", "eth0", "up"])
            run(["ip", "-n", ns(host), "link", "set", "lo", "up"])

    def link(self, host, up):
        """Plugs HOST's cable in or out (its switch port)."""
        run(["ip", "-n", ns("sw"), "link", "set", "v-" + host, "up" if up else "down"])

    def spawn(self, host, name, argv, env=None):
        log = os.path.join(self.tmp, f"{host}-{name}.log")
        p = pp.Proc(in_ns(host, argv), env=env, log=log, cwd=self.tmp)
        p.name = name
        self.procs.setdefault(host, []).append(p)
        return p

    # ---- PostgreSQL ----------------------------------------------------
    def _pg_start(self, host, data):
        # The unix socket outside the data directory: pg_basebackup would
        # copy the primary's lock file along.
        sock = os.path.join(os.path.dirname(data), "sock-" + host)
        os.makedirs(sock, exist_ok=True)
        shutil.chown(sock, "postgres", "postgres")
        return self.spawn(host, "postgres", as_postgres([
            os.path.join(PG_BIN, "postgres"), "-D", data, "-p", "5432", "-k", sock,
            "-c", f"listen_addresses={ip(host)}", "-c", "fsync=off", "-c", "max_connections=400",
            "-c", "hot_standby=on", "-c", "wal_level=replica"]))

    def _pg_ready(self, host):
        pp.wait_for(lambda: run(in_ns(host, ["pg_isready", "-q", "-h", ip(host), "-p", "5432"]),
                                check=False).returncode == 0, 60, 0.2, f"PostgreSQL on {host}")

    def psql(self, sql, host="pg1", db=None):
        r = run(in_ns(host, ["psql", f"postgresql://postgres@{ip(host)}:5432/{db or self.db}",
                             "-X", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql]))
        return r.stdout.strip()

    def _postgres(self):
        pgdir = os.path.join(self.tmp, "pg")
        os.makedirs(pgdir)
        shutil.chown(pgdir, "postgres", "postgres")
        primary = os.path.join(pgdir, "primary")
        run(as_postgres([os.path.join(PG_BIN, "initdb"), "-D", primary, "-A", "trust", "-U", "postgres",
                         "-E", "UTF8", "--no-sync"]), cwd="/")
        with open(os.path.join(primary, "pg_hba.conf"), "a") as f:
            f.write(f"host all all {NET}0/24 trust\nhost replication all {NET}0/24 trust\n")
        self._pg_start("pg1", primary)
        self._pg_ready("pg1")
        self.psql(f"CREATE DATABASE {self.db}", db="postgres")
        env = dict(os.environ, DATABASE_URL=self.primary_url())
        run(in_ns("pg1", [pp.binary("podcastpro-ctl"), "migrate", "--dir",
                          os.path.join(pp.ROOT, "migrations")]), env=env)
        replica = os.path.join(pgdir, "replica")
        run(in_ns("pg2", as_postgres([os.path.join(PG_BIN, "pg_basebackup"), "-h", ip("pg1"), "-p", "5432",
                                      "-U", "postgres", "-D", replica, "-R", "-X", "stream", "-c", "fast"])),
            cwd="/")
        self._pg_start("pg2", replica)
        self._pg_ready("pg2")
        # PgBouncer on the primary's host, transaction mode.
        bdir = os.path.join(self.tmp, "pgbouncer")
        os.makedirs(bdir)
        os.chmod(bdir, 0o777)
        ini = os.path.join(bdir, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write(f"""[databases]
* = host={ip('pg1')} port=5432 user=postgres
[pgbouncer]
listen_addr = {ip('pg1')}
listen_port = 6432
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 20
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits
""")
        self.spawn("pg1", "pgbouncer", ["/usr/sbin/pgbouncer", "-u", "postgres", ini])
        pp.wait_for(lambda: run(in_ns("pg1", ["pg_isready", "-q", "-h", ip("pg1"), "-p", "6432"]),
                                check=False).returncode == 0, 20, 0.2, "PgBouncer")

    def primary_url(self):
        return f"postgresql://postgres@{ip('pg1')}:5432/{self.db}?sslmode=disable"

    def app_db_url(self):
        port = 6432 if self.pooler else 5432
        return f"postgresql://postgres@{ip('pg1')}:{port}/{self.db}?sslmode=disable"

    def replica_url(self):
        return f"postgresql://postgres@{ip('pg2')}:5432/{self.db}?sslmode=disable"

    # ---- Redis and the sentinels -----------------------------------------
    def redis_cli(self, host, port, *args):
        return run(in_ns(host, ["redis-cli", "-h", ip(host), "-p", str(port), *args]), check=False,
                   timeout=10).stdout.strip()

    def _redis(self):
        rdir = os.path.join(self.tmp, "redis")
        os.makedirs(rdir)
        data = ["--port", "6379", "--save", "", "--appendonly", "no", "--dir", rdir,
                "--repl-diskless-sync-delay", "0", "--protected-mode", "no"]
        self.spawn("redis1", "redis", ["redis-server", "--bind", ip("redis1"), *data])
        pp.wait_for(lambda: self.redis_cli("redis1", 6379, "PING") == "PONG", 10, 0.1, "redis1")
        self.spawn("redis2", "redis", ["redis-server", "--bind", ip("redis2"), *data,
                                       "--replicaof", ip("redis1"), "6379"])
        pp.wait_for(lambda: "master_link_status:up" in self.redis_cli("redis2", 6379, "INFO", "replication"),
                    20, 0.1, "redis2 to sync")
        for host in SENTINEL_HOSTS:
            conf = os.path.join(rdir, f"sentinel-{host}.conf")
            with open(conf, "w") as f:
                f.write(f"port 26379\nbind {ip(host)}\ndir {rdir}\nprotected-mode no\n"
                        f"sentinel monitor {MASTER} {ip('redis1')} 6379 2\n"
                        f"sentinel down-after-milliseconds {MASTER} 1000\n"
                        f"sentinel failover-timeout {MASTER} 3000\n"
                        f"sentinel parallel-syncs {MASTER} 1\n")
            self.spawn(host, "sentinel", ["redis-server", conf, "--sentinel"])

        def known():
            for host in SENTINEL_HOSTS:
                info = self.redis_cli(host, 26379, "SENTINEL", "MASTER", MASTER).split("\n")
                d = dict(zip(info[::2], info[1::2]))
                if d.get("num-other-sentinels") != "2" or d.get("num-slaves") != "1":
                    return False
            return True
        pp.wait_for(known, 30, 0.2, "the sentinels to know each other and the replica")

    def sentinel_master(self):
        """The master's host as a majority of the sentinels names it, or None."""
        votes = {}
        for host in SENTINEL_HOSTS:
            out = self.redis_cli(host, 26379, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER).split("\n")
            if out and out[0].startswith(NET):
                votes[out[0]] = votes.get(out[0], 0) + 1
        best = max(votes.items(), key=lambda kv: kv[1], default=(None, 0))
        if best[1] < 2:
            return None
        return next(h for h in HOSTS if ip(h) == best[0])

    def redis(self, *args):
        """A command to the master of the moment."""
        return self.redis_cli(self.redis_master, 6379, *args)

    # ---- the programs ----------------------------------------------------------
    def env(self, **extra):
        env = dict(os.environ)
        for k in ("GOOGLE_API_KEY", "ELEVENLABS_API_KEY", "AWS_S3_BUCKET_NAME", "OPENAI_API_KEY"):
            env.pop(k, None)
        env.update({
            "DATABASE_URL": self.app_db_url(),
            "DATABASE_REPLICA_URL": self.replica_url(),
            "DB_REPLICA_MAX_LAG": "1",
            "REDIS_URL": "redis://127.0.0.1:1/0",
            "REDIS_SENTINELS": ",".join(f"{ip(h)}:26379" for h in SENTINEL_HOSTS),
            "REDIS_SENTINEL_MASTER": MASTER,
            "REDIS_TIMEOUT_MS": "300",
            "HEALTH_READY_TIMEOUT_MS": "1500",
            "SUPABASE_JWT_SECRET": SECRET,
            "STORAGE_DIR": self.storage,
            "STORAGE_SECRET": "storage-secret-for-the-cluster-0123456789",
            "PUBLIC_URL": self.url,
            "RATE_LIMIT_ENABLED": "false",
            "LOG_LEVEL": "info",
            "SHUTDOWN_TIMEOUT": "5",
            "DB_POOL_SIZE": "4",
            # The worker: quick reclaim and sweeps (the sweeper re-enqueues
            # the podcasts whose job a failover lost).
            "JOB_VISIBILITY_TIMEOUT": "4",
            "SWEEPER_INTERVAL": "2",
            "RETRY_BACKOFF": "0",
            "RETRY_BACKOFF_MAX": "1",
        })
        if self.pooler:
            env["DB_TRANSACTION_POOLER"] = "true"
        env.update(extra)
        return env

    def start_api(self, host):
        p = self.spawn(host, "fcgi", [pp.binary("podcastpro-fcgi"), "--listen", f"{ip(host)}:9000",
                                      "--processes", "2", "--threads", "2"], env=self.env())
        pp.wait_for(lambda: p.log_text().count("serving with") >= 2 or not p.alive(), 30, 0.1,
                    f"the responder on {host}")
        assert p.alive(), p.log_text()[-2000:]

    def start_worker(self, host):
        self.spawn(host, "worker", [pp.binary("podcastpro-worker"), "-Q", "podcasts,default", "-c", "2",
                                    "--hostname", host], env=self.env())

    def _site(self):
        """The shipped etc/nginx/podcast-pro-upstreams.conf with our
        addresses; API hosts not in self.api_hosts commented out."""
        with open(NGINX_UPSTREAMS) as f:
            site = f.read()
        # The shipped example's hosts are api1..3.example:9000.
        servers = [line for line in site.splitlines() if line.strip().startswith("server api")]
        assert len(servers) == 3, "the example names 3 API hosts"
        for line, host in zip(servers, API_HOSTS):
            new = line.replace(f"{host}.example:9000", f"{ip(host)}:9000")
            assert new != line
            if host not in self.api_hosts:
                new = "#" + new
            site = site.replace(line, new)
        site = site.replace("listen 80;", f"listen {ip('lb')}:80;").replace("listen [::]:80;", "")
        site = site.replace("/var/lib/podcast-pro/storage/", self.storage + "/")
        with open(os.path.join(self.tmp, "nginx", "site.conf"), "w") as f:
            f.write(site)

    def set_api_hosts(self, hosts):
        """nginx upstreams to HOSTS only (a reload; started ones keep running)."""
        self.api_hosts = list(hosts)
        for h in hosts:
            if not any(p.name == "fcgi" and p.alive() for p in self.procs.get(h, [])):
                self.start_api(h)
        self._site()
        nginx = next(p for p in self.procs["lb"] if p.name == "nginx")
        nginx.signal(signal.SIGHUP)
        # The old workers finish; the new ones answer with the new upstreams.
        time.sleep(2)

    def _nginx(self):
        d = os.path.join(self.tmp, "nginx")
        os.makedirs(d)
        os.chmod(d, 0o755)
        self._site()
        write_nginx_main(d, 4096)
        self.spawn("lb", "nginx", ["nginx", "-p", d, "-c", os.path.join(d, "nginx.conf"), "-e",
                                   os.path.join(d, "error.log")])
        pp.wait_for(lambda: self.get("/health")[0] == 200, 20, 0.2, "nginx on lb")

    def start(self):
        t0 = time.monotonic()
        self._network()
        self._postgres()
        self._redis()
        for h in self.api_hosts:
            self.start_api(h)
        for h in WORKER_HOSTS:
            self.start_worker(h)
        self._nginx()
        self.say(f"cluster up in {time.monotonic() - t0:.1f} s (pooler={self.pooler}, "
                 f"api hosts {','.join(self.api_hosts)})")
        return self

    # ---- HTTP from the load balancer host ------------------------------------
    def curl(self, method, path, token=None, body=None, timeout=10):
        argv = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-m", str(timeout), "-X", method]
        if token:
            argv += ["-H", "Authorization: Bearer " + token]
        if body is not None:
            argv += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
        r = run(in_ns("lb", [*argv, self.url + path]), check=False, timeout=timeout + 5)
        text, _, code = r.stdout.rpartition("\n")
        try:
            doc = json.loads(text) if text else None
        except ValueError:
            doc = None
        return int(code or 0), doc

    def get(self, path, token=None):
        return self.curl("GET", path, token)

    def user(self):
        """A user with a large quota and a document in storage: (token, url)."""
        sub = str(uuid.uuid4())
        now = int(time.time())
        token = jwt.encode({"sub": sub, "aud": "authenticated", "role": "authenticated", "iat": now,
                            "exp": now + 7200, "email": f"{sub[:8]}@example.com"}, SECRET, algorithm="HS256")
        status, _ = self.get("/podcasts/", token)
        assert status == 200, status
        self.psql(f"UPDATE users SET podcast_limit = 1000000 WHERE auth_user_id = '{sub}'")
        key = f"podcasts/{sub}/20261207_120000_cluster.md"
        path = os.path.join(self.storage, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(DOCUMENT)
        return token, f"{self.url}/uploads/local/{key}"

    def create(self, token, url):
        return self.curl("POST", "/podcasts/", token, {"original_file_url": url, "requirements": None})

    def first_enqueued(self, token, url, t0, timeout=30):
        """POSTs a podcast until one's row has its job_id at once (enqueued
        on a master, not left to the sweeper): (seconds since T0, podcasts
        made, the last one's id)."""
        made = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, doc = self.create(token, url)
            if status == 202:
                made += 1
                if self.psql(f"SELECT job_id IS NOT NULL FROM podcasts WHERE id = '{doc['id']}'") == "t":
                    return time.monotonic() - t0, made, doc["id"]
            time.sleep(0.05)
        raise AssertionError("no podcast enqueued on the new master")

    def restart_redis_as_replica(self, host):
        """Starts redis-server on HOST again, as a replica of the master of
        the moment; waits until it is synced and every sentinel sees it up."""
        self.procs[host] = [p for p in self.procs[host] if p.name != "redis" or p.alive()]
        rdir = os.path.join(self.tmp, "redis")
        self.spawn(host, "redis", ["redis-server", "--bind", ip(host), "--port", "6379", "--save", "",
                                   "--appendonly", "no", "--dir", rdir, "--repl-diskless-sync-delay", "0",
                                   "--protected-mode", "no", "--replicaof", ip(self.redis_master), "6379"])
        pp.wait_for(lambda: "master_link_status:up" in self.redis_cli(host, 6379, "INFO", "replication"),
                    20, 0.1, f"{host} to sync")

        def seen():
            # What Sentinel requires of a replica it may promote: not down,
            # its link to the master up, its INFO and PING replies fresh (else a failover
            # aborts with -failover-abort-no-good-slave and is retried
            # after twice failover-timeout).
            for s in SENTINEL_HOSTS:
                out = self.redis_cli(s, 26379, "SENTINEL", "REPLICAS", MASTER).split("\n")
                d = dict(zip(out[::2], out[1::2]))
                if (d.get("flags") != "slave" or d.get("master-link-status") != "ok" or
                        d.get("master-link-down-time") != "0" or int(d.get("info-refresh", "99999")) > 2000 or
                        int(d.get("last-ok-ping-reply", "99999")) > 1000):
                    return False
            return True
        pp.wait_for(seen, 30, 0.2, f"the sentinels to see {host} as a healthy replica")

    # ---- load: wrk on the load balancer host ---------------------------------
    def wrk(self, name, path, token, seconds, connections=2, delay_ms=0, body=None, threads=1):
        """Starts wrk; its Lua script counts answers by status. .wrk_result(p)
        reads them once it ended."""
        script = os.path.join(self.tmp, f"wrk-{name}.lua")
        with open(script, "w") as f:
            f.write(WRK_LUA.replace("@METHOD@", "POST" if body else "GET")
                    .replace("@TOKEN@", token).replace("@BODY@", json.dumps(body) if body else "")
                    .replace("@DELAY@", str(delay_ms)))
        log = os.path.join(self.tmp, f"lb-wrk-{name}.log")
        if os.path.exists(log):
            os.unlink(log)      # a previous run's counts
        return self.spawn("lb", "wrk-" + name, ["wrk", "-t", str(threads), "-c", str(connections),
                                                "-d", f"{seconds}s", "--timeout", "10s", "-s", script,
                                                self.url + path])

    @staticmethod
    def wrk_result(proc):
        proc.wait(120)
        text = proc.log_text()
        counts = {}
        for line in text.splitlines():
            if line.startswith("status "):
                _, code, n = line.split()
                counts[int(code)] = counts.get(int(code), 0) + int(n)
        rps = 0.0
        for line in text.splitlines():
            if line.startswith("Requests/sec:"):
                rps = float(line.split()[1])
        errors = 0
        for line in text.splitlines():
            if line.strip().startswith("Socket errors:"):
                errors = sum(int(x.split()[-1]) for x in line.split(":", 1)[1].split(","))
        return counts, rps, errors, text

    # ---- host failures -------------------------------------------------------------
    def kill_host(self, host):
        """kill -9 of every process of HOST, then its cable out."""
        for pid in run(["ip", "netns", "pids", ns(host)]).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs.get(host, []):
            p.wait(10)
        self.link(host, False)

    def kill_proc(self, host, name):
        for p in self.procs.get(host, []):
            if p.name == name and p.alive():
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(10)

    def worker_logs(self, *hosts):
        text = ""
        for h in hosts or WORKER_HOSTS:
            for p in self.procs.get(h, []):
                if p.name == "worker":
                    text += p.log_text()
        return text

    # ---- the end ---------------------------------------------------------------------
    def stop(self):
        for host, procs in self.procs.items():
            for p in reversed(procs):
                try:
                    if p.alive():
                        os.killpg(p.pid, signal.SIGKILL)
                        p.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        remove_namespaces()
        try:
            os.makedirs(self.logs, exist_ok=True)
            for name in os.listdir(self.tmp):
                if name.endswith(".log"):
                    shutil.copy(os.path.join(self.tmp, name), self.logs)
            if os.path.exists(os.path.join(self.tmp, "nginx", "error.log")):
                shutil.copy(os.path.join(self.tmp, "nginx", "error.log"), os.path.join(self.logs, "nginx-error.log"))
        except OSError:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# Counts the answers by status in each thread and prints "status CODE N"
# lines at the end; DELAY ms between one connection's requests.
WRK_LUA = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  counts = {}
  wrk.method = "@METHOD@"
  wrk.headers["Authorization"] = "Bearer @TOKEN@"
  if wrk.method == "POST" then
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = '@BODY@'
  end
end
function delay() return @DELAY@ end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    local c = t:get("counts")
    for code, n in pairs(c) do io.write(string.format("status %d %d\n", code, n)) end
  end
end
"""
