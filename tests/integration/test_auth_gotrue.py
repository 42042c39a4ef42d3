"""The built-in accounts (issue 12, doc/auth.md): GoTrue's API under
/auth/v1/ through nginx, with GoTrue's status codes and error bodies (both
the legacy {"code","error_code","msg"} shape and the 2024-01-01 one that
supabase-js asks for), the apikey rule, the access token's claims (and that
the existing API routes accept it unchanged), refresh-token rotation and
reuse detection, sessions and logout scopes, password changes, concurrent
signups of one address, and the rate limits.

AccountStack runs a private database, a private Redis, one podcastpro-fcgi
and nginx, with SUPABASE_JWT_ISSUER set to our own issuer
({PUBLIC_URL}/auth/v1) so the API checks iss of the tokens we mint.
"""
import base64
import json
import os
import shutil
import tempfile
import threading
import time
import uuid

import pytest

import openapi_check
import pp
from servers import Lighttpd, Nginx, Responder, copy_logs, stop_all
from servers import http as http_raw
from test_api_auth import Database, PrivateRedis, hs256, world_readable

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

SECRET = "gotrue-test-secret-0123456789abcdef0123"
ANON = hs256({"iss": "supabase", "role": "anon", "iat": 1700000000, "exp": 4000000000}, SECRET)
SERVICE = hs256({"iss": "supabase", "role": "service_role", "iat": 1700000000}, SECRET)
NEW_API = {"X-Supabase-Api-Version": "2024-01-01"}


class AccountStack:
    def __init__(self, tmp, services, name, env=None):
        self.logs = str(tmp)
        self.tmp = tempfile.mkdtemp(prefix="pp-" + name + "-", dir="/tmp")
        world_readable(self.tmp)
        self.db = Database(services, name)
        self.redis = PrivateRedis(self.tmp)
        self.storage = os.path.join(self.tmp, "storage")
        os.makedirs(self.storage, exist_ok=True)
        os.chmod(self.storage, 0o777)
        self.port = pp.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "DATABASE_URL": self.db.url,
            "REDIS_URL": self.redis.url,
            "REDIS_TIMEOUT_MS": "500",
            "SUPABASE_JWT_SECRET": SECRET,
            "SUPABASE_JWT_ISSUER": self.url + "/auth/v1",
            "STORAGE_DIR": self.storage,
            "STORAGE_SECRET": "storage-secret-for-tests-0123456789",
            "PUBLIC_URL": self.url,
            "LOG_LEVEL": "info",
        }
        self.env.update(env or {})
        self.app = self.web = None
        try:
            self.app = Responder.listen(self.tmp, services, processes=1, threads=4, env=self.env)
            self.web = Nginx(self.tmp, self.app.socket, port=self.port, storage_dir=self.storage)
        except Exception:
            self.stop()
            raise

    def stop(self):
        stop_all(self.web, self.app, self.redis)
        self.db.drop()
        copy_logs(self.logs, self.app, self.web, self.redis)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def call(self, method, path, body=None, token=None, apikey=ANON, headers=None, raw=None):
        """(status, headers, parsed JSON or None); every answer is checked
        against doc/openapi.json as served (tests/integration/openapi_check.py)."""
        h = dict(headers or {})
        if apikey is not None:
            h["apikey"] = apikey
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if raw is not None:
            h["Content-Type"] = "application/json"
            body = raw
        status, rh, doc = openapi_check.checked_call(self.url, http_raw, method, path, body, h)
        assert status < 500, (method, path, status, doc)
        return status, rh, doc

    def signup(self, email=None, password="password-1", data=None):
        email = email or f"u{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "password": password}
        if data is not None:
            body["data"] = data
        return email, self.call("POST", "/auth/v1/signup", body)

    def login(self, email, password="password-1", headers=None):
        return self.call("POST", "/auth/v1/token?grant_type=password",
                         {"email": email, "password": password}, headers=headers)

    def refresh(self, token, headers=None):
        return self.call("POST", "/auth/v1/token?grant_type=refresh_token",
                         {"refresh_token": token}, headers=headers)


