// The official @supabase/supabase-js v2 against the built-in accounts
// (tests/integration/test_auth_supabase_js.py starts the stack): every step
// of the sign-up, sign-in, API call, refresh (rotation and reuse), password
// change and sign-out flow, asserted here; one JSON line per step on stdout,
// and exit status 0 only when every step held.
//
// Environment: PP_URL (the site, also the Supabase URL), PP_ANON_KEY.
'use strict';
const assert = require('node:assert/strict');
const { createClient } = require('@supabase/supabase-js');
const { options, step } = require('./supabase-node');

const url = process.env.PP_URL;
const anonKey = process.env.PP_ANON_KEY;
const email = `js${Date.now()}@example.com`;

function payload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

async function api(method, path, token, body) {
  const r = await fetch(url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function main() {
  const supabase = createClient(url, anonKey, options);

  // A weak password: supabase-js's own error class, with GoTrue's reasons.
  let r = await supabase.auth.signUp({ email, password: '123' });
  assert.equal(r.error?.name, 'AuthWeakPasswordError');
  assert.equal(r.error.code, 'weak_password');
  assert.deepEqual(r.error.reasons, ['length']);
  step('signUp weak', { code: r.error.code, status: r.error.status });

  r = await supabase.auth.signUp({ email, password: 'first-password', options: { data: { name: 'Ada' } } });
  assert.equal(r.error, null, r.error?.message);
  assert.ok(r.data.session, 'autoconfirm: signUp answers a session');
  assert.equal(r.data.user.email, email);
  assert.deepEqual(r.data.user.user_metadata, { name: 'Ada' });
  assert.equal(r.data.user.identities.length, 1);
  step('signUp', { user: r.data.user.id });
  const userId = r.data.user.id;

  r = await supabase.auth.signUp({ email, password: 'first-password' });
  assert.equal(r.error?.code, 'user_already_exists');
  step('signUp again', { code: r.error.code, status: r.error.status });

  r = await supabase.auth.signInWithPassword({ email, password: 'wrong-password' });
  assert.equal(r.error?.code, 'invalid_credentials');
  assert.equal(r.error.message, 'Invalid login credentials');
  assert.equal(r.error.status, 400);
  step('signInWithPassword wrong', { code: r.error.code });

  r = await supabase.auth.signInWithPassword({ email, password: 'first-password' });
  assert.equal(r.error, null, r.error?.message);
  let session = r.data.session;
  assert.equal(r.data.user.id, userId);
  const claims = payload(session.access_token);
  assert.equal(claims.iss, `${url}/auth/v1`);
  assert.equal(claims.role, 'authenticated');
  step('signInWithPassword', { session: claims.session_id });

  r = await supabase.auth.getUser();
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.data.user.id, userId);
  step('getUser', { user: r.data.user.id });

  // The API accepts the session's access token as it is.
  let a = await api('GET', '/podcasts/', session.access_token);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(a.body, []);
  a = await api('POST', '/uploads/sign-url/', session.access_token, { filename: 'notes.pdf' });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  step('api', { podcasts: 200, signUrl: 200 });

  // Rotation: a new refresh token, the same session.
  const spent = session.refresh_token;
  r = await supabase.auth.refreshSession();
  assert.equal(r.error, null, r.error?.message);
  assert.notEqual(r.data.session.refresh_token, spent);
  assert.equal(payload(r.data.session.access_token).session_id, claims.session_id);
  session = r.data.session;
  step('refreshSession', { rotated: true });

  // Reuse of the spent token (another client holding it): refused, and the
  // whole session ends with it, the rotated token included.
  const thief = createClient(url, anonKey, options);
  r = await thief.auth.refreshSession({ refresh_token: spent });
  assert.equal(r.error?.code, 'refresh_token_already_used');
  step('reuse', { code: r.error.code });
  r = await thief.auth.refreshSession({ refresh_token: session.refresh_token });
  assert.equal(r.error?.code, 'refresh_token_not_found');
  r = await supabase.auth.getUser(session.access_token);
  assert.equal(r.error?.name, 'AuthSessionMissingError');
  step('session revoked', { code: 'session_not_found' });

  r = await supabase.auth.signInWithPassword({ email, password: 'first-password' });
  assert.equal(r.error, null, r.error?.message);
  r = await supabase.auth.updateUser({ password: 'first-password' });
  assert.equal(r.error?.code, 'same_password');
  r = await supabase.auth.updateUser({ password: 'second-password', data: { plan: 'pro' } });
  assert.equal(r.error, null, r.error?.message);
  assert.deepEqual(r.data.user.user_metadata, { name: 'Ada', plan: 'pro' });
  step('updateUser', { user: r.data.user.id });

  r = await supabase.auth.signInWithPassword({ email, password: 'first-password' });
  assert.equal(r.error?.code, 'invalid_credentials');
  r = await supabase.auth.signInWithPassword({ email, password: 'second-password' });
  assert.equal(r.error, null, r.error?.message);
  session = r.data.session;
  step('signInWithPassword new', { user: r.data.user.id });

  r = await supabase.auth.signOut();
  assert.equal(r.error, null, r.error?.message);
  r = await supabase.auth.getSession();
  assert.equal(r.data.session, null);
  // The server ended it: its tokens no longer work.
  r = await thief.auth.refreshSession({ refresh_token: session.refresh_token });
  assert.equal(r.error?.code, 'refresh_token_not_found');
  const u = await fetch(`${url}/auth/v1/user`, {
    headers: { apikey: anonKey, Authorization: `Bearer ${session.access_token}` },
  });
  assert.equal(u.status, 403);
  step('signOut', { ended: true });
  step('done', { ok: true });
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
