// The official @supabase/supabase-js v2 signs in through an OpenID Connect
// provider with PKCE against the built-in accounts
// (tests/integration/test_auth_oauth.py starts the stack and
// tests/stubs/oidc_stub.py as provider "stub"): signInWithOAuth (flowType
// pkce) -> the redirects, followed with fetch as a browser would (no
// cookies are needed) -> exchangeCodeForSession -> the API's GET /podcasts/
// with the session's token -> the same code again (refused) -> a wrong
// code_verifier (refused). One JSON line per step on stdout, exit status 0
// only when every step held.
//
// Environment: PP_URL (the site, also the Supabase URL), PP_ANON_KEY,
// PP_REDIRECT (an allowed redirect_to; never loaded, only matched).
'use strict';
const assert = require('node:assert/strict');
const { createClient } = require('@supabase/supabase-js');

const url = process.env.PP_URL;
const redirectTo = process.env.PP_REDIRECT;

class NoWebSocket {
  constructor() { throw new Error('realtime is not used by this test'); }
}

// A storage we can look into: supabase-js keeps the code verifier there.
const store = new Map();
const storage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => { store.set(k, v); },
  removeItem: (k) => { store.delete(k); },
};
const verifierKey = () => [...store.keys()].find((k) => k.endsWith('-code-verifier'));

function step(name, detail) {
  process.stdout.write(JSON.stringify({ step: name, ...detail }) + '\n');
}

// The browser's part: follow 302s until the app's redirect_to.
async function follow(start) {
  let at = start;
  const seen = [];
  for (let i = 0; i < 5 && !at.startsWith(redirectTo); i++) {
    const r = await fetch(at, { redirect: 'manual' });
    assert.equal(r.status, 302, `${at} answered ${r.status}`);
    seen.push(new URL(at).pathname);
    at = new URL(r.headers.get('location'), at).toString();
  }
  assert.ok(at.startsWith(redirectTo), at);
  return { end: new URL(at), seen };
}

async function signIn(supabase) {
  const r = await supabase.auth.signInWithOAuth({
    provider: 'stub', options: { redirectTo, skipBrowserRedirect: true },
  });
  assert.equal(r.error, null, r.error?.message);
  return r.data.url;
}

async function main() {
  const supabase = createClient(url, process.env.PP_ANON_KEY, {
    auth: { flowType: 'pkce', storage, persistSession: true, autoRefreshToken: false,
      detectSessionInUrl: false },
    realtime: { transport: NoWebSocket },
  });

  const start = await signIn(supabase);
  const asked = new URL(start);
  assert.equal(asked.pathname, '/auth/v1/authorize');
  assert.equal(asked.searchParams.get('code_challenge_method'), 's256');
  assert.ok(asked.searchParams.get('code_challenge'));
  const vKey = verifierKey();
  const verifier = JSON.parse(store.get(vKey));
  step('signInWithOAuth', {});

  const { end, seen } = await follow(start);
  assert.deepEqual(seen, ['/auth/v1/authorize', '/authorize', '/auth/v1/callback']);
  const code = end.searchParams.get('code');
  assert.ok(code, end.toString());
  step('redirects', { seen });

  let r = await supabase.auth.exchangeCodeForSession(code);
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.data.user.email, 'js.oauth@example.com');
  assert.equal(r.data.user.app_metadata.provider, 'stub');
  const { session } = r.data;
  step('exchangeCodeForSession', { user: r.data.user.id });

  const api = await fetch(`${url}/podcasts/`, { headers: { Authorization: `Bearer ${session.access_token}` } });
  assert.equal(api.status, 200);
  const got = await supabase.auth.getUser();
  assert.equal(got.data.user.id, r.data.user.id);
  step('api', { status: api.status });

  // The same code with the right verifier again: spent.
  assert.equal(verifierKey(), undefined, 'supabase-js forgets the verifier once used');
  storage.setItem(vKey, JSON.stringify(verifier));
  r = await supabase.auth.exchangeCodeForSession(code);
  assert.equal(r.error?.name, 'AuthApiError');
  step('reuse', { code: r.error.code, status: r.error.status });

  // A fresh code with someone else's verifier.
  const again = await follow(await signIn(supabase));
  storage.setItem(verifierKey(), JSON.stringify('x'.repeat(56)));
  r = await supabase.auth.exchangeCodeForSession(again.end.searchParams.get('code'));
  assert.equal(r.error?.status, 400);
  step('wrong verifier', { code: r.error.code });
  step('done', {});
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
