"""podcastpro-ctl migrate: a fresh database, adopting the Python service's
database without touching its rows, idempotence, concurrent runs, --status,
failed and modified files."""
import hashlib
import os
import shutil
import subprocess
import uuid

import psycopg2
import pytest

import pp

MIGRATIONS = os.path.join(pp.ROOT, "migrations")

# The schema as SQLAlchemy's create_all() made it for the Python service:
# Python-side defaults only (no server defaults but created_at's now()).
SQLALCHEMY_SCHEMA = """
CREATE TABLE users (
	id VARCHAR(26) NOT NULL,
	email VARCHAR NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
	auth_user_id UUID NOT NULL,
	podcast_limit INTEGER,
	podcasts_created INTEGER,
	PRIMARY KEY (id),
	UNIQUE (auth_user_id)
);
CREATE INDEX ix_users_id ON users (id);
CREATE UNIQUE INDEX ix_users_email ON users (email);
CREATE TABLE podcasts (
	id VARCHAR(26) NOT NULL,
	status VARCHAR,
	original_file_url VARCHAR,
	final_podcast_url VARCHAR,
	created_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
	title VARCHAR,
	duration INTEGER,
	requirements VARCHAR,
	owner_id VARCHAR(26),
	PRIMARY KEY (id),
	FOREIGN KEY(owner_id) REFERENCES users (id)
);
CREATE INDEX ix_podcasts_id ON podcasts (id);
"""


def ctl_env(database_url, **extra):
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS")}
    env["DATABASE_URL"] = database_url
    env["MIGRATIONS_DIR"] = MIGRATIONS
    env.update(extra)
    return env


