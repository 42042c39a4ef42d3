// The page's side of tests/browser/auth.html. window.PP (config.js, written
// by the test): {url, anonKey, provider}. Results go to window.flows: the
// password flow's steps (passwordFlow()) and, after a sign-in through the
// provider, window.flows.oauth.
'use strict';
(function () {
  const cfg = window.PP;
  const client = supabase.createClient(cfg.url, cfg.anonKey, {
    auth: { flowType: 'pkce', detectSessionInUrl: true, persistSession: true, autoRefreshToken: false },
  });
  const flows = { loaded: false };
  window.flows = flows;
  const log = (line) => { document.getElementById('log').textContent += line + '\n'; };
  const err = (e) => (e ? { name: e.name, code: e.code, status: e.status, message: e.message } : null);

  async function api(token) {
    const r = await fetch(cfg.url + '/podcasts/', { headers: { Authorization: 'Bearer ' + token } });
    return r.status;
  }

  window.passwordFlow = async function (email, password) {
    const out = [];
    let r = await client.auth.signUp({ email, password, options: { data: { from: 'chromium' } } });
    out.push({ step: 'signUp', error: err(r.error), user: r.data.user && r.data.user.id });
    r = await client.auth.signInWithPassword({ email, password: password + '-wrong' });
    out.push({ step: 'signInWithPassword wrong', error: err(r.error) });
    r = await client.auth.signInWithPassword({ email, password });
    out.push({ step: 'signInWithPassword', error: err(r.error) });
    const first = r.data.session;
    out.push({ step: 'api', status: first ? await api(first.access_token) : null });
    r = await client.auth.refreshSession();
    const second = r.data.session;
    out.push({ step: 'refreshSession', error: err(r.error),
      rotated: !!second && second.refresh_token !== first.refresh_token,
      status: second ? await api(second.access_token) : null });
    r = await client.auth.signOut();
    out.push({ step: 'signOut', error: err(r.error) });
    // The server ended the session: its refresh token is refused.
    const gone = await fetch(cfg.url + '/auth/v1/token?grant_type=refresh_token', {
      method: 'POST', headers: { apikey: cfg.anonKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: second.refresh_token }),
    });
    out.push({ step: 'refresh after signOut', status: gone.status, body: await gone.json() });
    r = await client.auth.getSession();
    out.push({ step: 'after signOut', session: r.data.session });
    log(JSON.stringify(out));
    return out;
  };

  document.addEventListener('DOMContentLoaded', async () => {
    document.getElementById('oauth').addEventListener('click', async () => {
      const r = await client.auth.signInWithOAuth({
        provider: cfg.provider, options: { redirectTo: location.origin + location.pathname + '?back=1' },
      });
      if (r.error)
        flows.oauth = { done: true, error: err(r.error) };
    });
    // Back from the provider: supabase-js's initialisation exchanged ?code=.
    if (new URLSearchParams(location.search).has('back')) {
      const hadCode = new URLSearchParams(location.search).has('code');
      const { data, error } = await client.auth.getSession();
      const session = data.session;
      flows.oauth = {
        done: true, hadCode, error: err(error),
        user: session && session.user.id, email: session && session.user.email,
        provider: session && session.user.app_metadata.provider,
        status: session ? await api(session.access_token) : null,
        // supabase-js cleans the code out of the address bar.
        search: location.search,
      };
      log(JSON.stringify(flows.oauth));
    }
    flows.loaded = true;
  });
})();
