"""The generation pipeline end to end (issue 6) with the offline providers
(the builtin writer, espeak-ng): a real worker, a real PostgreSQL database
of our own, local storage in a temp dir. test_pipeline_providers.py drives
the same pipeline against the Gemini and ElevenLabs stubs; the helpers
below serve both."""
import hashlib
import json
import os
import random
import shutil
import subprocess
import time
import uuid
import wave

import psycopg2
import pytest

import pp
import workerkit as wk
from workerkit import Worker

DATA = os.path.join(pp.ROOT, "tests", "data")
STAGES = ["pending", "fetching", "extracting", "writing", "voicing", "mixing", "uploading", "complete"]
PUBLIC_URL = "http://127.0.0.1:8080"
PAUSE_SPEAKER, PAUSE_SAME = 0.450, 0.150     # jobs/pipeline/audio.h
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id():
    return "".join(random.choice(CROCKFORD) for _ in range(26))


class Pipeline:
    """A private database (migrated), a private Redis db number, a storage
    directory, and helpers to create podcasts and run a worker on them."""

    def __init__(self, services, tmp):
        self.services = services
        self.tmp = str(tmp)
        self.storage = os.path.join(self.tmp, "storage")
        os.makedirs(self.storage, exist_ok=True)
        self.dbname = "pp_pipeline_" + uuid.uuid4().hex[:8]
        admin = psycopg2.connect(services["DATABASE_URL"])
        admin.autocommit = True
        with admin.cursor() as c:
            c.execute(f'CREATE DATABASE "{self.dbname}"')
        admin.close()
        base = services["DATABASE_URL"]
        head, _, query = base.partition("?")
        self.db_url = head.rsplit("/", 1)[0] + "/" + self.dbname + ("?" + query if query else "")
        self.redis_url = services["REDIS_URL"].rsplit("/", 1)[0] + "/9"
        self.r = wk.client(self.redis_url)
        self.r.flushdb()
        self.env = self.worker_env()
        res = subprocess.run([pp.binary("podcastpro-ctl"), "migrate"], env=self.env,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        self.db = psycopg2.connect(self.db_url)
        self.db.autocommit = True
        self.workers = []

    def worker_env(self, **settings):
        env = wk.env_for(self.services, redis_url=self.redis_url, **settings)
        env.update({
            "DATABASE_URL": self.db_url,
            "MIGRATIONS_DIR": os.path.join(pp.ROOT, "migrations"),
            "STORAGE_DIR": self.storage,
            "PUBLIC_URL": PUBLIC_URL,
            "SUPABASE_JWT_SECRET": "pipeline-test-secret-0123456789abcdef",
            "RETRY_BACKOFF": "0",
            "JOB_VISIBILITY_TIMEOUT": "4",
        })
        for k in ("GOOGLE_API_KEY", "ELEVENLABS_API_KEY", "AWS_S3_BUCKET_NAME", "OPENAI_API_KEY",
                  "OPENAI_BASE_URL", "SCRIPT_WRITER", "VOICE_PROVIDER"):
            env.pop(k, None)
        env.update({k: str(v) for k, v in settings.items()})
        return env

    def close(self):
        for w in self.workers:
            w.stop()
        self.db.close()
        self.r.flushdb()
        self.r.close()
        admin = psycopg2.connect(self.services["DATABASE_URL"])
        admin.autocommit = True
        with admin.cursor() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        admin.close()

    def sql(self, query, *params):
        with self.db.cursor() as c:
            c.execute(query, params)
            return c.fetchall() if c.description else None

    def user(self):
        uid = new_id()
        self.sql("INSERT INTO users (id, email, auth_user_id, podcast_limit, podcasts_created) "
                 "VALUES (%s, %s, %s, 100, 0)", uid, f"{uid.lower()}@example.com", str(uuid.uuid4()))
        return uid

    def podcast(self, document, name=None, requirements=None, owner=None):
        """Puts DOCUMENT (a tests/data file name, or bytes with NAME) in
        storage as an upload would and writes the podcast row."""
        owner = owner or self.user()
        if isinstance(document, str):
            name = name or document
            with open(os.path.join(DATA, document), "rb") as f:
                document = f.read()
        key = f"podcasts/{owner.lower()}/20261128_120000_{name}"
        path = os.path.join(self.storage, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(document)
        pid = new_id()
        self.sql("INSERT INTO podcasts (id, owner_id, status, original_file_url, requirements, duration) "
                 "VALUES (%s, %s, 'pending', %s, %s, 0)", pid, owner,
                 f"{PUBLIC_URL}/uploads/local/{key}", requirements)
        return pid

    def enqueue(self, pid):
        wk.enqueue_many(self.r, [wk.envelope("podcast.generate", {"podcast_id": pid}, "podcasts")])

    def start_worker(self, concurrency=1, **settings):
        w = Worker(self.tmp, self.worker_env(**settings), ["podcasts"], wk.unique("pipeline"),
                   concurrency=concurrency)
        self.workers.append(w)
        return w

    def row(self, pid):
        rows = self.sql("SELECT status, stage, progress, error, attempts, title, duration, "
                        "final_podcast_url, transcript, owner_id FROM podcasts WHERE id = %s", pid)
        keys = ["status", "stage", "progress", "error", "attempts", "title", "duration",
                "final_podcast_url", "transcript", "owner_id"]
        return dict(zip(keys, rows[0]))

    def wait_done(self, pid, timeout=90.0, seen=None):
        """Polls until the podcast is complete or failed; SEEN collects
        every (status, stage, progress) observed on the way."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.row(pid)
            if seen is not None and (not seen or seen[-1] != (row["status"], row["stage"], row["progress"])):
                seen.append((row["status"], row["stage"], row["progress"]))
            if row["status"] in ("complete", "failed"):
                return row
            time.sleep(0.05)
        logs = "\n".join(w.log_text()[-3000:] for w in self.workers)
        raise TimeoutError(f"podcast {pid} still {self.row(pid)}\n{logs}")

    def created(self, owner):
        return self.sql("SELECT podcasts_created FROM users WHERE id = %s", owner)[0][0]

    def mp3_path(self, pid):
        return os.path.join(self.storage, "podcasts", f"podcast_{pid}.mp3")


def assert_forward_only(seen):
    """Stage and progress never go back; status never shows 'failed' before the end."""
    for (s1, st1, p1), (s2, st2, p2) in zip(seen, seen[1:]):
        assert STAGES.index(st2) >= STAGES.index(st1), seen
        assert p2 >= p1, seen
        assert s1 != "failed", seen


def decode_seconds(path):
    """Decodes the whole MP3 with the mpg123 CLI: (seconds, stderr). A
    damaged frame shows up on stderr or in the exit status."""
    if not shutil.which("mpg123"):
        pytest.skip("the mpg123 CLI is not installed (Debian package mpg123)")
    res = subprocess.run(["mpg123", "-q", "--mono", "-r", "44100", "-e", "s16", "-s", path],
                         capture_output=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return len(res.stdout) / 2 / 44100.0, res.stderr.decode(errors="replace")


def pauses(lines):
    total = 0.0
    for a, b in zip(lines, lines[1:]):
        total += PAUSE_SAME if a["speaker"] == b["speaker"] else PAUSE_SPEAKER
    return total


@pytest.fixture
def pipe(services, tmp_path):
    p = Pipeline(services, tmp_path)
    yield p
    p.close()


def espeak_cache_key(voice, text):
    h = hashlib.sha256(b"espeak\0" + voice.encode() + b"\0espeak-ng\0" + text.encode()).hexdigest()
    return f"cache/voice/{h}.wav"


def test_offline_pdf_becomes_mp3_of_the_right_length(pipe):
    owner = pipe.user()
    pid = pipe.podcast("sample.pdf", owner=owner)
    pipe.start_worker()
    seen = []
    pipe.enqueue(pid)
    row = pipe.wait_done(pid, seen=seen)
    assert row["status"] == "complete", row
    assert row["stage"] == "complete" and row["progress"] == 100 and row["error"] is None
    assert row["final_podcast_url"] == f"{PUBLIC_URL}/uploads/local/podcasts/podcast_{pid}.mp3"
    assert row["title"] == "Lighthouses and the Light They Keep"
    assert_forward_only(seen)
    assert pipe.created(owner) == 1

    lines = row["transcript"]["lines"]
    assert len(lines) >= 20
    assert {l["speaker"] for l in lines} == {"Dorothy", "Will"}

    # Sum of the parts: every line's cached clip, plus the pauses between lines.
    parts = 0.0
    voices = {"Dorothy": "en-us+f3", "Will": "en-gb+m3"}
    for l in lines:
        with wave.open(os.path.join(pipe.storage, espeak_cache_key(voices[l["speaker"]], l["text"]))) as w:
            parts += w.getnframes() / w.getframerate()
    expected = parts + pauses(lines)
    seconds, errors = decode_seconds(pipe.mp3_path(pid))
    assert errors == ""
    assert abs(seconds - expected) <= 0.02 * expected, (seconds, expected)
    assert abs(row["duration"] - seconds) <= 1, (row["duration"], seconds)
    # The MP3's size, recorded with it for the private feed (doc/feeds.md).
    assert pipe.sql("SELECT audio_bytes FROM podcasts WHERE id = %s", pid)[0][0] == \
        os.path.getsize(pipe.mp3_path(pid))

    # A second delivery of the same job changes nothing and counts nothing.
    mtime = os.stat(pipe.mp3_path(pid)).st_mtime
    start = wk.last_event_id(pipe.r)
    pipe.enqueue(pid)
    pp.wait_for(lambda: any(e["event"] == "succeeded" for e in wk.events_since(pipe.r, start)), 30,
                what="the duplicate to finish")
    assert pipe.created(owner) == 1
    assert pipe.row(pid)["status"] == "complete"
    assert os.stat(pipe.mp3_path(pid)).st_mtime == mtime


@pytest.mark.parametrize("document,message", [
    ("empty.pdf", "The document contains no extractable text"),
    ("encrypted.pdf", "The PDF is encrypted"),
    ("not-a-pdf.pdf", "The file is not a readable PDF"),
    ("image.png", "Unsupported document type"),
])
def test_bad_documents_fail_at_once_with_their_reason(pipe, document, message):
    pid = pipe.podcast(document)
    pipe.start_worker(RETRY_MAX=3)
    pipe.enqueue(pid)
    row = pipe.wait_done(pid, timeout=30)
    assert row["status"] == "failed"
    assert row["error"] == message
    assert row["attempts"] == 1          # permanent: no retry
    assert row["stage"] == "extracting"
    assert not os.path.exists(pipe.mp3_path(pid))


def test_markdown_and_requirements_with_the_offline_writer(pipe):
    owner = pipe.user()
    pid = pipe.podcast("notes.md", requirements="Keep it short, and focus on the keepers", owner=owner)
    pipe.start_worker()
    pipe.enqueue(pid)
    row = pipe.wait_done(pid)
    assert row["status"] == "complete", row
    texts = [l["text"] for l in row["transcript"]["lines"]]
    assert any("listener asked" in t and "keepers" in t for t in texts), texts


def test_missing_document_and_unknown_podcast(pipe):
    pid = pipe.podcast("sample.pdf")
    pipe.sql("UPDATE podcasts SET original_file_url = %s WHERE id = %s",
             f"{PUBLIC_URL}/uploads/local/podcasts/nobody/gone.pdf", pid)
    pipe.start_worker()
    start = wk.last_event_id(pipe.r)
    pipe.enqueue(pid)
    row = pipe.wait_done(pid, timeout=30)
    assert row["status"] == "failed" and row["error"] == "The uploaded document was not found"
    # A job for a row that does not exist dies at once instead of retrying.
    env = wk.envelope("podcast.generate", {"podcast_id": new_id()}, "podcasts")
    wk.enqueue_many(pipe.r, [env])
    dead = wk.wait_event(pipe.r, start, env["id"], "dead", timeout=30)
    assert "Podcast not found" in dead["error"]
