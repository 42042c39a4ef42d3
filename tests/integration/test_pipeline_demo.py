"""The main job as script/run does it (issue 6): the whole stack (nginx,
the responder, the worker, offline providers) and script/demo, which
uploads doc/sample.pdf through the presigned form, asks for a podcast and
follows it to the MP3, through the public HTTP API only."""
import os
import re
import subprocess

import pp
from servers import Nginx, Responder, _www_data_dir, http
from test_pipeline import decode_seconds, pipe  # noqa: F401  (pipe is a fixture)


def test_demo_script_runs_the_main_job(pipe, tmpdir_world):
    storage = _www_data_dir(os.path.join(str(tmpdir_world), "storage"))
    port = pp.free_port()
    public = f"http://127.0.0.1:{port}"
    # With an anon key, as script/run sets one, the demo user signs up and
    # signs in through the built-in accounts.
    env = {"DATABASE_URL": pipe.db_url, "REDIS_URL": pipe.redis_url, "STORAGE_DIR": storage,
           "PUBLIC_URL": public, "SUPABASE_ANON_KEY": "demo-anon-key-0123456789"}
    pipe.storage = storage
    with Responder.listen(tmpdir_world, pipe.services, processes=1, threads=2, env=env) as app, \
            Nginx(tmpdir_world, app.socket, port=port, storage_dir=storage) as web:
        pipe.start_worker(STORAGE_DIR=storage, PUBLIC_URL=public,
                          SUPABASE_JWT_SECRET=app.env["SUPABASE_JWT_SECRET"])
        demo_env = dict(app.env, PP_CTL=pp.binary("podcastpro-ctl"), DEMO_TIMEOUT="120")
        res = subprocess.run([os.path.join(pp.ROOT, "script", "demo"), web.url], env=demo_env,
                             capture_output=True, text=True, timeout=180)
        assert res.returncode == 0, res.stdout + res.stderr + pipe.workers[0].log_text()[-2000:]
        out = res.stdout
        assert re.search(r"^  demo user \S+: signed up and signed in through /auth/v1/$", out, re.M), out
        # It followed the stages in order and ended complete.
        stages = re.findall(r"processing (\w+) \d+%", out)
        order = ["fetching", "extracting", "writing", "voicing", "mixing", "uploading"]
        assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages), out
        # Status and stage once each: "complete 100%", never "complete complete".
        assert re.search(r"^  complete 100%$", out, re.M) and "complete complete" not in out, out
        assert "Lighthouses and the Light They Keep" in out
        path = re.search(r"file:\s+(\S+\.mp3)", out).group(1)
        seconds, errors = decode_seconds(path)
        assert seconds > 30 and errors == ""
        # The stream URL the API hands out serves those bytes through nginx.
        stream = re.search(r"stream:\s+(\S+)", out).group(1)
        status, headers, body = http(stream)
        with open(path, "rb") as f:
            assert status == 200 and body == f.read()
        assert headers["content-type"] == "audio/mpeg"
        # Every link it prints works (the storage URL of final_podcast_url,
        # which only the API understands, is not printed as one).
        links = re.findall(r"https?://\S+", out)
        assert links == [stream], out
