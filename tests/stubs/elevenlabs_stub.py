#!/usr/bin/python3
"""A local stand-in for ElevenLabs' text-to-speech API, speaking its wire
format and answering with real MP3 audio.

    elevenlabs_stub.py --port 0 [--delay 1.5] [--key K] [--max-concurrent 5]
                       [--fail 3:quota,7:busy]

POST /v1/text-to-speech/{voice_id}?output_format=mp3_44100_128 with
xi-api-key and {text, model_id, voice_settings, previous_request_ids}
answers audio/mpeg with `request-id` and `character-cost` headers. The
audio is tests/data/tone.mp3 (0.5486 s, no LAME tag) repeated
1 + len(text) % 3 times, so lines differ in length and the total is known.

Failures, by call number (1-based, counted over all calls) in --fail or
POST /_control {"fail": {"3": "quota"}}:

    quota    401 {"detail":{"status":"quota_exceeded","message":...}}
    badkey   401 invalid_api_key       voice  404 voice_not_found
    busy     429 too_many_concurrent_requests
    sysbusy  429 system_busy           422    422 validation error
    500 503  server errors             drop   the connection closes unanswered

More requests in flight than --max-concurrent answer 429
too_many_concurrent_requests, as the real service does.

GET /_requests lists every request (voice, text, previous_request_ids,
start and end times, the answer and its audio seconds); POST /_reset
forgets them; POST /_control also takes "delay" and "max_concurrent".
Prints "PORT <n>" when ready.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
TONE_PATH = os.path.join(HERE, "..", "data", "tone.mp3")
TONE_SECONDS = 21 * 1152 / 44100.0   # frames in tone.mp3 x samples a frame / rate

STATE = {"fail": {}, "delay": 0.0, "key": None, "max_concurrent": 0, "requests": [], "calls": 0,
         "in_flight": 0, "peak": 0}
LOCK = threading.Lock()

ERRORS = {
    "quota": (401, {"detail": {"status": "quota_exceeded",
                               "message": "This request exceeds your quota of 10000. You have 3 credits remaining."}}),
    "badkey": (401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}),
    "voice": (404, {"detail": {"status": "voice_not_found", "message": "A voice with the voice_id was not found."}}),
    "busy": (429, {"detail": {"status": "too_many_concurrent_requests",
                              "message": "Too many concurrent requests for your subscription."}}),
    "sysbusy": (429, {"detail": {"status": "system_busy", "message": "Our services are experiencing high traffic."}}),
    "422": (422, {"detail": [{"loc": ["body", "text"], "msg": "field required", "type": "value_error.missing"}]}),
    "500": (500, {"detail": {"status": "internal_error", "message": "Internal server error"}}),
    "503": (503, {"detail": {"status": "service_unavailable", "message": "Service unavailable"}}),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, doc, extra=None):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                self.send_json(200, {"requests": STATE["requests"], "peak_in_flight": STATE["peak"]})
            return
        self.send_json(404, {"detail": "Not Found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path == "/_control":
            doc = json.loads(raw or b"{}")
            with LOCK:
                if "fail" in doc:
                    STATE["fail"] = {int(k): v for k, v in doc["fail"].items()}
                for k in ("delay", "max_concurrent"):
                    if k in doc:
                        STATE[k] = doc[k]
            self.send_json(200, {"ok": True})
            return
        if self.path == "/_reset":
            with LOCK:
                STATE["requests"].clear()
                STATE["calls"] = 0
                STATE["peak"] = 0
            self.send_json(200, {"ok": True})
            return
        m = re.fullmatch(r"/v1/text-to-speech/([^/?]+)", self.path.split("?")[0])
        if not m:
            self.send_json(404, {"detail": "Not Found"})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        start = time.time()
        with LOCK:
            STATE["calls"] += 1
            call = STATE["calls"]
            STATE["in_flight"] += 1
            STATE["peak"] = max(STATE["peak"], STATE["in_flight"])
            over = STATE["max_concurrent"] and STATE["in_flight"] > STATE["max_concurrent"]
            kind = STATE["fail"].pop(call, "ok")
            delay = STATE["delay"]
            record = {"call": call, "voice_id": m.group(1), "query": self.path.partition("?")[2],
                      "text": body.get("text"), "model_id": body.get("model_id"),
                      "previous_request_ids": body.get("previous_request_ids", []),
                      "voice_settings": body.get("voice_settings"),
                      "api_key": self.headers.get("xi-api-key"), "start": start}
            STATE["requests"].append(record)
        try:
            if over and kind == "ok":
                kind = "busy"
            if STATE["key"] and self.headers.get("xi-api-key") != STATE["key"]:
                kind = "badkey"
            if kind == "ok" and not isinstance(body.get("text"), str):
                kind = "422"
            if kind not in ("busy", "sysbusy") and delay:
                time.sleep(delay)
            record["answer"] = kind
            if kind == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if kind in ERRORS:
                status, doc = ERRORS[kind]
                self.send_json(status, doc)
                return
            copies = 1 + len(body["text"]) % 3
            with open(TONE_PATH, "rb") as f:
                audio = f.read() * copies
            rid = uuid.uuid4().hex
            record["request_id"] = rid
            record["seconds"] = copies * TONE_SECONDS
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(audio)))
            self.send_header("request-id", rid)
            self.send_header("character-cost", str(len(body["text"])))
            self.end_headers()
            self.wfile.write(audio)
        finally:
            record["end"] = time.time()
            with LOCK:
                STATE["in_flight"] -= 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument("--key", default=None, help="the only xi-api-key accepted")
    ap.add_argument("--max-concurrent", type=int, default=0, help="429 beyond this many in flight (0: no limit)")
    ap.add_argument("--fail", default="", help="CALL:KIND,... failure schedule")
    a = ap.parse_args()
    fail = {}
    for item in filter(None, a.fail.split(",")):
        n, _, kind = item.partition(":")
        fail[int(n)] = kind
    STATE.update(delay=a.delay, key=a.key, max_concurrent=a.max_concurrent, fail=fail)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
