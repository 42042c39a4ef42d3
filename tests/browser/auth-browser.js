#!/usr/bin/env node
// Drives tests/browser/auth.html in Debian's chromium (browser.js's launch):
// the password flow (signUp -> signInWithPassword wrong and right -> GET
// /podcasts/ -> refreshSession -> signOut) with supabase-js in the page,
// then the OAuth PKCE flow with real redirects: #oauth is pressed, the
// browser goes to /auth/v1/authorize, the provider, /auth/v1/callback and
// back to the page, where supabase-js exchanges the code. Prints one JSON
// object: {password, oauth, visited, console, pageErrors, failedRequests}.
//
//   node auth-browser.js '{"page": URL, "email": E, "password": P,
//                          "timeoutMs": N, "chromium": PATH}'
'use strict';

const browser = require('./browser');

browser.main('auth-browser.js', async (opts) => {
  const { out } = await browser.withPage(opts, { timeoutMs: 40000, out: { visited: [] } },
    async (page, { out, left, until }) => {
      // Every hop of a navigation, redirects included.
      page.on('request', (r) => { if (r.isNavigationRequest()) out.visited.push(r.url()); });
      await page.goto(opts.page, { timeout: left() });
      await until(() => window.flows && window.flows.loaded, null, 'the page to load');
      out.password = await page.evaluate(([e, p]) => window.passwordFlow(e, p), [opts.email, opts.password]);
      await page.click('#oauth', { timeout: left() });
      await page.waitForURL(/[?&]back=1/, { timeout: left() });
      if (await until(() => window.flows && window.flows.oauth && window.flows.oauth.done, null,
        'the OAuth sign-in to come back'))
        out.oauth = await page.evaluate(() => window.flows.oauth);
    });
  process.stdout.write(JSON.stringify(out) + '\n');
});
