"""Authentication through nginx (issue 4): every 401 detail, the JWT attacks,
HS256, ES256 and RS256 through a JWKS (file and URL), podcastpro-ctl token,
and the user rows behind tokens.

ApiStack (also used by test_api_podcasts.py) runs a private database in the
session's PostgreSQL, a private redis-server (so a test can stop it), one
podcastpro-fcgi and nginx.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

import pp
import openapi_check
from servers import Nginx, Responder, copy_logs, http_json, stop_all
from servers import http as http_raw

jwt = pytest.importorskip("jwt", reason="python3-jwt (PyJWT) is needed to mint test tokens")
ec = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ec",
                         reason="python3-cryptography is needed for ES256/RS256 keys")
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

SECRET = "api-auth-test-secret-0123456789abcdef"
ISSUER = "https://project.supabase.example/auth/v1"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_int(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Keys:
    """An EC P-256 and an RSA 2048 key, with their JWKS."""

    def __init__(self):
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_other = ec.generate_private_key(ec.SECP256R1())

    def jwk_ec(self, kid, key=None):
        nums = (key or self.ec).public_key().public_numbers()
        return {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                "x": b64url(nums.x.to_bytes(32, "big")), "y": b64url(nums.y.to_bytes(32, "big"))}

    def jwk_rsa(self, kid):
        nums = self.rsa.public_key().public_numbers()
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64url_int(nums.n), "e": b64url_int(nums.e)}

    def jwks(self):
        return {"keys": [self.jwk_ec("ec-1"), self.jwk_rsa("rsa-1")]}

    def rsa_public_pem(self):
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def claims(sub=None, email="user@example.com", ttl=3600, **extra):
    now = int(time.time())
    c = {"sub": sub or str(uuid.uuid4()), "aud": "authenticated", "role": "authenticated",
         "iat": now, "exp": now + ttl, "iss": ISSUER}
    if email is not None:
        c["email"] = email
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def hs256(c, secret=SECRET, headers=None):
    return jwt.encode(c, secret, algorithm="HS256", headers=headers)


def forge(header, c, key):
    """A token MAC'd with HMAC-SHA256 over KEY whatever the header says."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(c).encode())
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


