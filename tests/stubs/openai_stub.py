#!/usr/bin/python3
"""A local stand-in for an OpenAI-compatible chat completions API.

    openai_stub.py --port 0 [--key K] [--model M] [--lines 12] [--delay s]
                   [--fail 429,ok] [--retry-after 2] [--no-json-schema]
                   [--context CHARS]

POST /v1/chat/completions answers as OpenAI does: a chat.completion whose
choices[0].message.content is the script JSON (built from the sentences of
the <document> message), or one of OpenAI's errors, with its body
{"error": {"message", "type", "param", "code"}}. The schedule is a list
consumed one call at a time; each entry is one of:

    ok            a normal answer
    429           rate_limit_exceeded with a Retry-After header (--retry-after s)
    quota         429 insufficient_quota (no Retry-After)
    401 403       invalid_api_key / no access to the model
    400           invalid_request_error about a parameter
    context       400 context_length_exceeded (OpenAI)
    llama_context 400 exceed_context_size_error (llama-server's shape, code 400)
    500 503       server_error
    length        finish_reason "length" with a cut-off content
    refusal       message.refusal set, content null
    garbage       content that is not JSON
    fenced        the script inside a ```json fence, with a sentence before it

Besides the schedule: with --key, a request without "Authorization: Bearer
K" gets 401 (no key: OpenAI's "You didn't provide an API key"); with
--model, another model gets 404 model_not_found; with --no-json-schema, a
response_format of type json_schema gets 400 (as servers without
structured outputs answer) while json_object works; with --context N, a
request whose messages hold more than N characters gets 400
context_length_exceeded.

Control and inspection (for tests): GET /_requests (every request received,
in order, with its time, headers and parsed body), POST /_control with
{"fail": [...], "delay": s, "lines": n, "retry_after": s} replaces those
settings, POST /_reset forgets the recorded requests. Prints "PORT <n>"
when ready.
"""
import argparse
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"fail": [], "delay": 0.0, "lines": 12, "key": None, "model": None, "retry_after": 2,
         "no_json_schema": False, "context": 0, "requests": [], "calls": 0}
LOCK = threading.Lock()

# kind -> (status, message, type, param, code)
ERRORS = {
    "429": (429, "Rate limit reached for gpt-4o-mini in organization org-stub on requests per min (RPM): "
            "Limit 3, Used 3, Requested 1. Please try again in 20s.", "requests", "requests",
            "rate_limit_exceeded"),
    "quota": (429, "You exceeded your current quota, please check your plan and billing details.",
              "insufficient_quota", None, "insufficient_quota"),
    "401": (401, "Incorrect API key provided: sk-wrong. You can find your API key at "
            "https://platform.openai.com/account/api-keys.", "invalid_request_error", None, "invalid_api_key"),
    "nokey": (401, "You didn't provide an API key. You need to provide your API key in an Authorization "
              "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error",
              None, None),
    "403": (403, "Project `proj_stub` does not have access to model `gpt-4o-mini`", "invalid_request_error",
            None, "model_not_found"),
    "400": (400, "Invalid type for 'temperature': expected a decimal, but got a string instead.",
            "invalid_request_error", "temperature", "invalid_type"),
    "context": (400, "This model's maximum context length is 128000 tokens. However, your messages resulted "
                "in 131072 tokens. Please reduce the length of the messages.", "invalid_request_error",
                "messages", "context_length_exceeded"),
    "schema": (400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this "
               "model.", "invalid_request_error", "response_format", None),
    "500": (500, "The server had an error while processing your request. Sorry about that!", "server_error",
            None, None),
    "503": (503, "The engine is currently overloaded, please try again later.", "server_error", None, None),
}


def sentences(text, limit):
    found = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 6]
    return found[:limit] or ["The document is short, but it still has something to say."]


def document_of(body):
    for m in body.get("messages", []):
        content = m.get("content")
        if m.get("role") == "user" and isinstance(content, str) and content.startswith("<document>"):
            return content.replace("<document>", "").replace("</document>", "").strip()
    return ""