def payload(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def legacy(status, code, msg=None):
    """A matcher for GoTrue's legacy error body."""
    def check(resp):
        s, _, doc = resp
        assert s == status, resp
        assert doc["code"] == status and doc["error_code"] == code, resp
        assert isinstance(doc["msg"], str) and doc["msg"], resp
        if msg is not None:
            assert doc["msg"] == msg, resp
        return True
    return check


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    # Limits off (rate limits have their own stack below); spent refresh
    # tokens have no grace period, so reuse is detected at once.
    s = AccountStack(tmp_path_factory.mktemp("gotrue"), services, "pp_gotrue",
                     env={"RATE_LIMIT_ENABLED": "false", "AUTH_REFRESH_REUSE_INTERVAL": "0"})
    yield s
    s.stop()


def test_apikey_required(stack):
    for path in ("/auth/v1/health", "/auth/v1/settings"):
        s, _, doc = stack.call("GET", path, apikey=None)
        assert (s, doc["message"]) == (401, "No API key found in request")
        s, _, doc = stack.call("GET", path, apikey="not-a-key")
        assert (s, doc["message"]) == (401, "Invalid API key")
        # Signed with another secret, or a user's token: not a key.
        s, _, _ = stack.call("GET", path, apikey=hs256({"role": "anon"}, "other-secret-0123456789abcdef"))
        assert s == 401
        s, _, _ = stack.call("GET", path, apikey=hs256({"role": "authenticated"}, SECRET))
        assert s == 401
    # The service_role key and ?apikey= work too.
    assert stack.call("GET", "/auth/v1/health", apikey=SERVICE)[0] == 200
    assert stack.call("GET", "/auth/v1/health?apikey=" + ANON, apikey=None)[0] == 200


def test_health_and_settings(stack):
    s, h, doc = stack.call("GET", "/auth/v1/health")
    assert s == 200 and doc["name"] == "GoTrue" and doc["version"].startswith("podcastpro-")
    assert h["x-supabase-api-version"] == "2024-01-01"
    s, _, doc = stack.call("GET", "/auth/v1/settings")
    assert s == 200
    assert doc["external"]["email"] is True and doc["external"]["google"] is False
    assert doc["disable_signup"] is False and doc["mailer_autoconfirm"] is True


def test_signup_answers_a_session_with_supabase_claims(stack):
    email, (s, _, doc) = stack.signup(email="  New.User@Example.COM ", data={"name": "Ada"})
    assert s == 200, doc
    assert doc["token_type"] == "bearer" and doc["expires_in"] == 3600
    assert abs(doc["expires_at"] - (time.time() + 3600)) < 30
    assert len(doc["refresh_token"]) >= 32
    user = doc["user"]
    uuid.UUID(user["id"])
    assert user["email"] == "new.user@example.com"
    assert user["aud"] == "authenticated" and user["role"] == "authenticated"
    assert user["user_metadata"] == {"name": "Ada"}
    assert user["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert user["email_confirmed_at"] and user["confirmed_at"] and user["last_sign_in_at"]
    assert user["is_anonymous"] is False
    assert [i["provider"] for i in user["identities"]] == ["email"]
    c = payload(doc["access_token"])
    assert c["iss"] == stack.url + "/auth/v1" and c["sub"] == user["id"]
    assert c["aud"] == "authenticated" and c["role"] == "authenticated"
    assert c["email"] == "new.user@example.com" and c["phone"] == ""
    assert c["exp"] - c["iat"] == 3600 and abs(c["iat"] - time.time()) < 30
    assert c["aal"] == "aal1" and c["amr"][0]["method"] == "password"
    assert isinstance(c["amr"][0]["timestamp"], int)
    uuid.UUID(c["session_id"])
    assert c["app_metadata"] == user["app_metadata"] and c["user_metadata"] == {"name": "Ada"}
    assert c["is_anonymous"] is False
    # The Python schema's users row, and our credentials with an argon2id hash.
    assert stack.db.psql(stack.db.name, "SELECT email FROM users WHERE auth_user_id = :'p0'",
                         user["id"]) == "new.user@example.com"
    h = stack.db.psql(stack.db.name, "SELECT password_hash FROM auth_credentials WHERE user_id = :'p0'",
                      user["id"])
    assert h.startswith("$argon2id$") and "password-1" not in h


def test_existing_api_accepts_the_access_token(stack):
    email, (s, _, doc) = stack.signup()
    assert s == 200
    s, _, doc = stack.login(email)
    assert s == 200, doc
    token = doc["access_token"]
    s, _, up = stack.call("POST", "/uploads/sign-url/", {"filename": "notes.pdf"}, token=token,
                          apikey=None)
    assert s == 200, up
    assert f"podcasts/{doc['user']['id']}/" in json.dumps(up)
    s, _, listing = stack.call("GET", "/podcasts/", token=token, apikey=None)
    assert s == 200 and listing == [], listing
    # The same users row as the signup made (one per account).
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM users WHERE auth_user_id = :'p0'",
                         doc["user"]["id"]) == "1"


def test_signup_errors(stack):
    email, (s, _, _) = stack.signup()
    assert s == 200
    assert legacy(422, "user_already_exists", "User already registered")(stack.signup(email=email.upper())[1])
    s, _, doc = stack.signup(password="12345")[1]
    assert legacy(422, "weak_password", "Password should be at least 6 characters.")((s, _, doc))
    assert doc["weak_password"] == {"reasons": ["length"]}
    assert legacy(422, "validation_failed")(stack.signup(password="")[1])
    assert legacy(400, "validation_failed")(stack.call("POST", "/auth/v1/signup", {"password": "password-1"}))
    for bad in ("plain", "a@", "@b.c", "a b@c.d"):
        assert legacy(400, "validation_failed",
                      "Unable to validate email address: invalid format")(stack.signup(email=bad)[1])
    # Malformed or mistyped JSON: 400 bad_json, never a 500.
    for raw in (b"{", b"[]", b"\"x\"", b"\xff\xfe", b'{"email": 1, "password": "password-1"}',
                b'{"email": "a@b.c", "password": ["x"]}', b'{"email": "a@b.c", "password": "pw-123456", "data": 3}',
                b'{"email": "a\\u0000@b.c", "password": "password-1"}',
                b'{"email": "a@b.c", "email": "c@d.e", "password": "password-1"}'):
        assert legacy(400, "bad_json")(stack.call("POST", "/auth/v1/signup", raw=raw)), raw
    # Larger than MAX_REQUEST_BODY: the API's 413, not a 500.
    s, _, doc = stack.call("POST", "/auth/v1/signup", raw=b'{"data": "' + b"x" * (2 << 20) + b'"}')
    assert s == 413, doc
    # The 2024-01-01 shape supabase-js asks for.
    s, _, doc = stack.call("POST", "/auth/v1/signup", {"email": email, "password": "password-1"},
                           headers=NEW_API)
    assert (s, doc) == (422, {"code": "user_already_exists", "message": "User already registered"})
    s, _, doc = stack.call("POST", "/auth/v1/signup", {"email": "x@example.com", "password": "1"},
                           headers=NEW_API)
    assert s == 422 and doc["code"] == "weak_password" and doc["weak_password"]["reasons"] == ["length"]


def test_login_errors_are_the_same_for_unknown_and_wrong(stack):
    email, (s, _, _) = stack.signup()
    assert s == 200
    bad = "Invalid login credentials"
    timings = {}
    for who, (e, pw) in {"wrong": (email, "wrong-password"), "unknown": ("nobody@example.com", "password-1")}.items():
        t0 = time.monotonic()
        resp = stack.login(e, pw)
        timings[who] = time.monotonic() - t0
        assert legacy(400, "invalid_credentials", bad)(resp)
        s, _, doc = stack.login(e, pw, headers=NEW_API)
        assert (s, doc) == (400, {"code": "invalid_credentials", "message": bad})
    # Both cost an argon2id verification (loose bound: 2 busy cores).
    assert timings["unknown"] > timings["wrong"] / 4, timings
    assert legacy(400, "validation_failed")(stack.call("POST", "/auth/v1/token?grant_type=password",
                                                       {"password": "x"}))
    assert legacy(400, "bad_json")(stack.call("POST", "/auth/v1/token?grant_type=password", raw=b"{nope"))
    assert legacy(400, "validation_failed", "unsupported_grant_type")(
        stack.call("POST", "/auth/v1/token?grant_type=magic", {}))
    assert legacy(400, "validation_failed")(stack.call("POST", "/auth/v1/token", {}))
    # The address is matched case-insensitively; a disabled account is banned.
    assert stack.login(email.upper())[0] == 200
    stack.db.psql(stack.db.name, "UPDATE auth_credentials SET disabled = true WHERE email = :'p0'", email)
    assert legacy(400, "user_banned")(stack.login(email))
    assert legacy(400, "invalid_credentials")(stack.login(email, "wrong-password"))


def test_imported_bcrypt_hash_signs_in_and_becomes_argon2id(stack):
    """An account imported from Supabase keeps its bcrypt hash (doc/auth.md):
    its password signs in, and the hash is replaced by argon2id."""
    email, (s, _, _) = stack.signup()
    assert s == 200
    bcrypt = "$2a$04$i5kVMxTZmFuB4q1koNbfsO1bSPbx1o4y09Qlgrkuyd16x2R9hmNvW"   # "correct horse battery"
    stack.db.psql(stack.db.name, "UPDATE auth_credentials SET password_hash = :'p0' WHERE email = :'p1'",
                  bcrypt, email)
    assert legacy(400, "invalid_credentials")(stack.login(email, "password-1"))
    assert legacy(400, "invalid_credentials")(stack.login(email, "correct horse batter"))
    stored = lambda: stack.db.psql(stack.db.name, "SELECT password_hash FROM auth_credentials WHERE email = :'p0'",
                                   email)
    assert stored() == bcrypt   # a wrong password changes nothing
    s, _, session = stack.login(email, "correct horse battery")
    assert s == 200 and session["user"]["email"] == email, session
    assert stored().startswith("$argon2id$")
    assert stack.login(email, "correct horse battery")[0] == 200


def test_refresh_rotates_and_reuse_ends_the_session(stack):
    email, (s, _, first) = stack.signup()
    assert s == 200
    s, _, second = stack.refresh(first["refresh_token"])
    assert s == 200, second
    assert second["refresh_token"] != first["refresh_token"]
    c1, c2 = payload(first["access_token"]), payload(second["access_token"])
    assert c2["session_id"] == c1["session_id"] and c2["sub"] == c1["sub"]
    assert c2["amr"] == c1["amr"]
    assert stack.call("GET", "/auth/v1/user", token=second["access_token"])[0] == 200
    # The spent token again: the whole session ends, its successor with it.
    assert legacy(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")(
        stack.refresh(first["refresh_token"]))
    assert legacy(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")(
        stack.refresh(second["refresh_token"]))
    assert legacy(403, "session_not_found")(stack.call("GET", "/auth/v1/user", token=second["access_token"]))
    s, _, doc = stack.refresh("no-such-token", headers=NEW_API)
    assert (s, doc["code"]) == (400, "refresh_token_not_found")
    assert legacy(400, "validation_failed")(stack.call("POST", "/auth/v1/token?grant_type=refresh_token", {}))
    # Only hashes are stored.
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM auth_refresh_tokens WHERE token_hash = :'p0'",
                         second["refresh_token"]) == "0"


