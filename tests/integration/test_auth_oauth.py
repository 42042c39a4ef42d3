"""OAuth sign-in of the built-in accounts (issue 12, doc/auth.md): GET
/auth/v1/authorize -> the OpenID Connect provider -> GET /auth/v1/callback ->
redirect_to?code=... -> POST /auth/v1/token?grant_type=pkce, against
tests/stubs/oidc_stub.py (a provider speaking OIDC's wire format: discovery,
authorize, token with client_secret_basic or _post, RS256 id_token, JWKS).

The redirects are followed by hand here (every answer of ours is checked
against doc/openapi.json); tests/integration/test_auth_browser.py runs the
same flow with supabase-js in Chromium, and test_oauth_supabase_js below with
supabase-js in Node.

Providers: "stub" (basic or post allowed: basic is used), "poststub" (only
client_secret_post) and "down" (an issuer nobody listens on).
"""
import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.parse

import pytest

import pp
from servers import http as http_raw
from servers import http_json
from test_auth_gotrue import ANON, NEW_API, AccountStack, legacy, payload

pytestmark = pytest.mark.skipif(not os.path.exists(pp.binary("podcastpro-fcgi")),
                                reason="podcastpro-fcgi is not built in PP_BUILDDIR")

STUBS = os.path.join(pp.ROOT, "tests", "stubs")
BROWSER_DIR = os.path.join(pp.ROOT, "tests", "browser")
SITE = "http://app.example.test:3000"
APP = SITE + "/welcome"


class OidcStub(pp.Proc):
    """tests/stubs/oidc_stub.py on a port of its own choosing."""

    def __init__(self, tmp, name, *args):
        log = os.path.join(str(tmp), name + ".log")
        super().__init__(["/usr/bin/python3", os.path.join(STUBS, "oidc_stub.py"), "--port", "0", *args],
                         log=log)
        deadline = time.monotonic() + 15
        self.port = None
        while self.port is None:
            assert self.alive() and time.monotonic() < deadline, "oidc_stub.py did not start"
            with open(log) as f:
                for line in f:
                    if line.startswith("PORT "):
                        self.port = int(line.split()[1])
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, **doc):
        status, _, _ = http_raw(self.url + "/_control", "POST", doc)
        assert status == 200

    def requests(self):
        _, _, data = http_raw(self.url + "/_requests")
        return json.loads(data)["requests"]


def provider_env(stub, post_stub=None, closed_port=None):
    env = {"AUTH_OIDC_PROVIDERS": "stub", "AUTH_OIDC_STUB_ISSUER": stub.url,
           "AUTH_OIDC_STUB_CLIENT_ID": "stub-client", "AUTH_OIDC_STUB_CLIENT_SECRET": "stub-secret",
           "AUTH_OIDC_TIMEOUT_MS": "2000"}
    if post_stub is not None:
        env["AUTH_OIDC_PROVIDERS"] += ",poststub"
        env.update({"AUTH_OIDC_POSTSTUB_ISSUER": post_stub.url, "AUTH_OIDC_POSTSTUB_CLIENT_ID": "stub-client",
                    "AUTH_OIDC_POSTSTUB_CLIENT_SECRET": "stub-secret",
                    "AUTH_OIDC_POSTSTUB_SCOPES": "openid email"})
    if closed_port is not None:
        env["AUTH_OIDC_PROVIDERS"] += ",down"
        env.update({"AUTH_OIDC_DOWN_ISSUER": f"http://127.0.0.1:{closed_port}",
                    "AUTH_OIDC_DOWN_CLIENT_ID": "nobody"})
    return env


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("oidc")
    a = OidcStub(tmp, "oidc-stub")
    b = OidcStub(tmp, "oidc-post-stub", "--auth-methods", "client_secret_post")
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture(scope="module")
def stack(services, stubs, tmp_path_factory):
    env = provider_env(*stubs, closed_port=pp.free_port())
    env.update({"RATE_LIMIT_ENABLED": "false", "AUTH_SITE_URL": SITE,
                "AUTH_REDIRECT_ALLOW_LIST": "http://*.example.test:3000/**,myapp://callback"})
    s = AccountStack(tmp_path_factory.mktemp("oauth"), services, "pp_oauth", env=env)
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def well_behaved(stubs):
    for s in stubs:
        s.control(misbehave=None, user={"sub": "stub-user-1", "email": "oidc.user@example.com",
                                        "email_verified": True, "name": "Oidc User"})
    yield


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(stack, provider="stub", redirect_to=APP, challenge=None, method="s256", **extra):
    q = {"provider": provider, "redirect_to": redirect_to, **extra}
    if challenge is not None:
        q.update(code_challenge=challenge, code_challenge_method=method)
    return stack.call("GET", "/auth/v1/authorize?" + urllib.parse.urlencode(q), apikey=None)