def ctl(database_url, *args, **extra):
    return subprocess.run([pp.binary("podcastpro-ctl"), *args], env=ctl_env(database_url, **extra),
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def db(services):
    """A fresh, empty database of its own; its URL."""
    name = "pp_migrate_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(services["DATABASE_URL"])
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    base, _, query = services["DATABASE_URL"].partition("?")
    url = base.rsplit("/", 1)[0] + "/" + name + ("?" + query if query else "")
    try:
        yield url
    finally:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def query(url, sql, args=None):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall() if cur.description else None
    conn.close()
    return rows


def indexes(url, table):
    return {name: definition for name, definition in
            query(url, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", (table,))}


def defaults(url, table):
    return dict(query(url, "SELECT column_name, column_default FROM information_schema.columns "
                           "WHERE table_name = %s", (table,)))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def only_0001(tmp_path):
    """A migrations directory holding 0001 alone: later files (other areas')
    add columns, and these tests check 0001's schema exactly."""
    d = tmp_path / "only-0001"
    d.mkdir()
    shutil.copy(os.path.join(MIGRATIONS, "0001_initial.sql"), d)
    return str(d)


def test_fresh_database(db, only_0001):
    r = ctl(db, "migrate", "--dir", only_0001)
    assert r.returncode == 0, r.stderr
    assert "applied 0001_initial.sql" in r.stdout
    cols = query(db, "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable "
                     "FROM information_schema.columns WHERE table_name IN ('users', 'podcasts') "
                     "ORDER BY table_name, ordinal_position")
    assert [c[1] for c in cols if c[0] == "users"] == [
        "id", "email", "created_at", "auth_user_id", "podcast_limit", "podcasts_created"]
    assert [c[1] for c in cols if c[0] == "podcasts"] == [
        "id", "status", "original_file_url", "final_podcast_url", "created_at", "title", "duration",
        "requirements", "owner_id"]
    types = {(c[0], c[1]): (c[2], c[3], c[4]) for c in cols}
    assert types[("users", "id")] == ("character varying", 26, "NO")
    assert types[("users", "auth_user_id")] == ("uuid", None, "NO")
    assert types[("users", "created_at")] == ("timestamp with time zone", None, "YES")
    assert types[("podcasts", "owner_id")] == ("character varying", 26, "YES")
    assert types[("podcasts", "duration")] == ("integer", None, "YES")
    d = defaults(db, "users")
    assert d["podcast_limit"] == "1" and d["podcasts_created"] == "0"
    assert defaults(db, "podcasts")["status"].startswith("'pending'")
    assert {"ix_users_id", "ix_users_email", "users_pkey", "users_auth_user_id_key"} <= set(indexes(db, "users"))
    assert {"ix_podcasts_id", "ix_podcasts_owner_id", "ix_podcasts_status"} <= set(indexes(db, "podcasts"))
    rows = query(db, "SELECT version, name, checksum, applied_at IS NOT NULL FROM schema_migrations")
    assert rows == [(1, "0001_initial.sql", sha256(os.path.join(MIGRATIONS, "0001_initial.sql")), True)]
    # The server defaults work for a client that leaves the columns out.
    query(db, "INSERT INTO users (id, email, auth_user_id) VALUES ('U1', 'a@example.com', %s)",
          (str(uuid.uuid4()),))
    assert query(db, "SELECT podcast_limit, podcasts_created FROM users") == [(1, 0)]


def test_adopts_python_database_unchanged(db, only_0001):
    query(db, SQLALCHEMY_SCHEMA)
    users = [("01HZX0000000000000000000A1", "ann@example.com", str(uuid.uuid4()), 1, 0),
             ("01HZX0000000000000000000B2", "bob@example.com", str(uuid.uuid4()), 5, 3),
             ("01HZX0000000000000000000C3", "cy@example.com", str(uuid.uuid4()), None, None)]
    for u in users:
        query(db, "INSERT INTO users (id, email, auth_user_id, podcast_limit, podcasts_created, created_at) "
                  "VALUES (%s, %s, %s, %s, %s, '2025-01-02 03:04:05.678901+00')", u)
    podcasts = [("01HZY0000000000000000000P1", "complete", "s3://b/in.pdf", "s3://b/out.mp3", "Title",
                 321, "short", users[0][0]),
                ("01HZY0000000000000000000P2", "failed", None, None, None, None, None, users[1][0]),
                ("01HZY0000000000000000000P3", None, None, None, "Ünïcødé ✓", 0, "x" * 5000, None)]
    for p in podcasts:
        query(db, "INSERT INTO podcasts (id, status, original_file_url, final_podcast_url, title, duration, "
                  "requirements, owner_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", p)
    before_users = query(db, "SELECT * FROM users ORDER BY id")
    before_podcasts = query(db, "SELECT * FROM podcasts ORDER BY id")
    before_ctid = query(db, "SELECT ctid::text, xmin::text FROM podcasts ORDER BY id")

    r = ctl(db, "migrate", "--dir", only_0001)
    assert r.returncode == 0, r.stderr
    assert "applied 0001_initial.sql" in r.stdout
    assert query(db, "SELECT * FROM users ORDER BY id") == before_users
    assert query(db, "SELECT * FROM podcasts ORDER BY id") == before_podcasts
    # Not even rewritten in place with the same values.
    assert query(db, "SELECT ctid::text, xmin::text FROM podcasts ORDER BY id") == before_ctid
    assert {"ix_podcasts_owner_id", "ix_podcasts_status"} <= set(indexes(db, "podcasts"))
    user_indexes = indexes(db, "users")
    # users(email) is served by SQLAlchemy's unique ix_users_email: no second index.
    assert [n for n, d in user_indexes.items() if d.endswith("(email)")] == ["ix_users_email"]
    assert defaults(db, "podcasts")["duration"] == "0"

    applied_at = query(db, "SELECT applied_at FROM schema_migrations")
    r = ctl(db, "migrate", "--dir", only_0001)
    assert r.returncode == 0, r.stderr
    assert "applied 0001" not in r.stdout
    assert "up to date" in r.stdout
    assert query(db, "SELECT applied_at FROM schema_migrations") == applied_at
    assert query(db, "SELECT * FROM users ORDER BY id") == before_users

    # Every shipped migration after it keeps the Python service's data too.
    r = ctl(db, "migrate")
    assert r.returncode == 0, r.stderr
    assert "applied 0001" not in r.stdout
    assert query(db, "SELECT * FROM users ORDER BY id") == before_users
    original = ("id, status, original_file_url, final_podcast_url, created_at, title, duration, "
                "requirements, owner_id")
    assert query(db, f"SELECT {original} FROM podcasts ORDER BY id") == before_podcasts


def test_concurrent_migrates_apply_each_file_once(db, tmp_path):
    shutil.copy(os.path.join(MIGRATIONS, "0001_initial.sql"), tmp_path)
    # A slow second file keeps the first run inside the lock while the other starts.
    (tmp_path / "0002_slow.sql").write_text("SELECT pg_sleep(1);\nCREATE TABLE slow_marker (n int);\n")
    argv = [pp.binary("podcastpro-ctl"), "migrate", "--dir", str(tmp_path)]
    procs = [subprocess.Popen(argv, env=ctl_env(db), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    joined = "".join(out for out, _ in outs)
    assert joined.count("applied 0001_initial.sql") == 1
    assert joined.count("applied 0002_slow.sql") == 1
    assert query(db, "SELECT version FROM schema_migrations ORDER BY version") == [(1,), (2,)]


def test_status_lists_applied_and_pending(db, tmp_path):
    shutil.copy(os.path.join(MIGRATIONS, "0001_initial.sql"), tmp_path)
    r = ctl(db, "migrate", "--status", "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["pending", "0001_initial.sql"]
    # --status changes nothing, not even schema_migrations.
    assert query(db, "SELECT to_regclass('schema_migrations') IS NULL") == [(True,)]

    assert ctl(db, "migrate", "--dir", str(tmp_path)).returncode == 0
    (tmp_path / "0002_more.sql").write_text("CREATE TABLE more_things (n int);\n")
    (tmp_path / "notes.txt").write_text("not a migration")
    r = ctl(db, "migrate", "--status", "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("applied  0001_initial.sql  20")
    assert lines[1] == "pending  0002_more.sql"


def test_failed_file_is_rolled_back(db, tmp_path):
    shutil.copy(os.path.join(MIGRATIONS, "0001_initial.sql"), tmp_path)
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE half_done (n int);\nSELECT 1/0;\n")
    r = ctl(db, "migrate", "--dir", str(tmp_path))
    assert r.returncode == 1
    assert "0002_broken.sql" in r.stderr and "division by zero" in r.stderr
    assert "applied 0001_initial.sql" in r.stdout
    assert query(db, "SELECT version FROM schema_migrations") == [(1,)]
    assert query(db, "SELECT to_regclass('half_done') IS NULL") == [(True,)]


def test_modified_applied_file_is_reported(db, tmp_path):
    shutil.copy(os.path.join(MIGRATIONS, "0001_initial.sql"), tmp_path)
    assert ctl(db, "migrate", "--dir", str(tmp_path)).returncode == 0
    with open(tmp_path / "0001_initial.sql", "a") as f:
        f.write("\nCREATE TABLE sneaky (n int);\n")
    (tmp_path / "0002_next.sql").write_text("CREATE TABLE next_thing (n int);\n")

    r = ctl(db, "migrate", "--dir", str(tmp_path))
    assert r.returncode == 1
    assert "0001_initial.sql" in r.stderr and "changed" in r.stderr
    # Nothing else is applied while the history disagrees with the files.
    assert query(db, "SELECT to_regclass('next_thing') IS NULL, to_regclass('sneaky') IS NULL") == [(True, True)]

    r = ctl(db, "migrate", "--status", "--dir", str(tmp_path))
    assert r.returncode == 1
    assert "CHANGED  0001_initial.sql" in r.stdout
    assert "pending  0002_next.sql" in r.stdout


def test_needs_database_url_but_no_jwt_secret(db):
    env = ctl_env(db)
    del env["DATABASE_URL"]
    r = subprocess.run([pp.binary("podcastpro-ctl"), "migrate"], env=env, capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 78
    assert "DATABASE_URL" in r.stderr
    assert "SUPABASE_JWT_SECRET" not in r.stderr


def test_unreachable_database_fails(tmp_path):
    port = pp.free_port()
    r = ctl(f"postgresql://postgres@127.0.0.1:{port}/x?sslmode=disable", "migrate")
    assert r.returncode == 1
    assert "cannot connect to the database" in r.stderr
