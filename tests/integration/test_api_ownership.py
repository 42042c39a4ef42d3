"""Issue 11: a podcast is its owner's alone, and deleting one does not undo
what it cost.

1. A user row belongs to the token subject in its auth_user_id: a token of
   another subject carrying the same e-mail, or the `<sub>@unknown.invalid`
   address we store for tokens without one, gets a row of its own.
2. Deleting a podcast while it is generated cancels the run (no provider
   call after the delete, nothing of it left in storage) and still counts
   against the quota, so create/delete loops cannot spend provider credits
   for free. Real responder and worker, the Gemini and ElevenLabs stubs.
"""
import os
import shutil
import threading
import time
import uuid

import psycopg2
import pytest

import pp
import workerkit as wk
from test_api_auth import ApiStack, Keys, claims, detail, hs256
from test_pipeline_providers import Stub

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

SAMPLE = os.path.join(pp.ROOT, "tests", "data", "sample.pdf")
LINES = 12


def make_stack(tmp_path_factory, services, name):
    s = ApiStack(tmp_path_factory.mktemp(name), services, Keys(), "pp_" + name.replace("-", "_"))
    s.pg = psycopg2.connect(s.db.url)
    s.pg.autocommit = True
    return s


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    s = make_stack(tmp_path_factory, services, "api-ownership")
    yield s
    s.pg.close()
    s.stop()


@pytest.fixture(scope="module")
def gstack(services, tmp_path_factory):
    """A stack of its own for the generation tests: its queue holds only
    their jobs."""
    s = make_stack(tmp_path_factory, services, "api-ownership-gen")
    yield s
    s.pg.close()
    s.stop()


def query(stack, sql, *params):
    with stack.pg.cursor() as c:
        c.execute(sql, params)
        return c.fetchall() if c.description else None


class Token:
    """A subject with a token; EMAIL None means a token without the claim."""

    def __init__(self, stack, email="", sub=None):
        self.stack = stack
        self.sub = sub or str(uuid.uuid4())
        self.email = f"{self.sub[:8]}@example.com" if email == "" else email
        self.token = hs256(claims(sub=self.sub, email=self.email))

    def call(self, method, path, body=None):
        return self.stack.call(method, path, self.token, body=body)

    def row(self):
        """(id, email) of this subject's user row, after a first request."""
        assert self.call("GET", "/podcasts/")[0] == 200
        rows = query(self.stack, "SELECT id, email FROM users WHERE auth_user_id = %s", self.sub)
        assert len(rows) == 1, rows
        return rows[0]

    def limit(self, n):
        query(self.stack, "UPDATE users SET podcast_limit = %s WHERE auth_user_id = %s", n, self.sub)

    def create(self):
        with open(SAMPLE, "rb") as f:
            url, _ = self.stack.upload(self.sub, name=f"{uuid.uuid4().hex[:8]}.pdf", data=f.read())
        return self.call("POST", "/podcasts/", {"original_file_url": url})

    def created(self):
        return query(self.stack, "SELECT podcasts_created FROM users WHERE auth_user_id = %s",
                     self.sub)[0][0]


def sees_nothing_of(intruder, owner_pid):
    r = intruder.call("GET", "/podcasts/")
    assert r[0] == 200 and owner_pid not in [p["id"] for p in r[2]], r
    r = intruder.call("GET", f"/podcasts/{owner_pid}")
    assert r[0] == 404 and detail(r) == "Podcast not found", r
    r = intruder.call("DELETE", f"/podcasts/{owner_pid}")
    assert r[0] == 404 and detail(r) == "Podcast not found", r


# --- 1. a row belongs to its subject ---------------------------------------

def test_token_with_another_users_email_gets_a_row_of_its_own(stack):
    a = Token(stack)
    a_id, _ = a.row()
    pa = a.create()
    assert pa[0] == 202, pa
    b = Token(stack, email=a.email)
    b_id, b_email = b.row()
    assert b_id != a_id
    # users.email is unique: B's row keeps an address that is nobody's.
    assert b_email != a.email and b_email.endswith("@unknown.invalid"), b_email
    sees_nothing_of(b, pa[2]["id"])
    assert a.call("GET", f"/podcasts/{pa[2]['id']}")[0] == 200
    # B's own podcasts are B's, not A's.
    pb = b.create()
    assert pb[0] == 202 and pb[2]["owner_id"] == b_id, pb
    assert pb[2]["id"] not in [p["id"] for p in a.call("GET", "/podcasts/")[2]]
    assert query(stack, "SELECT auth_user_id::text, email FROM users WHERE id = %s", a_id) == \
        [(a.sub, a.email)]