def at_provider(location):
    """The browser at the provider: its consent redirect back to us."""
    status, h, body = http_raw(location)
    assert status == 302, (status, body)
    return h["location"]


def callback(stack, url):
    assert url.startswith(stack.url + "/auth/v1/callback?"), url
    status, h, doc = stack.call("GET", url[len(stack.url):], apikey=None)
    assert status == 302, (status, doc)
    return h["location"]


def sign_in_redirect(stack, provider="stub", redirect_to=APP, challenge="", **extra):
    """Authorize -> provider -> callback: where the browser ends up."""
    status, h, doc = authorize(stack, provider, redirect_to, challenge or None, **extra)
    assert status == 302, doc
    return callback(stack, at_provider(h["location"]))


def query_of(url, fragment=False):
    u = urllib.parse.urlsplit(url)
    return dict(urllib.parse.parse_qsl(u.fragment if fragment else u.query))


def pkce_login(stack, provider="stub"):
    verifier, challenge = pkce_pair()
    end = sign_in_redirect(stack, provider, challenge=challenge)
    assert end.startswith(APP + "?code="), end
    return stack.call("POST", "/auth/v1/token?grant_type=pkce",
                      {"auth_code": query_of(end)["code"], "code_verifier": verifier})


def test_settings_list_the_providers(stack):
    s, _, doc = stack.call("GET", "/auth/v1/settings")
    assert s == 200
    assert doc["external"]["stub"] is True and doc["external"]["poststub"] is True
    assert doc["external"]["down"] is True and doc["external"]["google"] is False


def test_pkce_sign_in_makes_the_account_and_the_api_accepts_it(stack, stubs):
    status, h, _ = authorize(stack, challenge=pkce_pair()[1])
    # The provider is asked with our callback, a state, a nonce, the scopes.
    ask = urllib.parse.urlsplit(h["location"])
    q = dict(urllib.parse.parse_qsl(ask.query))
    assert (status, f"{ask.scheme}://{ask.netloc}{ask.path}") == (302, stubs[0].url + "/authorize")
    assert q["response_type"] == "code" and q["client_id"] == "stub-client"
    assert q["redirect_uri"] == stack.url + "/auth/v1/callback"
    assert q["scope"] == "openid email profile" and len(q["state"]) >= 43 and len(q["nonce"]) >= 43

    s, _, session = pkce_login(stack)
    assert s == 200, session
    user = session["user"]
    assert user["email"] == "oidc.user@example.com"
    assert user["app_metadata"] == {"provider": "stub", "providers": ["stub"]}
    assert [i["provider"] for i in user["identities"]] == ["stub"]
    assert user["identities"][0]["id"] == "stub-user-1"
    assert user["user_metadata"]["full_name"] == "Oidc User"
    claims = payload(session["access_token"])
    assert claims["sub"] == user["id"] and claims["amr"][0]["method"] == "oauth"
    # The API takes the token, and the Python schema's users row exists.
    s, _, _ = http_raw(stack.url + "/podcasts/", headers={"Authorization": "Bearer " + session["access_token"]})
    assert s == 200
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM users WHERE auth_user_id = :'p0'", user["id"]) == "1"
    # The code was exchanged with HTTP Basic client authentication.
    token_calls = [r for r in stubs[0].requests() if r["path"] == "/token"]
    assert token_calls[-1]["auth"] == "client_secret_basic"
    assert token_calls[-1]["form"]["redirect_uri"] == stack.url + "/auth/v1/callback"

    # Signing in again is the same account, with a refresh token that works.
    s, _, again = pkce_login(stack)
    assert s == 200 and again["user"]["id"] == user["id"]
    s, _, refreshed = stack.refresh(again["refresh_token"])
    assert s == 200 and refreshed["user"]["id"] == user["id"]


def test_client_secret_post_when_the_provider_lists_only_it(stack, stubs):
    stubs[1].control(user={"sub": "post-1", "email": "post.user@example.com", "email_verified": True})
    s, _, session = pkce_login(stack, "poststub")
    assert s == 200, session
    assert session["user"]["app_metadata"]["provider"] == "poststub"
    call = [r for r in stubs[1].requests() if r["path"] == "/token"][-1]
    assert call["auth"] == "client_secret_post" and call["form"]["client_id"] == "stub-client"
    assert call["content_type"] == "application/x-www-form-urlencoded"
    ask = [r for r in stubs[1].requests() if r["path"] == "/authorize"][-1]
    assert ask["query"]["scope"] == "openid email"