def test_user_get_and_errors(stack):
    email, (s, _, doc) = stack.signup(data={"plan": "free"})
    s, _, user = stack.call("GET", "/auth/v1/user", token=doc["access_token"])
    assert s == 200 and user["id"] == doc["user"]["id"] and user["user_metadata"] == {"plan": "free"}
    assert legacy(401, "no_authorization")(stack.call("GET", "/auth/v1/user"))
    assert legacy(403, "bad_jwt")(stack.call("GET", "/auth/v1/user", token="a.b.c"))
    forged = hs256(dict(payload(doc["access_token"])), "another-secret-0123456789abcdef")
    assert legacy(403, "bad_jwt")(stack.call("GET", "/auth/v1/user", token=forged))
    expired = dict(payload(doc["access_token"]), exp=int(time.time()) - 600)
    assert legacy(403, "bad_jwt")(stack.call("GET", "/auth/v1/user", token=hs256(expired, SECRET)))
    ghost = dict(payload(doc["access_token"]), sub=str(uuid.uuid4()))
    assert legacy(403, "user_not_found")(stack.call("GET", "/auth/v1/user", token=hs256(ghost, SECRET)))
    s, _, e = stack.call("GET", "/auth/v1/user", token="a.b.c", headers=NEW_API)
    assert (s, e["code"]) == (403, "bad_jwt")