class PrivateRedis:
    """A redis-server of our own, on a port that survives a restart."""

    def __init__(self, workdir):
        self.dir = str(workdir)
        self.port = pp.free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = pp.Proc([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", self.dir],
                            log=os.path.join(self.dir, "redis.log"))
        pp.wait_for(lambda: self.cli("PING") == "PONG", what="redis-server")

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip()

    def jobs(self, queue="podcasts"):
        """Envelopes in the queue's stream."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--json", "XRANGE",
                              "pp:q:" + queue, "-", "+"], capture_output=True, text=True, timeout=10)
        found = []
        text = out.stdout.strip()
        if not text:
            return found
        for _entry_id, fields in json.loads(text):
            pairs = dict(zip(fields[::2], fields[1::2]))
            if "job" in pairs:
                found.append(json.loads(pairs["job"]))
        return found


def world_readable(path):
    path = str(path)
    os.chmod(path, 0o755)
    parent = os.path.dirname(path)
    while parent not in ("/", "") and parent.startswith("/tmp"):
        try:
            os.chmod(parent, os.stat(parent).st_mode | 0o055)
        except PermissionError:
            break
        parent = os.path.dirname(parent)


class Database:
    """A private database in the session's PostgreSQL, migrated by ctl."""

    def __init__(self, services, name):
        self.services = services
        self.name = name
        self.admin_url = services["DATABASE_URL"]
        base = self.admin_url.rsplit("/", 1)[0]
        self.url = f"{base}/{name}?sslmode=disable"
        self.psql("postgres", f"DROP DATABASE IF EXISTS {name}")
        self.psql("postgres", f"CREATE DATABASE {name}")
        env = dict(os.environ, DATABASE_URL=self.url, MIGRATIONS_DIR=os.path.join(pp.ROOT, "migrations"))
        subprocess.run([pp.binary("podcastpro-ctl"), "migrate", "--dir",
                        os.path.join(pp.ROOT, "migrations")], env=env, check=True,
                       capture_output=True, timeout=60)

    def psql(self, db, sql, *params):
        base = self.admin_url.rsplit("/", 1)[0]
        url = f"{base}/{db}?sslmode=disable"
        args = ["psql", url, "-X", "-qAt", "-v", "ON_ERROR_STOP=1"]
        for i, p in enumerate(params):
            args += ["-v", f"p{i}={p}"]
        out = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        return out.stdout.strip()

    def sql(self, sql, *params):
        """Runs SQL in our database; :'p0', :'p1' ... are PARAMS, quoted by psql."""
        return self.psql(self.name, sql, *params)

    def drop(self):
        try:
            self.psql("postgres", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except RuntimeError:
            pass


class ApiStack:
    """PostgreSQL database + private Redis + podcastpro-fcgi + nginx."""

    def __init__(self, tmp, services, keys, name, env=None, processes=1, threads=2):
        # Not under pytest's basetemp: a concurrent pytest run makes
        # /tmp/pytest-of-USER private again, and nginx (www-data) must reach
        # the socket. TMP keeps the logs of a failed run.
        self.logs = str(tmp)
        self.tmp = tempfile.mkdtemp(prefix="pp-" + name + "-", dir="/tmp")
        world_readable(self.tmp)
        self.keys = keys
        self.db = Database(services, name)
        self.redis = PrivateRedis(self.tmp)
        self.storage = os.path.join(self.tmp, "storage")
        os.makedirs(self.storage, exist_ok=True)
        os.chmod(self.storage, 0o777)
        self.jwks_path = os.path.join(self.tmp, "jwks.json")
        with open(self.jwks_path, "w") as f:
            json.dump(keys.jwks(), f)
        self.port = pp.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "DATABASE_URL": self.db.url,
            "REDIS_URL": self.redis.url,
            "REDIS_TIMEOUT_MS": "500",
            "SUPABASE_JWT_SECRET": SECRET,
            "SUPABASE_JWT_ISSUER": ISSUER,
            "SUPABASE_JWKS_FILE": self.jwks_path,
            "STORAGE_DIR": self.storage,
            "STORAGE_SECRET": "storage-secret-for-tests-0123456789",
            "PUBLIC_URL": self.url,
            "LOG_LEVEL": "info",
        }
        self.env.update(env or {})
        self.app = self.web = None
        try:
            self.app = Responder.listen(self.tmp, services, processes=processes, threads=threads,
                                        env=self.env)
            self.web = Nginx(self.tmp, self.app.socket, port=self.port,
                             storage_dir=self.storage)
        except Exception:
            self.stop()
            raise

    def stop(self):
        stop_all(self.web, self.app, self.redis)
        self.db.drop()
        copy_logs(self.logs, self.app, self.web, self.redis)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def call(self, method, path, token=None, body=None, headers=None):
        """(status, headers, parsed JSON or None); the answer is checked
        against the API's OpenAPI document (tests/integration/openapi_check.py)."""
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        return openapi_check.checked_call(self.url, http_raw, method, path, body, h)

    def upload(self, sub, name="doc.pdf", data=b"%PDF-1.4 test\n"):
        """Puts a document into local storage as an upload would, returning its URL."""
        key = f"podcasts/{sub}/20261128_120000_{name}"
        path = os.path.join(self.storage, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return f"{self.url}/uploads/local/{key}", key


@pytest.fixture(scope="module")
def keys():
    return Keys()


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory, keys):
    s = ApiStack(tmp_path_factory.mktemp("api-auth"), services, keys, "pp_api_auth",
                 env={"JWT_LEEWAY": "5"})
    yield s
    s.stop()


def detail(resp):
    return resp[2].get("detail") if isinstance(resp[2], dict) else None


def test_missing_and_malformed_header(stack):
    r = stack.call("GET", "/podcasts/")
    assert r[0] == 401 and detail(r) == "Authorization header missing"
    assert r[1].get("www-authenticate") == "Bearer"
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc", "bearer  abc"):
        r = stack.call("GET", "/podcasts/", headers={"Authorization": value})
        assert r[0] == 401 and detail(r) == "Invalid authorization format", value
    # The scheme is case-insensitive, as the Python service's .lower().
    r = stack.call("GET", "/podcasts/", headers={"Authorization": "bEaReR " + hs256(claims())})
    assert r[0] == 200, r


def test_valid_hs256_token(stack):
    r = stack.call("GET", "/podcasts/", hs256(claims()))
    assert r[0] == 200 and r[2] == []


@pytest.mark.parametrize("case,expect", [
    ("garbage", "Invalid token"),
    ("three-dots", "Invalid token"),
    ("expired", "Token expired"),
    ("not-yet-valid", "Invalid token"),
    ("wrong-audience", "Invalid token"),
    ("audience-list", None),
    ("wrong-issuer", "Invalid token"),
    ("no-issuer", "Invalid token"),
    ("missing-sub", "Invalid token: missing user ID"),
    ("other-secret", "Invalid token signature"),
    ("alg-none", "Invalid token"),
    ("alg-lowercase", "Invalid token"),
    ("hs512", "Invalid token"),
    ("no-exp", "Invalid token"),
    ("sub-not-uuid", "Invalid token"),
])
def test_token_attacks(stack, case, expect):
    now = int(time.time())
    if case == "garbage":
        tok = "not-a-token"
    elif case == "three-dots":
        tok = "a.b.c.d"
    elif case == "expired":
        tok = hs256(claims(exp=now - 120, iat=now - 3600))
    elif case == "not-yet-valid":
        tok = hs256(claims(nbf=now + 600))
    elif case == "wrong-audience":
        tok = hs256(claims(aud="anon"))
    elif case == "audience-list":
        tok = hs256(claims(aud=["other", "authenticated"]))
    elif case == "wrong-issuer":
        tok = hs256(claims(iss="https://evil.example/auth/v1"))
    elif case == "no-issuer":
        c = claims()
        del c["iss"]
        tok = hs256(c)
    elif case == "missing-sub":
        c = claims()
        del c["sub"]
        tok = hs256(c)
    elif case == "other-secret":
        tok = hs256(claims(), secret="some-other-secret-entirely-0123456789")
    elif case == "alg-none":
        tok = (b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." +
               b64url(json.dumps(claims()).encode()) + ".")
    elif case == "alg-lowercase":
        tok = forge({"alg": "hs256", "typ": "JWT"}, claims(), SECRET.encode())
    elif case == "hs512":
        tok = jwt.encode(claims(), SECRET, algorithm="HS512")
    elif case == "no-exp":
        c = claims()
        del c["exp"]
        tok = hs256(c)
    elif case == "sub-not-uuid":
        tok = hs256(claims(sub="user-42"))
    r = stack.call("GET", "/podcasts/", tok)
    if expect is None:
        assert r[0] == 200, r
    else:
        assert r[0] == 401 and detail(r) == expect, (case, r)


def test_expired_within_leeway_is_accepted(stack):
    now = int(time.time())
    r = stack.call("GET", "/podcasts/", hs256(claims(exp=now - 2, iat=now - 100)))
    assert r[0] == 200, r


def hs256_text(claims_text, secret=SECRET):
    """An HS256 token whose claims segment is CLAIMS_TEXT exactly as given."""
    signing_input = (b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." +
                     b64url(claims_text.encode()))
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", ["1e300", "-1e30", "9223372036854775808", "-9223372036854775809",
                                   "99999999999999999999999999", "1e400", "NaN", "-Infinity",
                                   "9.3e18"])