def test_pkce_grant_errors(stack):
    verifier, challenge = pkce_pair()
    code = query_of(sign_in_redirect(stack, challenge=challenge))["code"]
    grant = "/auth/v1/token?grant_type=pkce"
    assert legacy(400, "bad_code_verifier")(
        stack.call("POST", grant, {"auth_code": code, "code_verifier": pkce_pair()[0]}))
    # A wrong verifier does not spend the code (GoTrue's behaviour)...
    s, _, session = stack.call("POST", grant, {"auth_code": code, "code_verifier": verifier})
    assert s == 200, session
    # ...the right one does: a code works once.
    assert legacy(404, "flow_state_not_found", "invalid flow state, no valid flow state found")(
        stack.call("POST", grant, {"auth_code": code, "code_verifier": verifier}))
    s, _, doc = stack.call("POST", grant, {"auth_code": code, "code_verifier": verifier}, headers=NEW_API)
    assert (s, doc["code"]) == (404, "flow_state_not_found")
    assert legacy(404, "flow_state_not_found")(
        stack.call("POST", grant, {"auth_code": "made-up", "code_verifier": verifier}))
    for body in ({"auth_code": code}, {"code_verifier": verifier}, {"auth_code": "", "code_verifier": ""}):
        assert legacy(400, "validation_failed")(stack.call("POST", grant, body))
    assert legacy(400, "bad_json")(stack.call("POST", grant, {"auth_code": 5, "code_verifier": verifier}))
    assert legacy(400, "bad_json")(stack.call("POST", grant, raw=b"{not json"))

    # An auth code past its five minutes: 422, and it is gone.
    verifier, challenge = pkce_pair()
    code = query_of(sign_in_redirect(stack, challenge=challenge))["code"]
    stack.db.psql(stack.db.name, "UPDATE auth_flow_states SET auth_code_expires_at = now() - interval '1 second' "
                  "WHERE auth_code_hash = encode(sha256(convert_to(:'p0', 'UTF8')), 'hex')", code)
    assert legacy(422, "flow_state_expired")(
        stack.call("POST", grant, {"auth_code": code, "code_verifier": verifier}))
    assert legacy(404, "flow_state_not_found")(
        stack.call("POST", grant, {"auth_code": code, "code_verifier": verifier}))


def test_plain_challenge(stack):
    verifier = secrets.token_urlsafe(48)
    end = sign_in_redirect(stack, challenge=verifier, method="plain")
    s, _, session = stack.call("POST", "/auth/v1/token?grant_type=pkce",
                               {"auth_code": query_of(end)["code"], "code_verifier": verifier})
    assert s == 200, session


def test_authorize_errors(stack):
    assert legacy(400, "validation_failed", "Unsupported provider: provider nope could not be found")(
        authorize(stack, "nope", challenge=pkce_pair()[1]))
    assert legacy(400, "validation_failed")(stack.call("GET", "/auth/v1/authorize", apikey=None))
    _, challenge = pkce_pair()
    for q in ({"code_challenge": challenge}, {"code_challenge_method": "s256"},
              {"code_challenge": challenge, "code_challenge_method": "S512"},
              {"code_challenge": "short", "code_challenge_method": "s256"},
              {"code_challenge": "x" * 129, "code_challenge_method": "s256"}):
        assert legacy(400, "validation_failed")(
            stack.call("GET", "/auth/v1/authorize?" + urllib.parse.urlencode({"provider": "stub", **q}),
                       apikey=None)), q
    # A provider that cannot be reached: 503, quickly (AUTH_OIDC_TIMEOUT_MS).
    t = time.monotonic()
    s, _, doc = http_json(stack.url + "/auth/v1/authorize?" + urllib.parse.urlencode(
        {"provider": "down", "redirect_to": APP, "code_challenge": challenge, "code_challenge_method": "s256"}))
    assert (s, doc["error_code"]) == (503, "provider_unavailable")
    assert time.monotonic() - t < 5


def test_redirect_to_is_checked_against_the_allow_list(stack):
    # Allowed: the site's origin, a pattern of AUTH_REDIRECT_ALLOW_LIST.
    for target in (SITE + "/a/b?x=1", "http://other.example.test:3000/deep/path", "myapp://callback"):
        end = sign_in_redirect(stack, redirect_to=target, challenge=pkce_pair()[1])
        assert end.startswith(target) and "code=" in end, (target, end)
    # Not allowed: the flow ends at AUTH_SITE_URL instead, as GoTrue does.
    for target in ("https://evil.example.com/steal", "http://app.example.test:3001/", "http://a.b.example.test:3000/",
                   "javascript:alert(1)", "http://user@app.example.test:3000/"):
        end = sign_in_redirect(stack, redirect_to=target, challenge=pkce_pair()[1])
        assert end.startswith(SITE + "?code="), (target, end)