def test_user_update(stack):
    email, (s, _, a) = stack.signup(data={"name": "Ada", "plan": "free"})
    s, _, b = stack.login(email)
    assert s == 200
    tok = a["access_token"]
    s, _, user = stack.call("PUT", "/auth/v1/user", {"data": {"plan": "pro", "name": None}}, token=tok)
    assert s == 200 and user["user_metadata"] == {"plan": "pro"}, user
    s, _, doc = stack.call("PUT", "/auth/v1/user", {"password": "123"}, token=tok)
    assert s == 422 and doc["error_code"] == "weak_password" and doc["weak_password"]["reasons"] == ["length"]
    assert legacy(422, "same_password")(stack.call("PUT", "/auth/v1/user", {"password": "password-1"}, token=tok))
    # A new address waits for its confirmation (test_auth_mail.py); a
    # taken one is refused.
    s, _, user = stack.call("PUT", "/auth/v1/user", {"email": "other@example.com"}, token=tok)
    assert s == 200 and user["email"] == email and user["new_email"] == "other@example.com", user
    taken, _ = stack.signup()
    assert legacy(422, "email_exists")(stack.call("PUT", "/auth/v1/user", {"email": taken}, token=tok))
    assert stack.call("PUT", "/auth/v1/user", {"email": email}, token=tok)[0] == 200
    assert legacy(400, "bad_json")(stack.call("PUT", "/auth/v1/user", raw=b"{,}", token=tok))
    assert legacy(401, "no_authorization")(stack.call("PUT", "/auth/v1/user", {"data": {}}))
    s, _, user = stack.call("PUT", "/auth/v1/user", {"password": "new-password-2"}, token=tok)
    assert s == 200, user
    assert legacy(400, "invalid_credentials")(stack.login(email))
    assert stack.login(email, "new-password-2")[0] == 200
    # The other session (b) ended with the change; this one (a) goes on.
    assert legacy(400, "refresh_token_not_found")(stack.refresh(b["refresh_token"]))
    assert stack.refresh(a["refresh_token"])[0] == 200


