#!/usr/bin/python3
"""A local OpenID Connect provider for tests, speaking the real wire format.

    oidc_stub.py --port N [--client-id ID] [--client-secret S]
                 [--auth-methods client_secret_basic,client_secret_post]

The issuer is http://127.0.0.1:N. It serves:

    GET  /.well-known/openid-configuration   the discovery document
    GET  /authorize    response_type=code&client_id&redirect_uri&scope&state
                       &nonce: consents at once for the current user and
                       redirects to redirect_uri?code=...&state=...
    POST /token        grant_type=authorization_code, code, redirect_uri;
                       client authentication by client_secret_basic or
                       client_secret_post (as --auth-methods lists); a code
                       works once. Answers access_token, token_type,
                       expires_in, scope and an id_token signed RS256
                       (kid "stub-key-1") with iss, sub, aud, exp, iat,
                       nonce, email, email_verified, name, picture.
    GET  /jwks         the public key as a JWKS

Control (tests): POST /_control with {"user": {...claims...}} sets who
consents next (sub, email, email_verified, name, ...), {"misbehave": M} makes
every following sign-in go wrong one way until {"misbehave": null}:

    bad_signature  id_token signed by another key under the same kid
    wrong_aud      aud is another client
    wrong_iss      iss is another issuer
    wrong_nonce    nonce is not the one asked for
    no_nonce       no nonce claim
    expired        exp an hour ago
    token_error    the token endpoint answers 400 invalid_grant
    token_500      the token endpoint answers 500
    deny           /authorize redirects back with error=access_denied

GET /_requests lists what was received (path, auth method used, form);
POST /_reset forgets it. Prints "PORT <n>" when ready.
"""
import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KID = "stub-key-1"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
LOCK = threading.Lock()
STATE = {
    "user": {"sub": "stub-user-1", "email": "oidc.user@example.com", "email_verified": True,
             "name": "Oidc User", "picture": "https://example.com/oidc-user.png"},
    "misbehave": None,
    "codes": {},
    "requests": [],
}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def sign(claims, key):
    header = {"alg": "RS256", "typ": "JWT", "kid": KID}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "oidc-stub"

    def log_message(self, fmt, *args):
        sys.stderr.write("oidc-stub: " + fmt % args + "\n")

    @property
    def issuer(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, status, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, url):
        self.answer(302, headers={"Location": url})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        with LOCK:
            STATE["requests"].append({"method": "GET", "path": url.path, "query": q})
        if url.path == "/.well-known/openid-configuration":
            self.answer(200, {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "userinfo_endpoint": self.issuer + "/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": self.server.auth_methods,
                "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email",
                                     "email_verified", "name", "picture"],
            })
        elif url.path == "/jwks":
            pub = KEY.public_key().public_numbers()
            self.answer(200, {"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID,
                                        "n": uint(pub.n), "e": uint(pub.e)}]})
        elif url.path == "/authorize":
            self.authorize(q)
        elif url.path == "/_requests":
            with LOCK:
                self.answer(200, {"requests": STATE["requests"]})
        else:
            self.answer(404, {"error": "not_found"})

    def authorize(self, q):
        redirect_uri = q.get("redirect_uri")
        if q.get("client_id") != self.server.client_id or not redirect_uri:
            self.answer(400, {"error": "invalid_request", "error_description": "unknown client"})
            return
        back = {"state": q.get("state", "")}
        with LOCK:
            misbehave = STATE["misbehave"]
            user = dict(STATE["user"])
        if q.get("response_type") != "code" or "openid" not in q.get("scope", "").split():
            back.update(error="invalid_request", error_description="response_type code and scope openid")
        elif misbehave == "deny":
            back.update(error="access_denied", error_description="The user said no")
        else:
            code = secrets.token_urlsafe(24)
            with LOCK:
                STATE["codes"][code] = {"redirect_uri": redirect_uri, "nonce": q.get("nonce"),
                                        "user": user, "scope": q.get("scope")}
            back["code"] = code
        sep = "&" if "?" in redirect_uri else "?"
        self.redirect(redirect_uri + sep + urllib.parse.urlencode(back))

    def client_auth(self, form):
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            raw = base64.b64decode(auth[6:]).decode()
            cid, _, secret = raw.partition(":")
            return "client_secret_basic", urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(secret)
        if "client_secret" in form:
            return "client_secret_post", form.get("client_id"), form.get("client_secret")
        return "none", form.get("client_id"), None

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        raw = self.body()
        if url.path == "/_control":
            doc = json.loads(raw or b"{}")
            with LOCK:
                if "user" in doc:
                    STATE["user"] = doc["user"]
                if "misbehave" in doc:
                    STATE["misbehave"] = doc["misbehave"]
            self.answer(200, {"ok": True})
            return
        if url.path == "/_reset":
            with LOCK:
                STATE["requests"] = []
            self.answer(200, {"ok": True})
            return
        if url.path != "/token":
            self.answer(404, {"error": "not_found"})
            return
        form = dict(urllib.parse.parse_qsl(raw.decode()))
        method, cid, secret = self.client_auth(form)
        with LOCK:
            STATE["requests"].append({"method": "POST", "path": url.path, "auth": method,
                                      "content_type": self.headers.get("Content-Type"),
                                      "form": {k: v for k, v in form.items() if k != "client_secret"}})
            misbehave = STATE["misbehave"]
            grant = STATE["codes"].pop(form.get("code"), None)
        if method not in self.server.auth_methods or cid != self.server.client_id or \
                secret != self.server.client_secret:
            self.answer(401, {"error": "invalid_client", "error_description": "client authentication failed"})
            return
        if misbehave == "token_500":
            self.answer(500, {"error": "server_error"})
            return
        if misbehave == "token_error" or form.get("grant_type") != "authorization_code" or grant is None \
                or grant["redirect_uri"] != form.get("redirect_uri"):
            self.answer(400, {"error": "invalid_grant", "error_description": "code is invalid, used or expired"})
            return
        now = int(time.time())
        claims = dict(grant["user"])
        claims.update(iss=self.issuer, aud=self.server.client_id, iat=now, exp=now + 3600,
                      nonce=grant["nonce"], at_hash=b64url(hashlib.sha256(b"x").digest()[:16]))
        key = KEY
        if misbehave == "bad_signature":
            key = OTHER_KEY
        elif misbehave == "wrong_aud":
            claims["aud"] = "someone-else"
        elif misbehave == "wrong_iss":
            claims["iss"] = "https://evil.example.com"
        elif misbehave == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif misbehave == "no_nonce":
            del claims["nonce"]
        elif misbehave == "expired":
            claims.update(iat=now - 7200, exp=now - 3600)
        self.answer(200, {"access_token": "stub-access-" + secrets.token_urlsafe(12), "token_type": "Bearer",
                          "expires_in": 3600, "scope": grant["scope"], "id_token": sign(claims, key)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--client-id", default="stub-client")
    ap.add_argument("--client-secret", default="stub-secret")
    ap.add_argument("--auth-methods", default="client_secret_basic,client_secret_post")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.client_id = args.client_id
    server.client_secret = args.client_secret
    server.auth_methods = args.auth_methods.split(",")
    print("PORT", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
