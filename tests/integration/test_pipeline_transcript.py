"""The timed transcript and chapters (issue 15) end to end: a real worker
(offline providers), the responder behind the shipped nginx file, local
storage. The podcast JSON links both files; nginx serves them with their
types and CORS; the WebVTT parses, names the hosts and holds the script's
lines; every cue is within 50 ms of where its line is voiced in the MP3 as
mpg123 decodes it; there is one chapter per topic the script turns to; and
a second run writes the same files again."""
import json
import os
import re
import time

import jwt
import pytest

import pp
import transcript_check as tc
from servers import Nginx, Responder, _www_data_dir, http, http_json
from test_pipeline import PUBLIC_URL, pipe  # noqa: F401  (pipe is a fixture)

ORIGIN = "http://localhost:3000"      # in the default CORS_ORIGINS
TIMING_MS = 50
CUE_TIMES = re.compile(r"^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$")


def token(app, sub):
    now = int(time.time())
    return jwt.encode({"sub": sub, "aud": "authenticated", "role": "authenticated", "iat": now,
                       "exp": now + 600, "email": "listener@example.com"},
                      app.env["SUPABASE_JWT_SECRET"], algorithm="HS256")


def strict_vtt(body):
    """The file's shape as the WebVTT spec writes it, independently of the
    parser: the signature, then blocks of identifier, timings and one line
    of text, separated by one blank line; times in order."""
    text = body.decode("utf-8")
    assert text.startswith("WEBVTT\n\n") and text.endswith("\n") and "\r" not in text
    blocks = text[len("WEBVTT\n\n"):].rstrip("\n").split("\n\n")
    last = -1.0
    for n, block in enumerate(blocks, 1):
        ident, times, line = block.split("\n")
        assert ident == str(n)
        m = CUE_TIMES.match(times)
        assert m, times
        v = [int(x) for x in m.groups()]
        start = v[0] * 3600 + v[1] * 60 + v[2] + v[3] / 1000
        end = v[4] * 3600 + v[5] * 60 + v[6] + v[7] / 1000
        assert last <= start < end, (last, start, end)
        last = end
        assert "-->" not in line and line.startswith("<v ") and line.endswith("</v>")
    return len(blocks)


def files(paths):
    """[(bytes, inode)] of each of PATHS."""
    out = []
    for p in paths:
        with open(p, "rb") as f:
            out.append((f.read(), os.fstat(f.fileno()).st_ino))
    return out


def topic_changes(lines, title):
    """The chapters the script asks for: (line index, title) at each topic
    that is not the current one; the first line starts one in any case."""
    out, current = [], None
    for i, line in enumerate(lines):
        t = (line.get("topic") or "").strip() or (title if i == 0 else None)
        if t and t != current:
            out.append((i, t))
            current = t
    return out


@pytest.fixture
def stack(pipe, tmpdir_world):  # noqa: F811
    storage = _www_data_dir(os.path.join(str(tmpdir_world), "storage"))
    port = pp.free_port()
    public = f"http://127.0.0.1:{port}"
    env = {"DATABASE_URL": pipe.db_url, "REDIS_URL": pipe.redis_url, "STORAGE_DIR": storage,
           "PUBLIC_URL": public}
    pipe.storage = storage
    with Responder.listen(tmpdir_world, pipe.services, processes=1, threads=2, env=env) as app, \
            Nginx(tmpdir_world, app.socket, port=port, storage_dir=storage) as web:
        pipe.start_worker(STORAGE_DIR=storage, PUBLIC_URL=public,
                          SUPABASE_JWT_SECRET=app.env["SUPABASE_JWT_SECRET"])
        yield pipe, app, web


