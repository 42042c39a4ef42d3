"""The real frontend's flows in a real browser (issue 11): Debian's chromium,
headless, driven by playwright-core (tests/browser/drive.js), loads
tests/browser/frontend.html from an origin of its own (listed in
CORS_ORIGINS) and makes the Python service's frontend's calls with fetch and
FormData against the whole stack (nginx, the responder, the worker with the
offline writer and espeak-ng): the credits, sign-url, the multipart form to
`url`, `original_file_url = url + fields.key`, POST /podcasts/, polling every
3 s, and the stream URL played in an <audio> element to its end. The upload's
name has spaces, `#`, `%`, `?` and non-ASCII, as real users' files do. A
screenshot of the page at the end is saved in build/browser/.

script/test installs chromium, node and the npm packages (npm ci in
tests/browser); without them this test is skipped, saying what is missing.
PP_CHROMIUM names another chromium binary.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse

import pytest

import pp
from servers import Nginx, Responder, _www_data_dir
from test_pipeline import decode_seconds, pipe  # noqa: F401  (pipe is a fixture)

BROWSER_DIR = os.path.join(pp.ROOT, "tests", "browser")
CHROMIUM = os.environ.get("PP_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(pp.ROOT, "build", "browser")
DOCUMENT = os.path.join(pp.ROOT, "tests", "data", "sample.pdf")
# Spaces, '#', '%', '?', an apostrophe and non-ASCII, as real files are named.
UPLOAD_NAME = "Léa’s notes #2 – 100% sure? (draft) ☕.pdf"
POLL_MS = 3000          # the real page's interval
PLAYBACK_RATE = 16      # the whole episode in a few seconds; Chromium's maximum
DRIVER_TIMEOUT = 40     # seconds for the page's flow (the test stays under 60 s)


def missing_tools():
    node = shutil.which("node")
    if node is None:
        return "node is not installed (Debian package nodejs; script/test installs it)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (Debian package chromium; script/test installs it)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")):
        return "tests/browser/node_modules is missing (script/test runs npm ci there)"
    if not os.path.exists(pp.binary("podcastpro-fcgi")):
        return "podcastpro-fcgi is not built in PP_BUILDDIR"
    return None


pytestmark = pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))


def token_sub(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


class StaticSite:
    """The page's own origin: python's http.server on another port,
    serving a copy of the page (nothing else of the tree)."""

    def __init__(self, tmp):
        self.dir = os.path.join(str(tmp), "site")
        os.makedirs(self.dir, exist_ok=True)
        for name in ("frontend.html", "frontend.js"):
            shutil.copy(os.path.join(BROWSER_DIR, name), self.dir)
        self.port = pp.free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.proc = pp.Proc([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                             "--directory", self.dir, str(self.port)],
                            log=os.path.join(str(tmp), "site.log"))
        try:
            pp.wait_port(self.port)
        except TimeoutError:
            self.proc.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.stop()


def drive(page_url, screenshot):
    opts = {"page": page_url, "file": DOCUMENT, "name": UPLOAD_NAME,
            "requirements": "A short, friendly episode.", "screenshot": screenshot,
            "timeoutMs": DRIVER_TIMEOUT * 1000, "chromium": CHROMIUM}
    proc = subprocess.Popen(["node", os.path.join(BROWSER_DIR, "drive.js"), json.dumps(opts)],
                            cwd=BROWSER_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=DRIVER_TIMEOUT + 15)
    except subprocess.TimeoutExpired:
        # SIGTERM first: Playwright then closes the browser it started.
        proc.terminate()
        try:
            stdout, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        pytest.fail(f"drive.js did not end in {DRIVER_TIMEOUT + 15} s:\n{stderr[-3000:]}")
    assert proc.returncode == 0, f"drive.js failed ({proc.returncode}):\n{stderr[-3000:]}"
    return json.loads(stdout.strip().splitlines()[-1])


def test_frontend_flow_in_chromium(pipe, tmpdir_world):
    storage = _www_data_dir(os.path.join(str(tmpdir_world), "storage"))
    port = pp.free_port()
    public = f"http://127.0.0.1:{port}"
    pipe.storage = storage
    with StaticSite(tmpdir_world) as site:
        env = {"DATABASE_URL": pipe.db_url, "REDIS_URL": pipe.redis_url, "STORAGE_DIR": storage,
               "PUBLIC_URL": public, "CORS_ORIGINS": json.dumps([site.origin])}
        with Responder.listen(tmpdir_world, pipe.services, processes=1, threads=2, env=env) as app, \
                Nginx(tmpdir_world, app.socket, port=port, storage_dir=storage) as web:
            pipe.start_worker(STORAGE_DIR=storage, PUBLIC_URL=public,
                              SUPABASE_JWT_SECRET=app.env["SUPABASE_JWT_SECRET"])
            tok = subprocess.run([pp.binary("podcastpro-ctl"), "token", "browser@podcastpro.example",
                                  "--ttl", "600"], env=app.env, capture_output=True, text=True,
                                 timeout=30, check=True).stdout.strip()
            sub = token_sub(tok)
            query = urllib.parse.urlencode({"api": web.url, "token": tok, "poll": POLL_MS,
                                            "rate": PLAYBACK_RATE})
            shot = os.path.join(SHOTS, "frontend-flow.png")
            if os.path.exists(shot):
                os.unlink(shot)
            out = drive(f"{site.origin}/frontend.html?{query}", shot)
            logs = "\n".join(x.log_text()[-3000:] for x in (app, web, pipe.workers[0]))
    with open(os.path.join(SHOTS, "frontend-flow.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    flow = out["flow"]
    brief = dict(out, flow=dict(flow, podcast={k: v for k, v in (flow.get("podcast") or {}).items()
                                               if k not in ("transcript", "summary")}))
    why = json.dumps(brief, indent=1, ensure_ascii=False)[:8000] + "\n" + logs

    # It ran to the end, with nothing refused by CORS or thrown on the page.
    assert "timeout" not in out, why
    # (A media element aborts a request of its own when it switches to
    # ranges: that is no failure.)
    failed = [r for r in out["failedRequests"]
              if not (r["error"] == "net::ERR_ABORTED" and "/media/" in r["url"])]
    assert out["pageErrors"] == [] and failed == [], why
    assert os.path.getsize(shot) > 0

    # The credits as the upload form shows them: a number, and no warning
    # (offline speech is never short of characters).
    credits = flow["credits"]
    assert credits["status"] == 200 and credits["body"]["status"] == "offline", why
    available = credits["body"]["characters_available"]
    assert isinstance(available, int) and available >= 5000, why
    assert "renderError" not in credits and credits["warns"] is False, why
    assert out["dom"]["creditsWarning"] is False, why
    text = out["dom"]["creditsText"] or ""
    assert text.endswith(" characters available"), why
    assert re.sub(r"\D", "", text) == str(available), why      # toLocaleString()

    assert flow["error"] is None, why
    # sign-url: a form whose url + key is an object URL, the key ours.
    sign = flow["signUrl"]
    url, key = sign["url"], sign["fields"]["key"]
    assert url.endswith("/"), why
    assert key.startswith(f"podcasts/{sub}/") and key.endswith(".pdf"), why
    assert re.match(r"\d{8}_\d{6}_", key[len(f"podcasts/{sub}/"):]), why
    # The form was accepted at url, and the bytes are where the key says.
    assert 200 <= flow["upload"]["status"] < 300, why
    with open(os.path.join(storage, key), "rb") as f, open(DOCUMENT, "rb") as g:
        assert f.read() == g.read()
    # POST /podcasts/ took url + key as it was sent, and the worker found it.
    create = flow["create"]
    assert create["status"] == 202 and create["sent"] == url + key, why
    assert create["body"]["original_file_url"] == url + key, why
    podcast = flow["podcast"]
    assert podcast["status"] == "complete", why
    assert podcast["title"] == "Lighthouses and the Light They Keep", why
    assert out["dom"]["title"] == podcast["title"]
    assert flow["polls"] and all(p["http"] == 200 for p in flow["polls"]), why
    assert flow["polls"][-1]["status"] == "complete"

    # The stream URL played in <audio> to its end: a finite duration that is
    # the podcast's and the MP3's.
    audio = flow["audio"]
    assert audio["src"] == podcast["stream_url"] and out["dom"]["audioSrc"] == podcast["stream_url"]
    assert "error" not in audio and "playError" not in audio, why
    assert audio["ended"] is True and audio["timeupdates"] > 0, why
    duration = audio["duration"]
    assert isinstance(duration, (int, float)) and duration > 0, why
    assert abs(audio["currentTime"] - duration) < 0.5, why
    # It played: the clock ran (at PLAYBACK_RATE) from Play to the end.
    assert (audio["endedAt"] - audio["pressedAt"]) / 1000 >= 0.5 * duration / PLAYBACK_RATE, why
    assert abs(duration - podcast["duration"]) <= max(2.0, 0.05 * duration), why
    seconds, _ = decode_seconds(pipe.mp3_path(podcast["id"]))
    assert abs(duration - seconds) <= max(0.5, 0.02 * seconds), (duration, seconds)
    assert out["dom"]["status"] == "played to the end"
