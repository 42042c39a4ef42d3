"""Private podcast feeds (issue 15, doc/feeds.md), through the shipped nginx
file (and lighttpd's, and S3 storage):

- POST /feeds/rotate answers a secret URL; the feed there parses with a
  real parser (python3-feedparser) and a strict XML one, with every field
  checked against the podcasts' rows (title, guid, pubDate, enclosure URL,
  length and type, itunes:duration, description, podcast:transcript,
  podcast:chapters, the channel's itunes:block ...), complete podcasts only,
  newest first, never another user's, hostile titles escaped;
- the feed needs no header at all (a bare HTTP/1.0 request), answers HEAD,
  and 304 to If-None-Match and to an exact If-Modified-Since;
- the enclosure is fetched by a real client (mpg123 over HTTP decodes the
  whole file to the same samples as the file itself), with Range (206 and
  the bytes, 416 past the end) and HEAD, and the transcript and chapters
  files with their types;
- a rotation makes the old feed and episode URLs 404 at once; a revocation
  too; only a hash of the secret is stored;
- sizes of MP3s finished before migration 0008 are measured and recorded;
- the per-feed rate limits.
"""
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

import pytest

import openapi_check
import pp
from servers import Lighttpd, Responder, http, stop_all
from test_api_auth import ApiStack, Keys, detail
from test_api_podcasts import User

sys.path.insert(0, os.path.join(pp.ROOT, "tests", "stubs"))
import s3_stub  # noqa: E402

feedparser = pytest.importorskip("feedparser", reason="python3-feedparser is needed to read the feeds")

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

TONE = os.path.join(pp.ROOT, "tests", "data", "tone.mp3")
NS = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
      "podcast": "https://podcastindex.org/namespace/1.0",
      "atom": "http://www.w3.org/2005/Atom"}
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
HOSTILE = "</title></item><item><title>pwned</title> & &amp; \"q\" 'a' ]]> <![CDATA[x]]> \x01 <script>x</script>"
# What a reader must get back: the same text, its control character made U+FFFD.
HOSTILE_READ = HOSTILE.replace("\x01", "\ufffd")


def ulid(ms):
    n = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(26)))


def audio(repeat):
    """A real MP3: tests/data/tone.mp3's frames REPEAT times (0.55 s each)."""
    with open(TONE, "rb") as f:
        return f.read() * repeat


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    s = ApiStack(tmp_path_factory.mktemp("feeds"), services, Keys(), "pp_feeds")
    yield s
    s.stop()


class FeedUser(User):
    _clock = int(time.time() * 1000) - 86400 * 1000

    def podcast(self, title="A podcast", status="complete", summary=None, repeat=4, extras=True,
                record_size=True, duration=None):
        """A podcast row as the worker leaves it (and its files in storage):
        returns (id, row facts, the MP3's bytes)."""
        FeedUser._clock += 60000   # a minute apart: ids and created_at newest last
        pid = ulid(FeedUser._clock)
        created = FeedUser._clock / 1000.0
        data = audio(repeat)
        key = f"podcasts/podcast_{pid}.mp3"
        files = {key: data}
        vtt_key = chapters_key = None
        if extras:
            vtt_key, chapters_key = f"podcasts/podcast_{pid}.vtt", f"podcasts/podcast_{pid}.chapters.json"
            files[vtt_key] = b"WEBVTT\n\n00:00.000 --> 00:01.000\n<v Alex>Hello\n"
            files[chapters_key] = json.dumps({"version": "1.2.0", "chapters": [
                {"startTime": 0, "title": "Start"}]}).encode()
        if status == "complete":
            for k, v in files.items():
                path = os.path.join(self.st.storage, k)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(v)
        transcript = json.dumps({"title": title, "summary": summary, "lines": []}) if summary else None
        seconds = duration if duration is not None else round(repeat * 0.5486)
        self.st.db.sql(
            "INSERT INTO podcasts (id, owner_id, status, stage, progress, title, duration, "
            "final_podcast_url, transcript, transcript_vtt_key, chapters_key, audio_bytes, created_at, "
            "updated_at) VALUES (:'p0', :'p1', :'p2', 'complete', 100, :'p3', :'p4'::int, "
            "NULLIF(:'p5', ''), NULLIF(:'p6', '')::jsonb, NULLIF(:'p7', ''), NULLIF(:'p8', ''), "
            "NULLIF(:'p9', '')::bigint, to_timestamp(:'p10'::float8), to_timestamp(:'p10'::float8 + 30))",
            pid, self.id, status, title, str(seconds),
            f"{self.st.url}/uploads/local/{key}" if status == "complete" else "",
            transcript or "", vtt_key or "", chapters_key or "",
            str(len(data)) if record_size and status == "complete" else "", repr(created))
        return pid, {"title": title, "created": created, "duration": seconds, "summary": summary,
                     "extras": extras}, data

    def rotate(self):
        status, headers, doc = self.st.call("POST", "/feeds/rotate", self.token)
        assert status == 200, doc
        assert headers["cache-control"] == "no-store"
        return doc["url"]