def test_placeholder_address_claims_nothing(stack):
    # A has no e-mail claim: stored as <sub>@unknown.invalid.
    a = Token(stack, email=None)
    a_id, a_email = a.row()
    assert a_email == f"{a.sub}@unknown.invalid"
    pa = a.create()
    assert pa[0] == 202, pa
    c = Token(stack, email=a_email)
    c_id, _ = c.row()
    assert c_id != a_id
    sees_nothing_of(c, pa[2]["id"])
    # The other way round: the address is claimed before its subject comes.
    d_sub = str(uuid.uuid4())
    squatter = Token(stack, email=f"{d_sub}@unknown.invalid")
    sq_id, _ = squatter.row()
    psq = squatter.create()
    assert psq[0] == 202, psq
    d = Token(stack, email=None, sub=d_sub)
    d_id, d_email = d.row()
    assert d_id != sq_id and d_email != squatter.email
    assert [p["id"] for p in d.call("GET", "/podcasts/")[2]] == []
    sees_nothing_of(d, psq[2]["id"])


def test_concurrent_first_requests_make_one_row(stack):
    a = Token(stack)
    a.row()
    # A new subject (carrying A's e-mail, the harder case) and a new one
    # without conflicts, each sending ten first requests at once.
    for t in (Token(stack, email=a.email), Token(stack)):
        codes = []
        threads = [threading.Thread(target=lambda: codes.append(t.call("GET", "/podcasts/")[0]))
                   for _ in range(10)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert codes == [200] * 10
        assert len(query(stack, "SELECT id FROM users WHERE auth_user_id = %s", t.sub)) == 1


# --- 2. deleting a podcast in flight ---------------------------------------

@pytest.fixture
def gen(gstack, tmp_path):
    """The Gemini and ElevenLabs stubs and a worker on the stack's database,
    Redis and storage. ElevenLabs takes 0.4 s a line, one at a time, so a
    run is in its voicing stage for about five seconds."""
    stack = gstack
    env = dict(os.environ)
    env.update(wk.BASE_ENV)
    env.update(stack.env)
    gemini = Stub(tmp_path, "gemini_stub.py", "--key", "gem-key", "--lines", str(LINES))
    eleven = Stub(tmp_path, "elevenlabs_stub.py", "--key", "el-key", "--delay", "0.4")
    env.update({"GOOGLE_API_KEY": "gem-key", "GEMINI_API_URL": gemini.url,
                "GEMINI_MODEL": "gemini-2.5-flash", "ELEVENLABS_API_KEY": "el-key",
                "ELEVENLABS_API_URL": eleven.url, "ELEVENLABS_CONCURRENCY": "1",
                "PROVIDER_TIMEOUT": "20", "RETRY_BACKOFF": "0", "JOB_VISIBILITY_TIMEOUT": "4"})
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    # The line cache is by content and every test voices the same script:
    # each starts without the audio of the one before.
    shutil.rmtree(os.path.join(stack.storage, "cache"), ignore_errors=True)

    class Gen:
        worker = None

        def start(self):
            self.worker = wk.Worker(tmp_path, env, ["podcasts"], wk.unique("ownership"), concurrency=1)

        def log(self):
            return self.worker.log_text()[-4000:] if self.worker else ""
    g = Gen()
    g.stack = stack
    g.gemini, g.eleven, g.r = gemini, eleven, wk.client(stack.redis.url)
    yield g
    if g.worker is not None:
        g.worker.stop()
    g.r.close()
    gemini.stop()
    eleven.stop()


def calls(stub):
    """Requests a stub received (each recorded as it arrives)."""
    got = stub.call("/_requests")
    return len(got["requests"] if isinstance(got, dict) else got)


def stage(stack, pid):
    rows = query(stack, "SELECT status, stage FROM podcasts WHERE id = %s", pid)
    return rows[0] if rows else None


def job_of(stack, pid):
    return pp.wait_for(lambda: query(stack, "SELECT job_id FROM podcasts WHERE id = %s", pid)[0][0],
                       10, what="the job id")


def audio_objects(stack):
    """Every object in storage but the uploaded documents."""
    found = []
    for root, _dirs, files in os.walk(stack.storage):
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), stack.storage)
            if not rel.endswith(".pdf"):
                found.append(rel)
    return sorted(found)


def finish(g, start, job):
    """The job's last event: succeeded (also when cancelled), or dead when
    the row was gone before the run began."""
    def ended():
        for e in wk.events_for(g.r, start, job):
            if e["event"] in ("succeeded", "dead"):
                return e
        return None
    try:
        return pp.wait_for(ended, 40, 0.05, f"the end of job {job}")
    except TimeoutError:
        raise AssertionError(g.log())


