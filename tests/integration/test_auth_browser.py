"""supabase-js in Debian's chromium (headless, playwright-core) against the
built-in accounts (issue 12): tests/browser/auth.html, served from an origin
of its own (listed in CORS_ORIGINS, and the AUTH_SITE_URL), loads
@supabase/supabase-js's UMD bundle from node_modules and runs, in the page:
signUp -> signInWithPassword (wrong, then right) -> the API's GET /podcasts/
with the session's token -> refreshSession (rotated) -> signOut; then the
OAuth PKCE flow with real redirects: signInWithOAuth sends the browser to
/auth/v1/authorize, tests/stubs/oidc_stub.py's consent, /auth/v1/callback,
and back to the page, where supabase-js exchanges ?code= for the session
itself (detectSessionInUrl); the token works on the API and the account has
its users row. tests/browser/auth-browser.js drives it.

script/test installs chromium, node and the npm packages; without them this
test is skipped, saying what is missing.
"""
import json
import os
import shutil
import subprocess

import pytest

import pp
from test_auth_gotrue import ANON, AccountStack
from test_auth_oauth import OidcStub, provider_env
from test_browser import CHROMIUM, StaticSite, missing_tools

BROWSER_DIR = os.path.join(pp.ROOT, "tests", "browser")
UMD = os.path.join(BROWSER_DIR, "node_modules", "@supabase", "supabase-js", "dist", "umd", "supabase.js")


def missing():
    if missing_tools() is not None:
        return missing_tools()
    if not os.path.exists(UMD):
        return "tests/browser/node_modules is missing supabase-js's UMD bundle (script/test runs npm ci there)"
    return None


pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


@pytest.fixture
def setup(services, tmp_path):
    stub = OidcStub(tmp_path, "oidc-stub")
    site = StaticSite(tmp_path)
    stack = None
    try:
        env = provider_env(stub)
        env.update({"RATE_LIMIT_ENABLED": "false", "AUTH_SITE_URL": site.origin,
                    "CORS_ORIGINS": json.dumps([site.origin])})
        stack = AccountStack(tmp_path, services, "pp_auth_browser", env=env)
        for name in ("auth.html", "auth-page.js"):
            shutil.copy(os.path.join(BROWSER_DIR, name), site.dir)
        shutil.copy(UMD, site.dir)
        with open(os.path.join(site.dir, "config.js"), "w") as f:
            f.write("window.PP = %s;\n" % json.dumps({"url": stack.url, "anonKey": ANON, "provider": "stub"}))
        yield stub, site, stack
    finally:
        if stack is not None:
            stack.stop()
        site.proc.stop()
        stub.stop()


def test_supabase_js_in_chromium(setup):
    stub, site, stack = setup
    stub.control(user={"sub": "chromium-1", "email": "chromium.oauth@example.com", "email_verified": True})
    opts = {"page": site.origin + "/auth.html", "email": "chromium.pw@example.com",
            "password": "browser-password-1", "timeoutMs": 40000, "chromium": CHROMIUM}
    r = subprocess.run(["node", os.path.join(BROWSER_DIR, "auth-browser.js"), json.dumps(opts)],
                       cwd=BROWSER_DIR, capture_output=True, text=True, timeout=70)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert "timeout" not in out, out
    # supabase-js never reads logout's (empty) answer, so Chromium counts
    # that request as aborted when the page later navigates away.
    failed = [f for f in out["failedRequests"]
              if not (f["url"].endswith("/auth/v1/logout?scope=global") and f["error"] == "net::ERR_ABORTED")]
    assert out["pageErrors"] == [] and failed == [], out

    steps = {s["step"]: s for s in out["password"]}
    assert steps["signUp"]["error"] is None and steps["signUp"]["user"], out["password"]
    assert steps["signInWithPassword wrong"]["error"]["code"] == "invalid_credentials"
    assert steps["signInWithPassword wrong"]["error"]["status"] == 400
    assert steps["signInWithPassword"]["error"] is None
    assert steps["api"]["status"] == 200
    assert steps["refreshSession"]["rotated"] is True and steps["refreshSession"]["status"] == 200
    assert steps["signOut"]["error"] is None and steps["after signOut"]["session"] is None
    gone = steps["refresh after signOut"]
    assert (gone["status"], gone["body"]["error_code"]) == (400, "refresh_token_not_found"), gone

    oauth = out["oauth"]
    assert oauth["error"] is None and oauth["hadCode"] is True, oauth
    assert (oauth["email"], oauth["provider"], oauth["status"]) == ("chromium.oauth@example.com", "stub", 200)
    assert "code=" not in oauth["search"]
    # The browser really went through the provider and our callback.
    paths = [u.split("?")[0] for u in out["visited"]]
    assert paths == [site.origin + "/auth.html", stack.url + "/auth/v1/authorize", stub.url + "/authorize",
                     stack.url + "/auth/v1/callback", site.origin + "/auth.html"], out["visited"]
    for user in (steps["signUp"]["user"], oauth["user"]):
        assert stack.db.psql(stack.db.name, "SELECT count(*) FROM users WHERE auth_user_id = :'p0'", user) == "1"