def test_transcript_and_chapters_end_to_end(stack):
    pipe, app, web = stack
    owner = pipe.user()
    sub = pipe.sql("SELECT auth_user_id::text FROM users WHERE id = %s", owner)[0][0]
    auth = {"Authorization": "Bearer " + token(app, sub)}
    pid = pipe.podcast("notes.md", owner=owner)
    # The API takes ULIDs only, whose first character is 0-7; the document
    # is at this stack's public URL.
    valid = "0" + pid[1:]
    pipe.sql("UPDATE podcasts SET id = %s, original_file_url = replace(original_file_url, %s, %s) "
             "WHERE id = %s", valid, PUBLIC_URL, web.url, pid)
    pid = valid

    # Nothing to link before the podcast is complete.
    status, _, doc = http_json(f"{web.url}/podcasts/{pid}", headers=auth)
    assert status == 200 and doc["transcript_url"] is None and doc["chapters_url"] is None
    pipe.enqueue(pid)
    row = pipe.wait_done(pid)
    assert row["status"] == "complete", row
    lines, title = row["transcript"]["lines"], row["transcript"]["title"]

    status, _, doc = http_json(f"{web.url}/podcasts/{pid}", headers=auth)
    assert status == 200
    for field in ("transcript_url", "chapters_url"):
        assert doc[field].startswith(web.url + "/media/podcasts/podcast_" + pid), doc
        assert "sig=" in doc[field] and "expires=" in doc[field]
    assert doc["stream_url"].startswith(web.url + "/media/podcasts/podcast_" + pid + ".mp3?")
    # The keys are bookkeeping, never shown.
    assert "transcript_vtt_key" not in doc and "chapters_key" not in doc
    # Lists sign nothing, as for stream_url.
    status, _, listed = http_json(f"{web.url}/podcasts/", headers=auth)
    assert status == 200 and listed[0]["id"] == pid
    assert listed[0]["transcript_url"] is None and listed[0]["chapters_url"] is None

    # The transcript through nginx, as a browser's <track> asks for it.
    status, headers, vtt = http(doc["transcript_url"], headers={"Origin": ORIGIN})
    assert status == 200, vtt
    assert headers["content-type"].split(";")[0].strip() == "text/vtt"
    assert headers.get("access-control-allow-origin") == ORIGIN, headers
    with open(os.path.join(pipe.storage, "podcasts", f"podcast_{pid}.vtt"), "rb") as f:
        assert f.read() == vtt
    assert strict_vtt(vtt) == len(lines)
    cues = tc.parse_vtt(vtt)
    assert [(c[2], c[3]) for c in cues] == [(l["speaker"], re.sub(r"[\r\n\t]", " ", l["text"])) for l in lines]

    # Each cue within 50 ms of its line's voice in the decoded MP3.
    pcm = tc.decode(pipe.mp3_path(pid))
    errors = tc.timing_errors(pcm, cues)
    mean_ms, max_ms = tc.summary(errors)
    assert max_ms <= TIMING_MS, [(i, e) for i, e in enumerate(errors) if max(map(abs, e)) > TIMING_MS / 1000]
    # The last cue ends where the voice ends, not at the end of the file.
    assert cues[-1][1] <= len(pcm) / tc.RATE + 0.001

    # Chapters: one per topic change, each at its line's cue, the first at 0.
    status, headers, body = http(doc["chapters_url"], headers={"Origin": ORIGIN})
    assert status == 200 and headers["content-type"] == "application/json+chapters"
    assert headers.get("access-control-allow-origin") == ORIGIN
    chapters = json.loads(body)
    assert chapters["version"] == "1.2.0"
    want = topic_changes(lines, title)
    assert [c["title"] for c in chapters["chapters"]] == [t for _, t in want]
    assert chapters["chapters"][0]["startTime"] == 0
    for (i, _), c in zip(want[1:], chapters["chapters"][1:]):
        assert abs(c["startTime"] - cues[i][0]) < 0.0015, (c, cues[i])
    # The builtin writer starts chapters at the document's headings.
    titles = [c["title"] for c in chapters["chapters"]]
    assert titles[0] == "Introduction" and titles[-1] == "Wrapping up"
    assert set(titles[1:-1]) and set(titles[1:-1]) <= {"Fire, Coal and Candles", "The Problem of Direction"}

    # A run after the completion (the row made to look unfinished, as after a
    # crash before it) writes both files again, for the audio it mixed then.
    # The first run voiced the lines itself; later ones take them from the
    # cache, where a line said twice ("Wait, tell me more about that.") has
    # one clip while the first run had two takes of it, milliseconds apart
    # in espeak-ng. From the cache, the third run gives the second's files
    # byte for byte.
    paths = [os.path.join(pipe.storage, "podcasts", f"podcast_{pid}{s}") for s in (".vtt", ".chapters.json")]
    runs = [files(paths)]
    for _ in range(2):
        pipe.sql("UPDATE podcasts SET status = 'processing', stage = 'uploading', "
                 "transcript_vtt_key = NULL, chapters_key = NULL WHERE id = %s", pid)
        pipe.enqueue(pid)
        assert pipe.wait_done(pid)["status"] == "complete"
        runs.append(files(paths))
        # Rewritten (a new file renamed over the old one), recorded again,
        # and still on time for the MP3 of this run.
        assert all(new[1] != old[1] for new, old in zip(runs[-1], runs[-2]))
        assert pipe.sql("SELECT transcript_vtt_key, chapters_key FROM podcasts WHERE id = %s", pid) == \
            [(f"podcasts/podcast_{pid}.vtt", f"podcasts/podcast_{pid}.chapters.json")]
        assert tc.summary(tc.timing_errors(tc.decode(pipe.mp3_path(pid)), tc.parse_vtt(runs[-1][0][0])))[1] \
            <= TIMING_MS
    assert [data for data, _ in runs[2]] == [data for data, _ in runs[1]]

    # Deleting the podcast removes them with the MP3.
    status, _, _ = http(f"{web.url}/podcasts/{pid}", method="DELETE", headers=auth)
    assert status == 204
    assert not any(os.path.exists(p) for p in paths + [pipe.mp3_path(pid)])


