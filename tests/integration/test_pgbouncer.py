"""The responder and the worker behind PgBouncer in transaction mode
(issue 13, the deployment guide's Phase 3 pooler), with Debian's PgBouncer
1.18: DB_TRANSACTION_POOLER=true makes them run without named prepared
statements and without session settings; without it the pooler refuses
them (the options startup parameter), which the first test shows.

PgBouncer keeps 2 server connections for many clients, so consecutive
statements of one client land on different server connections: a named
prepared statement made on one is unknown on the next."""
import concurrent.futures
import os
import shutil
import subprocess
import uuid

import pytest

import pp
import workerkit as wk
from test_api_auth import ApiStack, Keys, claims, hs256

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
pytestmark = pytest.mark.skipif(not os.path.exists(PGBOUNCER),
                                reason="pgbouncer is not installed (script/lib.sh installs it)")


class PgBouncer(pp.Proc):
    """PgBouncer on a free loopback port, pool_mode=transaction, in front
    of the session's PostgreSQL for every database name."""

    def __init__(self, tmp, services, pool_size=2):
        base = services["DATABASE_URL"].split("://", 1)[1].split("/", 1)[0]   # user@host:port
        user, hostport = base.split("@", 1)
        host, port = hostport.rsplit(":", 1)
        self.dir = os.path.join(str(tmp), "pgbouncer")
        os.makedirs(self.dir, exist_ok=True)
        self.port = pp.free_port()
        ini = os.path.join(self.dir, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write(f"""[databases]
* = host={host} port={port} user={user}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
server_reset_query =
ignore_startup_parameters = extra_float_digits
""")
        argv = [PGBOUNCER, ini]
        if os.getuid() == 0:
            # PgBouncer will not run as root; as PostgreSQL's own user.
            os.chmod(self.dir, 0o755)
            argv = [PGBOUNCER, "-u", "postgres", ini]
        super().__init__(argv, log=os.path.join(self.dir, "pgbouncer.log"))
        pp.wait_port(self.port)

    def url(self, db):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}?sslmode=disable"


@pytest.fixture(scope="module")
def bouncer(services, tmp_path_factory):
    b = PgBouncer(tmp_path_factory.mktemp("pgbouncer"), services)
    yield b
    b.stop()


def stack_behind(bouncer, services, tmp, name, pooler):
    env = {"DATABASE_URL": bouncer.url(name), "DB_POOL_SIZE": "4"}
    if pooler:
        env["DB_TRANSACTION_POOLER"] = "true"
    return ApiStack(tmp, services, Keys(), name, env=env, processes=1, threads=4)


def test_without_the_setting_the_pooler_refuses_the_session_options(bouncer, services, tmp_path):
    stack = stack_behind(bouncer, services, tmp_path, "pp_bouncer_plain", pooler=False)
    try:
        status, _, body = stack.call("GET", "/podcasts/", hs256(claims()))
        assert status == 503, body
        assert "unsupported startup parameter" in stack.app.log_text()
    finally:
        stack.stop()


def test_api_and_worker_behind_pgbouncer_in_transaction_mode(bouncer, services, tmp_path):
    stack = stack_behind(bouncer, services, tmp_path, "pp_bouncer_api", pooler=True)
    worker = None
    try:
        # Each user may make one podcast (podcast_limit 1); many reads each.
        users = [str(uuid.uuid4()) for _ in range(8)]
        tokens = {u: hs256(claims(sub=u, email=f"{u[:8]}@example.com")) for u in users}

        def workload(user):
            token = tokens[user]
            url, _ = stack.upload(user, name="notes.md", data=b"# Notes\n\nPgBouncer pools connections.\n")
            status, _, body = stack.call("POST", "/podcasts/", token, {"original_file_url": url})
            assert status == 202, body
            for _ in range(5):
                status, _, got = stack.call("GET", f"/podcasts/{body['id']}", token)
                assert status == 200 and got["id"] == body["id"], got
                status, _, listed = stack.call("GET", "/podcasts/", token)
                assert status == 200 and [p["id"] for p in listed] == [body["id"]], listed
            status, _, again = stack.call("POST", "/podcasts/", token, {"original_file_url": url})
            assert status == 429, again   # the quota's locked read-check-insert, through the pooler
            return [(user, body["id"])]

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            kept = [p for ps in pool.map(workload, users) for p in ps]
        # Timestamps still in UTC and ISO 8601 without the session options.
        status, _, one = stack.call("GET", f"/podcasts/{kept[0][1]}", tokens[kept[0][0]])
        assert one["created_at"].endswith("+00:00"), one["created_at"]
        # The worker through the same pooler makes the podcasts.
        env = wk.env_for(services, DATABASE_URL=bouncer.url("pp_bouncer_api"), DB_TRANSACTION_POOLER="true",
                         REDIS_URL=stack.redis.url, STORAGE_DIR=stack.storage,
                         STORAGE_SECRET=stack.env["STORAGE_SECRET"], PUBLIC_URL=stack.url)
        worker = wk.Worker(tmp_path, env, ["podcasts", "default"], wk.unique("w"), concurrency=2)
        sample = kept[:3]

        def complete():
            return all(stack.call("GET", f"/podcasts/{p}", tokens[u])[2]["status"] == "complete"
                       for u, p in sample)
        pp.wait_for(complete, timeout=240, interval=1, what="podcasts made through PgBouncer")
    finally:
        if worker is not None:
            assert worker.stop(timeout=60) == 0
        stack.stop()


def test_migrate_refuses_a_transaction_pooler(services):
    env = dict(os.environ, DATABASE_URL=services["DATABASE_URL"], DB_TRANSACTION_POOLER="true")
    out = subprocess.run([pp.binary("podcastpro-ctl"), "migrate"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "session of their own" in out.stderr, out.stderr
    out = subprocess.run([pp.binary("podcastpro-ctl"), "migrate", "--status", "--dir",
                          os.path.join(pp.ROOT, "migrations")], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
