"""GET /elevenlabs/credits through nginx: ElevenLabs' subscription (a stub
speaking its wire format, errors included), the 60 s per-process cache,
503 on failure, and the offline provider's answer (numbers, status offline)."""
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import pp
from servers import behind_nginx, http_json, stop_all

API_KEY = "el-test-key-0123456789"
UNAVAILABLE = {"detail": "Unable to fetch ElevenLabs credits. Please try again later."}


class ElevenLabsStub:
    """GET /v1/user/subscription as ElevenLabs answers it."""

    def __init__(self, count=33333, limit=100000):
        self.count, self.limit = count, limit
        self.calls = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _json(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                stub.calls += 1
                if self.path != "/v1/user/subscription":
                    return self._json(404, {"detail": "Not Found"})
                if self.headers.get("xi-api-key") != API_KEY:
                    return self._json(401, {"detail": {"status": "invalid_api_key",
                                                       "message": "Invalid API key"}})
                self._json(200, {"tier": "creator", "character_count": stub.count,
                                 "character_limit": stub.limit, "can_extend_character_limit": True,
                                 "allowed_to_extend_character_limit": True,
                                 "next_character_count_reset_unix": 1767225600,
                                 "voice_limit": 30, "professional_voice_limit": 1,
                                 "can_use_instant_voice_cloning": True,
                                 "can_use_professional_voice_cloning": True,
                                 "currency": "usd", "status": "active"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def serve(tmp, services, env):
    tmp = str(tmp)
    os.chmod(tmp, 0o755)
    return behind_nginx(tmp, services, env=dict(env, STORAGE_DIR=os.path.join(tmp, "storage")))


@pytest.fixture
def stub():
    s = ElevenLabsStub()
    yield s
    s.stop()


def test_credits_from_elevenlabs_cached(tmpdir_world, services, stub):
    app, web = serve(tmpdir_world, services, {"ELEVENLABS_API_KEY": API_KEY, "ELEVENLABS_API_URL": stub.url})
    try:
        status, _, doc = http_json(web.url + "/elevenlabs/credits")
        assert status == 200, doc
        assert doc == {"character_count": 33333, "character_limit": 100000,
                       "characters_available": 66667, "usage_percentage": 33.33,
                       "can_create_professional_voice": True, "status": "active"}
        # Cached for 60 s in the process: ElevenLabs is asked once.
        for _ in range(3):
            assert http_json(web.url + "/elevenlabs/credits")[::2] == (200, doc)
        assert stub.calls == 1
    finally:
        stop_all(web, app)


def test_credits_low_balance(tmpdir_world, services):
    stub = ElevenLabsStub(count=97000, limit=100000)
    app, web = serve(tmpdir_world, services, {"ELEVENLABS_API_KEY": API_KEY, "ELEVENLABS_API_URL": stub.url})
    try:
        status, _, doc = http_json(web.url + "/elevenlabs/credits")
        assert status == 200
        assert doc["characters_available"] == 3000
        assert doc["usage_percentage"] == 97.0
        assert doc["can_create_professional_voice"] is False
    finally:
        stop_all(web, app)
        stub.stop()


def test_credits_bad_key_is_503_and_not_cached(tmpdir_world, services, stub):
    app, web = serve(tmpdir_world, services, {"ELEVENLABS_API_KEY": "wrong-key",
                                              "ELEVENLABS_API_URL": stub.url})
    try:
        assert http_json(web.url + "/elevenlabs/credits")[::2] == (503, UNAVAILABLE)
        assert http_json(web.url + "/elevenlabs/credits")[::2] == (503, UNAVAILABLE)
        assert stub.calls == 2
        assert "invalid_api_key" in app.log_text()
    finally:
        stop_all(web, app)


def test_credits_elevenlabs_down_is_503(tmpdir_world, services):
    dead = f"http://127.0.0.1:{pp.free_port()}"
    app, web = serve(tmpdir_world, services, {"ELEVENLABS_API_KEY": API_KEY, "ELEVENLABS_API_URL": dead})
    try:
        assert http_json(web.url + "/elevenlabs/credits")[::2] == (503, UNAVAILABLE)
    finally:
        stop_all(web, app)


def test_credits_offline_gives_numbers_a_ui_can_show(tmpdir_world, services):
    """No ElevenLabs key: the Python service's fields, every figure a number
    (the frontend warns when characters_available < 5000, and in JavaScript
    null < 5000 is true), characters_available large, status "offline"."""
    env = {"ELEVENLABS_API_URL": f"http://127.0.0.1:{pp.free_port()}"}
    app, web = serve(tmpdir_world, services, env)
    try:
        status, _, doc = http_json(web.url + "/elevenlabs/credits")
        assert status == 200
        assert doc == {"character_count": 0, "character_limit": 1000000000,
                       "characters_available": 1000000000, "usage_percentage": 0.0,
                       "can_create_professional_voice": True, "status": "offline"}
        for field in ("character_count", "character_limit", "characters_available", "usage_percentage"):
            assert isinstance(doc[field], (int, float)) and not isinstance(doc[field], bool), field
        assert doc["characters_available"] >= 5000 * 1000
        # Exact in every JSON parser (JavaScript's integers end at 2^53).
        assert doc["characters_available"] < 2 ** 53
    finally:
        stop_all(web, app)



@pytest.mark.parametrize("voice", ["espeak", "elevenlabs"])
def test_voice_provider_names_whose_credits(tmpdir_world, services, stub, voice):
    """VOICE_PROVIDER names the provider whose credits are shown: espeak,
    chosen with an ElevenLabs key set, gives the offline answer and
    ElevenLabs is not asked; elevenlabs named gives its answer as before."""
    app, web = serve(tmpdir_world, services, {"ELEVENLABS_API_KEY": API_KEY, "ELEVENLABS_API_URL": stub.url,
                                              "VOICE_PROVIDER": voice})
    try:
        status, _, doc = http_json(web.url + "/elevenlabs/credits")
        assert status == 200
        if voice == "espeak":
            assert doc == {"character_count": 0, "character_limit": 1000000000,
                           "characters_available": 1000000000, "usage_percentage": 0.0,
                           "can_create_professional_voice": True, "status": "offline"}
            assert stub.calls == 0
        else:
            assert doc["status"] == "active" and doc["characters_available"] == 66667
            assert stub.calls == 1
    finally:
        stop_all(web, app)