def test_callback_state_checks(stack, stubs):
    # No state, a made-up one: GoTrue's error, sent to the site URL.
    for path in ("/auth/v1/callback?code=x", "/auth/v1/callback?code=x&state=made-up"):
        s, h, _ = stack.call("GET", path, apikey=None)
        q = query_of(h["location"])
        assert s == 302 and h["location"].startswith(SITE + "?")
        assert (q["error"], q["error_code"]) == ("invalid_request", "bad_oauth_state")
    # A state works once.
    status, h, _ = authorize(stack, challenge=pkce_pair()[1])
    back = at_provider(h["location"])
    assert "code=" in callback(stack, back)
    assert query_of(callback(stack, back))["error_code"] == "bad_oauth_state"
    # An expired state: the error goes back to redirect_to.
    status, h, _ = authorize(stack, challenge=pkce_pair()[1])
    state = query_of(h["location"])["state"]
    stack.db.psql(stack.db.name, "UPDATE auth_flow_states SET expires_at = now() - interval '1 second' "
                  "WHERE state_hash = encode(sha256(convert_to(:'p0', 'UTF8')), 'hex')", state)
    end = callback(stack, at_provider(h["location"]))
    assert end.startswith(APP + "?") and query_of(end)["error_code"] == "bad_oauth_state"
    # The provider's refusal is passed on.
    stubs[0].control(misbehave="deny")
    end = sign_in_redirect(stack, challenge=pkce_pair()[1])
    assert query_of(end) == {"error": "access_denied", "error_description": "The user said no"}


@pytest.mark.parametrize("how", ["bad_signature", "wrong_aud", "wrong_iss", "wrong_nonce", "no_nonce",
                                 "expired", "token_error", "token_500"])
def test_a_misbehaving_provider_signs_nobody_in(stack, stubs, how):
    sub = "mis-" + how
    stubs[0].control(misbehave=how, user={"sub": sub, "email": f"{sub}@example.com", "email_verified": True})
    end = sign_in_redirect(stack, challenge=pkce_pair()[1])
    q = query_of(end)
    assert end.startswith(APP + "?") and "code" not in q, end
    assert (q["error"], q["error_code"]) == ("server_error", "unexpected_failure")
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM auth_identities WHERE provider_id = :'p0'",
                         sub) == "0"


def test_a_verified_address_links_to_the_existing_account(stack, stubs):
    email, (s, _, signed_up) = stack.signup()
    assert s == 200
    stubs[0].control(user={"sub": "link-1", "email": email.upper(), "email_verified": True})
    s, _, session = pkce_login(stack)
    assert s == 200 and session["user"]["id"] == signed_up["user"]["id"]
    assert session["user"]["app_metadata"]["providers"] == ["email", "stub"]
    assert sorted(i["provider"] for i in session["user"]["identities"]) == ["email", "stub"]
    # The password still works (the account was confirmed).
    s, _, _ = stack.login(email)
    assert s == 200
    # An unverified address never links (nor makes an account).
    email2, (s, _, other) = stack.signup()
    stubs[0].control(user={"sub": "link-2", "email": email2, "email_verified": False})
    end = sign_in_redirect(stack, challenge=pkce_pair()[1])
    q = query_of(end)
    assert (q["error"], q["error_code"]) == ("access_denied", "provider_email_needs_verification")
    stubs[0].control(user={"sub": "link-3"})
    q = query_of(sign_in_redirect(stack, challenge=pkce_pair()[1]))
    assert q["error_code"] == "provider_email_needs_verification"


def test_a_disabled_account_is_refused(stack, stubs):
    stubs[0].control(user={"sub": "banned-1", "email": "banned@example.com", "email_verified": True})
    s, _, session = pkce_login(stack)
    assert s == 200
    stack.db.psql(stack.db.name, "UPDATE auth_credentials SET disabled = true WHERE user_id = :'p0'",
                  session["user"]["id"])
    q = query_of(sign_in_redirect(stack, challenge=pkce_pair()[1]))
    assert (q["error"], q["error_code"]) == ("unauthorized_client", "user_banned")