@pytest.mark.parametrize("web,mode", [("nginx", "nginx"), ("lighttpd", "lighttpd"), ("nginx", "off")])
def test_transcript_files_are_served_with_their_types_and_cors(services, tmp_path_factory, web, mode):
    """A <track> from another origin loads through every way /media/ is
    served: nginx's X-Accel-Redirect (which drops the API's CORS headers
    unless the shipped file puts them back), lighttpd's X-Sendfile, and the
    responder itself (SENDFILE_MODE=off)."""
    from test_api_uploads import Stack
    s = Stack(tmp_path_factory.mktemp(f"transcript-{web}-{mode}"), services,
              f"pp_transcript_{web}_{mode}", env={"SENDFILE_MODE": mode}, web=web)
    try:
        vtt = b"WEBVTT\n\n1\n00:00:00.250 --> 00:00:01.000\n<v Dorothy>Hi &amp; bye</v>\n"
        chapters = b'{"version":"1.2.0","chapters":[{"startTime":0.0,"title":"Intro"}]}'
        for suffix, data, ctype in ((".vtt", vtt, "text/vtt"), (".chapters.json", chapters,
                                                                 "application/json+chapters")):
            key = "podcasts/podcast_01JTRANSCRIPT0000000000000" + suffix
            s.put(key, data)
            status, headers, body = http(s.stream_url(key), headers={"Origin": ORIGIN})
            assert status == 200 and body == data, (status, headers)
            assert headers["content-type"].split(";")[0].strip() == ctype, headers
            assert headers.get("access-control-allow-origin") == ORIGIN, headers
            assert "origin" in headers.get("vary", "").lower(), headers
            # Another origin is not let in.
            status, headers, _ = http(s.stream_url(key), headers={"Origin": "https://elsewhere.example"})
            assert status == 200 and "access-control-allow-origin" not in headers
    finally:
        s.stop()


def test_transcript_names_the_listeners_hosts(pipe):  # noqa: F811
    """Hosts named by the listener (POST /podcasts/'s hosts, migration 0006)
    are the voices of the cues; a PDF's headings make its chapters; the
    cues are on time there too."""
    pid = pipe.podcast("sample.pdf")
    pipe.sql("UPDATE podcasts SET hosts = %s::jsonb WHERE id = %s",
             json.dumps([{"name": "Ada O'Neil", "voice": None}, {"name": "Bo", "voice": None}]), pid)
    pipe.start_worker()
    pipe.enqueue(pid)
    row = pipe.wait_done(pid)
    assert row["status"] == "complete", row
    lines = row["transcript"]["lines"]
    with open(os.path.join(pipe.storage, "podcasts", f"podcast_{pid}.vtt"), "rb") as f:
        cues = tc.parse_vtt(f.read())
    names = {"Dorothy": "Ada O'Neil", "Will": "Bo"}
    assert [c[2] for c in cues] == [names[l["speaker"]] for l in lines]
    assert tc.summary(tc.timing_errors(tc.decode(pipe.mp3_path(pid)), cues))[1] <= TIMING_MS
    with open(os.path.join(pipe.storage, "podcasts", f"podcast_{pid}.chapters.json")) as f:
        titles = [c["title"] for c in json.load(f)["chapters"]]
    assert titles == [t for _, t in topic_changes(lines, row["transcript"]["title"])]
    headings = {"Fire, Coal and Candles", "The Problem of Direction", "Augustin Fresnel and the Lens",
                "Signatures in the Dark", "The Keepers", "Electricity and Automation", "Lighthouses Today"}
    assert titles[0] == "Introduction" and titles[-1] == "Wrapping up"
    assert len(titles) >= 4 and set(titles[1:-1]) <= headings, titles