def fetch(url, method="GET", headers=None):
    return http(url, method=method, headers=headers or {})


def raw(st, method, url, headers=None):
    """A request with exactly HEADERS to URL (or a path of ST), its answer
    checked against doc/openapi.json: (status, headers, body bytes)."""
    if url.startswith("/"):
        url = st.url + url
    parts = urllib.parse.urlsplit(url)
    status, h, body = http(url, method=method, headers=headers or {})
    openapi_check.check_answer(openapi_check.served_spec(f"{parts.scheme}://{parts.netloc}", http),
                               method, parts.path, status, h, body)
    return status, h, body


def read_feed(url, headers=None):
    status, h, body = fetch(url, headers=headers)
    assert status == 200, body[:300]
    assert h["content-type"] == "application/rss+xml; charset=utf-8"
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    return parsed, ET.fromstring(body), h, body


def test_feed_lists_the_users_complete_podcasts(stack):
    u, other = FeedUser(stack), FeedUser(stack)
    old, old_facts, old_mp3 = u.podcast("From before the transcripts", extras=False, repeat=3)
    mid, mid_facts, mid_mp3 = u.podcast("Tea & <Biscuits>", summary="Why <b>tea</b> & biscuits",
                                        repeat=5, record_size=False)
    u.podcast("Still writing", status="processing")
    u.podcast("Broke", status="failed")
    new, new_facts, new_mp3 = u.podcast("Newest: caf\u00e9 \U0001F399", summary="Plain summary", repeat=2)
    theirs, _, _ = other.podcast("Someone else's")
    other.rotate()
    url = u.rotate()
    base = url[:-len("rss.xml")]
    assert re.fullmatch(re.escape(stack.url) + r"/feeds/[A-Za-z0-9_-]{43}/rss\.xml", url), url

    parsed, root, headers, body = read_feed(url)
    f = parsed.feed
    assert f.title == "Podcast Pro" and f.link == stack.url and f.language == "en"
    assert f.author == "Podcast Pro" and f.itunes_block == 1 and f.podcast_locked == "yes"
    channel = root.find("channel")
    assert channel.find("itunes:block", NS).text == "Yes"
    assert channel.find("itunes:explicit", NS).text == "false"
    assert channel.find("atom:link", NS).get("href") == url
    assert root.find("channel/itunes:image", NS) is None   # no artwork (doc/feeds.md)

    # Complete podcasts only, newest first, none of the other user's.
    assert [e.id for e in parsed.entries] == [new, mid, old]
    assert theirs.encode() not in body
    items = root.findall("channel/item")
    for entry, item, (pid, facts, mp3) in zip(parsed.entries, items, [(new, new_facts, new_mp3),
                                                                      (mid, mid_facts, mid_mp3),
                                                                      (old, old_facts, old_mp3)]):
        assert entry.title == facts["title"]
        assert entry.guidislink is False and item.find("guid").get("isPermaLink") == "false"
        assert parsedate_to_datetime(entry.published).timestamp() == int(facts["created"])
        enc = entry.enclosures
        assert len(enc) == 1 and enc[0].href == f"{base}{pid}.mp3" and enc[0].type == "audio/mpeg"
        # The byte length, recorded or (mid: a row from before 0008) measured.
        assert int(enc[0].length) == len(mp3)
        assert entry.itunes_duration == str(facts["duration"])
        if facts["summary"]:
            assert item.find("itunes:summary", NS).text == facts["summary"]
            # description is HTML: the summary's text shows as written.
            assert item.find("description").text == facts["summary"].replace("&", "&amp;").replace(
                "<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        else:
            assert item.find("description") is None
        if facts["extras"]:
            assert entry.podcast_transcript == {"url": f"{base}{pid}.vtt", "type": "text/vtt"}
            assert entry.podcast_chapters == {"url": f"{base}{pid}.chapters.json",
                                              "type": "application/json+chapters"}
        else:
            assert "podcast_transcript" not in entry and "podcast_chapters" not in entry
    # The measured size is recorded: the next request reads it from the row.
    assert stack.db.sql("SELECT audio_bytes FROM podcasts WHERE id = :'p0'", mid) == str(len(mid_mp3))
    # The row's bookkeeping column stays out of the podcast JSON.
    status, _, body = http(f"{stack.url}/podcasts/{mid}", headers={"Authorization": "Bearer " + u.token})
    assert status == 200 and "audio_bytes" not in json.loads(body)


def test_hostile_title_is_escaped(stack):
    u = FeedUser(stack)
    pid, _, _ = u.podcast(HOSTILE, summary=HOSTILE)
    parsed, root, _, body = read_feed(u.rotate())
    assert len(parsed.entries) == 1 and len(root.findall("channel/item")) == 1
    assert parsed.entries[0].title == HOSTILE_READ
    assert root.find("channel/item/title").text == HOSTILE_READ
    assert root.find("channel/item/itunes:summary", NS).text == HOSTILE_READ
    assert b"<script>" not in body and b"\x01" not in body
    assert parsed.entries[0].id == pid


def test_enclosure_plays_in_mpg123_with_range_and_head(stack, tmp_path):
    u = FeedUser(stack)
    pid, _, mp3 = u.podcast("Listen to me", repeat=20)
    url = u.rotate()
    parsed, _, _, _ = read_feed(url)
    enclosure = parsed.entries[0].enclosures[0].href

    # A real player decodes the whole file over HTTP: the same samples as
    # the file itself gives.
    local = tmp_path / "local.mp3"
    local.write_bytes(mp3)
    want = subprocess.run(["mpg123", "-q", "-s", str(local)], capture_output=True, timeout=60)
    got = subprocess.run(["mpg123", "-s", enclosure], capture_output=True, timeout=60)
    assert got.returncode == 0, got.stderr
    assert b"error" not in got.stderr.lower(), got.stderr
    assert len(want.stdout) == 20 * 21 * 1152 * 2 and got.stdout == want.stdout

    status, h, body = fetch(enclosure)
    assert status == 200 and body == mp3 and h["content-type"] == "audio/mpeg"
    for rng, first, last in (("bytes=0-99", 0, 99), ("bytes=1000-", 1000, len(mp3) - 1),
                             ("bytes=-500", len(mp3) - 500, len(mp3) - 1),
                             (f"bytes=100-{len(mp3) + 50}", 100, len(mp3) - 1)):
        status, h, body = raw(stack, "GET", enclosure, {"Range": rng})
        assert status == 206, (rng, status)
        assert h["content-range"] == f"bytes {first}-{last}/{len(mp3)}"
        assert body == mp3[first:last + 1]
    status, h, _ = raw(stack, "GET", enclosure, {"Range": f"bytes={len(mp3)}-"})
    assert status == 416 and h["content-range"] == f"bytes */{len(mp3)}"
    status, h, body = raw(stack, "HEAD", enclosure)
    assert status == 200 and body == b"" and int(h["content-length"]) == len(mp3)
    status, h, body = raw(stack, "HEAD", enclosure, {"Range": "bytes=0-9"})
    assert status == 206 and body == b"" and h["content-range"] == f"bytes 0-9/{len(mp3)}"

    # The transcript and the chapters, with their types.
    base = url[:-len("rss.xml")]
    status, h, body = raw(stack, "GET", f"{base}{pid}.vtt")
    assert status == 200 and body.startswith(b"WEBVTT") and h["content-type"].startswith("text/vtt")
    status, h, body = raw(stack, "GET", f"{base}{pid}.chapters.json")
    assert status == 200 and json.loads(body)["chapters"][0]["title"] == "Start"
    assert h["content-type"] == "application/json+chapters"
    # Anything else under the feed is no episode.
    for name in (f"{pid}.wav", f"{pid}.mp3x", "01ARZ3NDEKTSV4RRFFQ69G5FAV.mp3", "rss.json",
                 f"{pid}.MP3", "x" + pid[1:] + ".mp3"):
        r = stack.call("GET", urllib.parse.urlsplit(base).path + name)
        assert r[0] == 404 and detail(r) == "Episode not found", (name, r)


def test_rotation_and_revocation_end_the_old_urls(stack):
    u = FeedUser(stack)
    pid, _, mp3 = u.podcast("Rotated", repeat=2)
    first = u.rotate()
    first_audio = first[:-len("rss.xml")] + pid + ".mp3"
    assert fetch(first)[0] == 200 and fetch(first_audio)[2] == mp3
    # Only a hash of the secret is kept.
    secret = first.split("/")[-2]
    row = stack.db.sql("SELECT token_hash || ' ' || rotations FROM feeds WHERE owner_id = :'p0'", u.id)
    assert row == hashlib.sha256(secret.encode()).hexdigest() + " 0"
    assert stack.db.sql("SELECT count(*) FROM feeds WHERE token_hash = :'p0'", secret) == "0"
    r = stack.call("GET", "/feeds/", u.token)
    assert r[0] == 200 and set(r[2]) == {"created_at"}

    second = u.rotate()
    assert second != first
    for gone in (first, first_audio):
        r = stack.call("GET", urllib.parse.urlsplit(gone).path)
        assert r[0] == 404 and detail(r) == "Feed not found", gone
    assert fetch(second)[0] == 200
    assert fetch(second[:-len("rss.xml")] + pid + ".mp3")[2] == mp3
    assert stack.db.sql("SELECT rotations FROM feeds WHERE owner_id = :'p0'", u.id) == "1"

    assert stack.call("DELETE", "/feeds/", u.token)[0] == 204
    r = stack.call("GET", urllib.parse.urlsplit(second).path)
    assert r[0] == 404 and detail(r) == "Feed not found"
    r = stack.call("GET", "/feeds/", u.token)
    assert r[0] == 404 and detail(r) == "No feed"
    r = stack.call("DELETE", "/feeds/", u.token)
    assert r[0] == 404 and detail(r) == "No feed"
    # A new rotation after a revocation works again.
    assert fetch(u.rotate())[0] == 200
    # The responder's log lines name the route, never the secret.
    log = stack.app.log_text()
    assert "GET /feeds/{secret}/{file} 200" in log and secret not in log
    # The management routes take the user's token.
    for method, path in (("POST", "/feeds/rotate"), ("GET", "/feeds/"), ("DELETE", "/feeds/")):
        r = stack.call(method, path)
        assert r[0] == 401 and detail(r) == "Authorization header missing", path


def test_other_users_episodes_never_served(stack):
    a, b = FeedUser(stack), FeedUser(stack)
    mine, _, _ = a.podcast("Mine")
    theirs, _, _ = b.podcast("Theirs")
    pending, _, _ = a.podcast("Not yet", status="pending")
    base = urllib.parse.urlsplit(a.rotate()).path[:-len("rss.xml")]
    b.rotate()
    for pid in (theirs, pending):
        for ext in (".mp3", ".vtt", ".chapters.json"):
            r = stack.call("GET", base + pid + ext)
            assert r[0] == 404 and detail(r) == "Episode not found", (pid, ext)
    assert raw(stack, "GET", stack.url + base + mine + ".mp3")[0] == 200
    # Secrets that are not ours, or not secrets at all.
    for secret in ("A" * 43, "short", "A" * 44, "A" * 42 + "!"):
        r = stack.call("GET", f"/feeds/{urllib.parse.quote(secret)}/rss.xml")
        assert r[0] == 404 and detail(r) == "Feed not found", secret


def test_feed_needs_no_headers_and_answers_head_and_304(stack):
    u = FeedUser(stack)
    u.podcast("One")
    url = u.rotate()
    path = urllib.parse.urlsplit(url).path
    # HTTP/1.0 with no header at all, not even Host.
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert not feedparser.parse(body).bozo and len(feedparser.parse(body).entries) == 1

    status, h, full = fetch(url)
    etag, last_modified = h["etag"], h["last-modified"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag) and h["cache-control"] == "private, no-cache"
    assert parsedate_to_datetime(last_modified).timestamp() > 0
    assert h["x-robots-tag"] == "noindex, nofollow"
    status, hh, body = raw(stack, "HEAD", url)
    assert status == 200 and body == b"" and hh["etag"] == etag
    assert int(hh["content-length"]) == len(full)
    for sent in ({"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag}'}, {"If-None-Match": "*"},
                 {"If-Modified-Since": last_modified}):
        status, h304, body = raw(stack, "GET", url, sent)
        assert status == 304 and body == b"" and h304["etag"] == etag, sent
    status, _, body = raw(stack, "GET", url, {"If-None-Match": '"other"'})
    assert status == 200 and body == full
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    status, _, _ = raw(stack, "GET", url, {"If-None-Match": '"other"', "If-Modified-Since": last_modified})
    assert status == 200
    # A new podcast: a new tag, and the old one gets the whole feed.
    u.podcast("Two")
    status, h2, body = raw(stack, "GET", url, {"If-None-Match": etag})
    assert status == 200 and h2["etag"] != etag and len(feedparser.parse(body).entries) == 2


def test_limit_per_feed(services, tmp_path_factory):
    s = ApiStack(tmp_path_factory.mktemp("feeds-limits"), services, Keys(), "pp_feeds_limits",
                 env={"RATE_LIMIT_ENABLED": "true", "RATE_LIMITS": "feed=3/hour,feed_media=4/hour"})
    try:
        u, v = FeedUser(s), FeedUser(s)
        pid, _, _ = u.podcast("Limited", repeat=1)
        url, other = u.rotate(), v.rotate()
        for _ in range(3):
            assert raw(s, "GET", url)[0] == 200
        status, h, body = raw(s, "GET", url)
        assert status == 429 and int(h["retry-after"]) > 0, body
        assert h["x-ratelimit-limit"] == "3"
        # Another feed, from the same address, is not limited by that one.
        assert raw(s, "GET", other)[0] == 200
        # Episodes count apart from the feed.
        audio_url = url[:-len("rss.xml")] + pid + ".mp3"
        assert [raw(s, "GET", audio_url)[0] for _ in range(5)] == [200] * 4 + [429]
    finally:
        s.stop()


def test_through_lighttpd(stack, services, tmpdir_world):
    """The shipped lighttpd file, the responder handing files over with
    X-Sendfile: the same feed and enclosure, with Range."""
    app = web = None
    try:
        env = dict(stack.env, SENDFILE_MODE="lighttpd")
        port = pp.free_port()
        env["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
        app = Responder.listen(tmpdir_world, services, processes=1, threads=2, env=env)
        web = Lighttpd(tmpdir_world, socket_path=app.socket, port=port, storage_dir=stack.storage)
        u = FeedUser(stack)
        pid, _, mp3 = u.podcast("Over lighttpd", repeat=3)
        url = u.rotate().replace(stack.url, web.url)
        parsed, _, _, _ = read_feed(url)
        enclosure = parsed.entries[0].enclosures[0].href
        assert enclosure.startswith(web.url + "/feeds/")
        got = subprocess.run(["mpg123", "-q", "-s", enclosure], capture_output=True, timeout=60)
        assert got.returncode == 0 and len(got.stdout) == 3 * 21 * 1152 * 2, got.stderr
        status, h, body = http(enclosure, headers={"Range": "bytes=10-19"})
        assert status == 206 and body == mp3[10:20] and h["content-range"] == f"bytes 10-19/{len(mp3)}"
        status, h, body = http(enclosure, method="HEAD")
        assert status == 200 and body == b"" and int(h["content-length"]) == len(mp3)
    finally:
        stop_all(web, app)


def test_s3_episodes_redirect_to_a_fresh_presigned_url(services, tmp_path_factory, tmp_path):
    server, endpoint = s3_stub.start(buckets=("pp-feeds",), access_key="AKIDFEEDS",
                                     secret_key="pp-feeds-s3-secret", region="eu-west-1")
    env = {"AWS_S3_BUCKET_NAME": "pp-feeds", "AWS_ACCESS_KEY_ID": "AKIDFEEDS",
           "AWS_SECRET_ACCESS_KEY": "pp-feeds-s3-secret", "AWS_REGION": "eu-west-1",
           "AWS_S3_ENDPOINT_URL": endpoint}
    s = ApiStack(tmp_path_factory.mktemp("feeds-s3"), services, Keys(), "pp_feeds_s3", env=env)
    try:
        u = FeedUser(s)
        pid, _, mp3 = u.podcast("In a bucket", repeat=4, record_size=False, extras=False)
        key = f"podcasts/podcast_{pid}.mp3"
        server.store.objects[("pp-feeds", key)] = (mp3, "audio/mpeg")
        s.db.sql("UPDATE podcasts SET final_podcast_url = :'p1' WHERE id = :'p0'", pid,
                 f"{endpoint}/pp-feeds/{key}")
        url = u.rotate()
        parsed, _, _, _ = read_feed(url)
        # The size came from a signed HEAD to the bucket, and is recorded.
        assert int(parsed.entries[0].enclosures[0].length) == len(mp3)
        assert s.db.sql("SELECT audio_bytes FROM podcasts WHERE id = :'p0'", pid) == str(len(mp3))
        enclosure = parsed.entries[0].enclosures[0].href
        status, h, body = raw(s, "GET", enclosure)
        assert status == 302 and body == b""
        location = h["location"]
        assert location.startswith(f"{endpoint}/pp-feeds/{key}?") and "X-Amz-Signature=" in location
        assert h["cache-control"] == "private, no-store"
        # The stub checks the presigned URL's signature; a player follows it.
        status, _, body = http(location)
        assert status == 200 and body == mp3
        got = subprocess.run(["mpg123", "-q", "-s", enclosure], capture_output=True, timeout=60)
        assert got.returncode == 0 and len(got.stdout) == 4 * 21 * 1152 * 2, got.stderr
    finally:
        s.stop()
        server.shutdown()