def test_implicit_flow_puts_the_session_in_the_fragment(stack, stubs):
    stubs[0].control(user={"sub": "implicit-1", "email": "implicit@example.com", "email_verified": True})
    end = sign_in_redirect(stack)
    assert end.startswith(APP + "#"), end
    f = query_of(end, fragment=True)
    assert f["token_type"] == "bearer" and int(f["expires_in"]) > 0 and f["provider_token"].startswith("stub-access-")
    s, _, user = stack.call("GET", "/auth/v1/user", token=f["access_token"])
    assert s == 200 and user["email"] == "implicit@example.com"
    s, _, _ = stack.refresh(f["refresh_token"])
    assert s == 200
    # Errors of the implicit flow go in the fragment too.
    stubs[0].control(misbehave="wrong_nonce")
    f = query_of(sign_in_redirect(stack), fragment=True)
    assert f["error_code"] == "unexpected_failure"


def test_signup_disabled_refuses_new_accounts_but_links(services, stubs, tmp_path_factory):
    env = provider_env(stubs[0])
    env.update({"AUTH_DISABLE_SIGNUP": "true", "AUTH_SITE_URL": SITE, "RATE_LIMIT_ENABLED": "false"})
    s = AccountStack(tmp_path_factory.mktemp("oauth-nosignup"), services, "pp_oauth_nosignup", env=env)
    try:
        stubs[0].control(user={"sub": "nosignup-1", "email": "nosignup@example.com", "email_verified": True})
        q = query_of(sign_in_redirect(s, redirect_to=SITE + "/x", challenge=pkce_pair()[1]))
        assert (q["error"], q["error_code"]) == ("access_denied", "signup_disabled")
        assert s.db.psql(s.db.name, "SELECT count(*) FROM auth_credentials") == "0"
        # An account the operator made: the provider's identity joins it.
        uid = s.db.psql(s.db.name, "INSERT INTO auth_credentials (user_id, email, confirmed_at) "
                        "VALUES (gen_random_uuid(), 'nosignup@example.com', now()) RETURNING user_id")
        verifier, challenge = pkce_pair()
        end = sign_in_redirect(s, redirect_to=SITE + "/x", challenge=challenge)
        st, _, session = s.call("POST", "/auth/v1/token?grant_type=pkce",
                                {"auth_code": query_of(end)["code"], "code_verifier": verifier})
        assert st == 200 and session["user"]["id"] == uid, session
    finally:
        s.stop()


def test_no_site_url_and_an_unlisted_redirect_is_refused(services, stubs, tmp_path_factory):
    env = provider_env(stubs[0])
    env.update({"RATE_LIMIT_ENABLED": "false", "AUTH_REDIRECT_ALLOW_LIST": "http://127.0.0.1:*/**"})
    s = AccountStack(tmp_path_factory.mktemp("oauth-nosite"), services, "pp_oauth_nosite", env=env)
    try:
        assert legacy(400, "validation_failed")(authorize(s, redirect_to="https://evil.example.com/",
                                                          challenge=pkce_pair()[1]))
        s_, h, _ = authorize(s, redirect_to="http://127.0.0.1:9/cb", challenge=pkce_pair()[1])
        assert s_ == 302
        # A bad state with no site URL to go to: the JSON error.
        assert legacy(400, "bad_oauth_state")(s.call("GET", "/auth/v1/callback?state=nope", apikey=None))
    finally:
        s.stop()


def missing_node():
    if shutil.which("node") is None:
        return "node is not installed (Debian package nodejs; script/test installs it)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "@supabase", "supabase-js")):
        return "tests/browser/node_modules is missing @supabase/supabase-js (script/test runs npm ci there)"
    return None


@pytest.mark.skipif(missing_node() is not None, reason=str(missing_node()))
def test_oauth_supabase_js(stack, stubs):
    """supabase-js in Node: signInWithOAuth (flowType pkce) -> the redirects,
    followed with fetch -> exchangeCodeForSession -> GET /podcasts/."""
    stubs[0].control(user={"sub": "js-1", "email": "js.oauth@example.com", "email_verified": True})
    r = subprocess.run(["node", os.path.join(BROWSER_DIR, "supabase-oauth.js")], cwd=BROWSER_DIR,
                       env=dict(os.environ, PP_URL=stack.url, PP_ANON_KEY=ANON, PP_REDIRECT=APP),
                       capture_output=True, text=True, timeout=120)
    steps = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert r.returncode == 0, (r.stderr, steps)
    by = {s["step"]: s for s in steps}
    assert list(by) == ["signInWithOAuth", "redirects", "exchangeCodeForSession", "api", "reuse", "wrong verifier",
                        "done"]
    assert by["reuse"]["code"] == "flow_state_not_found" and by["reuse"]["status"] == 404
    assert by["wrong verifier"]["code"] == "bad_code_verifier"
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM users WHERE auth_user_id = :'p0'",
                         by["exchangeCodeForSession"]["user"]) == "1"