def test_delete_while_voicing_cancels_the_run_and_counts(gen):
    stack = gen.stack
    gen.start()
    u = Token(stack)
    u.row()
    u.limit(1)
    start = wk.last_event_id(gen.r)
    r = u.create()
    assert r[0] == 202, r
    pid = r[2]["id"]
    job = job_of(stack, pid)
    pp.wait_for(lambda: calls(gen.eleven) >= 2, 30, 0.02, "voicing to be under way")
    r = u.call("DELETE", f"/podcasts/{pid}")
    assert r[0] == 204, r
    at_delete = calls(gen.eleven)
    ev = finish(gen, start, job)
    assert ev["event"] == "succeeded", (ev, gen.log())
    time.sleep(1.0)  # a run that went on would have sent two more lines by now
    # At most the line whose check passed just before the delete starts after it.
    after = calls(gen.eleven)
    assert after <= at_delete + 1 and after < LINES, (at_delete, after)
    assert calls(gen.gemini) == 1
    # Neither the MP3 nor any cached line of the run is left.
    assert audio_objects(stack) == [], audio_objects(stack)
    assert "cancelled" in gen.log()
    # The deleted podcast counts: no room for another.
    assert u.created() == 1
    r = u.create()
    assert r[0] == 429 and detail(r) == "You have reached your podcast creation limit", r


def test_delete_while_writing_pays_for_no_voice(gen):
    stack = gen.stack
    gen.gemini.call("/_control", {"delay": 2.0})
    gen.start()
    u = Token(stack)
    u.row()
    start = wk.last_event_id(gen.r)
    r = u.create()
    pid = r[2]["id"]
    job = job_of(stack, pid)
    pp.wait_for(lambda: calls(gen.gemini) >= 1, 30, 0.02, "the script to be in writing")
    assert stage(stack, pid)[1] == "writing"
    assert u.call("DELETE", f"/podcasts/{pid}")[0] == 204
    assert finish(gen, start, job)["event"] == "succeeded"
    assert calls(gen.eleven) == 0
    assert calls(gen.gemini) == 1
    assert audio_objects(stack) == []
    assert u.created() == 1


def test_create_delete_loop_no_longer_bypasses_the_quota(gen):
    stack = gen.stack
    gen.start()
    u = Token(stack)
    u.row()
    u.limit(2)
    made = 0
    for _ in range(4):
        start = wk.last_event_id(gen.r)
        r = u.create()
        if r[0] == 429:
            break
        assert r[0] == 202, r
        made += 1
        pid = r[2]["id"]
        job = job_of(stack, pid)
        pp.wait_for(lambda: (stage(stack, pid) or ("",))[0] == "processing", 30, 0.02, "processing")
        assert u.call("DELETE", f"/podcasts/{pid}")[0] == 204
        finish(gen, start, job)
    assert made == 2 and u.created() == 2
    assert calls(gen.gemini) <= 2
    assert audio_objects(stack) == []


def test_delete_before_the_job_runs(gen):
    stack = gen.stack
    """The row is gone before the worker takes the job: no provider call,
    and an MP3 a killed earlier run left under the podcast's key goes too."""
    u = Token(stack)
    u.row()
    u.limit(1)
    start = wk.last_event_id(gen.r)
    r = u.create()
    pid = r[2]["id"]
    job = job_of(stack, pid)
    assert u.call("DELETE", f"/podcasts/{pid}")[0] == 204
    stray = os.path.join(stack.storage, "podcasts", f"podcast_{pid}.mp3")
    with open(stray, "wb") as f:
        f.write(b"ID3 stored by a run killed before its last check")
    gen.start()
    ev = finish(gen, start, job)
    assert ev["event"] == "dead" and "Podcast not found" in ev["error"], ev
    assert calls(gen.gemini) == 0 and calls(gen.eleven) == 0
    assert not os.path.exists(stray)
    assert u.created() == 1 and u.create()[0] == 429


def test_delete_at_the_end_leaves_no_mp3(gen):
    stack = gen.stack
    """Deleted as the run stores its MP3 (or just after it completed): the
    MP3 is removed by whichever of the two comes last."""
    gen.eleven.call("/_control", {"delay": 0.0})
    gen.start()
    u = Token(stack)
    u.row()
    u.limit(5)
    start = wk.last_event_id(gen.r)
    r = u.create()
    pid = r[2]["id"]
    job = job_of(stack, pid)
    pp.wait_for(lambda: (stage(stack, pid) or ("", ""))[1] in ("mixing", "uploading", "complete"),
                30, 0.005, "the end of voicing")
    assert u.call("DELETE", f"/podcasts/{pid}")[0] == 204
    finish(gen, start, job)
    assert not os.path.exists(os.path.join(stack.storage, "podcasts", f"podcast_{pid}.mp3"))
    assert u.created() == 1


def test_delete_after_completion_removes_the_mp3(gen):
    stack = gen.stack
    gen.eleven.call("/_control", {"delay": 0.0})
    gen.start()
    u = Token(stack)
    u.row()
    u.limit(1)
    start = wk.last_event_id(gen.r)
    r = u.create()
    pid = r[2]["id"]
    job = job_of(stack, pid)
    assert finish(gen, start, job)["event"] == "succeeded"
    assert stage(stack, pid) == ("complete", "complete")
    mp3 = os.path.join(stack.storage, "podcasts", f"podcast_{pid}.mp3")
    assert os.path.getsize(mp3) > 1000
    assert u.call("DELETE", f"/podcasts/{pid}")[0] == 204
    assert not os.path.exists(mp3)
    assert u.created() == 1   # counted once, by the completion