def script_for(body, lines):
    facts = sentences(document_of(body), lines)
    out = []
    for i in range(lines):
        fact = facts[i % len(facts)]
        topic = "Where it starts" if i == 0 else ("Looking closer" if i == lines // 2 else None)
        if i % 2 == 0:
            out.append({"speaker": "Dorothy", "topic": topic, "text": f"Line {i + 1}. {fact}"})
        else:
            out.append({"speaker": "Will", "topic": topic, "text": f"Line {i + 1}. So that means: {fact.lower()}"})
    return {"title": "An Open Conversation About The Uploaded Document",
            "summary": " ".join(facts[:2]), "lines": out}


def completion(model, message, finish):
    return {"id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": dict({"role": "assistant", "refusal": None}, **message),
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
            "system_fingerprint": "fp_stub"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, doc, headers=()):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_error_kind(self, kind):
        status, message, etype, param, code = ERRORS[kind]
        headers = [("Retry-After", str(STATE["retry_after"]))] if kind == "429" else []
        self.send_json(status, {"error": {"message": message, "type": etype, "param": param, "code": code}},
                       headers)

    def do_GET(self):
        if self.path == "/_requests":
            with LOCK:
                self.send_json(200, STATE["requests"])
            return
        self.send_json(404, {"error": {"message": f"Invalid URL (GET {self.path})",
                                       "type": "invalid_request_error", "param": None, "code": None}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.path == "/_control":
            doc = json.loads(raw or b"{}")
            with LOCK:
                for k in ("fail", "delay", "lines", "retry_after"):
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
        if self.path.split("?")[0] != "/v1/chat/completions":
            self.send_json(404, {"error": {"message": f"Invalid URL (POST {self.path})",
                                           "type": "invalid_request_error", "param": None, "code": None}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            STATE["calls"] += 1
            kind = STATE["fail"].pop(0) if STATE["fail"] else "ok"
            delay, lines = STATE["delay"], STATE["lines"]
            record = {"path": self.path, "time": time.time(),
                      "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                      "answer": kind}
            STATE["requests"].append(record)
        if delay:
            time.sleep(delay)
        auth = self.headers.get("Authorization")
        if STATE["key"] and auth is None:
            kind = "nokey"
        elif STATE["key"] and auth != f"Bearer {STATE['key']}":
            kind = "401"
        if body is None:
            record["answer"] = "unparsable"
            self.send_json(400, {"error": {"message": "We could not parse the JSON body of your request.",
                                           "type": "invalid_request_error", "param": None, "code": None}})
            return
        model = body.get("model")
        if STATE["model"] and model != STATE["model"] and kind not in ERRORS:
            record["answer"] = "model"
            self.send_json(404, {"error": {"message": f"The model `{model}` does not exist or you do not "
                                           "have access to it.", "type": "invalid_request_error",
                                           "param": None, "code": "model_not_found"}})
            return
        fmt = (body.get("response_format") or {}).get("type")
        if STATE["no_json_schema"] and fmt == "json_schema" and kind not in ERRORS:
            kind = "schema"
        chars = sum(len(m.get("content") or "") for m in body.get("messages", []))
        if STATE["context"] and chars > STATE["context"] and kind not in ERRORS:
            kind = "context"
        record["answer"] = kind   # what was answered, the settings' overrides included
        if kind == "llama_context":
            # llama-server's shape: a numeric code and its own type.
            self.send_json(400, {"error": {"code": 400, "message": f"request ({chars // 4} tokens) exceeds "
                                           "the available context size (4096 tokens)",
                                           "type": "exceed_context_size_error",
                                           "n_prompt_tokens": chars // 4, "n_ctx": 4096}})
            return
        if kind in ERRORS:
            self.send_error_kind(kind)
            return
        text = json.dumps(script_for(body, lines))
        if kind == "length":
            self.send_json(200, completion(model, {"content": text[:len(text) // 3]}, "length"))
        elif kind == "refusal":
            self.send_json(200, completion(model, {"content": None,
                                                   "refusal": "I'm sorry, I can't help with that request."},
                                           "stop"))
        elif kind == "garbage":
            self.send_json(200, completion(model, {"content": "Dorothy: Welcome! Will: Thanks, glad to be "
                                                              "here."}, "stop"))
        elif kind == "fenced":
            self.send_json(200, completion(model, {"content": f"Here is your script:\n```json\n{text}\n```"},
                                           "stop"))
        else:
            self.send_json(200, completion(model, {"content": text}, "stop"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument("--lines", type=int, default=12, help="lines in each script")
    ap.add_argument("--key", default=None, help="the only bearer key accepted (unset: none needed)")
    ap.add_argument("--model", default=None, help="the only model served (unset: any)")
    ap.add_argument("--retry-after", type=float, default=2, help="Retry-After of 429 answers, seconds")
    ap.add_argument("--no-json-schema", action="store_true", help="refuse response_format json_schema")
    ap.add_argument("--context", type=int, default=0, help="characters of messages accepted (0: any)")
    ap.add_argument("--fail", default="", help="comma-separated failure schedule")
    a = ap.parse_args()
    retry_after = int(a.retry_after) if a.retry_after == int(a.retry_after) else a.retry_after
    STATE.update(delay=a.delay, lines=a.lines, key=a.key, model=a.model, retry_after=retry_after,
                 no_json_schema=a.no_json_schema, context=a.context,
                 fail=[f for f in a.fail.split(",") if f])
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
