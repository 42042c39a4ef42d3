"""The job dashboard in a real browser (issue 14): Debian's chromium,
headless, driven by playwright-core (tests/browser/dashboard.js) with the
dashboard's basic-auth credentials, against the whole stack: nginx as
shipped, the responder, a worker running a podcast through the pipeline
(slowed down by the Gemini and ElevenLabs stubs' delays so that its stages
last seconds) and a test task that dies at once. The page must show the
podcast's stage change, the dead job, and take a retry from its button: the
dead entry goes and the job runs again. A screenshot is saved as
build/browser/dashboard.png.

Skipped, saying why, without chromium, node or tests/browser/node_modules
(script/test installs them)."""
import json
import os
import select
import subprocess
import time

import pytest

import pp
import workerkit as wk
from servers import Nginx, Responder, _www_data_dir
from test_browser import BROWSER_DIR, CHROMIUM, SHOTS, missing_tools
from test_pipeline import STAGES, pipe  # noqa: F401  (pipe is a fixture)
from test_pipeline_providers import Stub, provider_env

USER, PASSWORD = "ops", "dashboard-browser-password"
DRIVER_TIMEOUT = 60     # seconds for the page's flow
WANTED = ["writing", "voicing"]

pytestmark = pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))


@pytest.fixture
def slow_stubs(tmp_path):
    # Writing waits 3 s for Gemini; each of 12 lines takes 0.4 s at
    # ElevenLabs, one at a time: voicing lasts about 5 s.
    gemini = Stub(tmp_path, "gemini_stub.py", "--key", "gem-key", "--lines", "12", "--delay", "3")
    eleven = Stub(tmp_path, "elevenlabs_stub.py", "--key", "el-key", "--delay", "0.4")
    yield gemini, eleven
    gemini.stop()
    eleven.stop()


def test_dashboard_shows_stages_dead_job_and_retries_it(pipe, slow_stubs, tmpdir_world):
    gemini, eleven = slow_stubs
    storage = _www_data_dir(os.path.join(str(tmpdir_world), "storage"))
    pipe.storage = storage
    env = {"DATABASE_URL": pipe.db_url, "REDIS_URL": pipe.redis_url, "STORAGE_DIR": storage,
           "DASHBOARD_USERS": f"{USER}:{PASSWORD}"}
    shot = os.path.join(SHOTS, "dashboard.png")
    os.makedirs(SHOTS, exist_ok=True)
    if os.path.exists(shot):
        os.unlink(shot)
    with Responder.listen(tmpdir_world, pipe.services, processes=1, threads=2, env=env) as app, \
            Nginx(tmpdir_world, app.socket, storage_dir=storage) as web:
        worker = pipe.start_worker(STORAGE_DIR=storage, **provider_env(gemini, eleven, ELEVENLABS_CONCURRENCY=1))
        wk.wait_state(pipe.r, worker.name)
        # A job that dies at once (a permanent failure).
        start = wk.last_event_id(pipe.r)
        (dead_job,) = wk.enqueue_many(pipe.r, [wk.envelope("test.fail", {"error": "dashboard: broken on purpose",
                                                                          "permanent": True}, "podcasts")])
        wk.wait_event(pipe.r, start, dead_job, "dead")
        (old_entry, _), = pipe.r.xrange("pp:dead:podcasts")
        # A podcast, enqueued once the page is watching.
        pid = pipe.podcast("sample.pdf")
        podcast_job = "DASHBOARD" + os.urandom(8).hex().upper()[:17]
        opts = {"url": web.url + "/dashboard/", "user": USER, "password": PASSWORD, "podcastJob": podcast_job,
                "deadJob": dead_job, "stages": WANTED, "screenshot": shot,
                "timeoutMs": DRIVER_TIMEOUT * 1000, "chromium": CHROMIUM}
        proc = subprocess.Popen(["node", os.path.join(BROWSER_DIR, "dashboard.js"), json.dumps(opts)],
                                cwd=BROWSER_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
        try:
            ready = select.select([proc.stdout], [], [], 30)[0] and proc.stdout.readline().strip()
            assert ready == "READY", (ready, proc.poll())
            wk.enqueue_many(pipe.r, [wk.envelope("podcast.generate", {"podcast_id": pid}, "podcasts",
                                                 job_id=podcast_job)])
            stdout, stderr = proc.communicate(timeout=DRIVER_TIMEOUT + 20)
        except BaseException:
            proc.terminate()
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            raise
        assert proc.returncode == 0, f"dashboard.js failed ({proc.returncode}):\n{stderr[-3000:]}"
        out = json.loads(stdout.strip().splitlines()[-1])
        row = pipe.wait_done(pid, timeout=60)
        retried_events = wk.events_for(pipe.r, start, dead_job)
        logs = "\n".join(x.log_text()[-2000:] for x in (app, web, worker))
    with open(os.path.join(SHOTS, "dashboard.json"), "w") as f:
        json.dump(out, f, indent=1)
    why = json.dumps({k: v for k, v in out.items() if k != "samples"}, indent=1)[:6000] + "\n" + logs

    assert "timeout" not in out, why
    assert out["pageErrors"] == [] and out["failedRequests"] == [], why
    assert out["errors"]["count"] == 0 and out["dom"]["live"] == "live", why
    # The worker and its queue on the page.
    assert worker.name in out["dom"]["workers"] and "podcasts" in out["dom"]["queues"], why
    # The podcast's stage changed on the page, forward only, through the
    # stages the row went through (the page polls once a second).
    seen = out["stages"]
    assert all(s in seen for s in WANTED), why
    assert seen == sorted(seen, key=STAGES.index), why
    voicing = [s["progress"] for s in out["samples"] if s["job"] == podcast_job and s["stage"] == "voicing"]
    assert len(set(voicing)) >= 2, why      # progress moved while voicing
    assert row["status"] == "complete", row
    # The dead job, with its error.
    assert out["deadRow"]["entry"] == old_entry, why
    assert "dashboard: broken on purpose" in out["deadRow"]["error"], why
    # The Retry button: ctl's retry (same id, attempt 1), the entry gone,
    # the job run again, and the page saw it start.
    retry = out["retry"]
    assert retry["gone"] and retry["ranAgain"], why
    assert retry["action"]["status"] == 200, why
    assert retry["action"]["response"]["retried"] == [{"entry": old_entry, "id": dead_job}], why
    assert old_entry not in [e for e, _ in pipe.r.xrange("pp:dead:podcasts")]
    runs = [e for e in retried_events if e["event"] == "started"]
    assert len(runs) == 2 and all(e["attempt"] == "1" for e in runs), retried_events
    assert any(e["event"] == "started" for e in out["eventsAfterRetry"]), why
    # The screenshot, taken while the podcast was voicing and the dead job showed.
    assert out.get("screenshotAt") and os.path.getsize(shot) > 10000, why
