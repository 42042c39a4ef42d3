// The official @supabase/supabase-js v2 through the built-in accounts' mail
// flows (tests/integration/test_auth_mail.py starts the stack, a real SMTP
// server, the worker, and a small HTTP mailbox over what the SMTP server
// received): signUp -> mail -> the link (GET /verify, 303 with the session
// in the fragment) -> signInWithPassword -> an API call -> updateUser
// (password, then e-mail: mail -> verifyOtp email_change) ->
// resetPasswordForEmail -> mail -> verifyOtp recovery -> updateUser (new
// password) -> signInWithPassword with it -> signOut. One JSON line per step
// on stdout; exit status 0 only when every step held.
//
// Environment: PP_URL (the site, also the Supabase URL), PP_ANON_KEY,
// PP_MAILBOX (GET {PP_MAILBOX}?to=ADDRESS&n=N answers the N-th mail to
// ADDRESS as {subject, link, token}, waiting for it), PP_REDIRECT (an
// allowed redirect_to).
'use strict';
const assert = require('node:assert/strict');
const { createClient } = require('@supabase/supabase-js');
const { options, step } = require('./supabase-node');

const url = process.env.PP_URL;
const anonKey = process.env.PP_ANON_KEY;
const mailbox = process.env.PP_MAILBOX;
const redirect = process.env.PP_REDIRECT;
const stamp = Date.now();
const email = `mail${stamp}@example.com`;
const newEmail = `moved${stamp}@example.com`;

async function mail(to, n) {
  const r = await fetch(`${mailbox}?to=${encodeURIComponent(to)}&n=${n}`);
  assert.equal(r.status, 200, `mail #${n} to ${to} did not come`);
  return r.json();
}

async function podcasts(token) {
  const r = await fetch(`${url}/podcasts/`, { headers: { Authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function main() {
  const supabase = createClient(url, anonKey, options);

  let r = await supabase.auth.signUp({ email, password: 'first-password',
    options: { emailRedirectTo: redirect } });
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.data.session, null, 'confirmation required: no session yet');
  assert.equal(r.data.user.email, email);
  step('signUp', { user: r.data.user.id });
  const userId = r.data.user.id;

  r = await supabase.auth.signInWithPassword({ email, password: 'first-password' });
  assert.equal(r.error?.code, 'email_not_confirmed');
  assert.equal(r.error.status, 400);
  step('unconfirmed', { code: r.error.code });

  // The mailed link, followed as a browser would: 303 to redirect_to with
  // the session in the fragment, which the client takes up.
  let m = await mail(email, 1);
  assert.equal(m.subject, 'Confirm Your Signup');
  const res = await fetch(m.link, { redirect: 'manual' });
  assert.equal(res.status, 303);
  const location = res.headers.get('location');
  assert.ok(location.startsWith(`${redirect}#`), location);
  const frag = new URLSearchParams(new URL(location).hash.slice(1));
  assert.equal(frag.get('type'), 'signup');
  r = await supabase.auth.setSession({ access_token: frag.get('access_token'),
    refresh_token: frag.get('refresh_token') });
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.data.user.id, userId);
  assert.ok(r.data.user.email_confirmed_at);
  step('verify link', { type: frag.get('type') });
  // Followed again: spent.
  const again = await fetch(m.link, { redirect: 'manual' });
  assert.equal(new URLSearchParams(new URL(again.headers.get('location')).hash.slice(1))
    .get('error_code'), 'otp_expired');

  r = await supabase.auth.signInWithPassword({ email, password: 'first-password' });
  assert.equal(r.error, null, r.error?.message);
  let a = await podcasts(r.data.session.access_token);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.deepEqual(a.body, []);
  step('signInWithPassword', { podcasts: a.status });

  r = await supabase.auth.updateUser({ password: 'second-password' });
  assert.equal(r.error, null, r.error?.message);
  step('updateUser password', {});

  r = await supabase.auth.updateUser({ email: newEmail }, { emailRedirectTo: redirect });
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.data.user.email, email, 'the address changes only once confirmed');
  assert.equal(r.data.user.new_email, newEmail);
  m = await mail(newEmail, 1);
  assert.equal(m.subject, 'Confirm Email Change');
  r = await supabase.auth.verifyOtp({ email: newEmail, token: m.token, type: 'email_change' });
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.data.user.email, newEmail);
  r = await supabase.auth.getUser();
  assert.equal(r.data.user.email, newEmail);
  step('updateUser email', { email: r.data.user.email });

  r = await supabase.auth.signOut();
  assert.equal(r.error, null, r.error?.message);

  // Recovery: an unknown address gets the same (empty) answer.
  r = await supabase.auth.resetPasswordForEmail(`nobody${stamp}@example.com`, { redirectTo: redirect });
  assert.equal(r.error, null, r.error?.message);
  r = await supabase.auth.resetPasswordForEmail(newEmail, { redirectTo: redirect });
  assert.equal(r.error, null, r.error?.message);
  m = await mail(newEmail, 2);
  assert.equal(m.subject, 'Reset Your Password');
  step('resetPasswordForEmail', {});

  r = await supabase.auth.verifyOtp({ token_hash: m.token, type: 'recovery' });
  assert.equal(r.error, null, r.error?.message);
  assert.ok(r.data.session);
  step('verifyOtp recovery', { user: r.data.user.id });
  const spent = await supabase.auth.verifyOtp({ token_hash: m.token, type: 'recovery' });
  assert.equal(spent.error?.code, 'otp_expired');
  assert.equal(spent.error.status, 403);

  r = await supabase.auth.updateUser({ password: 'third-password' });
  assert.equal(r.error, null, r.error?.message);
  step('updateUser new password', {});

  r = await supabase.auth.signInWithPassword({ email: newEmail, password: 'second-password' });
  assert.equal(r.error?.code, 'invalid_credentials');
  r = await supabase.auth.signInWithPassword({ email: newEmail, password: 'third-password' });
  assert.equal(r.error, null, r.error?.message);
  assert.equal(r.data.user.id, userId);
  a = await podcasts(r.data.session.access_token);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  step('signInWithPassword new', { podcasts: a.status });

  r = await supabase.auth.signOut();
  assert.equal(r.error, null, r.error?.message);
  r = await supabase.auth.getSession();
  assert.equal(r.data.session, null);
  step('signOut', {});
  step('done', { ok: true });
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