def test_numeric_claims_outside_int64_refused(stack, name, value):
    """A NumericDate that does not fit an int64 is refused (401 "Invalid
    token"), never converted: 1e300 as exp used to be a token for ever."""
    c = {k: v for k, v in claims().items() if k != name}
    text = json.dumps(c)[:-1] + f', "{name}": {value}}}'
    r = stack.call("GET", "/podcasts/", hs256_text(text))
    assert r[0] == 401 and detail(r) == "Invalid token", (text, r)
    # The responder is still there (UBSan halts it on undefined behaviour).
    assert stack.call("GET", "/podcasts/", hs256(claims()))[0] == 200


def test_cached_token_still_expires(stack):
    """A verified token is cached, but not past its exp (plus the leeway)."""
    now = int(time.time())
    tok = hs256(claims(exp=now - 3, iat=now - 100))  # valid for about 2 more seconds
    assert stack.call("GET", "/podcasts/", tok)[0] == 200
    assert stack.call("GET", "/podcasts/", tok)[0] == 200
    time.sleep(max(0.0, now + 3 - time.time()))
    r = stack.call("GET", "/podcasts/", tok)
    assert r[0] == 401 and detail(r) == "Token expired", r


def test_hs_rs_confusion(stack, keys):
    """An HS256 token MAC'd with the RSA key's public PEM (as the server
    derives it from the JWKS) must never pass."""
    pem = keys.rsa_public_pem()
    tok = forge({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(), pem)
    r = stack.call("GET", "/podcasts/", tok)
    assert r[0] == 401 and detail(r) == "Invalid token signature", r
    # The same MAC presented as RS256 is not a signature either.
    tok = forge({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}, claims(), pem)
    r = stack.call("GET", "/podcasts/", tok)
    assert r[0] == 401 and detail(r) == "Invalid token signature", r


def test_es256_and_rs256_through_jwks_file(stack, keys):
    ec_pem = keys.ec.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    rsa_pem = keys.rsa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    other = keys.ec_other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    ok = jwt.encode(claims(), ec_pem, algorithm="ES256", headers={"kid": "ec-1"})
    assert stack.call("GET", "/podcasts/", ok)[0] == 200
    ok = jwt.encode(claims(), rsa_pem, algorithm="RS256", headers={"kid": "rsa-1"})
    assert stack.call("GET", "/podcasts/", ok)[0] == 200
    bad = jwt.encode(claims(), other, algorithm="ES256", headers={"kid": "ec-1"})
    r = stack.call("GET", "/podcasts/", bad)
    assert r[0] == 401 and detail(r) == "Invalid token signature"
    unknown = jwt.encode(claims(), ec_pem, algorithm="ES256", headers={"kid": "nobody"})
    r = stack.call("GET", "/podcasts/", unknown)
    assert r[0] == 401 and detail(r) == "Invalid token"
    # The EC key used under the RSA key's kid: the key is pinned to RS256.
    swapped = jwt.encode(claims(), ec_pem, algorithm="ES256", headers={"kid": "rsa-1"})
    r = stack.call("GET", "/podcasts/", swapped)
    assert r[0] == 401 and detail(r) == "Invalid token"
    expired = jwt.encode(claims(exp=int(time.time()) - 600), ec_pem, algorithm="ES256",
                         headers={"kid": "ec-1"})
    r = stack.call("GET", "/podcasts/", expired)
    assert r[0] == 401 and detail(r) == "Token expired"


def test_ctl_token(stack):
    sub = str(uuid.uuid4())
    env = dict(os.environ, SUPABASE_JWT_SECRET=SECRET, SUPABASE_JWT_ISSUER=ISSUER)
    out = subprocess.run([pp.binary("podcastpro-ctl"), "token", "ops@example.com", "--sub", sub,
                          "--ttl", "120"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    tok = out.stdout.strip()
    decoded = jwt.decode(tok, SECRET, algorithms=["HS256"], audience="authenticated", issuer=ISSUER)
    assert decoded["sub"] == sub and decoded["email"] == "ops@example.com"
    assert 100 <= decoded["exp"] - decoded["iat"] <= 120
    assert stack.call("GET", "/podcasts/", tok)[0] == 200
    # Without a secret it refuses (exit 78, EX_CONFIG) instead of minting garbage.
    env.pop("SUPABASE_JWT_SECRET")
    out = subprocess.run([pp.binary("podcastpro-ctl"), "token", "ops@example.com"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 78 and out.stdout == ""
    out = subprocess.run([pp.binary("podcastpro-ctl"), "token", "ops@example.com", "--sub", "nope"],
                         env=dict(env, SUPABASE_JWT_SECRET=SECRET), capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2


def test_user_rows(stack):
    sub = str(uuid.uuid4())
    tok = hs256(claims(sub=sub, email="rows@example.com"))
    for _ in range(3):
        assert stack.call("GET", "/podcasts/", tok)[0] == 200
    rows = stack.db.sql("SELECT email, podcast_limit, podcasts_created FROM users "
                        "WHERE auth_user_id = :'p0'", sub)
    assert rows == "rows@example.com|1|0"
    # No e-mail: a row of its own per user, never a shared "unknown@email.com".
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    assert stack.call("GET", "/podcasts/", hs256(claims(sub=a, email=None)))[0] == 200
    assert stack.call("GET", "/podcasts/", hs256(claims(sub=b, email=None)))[0] == 200
    emails = stack.db.sql("SELECT email FROM users WHERE auth_user_id IN (:'p0', :'p1') ORDER BY email",
                          a, b).split("\n")
    assert sorted(emails) == sorted([f"{a}@unknown.invalid", f"{b}@unknown.invalid"])
    # A row the Python service made (found by e-mail, another auth id) is reused.
    legacy_sub = str(uuid.uuid4())
    stack.db.sql("INSERT INTO users (id, email, auth_user_id, podcast_limit, podcasts_created) "
                 "VALUES ('01JLEGACY0000000000000000A', 'legacy@example.com', :'p0', 3, 1)", legacy_sub)
    assert stack.call("GET", "/podcasts/", hs256(claims(email="legacy@example.com")))[0] == 200
    assert stack.db.sql("SELECT count(*) FROM users WHERE email = 'legacy@example.com'") == "1"


def test_concurrent_first_requests_make_one_user(stack):
    sub = str(uuid.uuid4())
    tok = hs256(claims(sub=sub, email="race@example.com"))
    results = []

    def hit():
        results.append(stack.call("GET", "/podcasts/", tok)[0])
    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 8
    assert stack.db.sql("SELECT count(*) FROM users WHERE auth_user_id = :'p0'", sub) == "1"


class _JwksHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        srv = self.server
        srv.fetches += 1
        body = json.dumps(srv.document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_es256_through_jwks_url(services, tmp_path_factory, keys):
    """Keys fetched from {SUPABASE_URL}/auth/v1/.well-known/jwks.json on a
    local server; an unknown kid refetches at most once a minute."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    server.document = {"keys": [keys.jwk_ec("ec-url")]}
    server.fetches = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    st = None
    try:
        st = ApiStack(tmp_path_factory.mktemp("api-auth-url"), services, keys, "pp_api_auth_url",
                      env={"SUPABASE_JWKS_FILE": "",
                           "SUPABASE_URL": f"http://127.0.0.1:{server.server_address[1]}"})
        ec_pem = keys.ec.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
        assert server.fetches == 0  # fetched on first use, not at start
        tok = jwt.encode(claims(), ec_pem, algorithm="ES256", headers={"kid": "ec-url"})
        r = st.call("GET", "/podcasts/", tok)
        assert r[0] == 200, (r, st.app.log_text()[-2000:])
        assert server.fetches == 1
        assert st.call("GET", "/podcasts/", tok)[0] == 200
        assert server.fetches == 1  # cached
        for kid in ("made-up-1", "made-up-2", "made-up-3"):
            bad = jwt.encode(claims(), ec_pem, algorithm="ES256", headers={"kid": kid})
            r = st.call("GET", "/podcasts/", bad)
            assert r[0] == 401 and detail(r) == "Invalid token"
        assert server.fetches <= 2
        # HS256 tokens still work beside the JWKS.
        assert st.call("GET", "/podcasts/", hs256(claims()))[0] == 200
    finally:
        if st is not None:
            st.stop()
        server.shutdown()
        server.server_close()


def test_jwks_url_unreachable(services, tmp_path_factory, keys):
    dead = pp.free_port()
    st = ApiStack(tmp_path_factory.mktemp("api-auth-dead"), services, keys, "pp_api_auth_dead",
                  env={"SUPABASE_JWKS_FILE": "", "SUPABASE_JWT_SECRET": "",
                       "SUPABASE_JWKS_URL": f"http://127.0.0.1:{dead}/jwks.json"})
    try:
        ec_pem = keys.ec.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
        tok = jwt.encode(claims(), ec_pem, algorithm="ES256", headers={"kid": "ec-1"})
        r = st.call("GET", "/podcasts/", tok)
        assert r[0] == 401 and detail(r) == "Authentication failed", r
        # No HS secret configured: an HS256 token is refused, not checked against nothing.
        r = st.call("GET", "/podcasts/", hs256(claims(), secret=""))
        assert r[0] == 401 and detail(r) == "Invalid token", r
    finally:
        st.stop()
