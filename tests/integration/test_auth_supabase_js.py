"""The official @supabase/supabase-js v2 (npm, tests/browser) in Node against
the built-in accounts through nginx (issue 12): tests/browser/supabase-auth.js
runs createClient(url, anonKey) -> signUp (weak password first) ->
signInWithPassword (wrong, then right) -> getUser -> the API's GET /podcasts/
and POST /uploads/sign-url/ with the session's access token ->
refreshSession (rotation) -> the spent refresh token again (refused, and the
session ends) -> updateUser({password}) -> signInWithPassword with the new
password -> signOut, asserting each answer as supabase-js reports it (error
classes and codes included).

script/test installs node and the npm packages (npm ci in tests/browser);
without them this test is skipped, saying what is missing.
"""
import json
import os
import shutil
import subprocess

import pytest

import pp
from test_auth_gotrue import ANON, AccountStack

BROWSER_DIR = os.path.join(pp.ROOT, "tests", "browser")
STEPS = ["signUp weak", "signUp", "signUp again", "signInWithPassword wrong", "signInWithPassword",
         "getUser", "api", "refreshSession", "reuse", "session revoked", "updateUser",
         "signInWithPassword new", "signOut", "done"]


def missing_tools():
    if shutil.which("node") is None:
        return "node is not installed (Debian package nodejs; script/test installs it)"
    if not os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "@supabase", "supabase-js")):
        return "tests/browser/node_modules is missing @supabase/supabase-js (script/test runs npm ci there)"
    if not os.path.exists(pp.binary("podcastpro-fcgi")):
        return "podcastpro-fcgi is not built in PP_BUILDDIR"
    return None


pytestmark = pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    # Reuse is detected at once (no grace period), limits as shipped.
    s = AccountStack(tmp_path_factory.mktemp("supabase-js"), services, "pp_supabase_js",
                     env={"AUTH_REFRESH_REUSE_INTERVAL": "0", "RATE_LIMIT_ENABLED": "true"})
    yield s
    s.stop()


def test_supabase_js_flow(stack):
    r = subprocess.run(["node", os.path.join(BROWSER_DIR, "supabase-auth.js")], cwd=BROWSER_DIR,
                       env=dict(os.environ, PP_URL=stack.url, PP_ANON_KEY=ANON),
                       capture_output=True, text=True, timeout=120)
    steps = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert r.returncode == 0, (r.stderr, steps)
    assert [s["step"] for s in steps] == STEPS
    by = {s["step"]: s for s in steps}
    assert by["signUp weak"] == {"step": "signUp weak", "code": "weak_password", "status": 422}
    assert by["signUp again"]["code"] == "user_already_exists"
    assert by["reuse"]["code"] == "refresh_token_already_used"
    # The account the client made is the API's user (one users row).
    assert stack.db.psql(stack.db.name, "SELECT count(*) FROM users WHERE auth_user_id = :'p0'",
                         by["signUp"]["user"]) == "1"
