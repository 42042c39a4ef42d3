#!/usr/bin/python3
"""A local stand-in for Gemini's generateContent, speaking its wire format.

    gemini_stub.py --port 0 [--delay 3] [--lines 40] [--key K] [--fail 429,500]

POST /v1beta/models/{model}:generateContent answers like Gemini: a
candidate whose text part is the JSON script (after a "thought" part, as
2.5 models may send), or one of Gemini's errors when the failure schedule
says so. The schedule is a list consumed one call at a time; each entry is
one of:

    ok           a normal answer
    429          RESOURCE_EXHAUSTED with a RetryInfo retryDelay of "1.5s"
    500 503 504  INTERNAL / UNAVAILABLE / DEADLINE_EXCEEDED
    400 403 404  INVALID_ARGUMENT / PERMISSION_DENIED / NOT_FOUND
    max_tokens   finishReason MAX_TOKENS with no text
    safety       finishReason SAFETY, no content
    block        promptFeedback.blockReason PROHIBITED_CONTENT, no candidates
    empty_lines  a script whose lines are all unusable

Control and inspection (for tests): GET /_requests (every request received,
in order, with headers and parsed body), POST /_control with
{"fail": [...], "delay": s, "lines": n} replaces those settings,
POST /_reset forgets the recorded requests. Prints "PORT <n>" when ready.
"""
import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"fail": [], "delay": 0.0, "lines": 12, "key": None, "requests": [], "calls": 0}
LOCK = threading.Lock()

ERRORS = {
    "400": (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
    "403": (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers."),
    "404": (404, "NOT_FOUND", "models/unknown is not found for API version v1beta."),
    "429": (429, "RESOURCE_EXHAUSTED", "You exceeded your current quota."),
    "500": (500, "INTERNAL", "An internal error has occurred."),
    "503": (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    "504": (504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}


def sentences(text, limit):
    found = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 6]
    return found[:limit] or ["The document is short, but it still has something to say."]


def script_for(body, lines):
    parts = body["contents"][0]["parts"]
    doc = parts[0]["text"].replace("<document>", "").replace("</document>", "").strip()
    facts = sentences(doc, lines)
    # A schema that offers a topic per line gets one every fourth line.
    items = body.get("generationConfig", {}).get("responseSchema", {}).get("properties", {}) \
        .get("lines", {}).get("items", {}).get("properties", {})
    out = []
    for i in range(lines):
        fact = facts[i % len(facts)]
        if i % 2 == 0:
            out.append({"speaker": "Dorothy", "text": f"Line {i + 1}. {fact}"})
        else:
            out.append({"speaker": "Will", "text": f"Line {i + 1}. So that means: {fact.lower()}"})
        if "topic" in items and i % 4 == 0:
            out[-1]["topic"] = f"Part {i // 4 + 1}"
    return {"title": "A Stub Conversation About The Uploaded Document",
            "summary": " ".join(facts[:2]), "lines": out}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                self.send_json(200, STATE["requests"])
            return
        self.send_json(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path == "/_control":
            doc = json.loads(raw or b"{}")
            with LOCK:
                for k in ("fail", "delay", "lines"):
                    if k in doc:
                        STATE[k] = list(doc[k]) if k == "fail" else doc[k]
            self.send_json(200, {"ok": True})
            return
        if self.path == "/_reset":
            with LOCK:
                STATE["requests"].clear()
                STATE["calls"] = 0
            self.send_json(200, {"ok": True})
            return
        m = re.fullmatch(r"/v1beta/models/([^/:]+):generateContent", self.path.split("?")[0])
        if not m:
            self.send_json(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            STATE["calls"] += 1
            kind = STATE["fail"].pop(0) if STATE["fail"] else "ok"
            delay = STATE["delay"]
            lines = STATE["lines"]
            STATE["requests"].append({"path": self.path, "model": m.group(1), "time": time.time(),
                                      "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": body, "answer": kind})
        if delay:
            time.sleep(delay)
        if STATE["key"] and self.headers.get("x-goog-api-key") != STATE["key"]:
            kind = "400"
        if body is None:
            kind = "400"
        if kind in ERRORS:
            code, status, message = ERRORS[kind]
            err = {"code": code, "message": message, "status": status}
            if kind == "429":
                err["details"] = [
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                     "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests"}]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]
            self.send_json(code, {"error": err})
            return
        usage = {"promptTokenCount": 1000, "candidatesTokenCount": 500, "totalTokenCount": 1500}
        if kind == "max_tokens":
            self.send_json(200, {"candidates": [{"content": {"role": "model"}, "finishReason": "MAX_TOKENS",
                                                 "index": 0}], "usageMetadata": usage})
        elif kind == "safety":
            self.send_json(200, {"candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}]}], "usageMetadata": usage})
        elif kind == "block":
            self.send_json(200, {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": usage})
        else:
            script = script_for(body, lines)
            if kind == "empty_lines":
                script["lines"] = [{"speaker": "Narrator", "text": "nobody"}, {"speaker": "Will", "text": " "}]
            text = json.dumps(script)
            half = len(text) // 2
            self.send_json(200, {"candidates": [{"content": {"role": "model", "parts": [
                {"text": "Planning the episode.", "thought": True},
                {"text": text[:half]}, {"text": text[half:]}]},
                "finishReason": "STOP", "index": 0}],
                "usageMetadata": usage, "modelVersion": m.group(1)})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument("--lines", type=int, default=12, help="lines in each script")
    ap.add_argument("--key", default=None, help="the only x-goog-api-key accepted")
    ap.add_argument("--fail", default="", help="comma-separated failure schedule")
    a = ap.parse_args()
    STATE.update(delay=a.delay, lines=a.lines, key=a.key, fail=[f for f in a.fail.split(",") if f])
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
