"""PostgreSQL read replicas (issue 13): a real streaming replica of the
session's PostgreSQL (pg_basebackup -R), DATABASE_REPLICA_URL pointing at
it, DB_REPLICA_MAX_LAG=1.

- Reads of a user who wrote nothing lately run on the replica (its
  statement log shows them).
- A user's own writes are visible to them at once, even while the
  replica's replay is paused: their reads go to the primary for
  DB_REPLICA_MAX_LAG + 2 s after the write.
- A replica lagging past the bound is not used; a podcast missing on it
  is asked of the primary.
- A stopped replica: reads go to the primary without an error."""
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

import pp
from test_api_auth import ApiStack, Keys, claims, hs256


def as_pg(argv, **kw):
    if os.getuid() == 0:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    return subprocess.run(argv, cwd="/", check=True, capture_output=True, text=True, timeout=120, **kw)


class Replica:
    def __init__(self, services):
        self.bin = services.get("PP_PG_BIN") or sorted(
            d for d in (os.path.join("/usr/lib/postgresql", v, "bin") for v in os.listdir("/usr/lib/postgresql")))[-1]
        primary_port = services.get("PP_PG_PORT") or services["DATABASE_URL"].split("@")[1].split("/")[0].rsplit(":", 1)[1]
        self.dir = tempfile.mkdtemp(prefix="pp-replica-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        os.chmod(self.dir, 0o755)
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = pp.free_port()
        as_pg([os.path.join(self.bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
               "-D", self.data, "-R", "-X", "stream", "-c", "fast"])
        self.log = os.path.join(self.dir, "replica.log")
        as_pg([os.path.join(self.bin, "pg_ctl"), "start", "-w", "-t", "60", "-D", self.data, "-l", self.log, "-o",
               f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c hot_standby=on "
               "-c log_min_duration_statement=0 -c max_connections=300"])

    def url(self, db):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}?sslmode=disable"

    def sql(self, db, text):
        out = subprocess.run(["psql", self.url(db), "-X", "-qAt", "-c", text], capture_output=True, text=True,
                             timeout=30)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        return out.stdout.strip()

    def statements(self, needle):
        with open(self.log, errors="replace") as f:
            return f.read().count(needle)

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            subprocess.run((["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []) +
                           [os.path.join(self.bin, "pg_ctl"), "stop", "-m", "immediate", "-w", "-D", self.data],
                           cwd="/", capture_output=True, timeout=60)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def replica(services):
    r = Replica(services)
    yield r
    r.destroy()


@pytest.fixture(scope="module")
def stack(services, replica, tmp_path_factory):
    name = "pp_replica_api"
    s = ApiStack(tmp_path_factory.mktemp("replica"), services, Keys(), name,
                 env={"DATABASE_REPLICA_URL": replica.url(name), "DB_REPLICA_MAX_LAG": "1"})
    # The database, created after the base backup, reaches the replica by WAL.
    pp.wait_for(lambda: replica.sql(name, "SELECT count(*) FROM pg_tables WHERE tablename = 'podcasts'") == "1",
                timeout=30, what="the schema on the replica")
    yield s
    s.stop()


def user():
    sub = str(uuid.uuid4())
    return sub, hs256(claims(sub=sub, email=f"{sub[:8]}@example.com"))


def seed_podcast(stack, sub):
    """A podcast written straight into the primary (no API write to note)."""
    owner = stack.db.sql("SELECT id FROM users WHERE auth_user_id = :'p0'", sub)
    pid = "01JREP" + uuid.uuid4().hex[:20].upper().replace("I", "J").replace("L", "K").replace("O", "P").replace("U", "V")
    stack.db.sql("INSERT INTO podcasts (id, owner_id, status, original_file_url, duration) "
                 "VALUES (:'p0', :'p1', 'complete', 'http://x/doc.pdf', 60)", pid, owner)
    return pid


def listed(stack, token):
    status, _, body = stack.call("GET", "/podcasts/", token)
    assert status == 200, body
    return [p["id"] for p in body]


def test_reads_run_on_a_fresh_replica(stack, replica):
    sub, token = user()
    assert listed(stack, token) == []          # makes the users row (on the primary)
    pid = seed_podcast(stack, sub)
    pp.wait_for(lambda: replica.sql(stack.db.name, f"SELECT count(*) FROM podcasts WHERE id = '{pid}'") == "1",
                timeout=10, what="the row on the replica")
    before = replica.statements("FROM podcasts")
    for _ in range(10):
        assert listed(stack, token) == [pid]
        status, _, got = stack.call("GET", f"/podcasts/{pid}", token)
        assert status == 200 and got["id"] == pid
    assert replica.statements("FROM podcasts") - before >= 20


def test_own_writes_are_seen_while_replay_is_paused_and_lag_past_the_bound_uses_the_primary(stack, replica):
    sub, token = user()
    assert listed(stack, token) == []
    url, _ = stack.upload(sub, name="doc.md", data=b"# A\n\nText.\n")
    replica.sql("postgres", "SELECT pg_wal_replay_pause()")
    try:
        status, _, made = stack.call("POST", "/podcasts/", token, {"original_file_url": url})
        assert status == 202, made
        # The replica has not got it; the user's reads go to the primary.
        assert replica.sql(stack.db.name, f"SELECT count(*) FROM podcasts WHERE id = '{made['id']}'") == "0"
        assert listed(stack, token) == [made["id"]]
        assert stack.call("GET", f"/podcasts/{made['id']}", token)[0] == 200
        # Another user's row, not noted as a write: once the paused replica
        # lags past DB_REPLICA_MAX_LAG, the primary answers their reads.
        other, other_token = user()
        assert listed(stack, other_token) == []
        seeded = seed_podcast(stack, other)
        time.sleep(2.5)
        assert listed(stack, other_token) == [seeded]
        # A podcast the replica lacks is asked of the primary.
        assert stack.call("GET", f"/podcasts/{seeded}", other_token)[0] == 200
    finally:
        replica.sql("postgres", "SELECT pg_wal_replay_resume()")


def test_a_stopped_replica_sends_reads_to_the_primary(stack, replica):
    sub, token = user()
    assert listed(stack, token) == []
    pid = seed_podcast(stack, sub)
    pp.wait_for(lambda: replica.sql(stack.db.name, f"SELECT count(*) FROM podcasts WHERE id = '{pid}'") == "1",
                timeout=10, what="the row on the replica")
    assert listed(stack, token) == [pid]       # pooled replica connections exist now
    replica.stop()
    for _ in range(10):
        assert listed(stack, token) == [pid]
        status, _, got = stack.call("GET", f"/podcasts/{pid}", token)
        assert status == 200 and got["id"] == pid