def test_logout_scopes(stack):
    email, (s, _, a) = stack.signup()
    sessions = [a] + [stack.login(email)[2] for _ in range(3)]
    assert legacy(400, "validation_failed")(
        stack.call("POST", "/auth/v1/logout?scope=everything", token=a["access_token"]))
    assert legacy(401, "no_authorization")(stack.call("POST", "/auth/v1/logout"))
    # local: only this session.
    s, _, _ = stack.call("POST", "/auth/v1/logout?scope=local", token=sessions[0]["access_token"])
    assert s == 204
    assert stack.refresh(sessions[0]["refresh_token"])[2]["error_code"] == "refresh_token_not_found"
    assert legacy(403, "session_not_found")(stack.call("GET", "/auth/v1/user", token=sessions[0]["access_token"]))
    s, _, r1 = stack.refresh(sessions[1]["refresh_token"])
    assert s == 200
    # others: every session but this one.
    assert stack.call("POST", "/auth/v1/logout?scope=others", token=r1["access_token"])[0] == 204
    assert stack.refresh(sessions[2]["refresh_token"])[0] == 400
    assert stack.call("GET", "/auth/v1/user", token=r1["access_token"])[0] == 200
    # global (the default): all of them.
    s, _, r3 = stack.login(email)
    assert stack.call("POST", "/auth/v1/logout", token=r1["access_token"])[0] == 204
    assert stack.refresh(r1["refresh_token"])[0] == 400
    assert stack.refresh(r3["refresh_token"])[0] == 400
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM auth_sessions s JOIN auth_credentials c "
                         "ON c.user_id = s.user_id WHERE c.email = :'p0'", email) == "0"


def test_concurrent_signups_make_one_account(stack):
    email = f"race{uuid.uuid4().hex[:8]}@example.com"
    results = []
    barrier = threading.Barrier(6)

    def one():
        barrier.wait(timeout=10)
        results.append(stack.signup(email=email)[1])

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(r[0] for r in results)
    assert statuses == [200] + [422] * 5, results
    assert all(r[2]["error_code"] == "user_already_exists" for r in results if r[0] == 422)
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM auth_credentials WHERE email = :'p0'", email) == "1"
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM users WHERE email = :'p0'", email) == "1"


