"""The /podcasts/ routes through nginx (issue 4): create (checks in the
issue's order, the job on Redis, the quota), list (keyset paging, Link),
get, delete, ownership, the sweeper after Redis was down, and its removal of
temporary files abandoned in STORAGE_DIR.
"""
import http.server
import json
import os
import re
import threading
import time
import urllib.parse
import uuid

import pytest

import pp
from test_api_auth import ApiStack, Keys, claims, detail, hs256
from test_api_uploads import post_form

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

FIELDS = ["original_file_url", "id", "owner_id", "status", "created_at", "final_podcast_url",
          "title", "duration", "requirements", "stream_url"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    s = ApiStack(tmp_path_factory.mktemp("api-podcasts"), services, Keys(), "pp_api_podcasts")
    yield s
    s.stop()


class User:
    def __init__(self, st, limit=1000, email=None):
        self.sub = str(uuid.uuid4())
        self.email = email or f"{self.sub[:8]}@example.com"
        self.token = hs256(claims(sub=self.sub, email=self.email))
        self.st = st
        assert st.call("GET", "/podcasts/", self.token)[0] == 200
        self.id = st.db.sql("SELECT id FROM users WHERE auth_user_id = :'p0'", self.sub)
        st.db.sql("UPDATE users SET podcast_limit = :'p1' WHERE id = :'p0'", self.id, str(limit))

    def create(self, url=None, requirements=None, **extra):
        if url is None:
            url, _ = self.st.upload(self.sub, name=f"{uuid.uuid4().hex[:8]}.pdf")
        body = {"original_file_url": url, "requirements": requirements}
        body.update(extra)
        return self.st.call("POST", "/podcasts/", self.token, body=body)


def test_create_enqueues_job(stack):
    u = User(stack)
    url, key = stack.upload(u.sub)
    r = u.create(url, "Keep it short & friendly")
    assert r[0] == 202, r
    p = r[2]
    assert set(FIELDS) <= set(p)
    assert len(p["id"]) == 26 and p["owner_id"] == u.id and p["status"] == "pending"
    assert p["original_file_url"] == url and p["requirements"] == "Keep it short & friendly"
    assert p["duration"] == 0 and p["stream_url"] is None and ISO.match(p["created_at"])
    assert "job_id" not in p and "enqueued_at" not in p
    jobs = [j for j in stack.redis.jobs() if j["args"].get("podcast_id") == p["id"]]
    assert len(jobs) == 1 and jobs[0]["task"] == "podcast.generate" and jobs[0]["queue"] == "podcasts"
    assert stack.db.sql("SELECT job_id FROM podcasts WHERE id = :'p0'", p["id"]) == jobs[0]["id"]
    # GET gives the same podcast.
    g = stack.call("GET", f"/podcasts/{p['id']}", u.token)
    assert g[0] == 200 and g[2]["id"] == p["id"] and g[2]["created_at"] == p["created_at"]


def test_create_validation(stack):
    u, other = User(stack), User(stack)
    url, _ = stack.upload(u.sub)
    r = u.create(url, "x" * 2001)
    assert r[0] == 422 and r[2]["detail"][0]["loc"] == ["body", "requirements"]
    assert u.create(url, "é" * 2000)[0] == 202  # characters, not bytes
    assert u.create(url, 42)[0] == 422
    # Only the caller's own uploads in our storage.
    other_url, _ = stack.upload(other.sub)
    for bad in (other_url, "https://evil.example/doc.pdf", f"{stack.url}/uploads/local/podcasts/{u.sub}/missing.pdf",
                f"{stack.url}/uploads/local/podcasts/{u.sub}/", "file:///etc/passwd", ""):
        r = u.create(bad)
        assert r[0] == 422 and r[2]["detail"][0]["loc"] == ["body", "original_file_url"], (bad, r)
    r = stack.call("POST", "/podcasts/", u.token, body={"requirements": "hi"})
    assert r[0] == 422
    r = stack.call("POST", "/podcasts/", u.token, body=b"{not json",
                   headers={"Content-Type": "application/json"})
    assert r[0] == 422
    r = stack.call("POST", "/podcasts/", None, body={"original_file_url": url})
    assert r[0] == 401 and detail(r) == "Authorization header missing"


def test_quota_counts_queued_podcasts(stack):
    u = User(stack, limit=2)
    assert u.create()[0] == 202
    assert u.create()[0] == 202
    r = u.create()
    assert r[0] == 429 and detail(r) == "You have reached your podcast creation limit"
    # Over quota wins over a bad body (the order).
    r = u.create("https://evil.example/x.pdf", "x" * 3000)
    assert r[0] == 429
    # One finishes: still two made, still no room.
    stack.db.sql("UPDATE podcasts SET status = 'complete' WHERE id = (SELECT id FROM podcasts "
                 "WHERE owner_id = :'p0' ORDER BY id LIMIT 1)", u.id)
    stack.db.sql("UPDATE users SET podcasts_created = 1 WHERE id = :'p0'", u.id)
    assert u.create()[0] == 429
    # A failed one frees its place.
    stack.db.sql("UPDATE podcasts SET status = 'failed' WHERE owner_id = :'p0' AND status = 'pending'", u.id)
    assert u.create()[0] == 202
    assert u.create()[0] == 429


def test_quota_holds_under_concurrency(stack):
    u = User(stack, limit=3)
    urls = [stack.upload(u.sub, name=f"c{i}.pdf")[0] for i in range(10)]
    results = []

    def post(url):
        results.append(u.create(url)[0])
    threads = [threading.Thread(target=post, args=(x,)) for x in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [202] * 3 + [429] * 7
    assert stack.db.sql("SELECT count(*) FROM podcasts WHERE owner_id = :'p0'", u.id) == "3"


def test_list_paging(stack):
    u, other = User(stack), User(stack)
    made = [u.create()[2]["id"] for _ in range(7)]
    other.create()
    r = stack.call("GET", "/podcasts/", u.token)
    assert r[0] == 200 and [p["id"] for p in r[2]] == made[::-1]
    assert "link" not in r[1]
    r = stack.call("GET", "/podcasts/?limit=3", u.token)
    assert [p["id"] for p in r[2]] == made[::-1][:3]
    link = r[1]["link"]
    m = re.match(r'^<([^>]+)>; rel="next"$', link)
    assert m, link
    nxt = urllib.parse.urlsplit(m.group(1))
    assert nxt.path == "/podcasts/"
    seen = [p["id"] for p in r[2]]
    while True:
        r = stack.call("GET", "/podcasts/?" + nxt.query, u.token)
        assert r[0] == 200
        seen += [p["id"] for p in r[2]]
        if "link" not in r[1]:
            break
        nxt = urllib.parse.urlsplit(re.match(r"^<([^>]+)>", r[1]["link"]).group(1))
    assert seen == made[::-1]
    for bad in ("limit=0", "limit=201", "limit=abc", "limit=-1", "limit=5x", "before=nope"):
        r = stack.call("GET", "/podcasts/?" + bad, u.token)
        assert r[0] == 422, (bad, r)
    assert len(stack.call("GET", "/podcasts/?limit=200", u.token)[2]) == 7


def test_ownership(stack):
    a, b = User(stack), User(stack)
    pa = a.create()[2]
    assert stack.call("GET", f"/podcasts/{pa['id']}", b.token)[0] == 404
    r = stack.call("DELETE", f"/podcasts/{pa['id']}", b.token)
    assert r[0] == 404 and detail(r) == "Podcast not found"
    assert pa["id"] not in [p["id"] for p in stack.call("GET", "/podcasts/", b.token)[2]]
    assert stack.call("GET", f"/podcasts/{pa['id']}", a.token)[0] == 200
    # B cannot point at A's upload.
    url_a, _ = stack.upload(a.sub, name="private.pdf")
    assert b.create(url_a)[0] == 422
    # Reading by id needs a token now (the Python service let anyone read any podcast).
    r = stack.call("GET", f"/podcasts/{pa['id']}")
    assert r[0] == 401 and detail(r) == "Authorization header missing"


def test_get_missing_and_stream_url(stack):
    u = User(stack)
    r = stack.call("GET", "/podcasts/01ARZ3NDEKTSV4RRFFQ69G5FAV", u.token)
    assert r[0] == 404 and detail(r) == "Podcast not found"
    assert stack.call("GET", "/podcasts/not-an-id", u.token)[0] == 404
    p = u.create()[2]
    key = f"podcasts/podcast_{p['id']}.mp3"
    audio = os.path.join(stack.storage, key)
    with open(audio, "wb") as f:
        f.write(b"ID3" + b"\0" * 100)
    stack.db.sql("UPDATE podcasts SET status = 'complete', title = 'T', duration = 61, "
                 "final_podcast_url = :'p1' WHERE id = :'p0'", p["id"], f"{stack.url}/uploads/local/{key}")
    r = stack.call("GET", f"/podcasts/{p['id']}", u.token)
    assert r[0] == 200 and r[2]["status"] == "complete" and r[2]["duration"] == 61
    assert r[2]["stream_url"], r
    # Pipeline fields (migration 0003) come along when present.
    assert "stage" in r[2] and "progress" in r[2]


def test_delete_removes_row_and_audio(stack):
    u = User(stack)
    p = u.create()[2]
    key = f"podcasts/podcast_{p['id']}.mp3"
    audio = os.path.join(stack.storage, key)
    with open(audio, "wb") as f:
        f.write(b"ID3")
    stack.db.sql("UPDATE podcasts SET status = 'complete', final_podcast_url = :'p1' WHERE id = :'p0'",
                 p["id"], f"{stack.url}/uploads/local/{key}")
    r = stack.call("DELETE", f"/podcasts/{p['id']}", u.token)
    assert r[0] == 204 and r[2] is None
    assert not os.path.exists(audio)
    assert stack.db.sql("SELECT count(*) FROM podcasts WHERE id = :'p0'", p["id"]) == "0"
    assert stack.call("GET", f"/podcasts/{p['id']}", u.token)[0] == 404
    assert stack.call("DELETE", f"/podcasts/{p['id']}", u.token)[0] == 404


def test_sweeper_enqueues_after_redis_was_down(stack):
    u = User(stack)
    stack.redis.stop()
    try:
        made = []
        for _ in range(3):
            r = u.create()
            assert r[0] == 202, r  # the row is safe; the job comes later
            made.append(r[2]["id"])
    finally:
        stack.redis.start()
    for pid in made:
        assert stack.db.sql("SELECT coalesce(job_id, 'none') FROM podcasts WHERE id = :'p0'", pid) == "none"
    assert not [j for j in stack.redis.jobs() if j["args"].get("podcast_id") in made]
    # Rows younger than the sweeper's grace are left alone; these are made old.
    stack.db.sql("UPDATE podcasts SET created_at = now() - interval '1 minute' WHERE owner_id = :'p0'", u.id)
    env = dict(os.environ, **stack.env, WORKER_QUEUES="default", SWEEPER_INTERVAL="1",
               WORKER_CONCURRENCY="1")
    worker = pp.Proc([pp.binary("podcastpro-worker"), "--hostname", "sweep-test"], env=env,
                     log=os.path.join(stack.tmp, "worker.log"))
    try:
        def swept():
            got = [j for j in stack.redis.jobs() if j["args"].get("podcast_id") in made]
            return got if len(got) >= 3 else None
        try:
            got = pp.wait_for(swept, 30, interval=0.2, what="the sweeper")
        except TimeoutError:
            raise AssertionError(worker.log_text()[-3000:])
        time.sleep(2.5)  # two more sweeps must not enqueue them again
    finally:
        worker.stop()
    got = [j for j in stack.redis.jobs() if j["args"].get("podcast_id") in made]
    assert sorted(j["args"]["podcast_id"] for j in got) == sorted(made)
    for j in got:
        assert stack.db.sql("SELECT job_id FROM podcasts WHERE id = :'p0'", j["args"]["podcast_id"]) == j["id"]


def test_sweeper_removes_abandoned_temporaries(stack):
    """A responder killed mid-upload leaves STORAGE_DIR/.../.tmp-XXXXXX
    behind. The sweep removes those untouched for an hour and keeps fresh
    ones (an upload in progress), look-alikes, real uploads however old, and
    what a link named like a temporary points to."""
    u = User(stack)
    st, _, form = stack.call("POST", "/uploads/sign-url/", u.token, body={"filename": "kept.pdf"})
    assert st == 200, form
    data = b"%PDF-1.4 uploaded\n" + os.urandom(1000)
    assert post_form(form["url"], form["fields"], data)[0] == 204
    uploaded = os.path.join(stack.storage, form["fields"]["key"])
    udir = os.path.dirname(uploaded)
    old = time.time() - 2 * 3600

    def make(path, mtime=None):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"part of an upload")
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    stale = [make(os.path.join(udir, ".tmp-Ab12Cd"), old),
             make(os.path.join(stack.storage, "podcasts", ".tmp-zz99YY"), old)]
    fresh = make(os.path.join(udir, ".tmp-Fresh1"))
    lookalike = make(os.path.join(udir, ".tmp-Ab12Cd.pdf"), old)
    os.utime(uploaded, (old, old))
    outside = make(os.path.join(stack.tmp, "outside", ".tmp-Outsid"), old)
    link = os.path.join(udir, ".tmp-Link01")
    os.symlink(outside, link)

    env = dict(os.environ, **stack.env, WORKER_QUEUES="default", SWEEPER_INTERVAL="1",
               WORKER_CONCURRENCY="1")
    worker = pp.Proc([pp.binary("podcastpro-worker"), "--hostname", "sweep-temp-test"], env=env,
                     log=os.path.join(stack.tmp, "worker-temp.log"))
    try:
        try:
            pp.wait_for(lambda: not any(os.path.lexists(p) for p in stale), 30, interval=0.2,
                        what="the sweeper to remove the stale temporaries")
        except TimeoutError:
            raise AssertionError(worker.log_text()[-3000:])
        time.sleep(1.5)  # another sweep removes nothing more
    finally:
        worker.stop()
    for path in (fresh, lookalike, outside):
        assert os.path.isfile(path), path
    assert os.path.islink(link)
    with open(uploaded, "rb") as f:
        assert f.read() == data
    log = worker.log_text()
    assert re.search(r"sweep: removed 2 temporary files older than 3600 s from ", log), log[-3000:]
    assert "sweep: removed 1 temporary file " not in log
    os.unlink(link)


class _ElevenLabs(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        mode = self.server.mode
        if mode == "down":
            body, status = {"detail": {"status": "system_busy", "message": "busy"}}, 503
        else:
            body, status = {"character_count": 99000, "character_limit": 100000, "tier": "starter",
                            "status": "active", "can_extend_character_limit": False,
                            "next_character_count_reset_unix": 0}, 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_create_refusals_in_order(services, tmp_path_factory):
    """Generation off -> 503; credits unknown -> 503; too few -> 402."""
    keys = Keys()
    st = ApiStack(tmp_path_factory.mktemp("api-podcasts-off"), services, keys, "pp_api_podcasts_off",
                  env={"API_GENERATION_ENABLED": "false"})
    try:
        u = User(st)
        r = u.create()
        assert r[0] == 503 and detail(r) == "Podcast generation is temporarily disabled"
    finally:
        st.stop()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ElevenLabs)
    server.mode = "down"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    st = None
    try:
        st = ApiStack(tmp_path_factory.mktemp("api-podcasts-credits"), services, keys,
                      "pp_api_podcasts_credits",
                      env={"ELEVENLABS_API_KEY": "test-key",
                           "ELEVENLABS_API_URL": f"http://127.0.0.1:{server.server_address[1]}"})
        u = User(st, limit=0)
        r = u.create()
        assert r[0] == 503 and detail(r) == "Unable to verify ElevenLabs credits. Please try again later."
        server.mode = "low"
        r = u.create()
        assert r[0] == 402 and detail(r) == ("Insufficient ElevenLabs credits. Available: 1000, "
                                             "Required: ~5000. Please purchase more credits."), r
    finally:
        if st is not None:
            st.stop()
        server.shutdown()
        server.server_close()


# The listener's options (issue 15): length, language, style, hosts.
OPTIONS = ("length", "language", "style", "hosts")


def test_listener_options_absent_are_null(stack):
    u = User(stack)
    p = u.create()[2]
    assert all(k in p and p[k] is None for k in OPTIONS), p
    g = stack.call("GET", f"/podcasts/{p['id']}", u.token)[2]
    assert all(g[k] is None for k in OPTIONS), g
    assert stack.db.sql("SELECT count(*) FROM podcasts WHERE id = :'p0' AND length IS NULL AND "
                        "language IS NULL AND style IS NULL AND hosts IS NULL", p["id"]) == "1"
    # Nulls sent are the same as nothing sent.
    r = u.create(length=None, language=None, style=None, hosts=None)
    assert r[0] == 202 and all(r[2][k] is None for k in OPTIONS), r


@pytest.mark.parametrize("asked,shown", [
    ({"length": "short", "language": "de", "style": "interview",
      "hosts": [{"name": " Ada ", "voice": "de+f2"}, {"name": "Bo"}]},
     {"length": "short", "language": "de", "style": "interview",
      "hosts": [{"name": "Ada", "voice": "de+f2"}, {"name": "Bo", "voice": None}]}),
    ({"length": 12, "language": "PT-br"}, {"length": 12, "language": "pt-BR", "style": None, "hosts": None}),
    ({"length": 2.5, "style": "lecture", "hosts": [{}, {"voice": "en-gb-x-rp+m2"}]},
     {"length": 2.5, "language": None, "style": "lecture",
      "hosts": [{"name": None, "voice": None}, {"name": None, "voice": "en-gb-x-rp+m2"}]}),
    ({"length": "long", "hosts": [{}, {}]}, {"length": "long", "language": None, "style": None, "hosts": None}),
])
def test_listener_options_round_trip(stack, asked, shown):
    u = User(stack)
    r = u.create(**asked)
    assert r[0] == 202, r
    assert {k: r[2][k] for k in OPTIONS} == shown
    assert type(r[2]["length"]) is type(shown["length"])
    g = stack.call("GET", f"/podcasts/{r[2]['id']}", u.token)
    assert g[0] == 200 and {k: g[2][k] for k in OPTIONS} == shown
    listed = stack.call("GET", "/podcasts/", u.token)[2]
    assert [{k: p[k] for k in OPTIONS} for p in listed] == [shown]


@pytest.mark.parametrize("extra,loc,kind", [
    ({"length": "epic"}, ["length"], "enum"),
    ({"length": 0}, ["length"], "greater_than_equal"),
    ({"length": 30.5}, ["length"], "less_than_equal"),
    ({"length": True}, ["length"], "float_type"),
    ({"length": "5"}, ["length"], "enum"),
    ({"language": "klingon"}, ["language"], "enum"),
    ({"language": ["de"]}, ["language"], "string_type"),
    ({"style": "rap"}, ["style"], "enum"),
    ({"style": 3}, ["style"], "string_type"),
    ({"hosts": "Ada and Bo"}, ["hosts"], "list_type"),
    ({"hosts": [{"name": "Ada"}]}, ["hosts"], "too_short"),
    ({"hosts": [{}, {}, {}]}, ["hosts"], "too_long"),
    ({"hosts": [{}, None]}, ["hosts", 1], "model_attributes_type"),
    ({"hosts": [{"name": 7}, {}]}, ["hosts", 0, "name"], "string_type"),
    ({"hosts": [{"name": "<script>"}, {}]}, ["hosts", 0, "name"], "value_error"),
    ({"hosts": [{}, {"voice": "nosuch+f3"}]}, ["hosts", 1, "voice"], "value_error"),
    ({"hosts": [{}, {"voice": "de+f9"}]}, ["hosts", 1, "voice"], "value_error"),
    # An ElevenLabs id while espeak-ng speaks (no ELEVENLABS_API_KEY here).
    ({"hosts": [{"voice": "21m00Tcm4TlvDq8ikWAM"}, {}]}, ["hosts", 0, "voice"], "value_error"),
    ({"hosts": [{"voice_id": "x"}, {}]}, ["hosts", 0, "voice_id"], "extra_forbidden"),
])
def test_listener_options_refused(stack, extra, loc, kind):
    u = User(stack)
    r = u.create(**extra)
    assert r[0] == 422, r
    d = r[2]["detail"]
    assert len(d) == 1 and d[0]["loc"] == ["body"] + loc and d[0]["type"] == kind, d
    assert d[0]["msg"]
    assert stack.db.sql("SELECT count(*) FROM podcasts WHERE owner_id = :'p0'", u.id) == "0"


def test_listener_options_quota_first(stack):
    u = User(stack, limit=0)
    assert u.create(style="rap")[0] == 429


def test_listener_voices_follow_the_chosen_provider(services, tmp_path_factory):
    """VOICE_PROVIDER=espeak with an ElevenLabs key: espeak-ng speaks, so its
    voices are the ones a host may name (the key alone does not decide)."""
    st = ApiStack(tmp_path_factory.mktemp("api-podcasts-voices"), services, Keys(), "pp_api_podcasts_voices",
                  env={"ELEVENLABS_API_KEY": "test-key", "VOICE_PROVIDER": "espeak"})
    try:
        u = User(st)
        assert u.create(hosts=[{"voice": "de+f2"}, {}])[0] == 202
        r = u.create(hosts=[{"voice": "21m00Tcm4TlvDq8ikWAM"}, {}])
        assert r[0] == 422 and r[2]["detail"][0]["loc"] == ["body", "hosts", 0, "voice"], r
    finally:
        st.stop()