def test_cross_origin_browser_can_call_and_read_the_error_shape(stack):
    """A page on a listed origin (CORS_ORIGINS) calls /auth/v1/ as
    supabase-js does in a browser: the preflight admits its headers, and the
    answer exposes X-Supabase-Api-Version, which supabase-js reads to tell
    the error shapes apart (without it, error.code is lost)."""
    origin = "http://127.0.0.1:3000"
    wanted = "apikey, authorization, content-type, x-client-info, x-supabase-api-version"
    s, h, _ = stack.call("OPTIONS", "/auth/v1/token?grant_type=password", apikey=None,
                         headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": wanted})
    assert s in (200, 204) and h["access-control-allow-origin"] == origin
    assert h["access-control-allow-headers"].lower() == wanted
    assert "POST" in h["access-control-allow-methods"]
    s, h, doc = stack.login("nobody@example.com", "password-1",
                            headers=dict(NEW_API, Origin=origin))
    assert (s, doc["code"]) == (400, "invalid_credentials")
    exposed = [x.strip().lower() for x in h["access-control-expose-headers"].split(",")]
    assert "x-supabase-api-version" in exposed and h["x-supabase-api-version"] == "2024-01-01"


def test_served_through_lighttpd_too(stack, tmpdir_world):
    """The shipped lighttpd file sends /auth/v1/ to the responder as nginx's
    does (its "/" goes there): sign-up, sign-in and the user, headers kept."""
    web = Lighttpd(tmpdir_world, socket_path=stack.app.socket, storage_dir=stack.storage)
    try:
        email = f"l{uuid.uuid4().hex[:10]}@example.com"
        h = {"apikey": ANON}
        status, _, data = http_raw(web.url + "/auth/v1/signup", method="POST",
                                   body={"email": email, "password": "password-1"}, headers=h)
        assert status == 200, data
        status, _, data = http_raw(web.url + "/auth/v1/token?grant_type=password", method="POST",
                                   body={"email": email, "password": "password-1"}, headers=h)
        assert status == 200, data
        token = json.loads(data)["access_token"]
        status, _, data = http_raw(web.url + "/auth/v1/user",
                                   headers=dict(h, Authorization="Bearer " + token))
        assert status == 200 and json.loads(data)["email"] == email
        status, _, _ = http_raw(web.url + "/auth/v1/health")
        assert status == 401
    finally:
        stop_all(web)


@pytest.fixture(scope="module")
def limited(services, tmp_path_factory):
    # The guide's limits as shipped, and GoTrue's 10 s grace for refreshes.
    s = AccountStack(tmp_path_factory.mktemp("gotrue-limits"), services, "pp_gotrue_limits",
                     env={"RATE_LIMIT_ENABLED": "true"})
    yield s
    s.stop()


def test_rate_limits(limited):
    email, (s, _, first) = limited.signup()
    assert s == 200
    for _ in range(2):
        assert limited.signup()[1][0] == 200
    s, h, doc = limited.signup()[1]
    assert s == 429 and doc["detail"] == "Rate limit exceeded. Please try again later.", doc
    assert int(h["retry-after"]) > 0 and h["x-ratelimit-limit"] == "3"
    for _ in range(5):
        s, h, _ = limited.login(email)
        assert s == 200 and h["x-ratelimit-limit"] == "5"
    s, h, doc = limited.login(email)
    assert s == 429 and "retry-after" in h, doc
    # Refreshes are not log-ins: GoTrue's own, larger limit.
    s, h, second = limited.refresh(first["refresh_token"])
    assert s == 200 and h["x-ratelimit-limit"] == "150"
    # Within the 10 s grace a spent token still gets a successor (two tabs
    # refreshing at once); the session goes on.
    s, _, third = limited.refresh(first["refresh_token"])
    assert s == 200, third
    assert payload(third["access_token"])["session_id"] == payload(second["access_token"])["session_id"]
    assert limited.refresh(second["refresh_token"])[0] == 200
