#!/usr/bin/env node
// Opens the API reference page (GET /docs) in Debian's chromium, headless,
// through playwright-core (launched by browser.js, as for drive.js), waits
// until it has rendered /openapi.json, opens one operation, tries the
// filter, saves a screenshot, and prints one JSON object on stdout for
// tests/integration/test_openapi.py to assert on:
//   {state, title, version, operations: [{id, method, path}], opened:
//    {visible, statuses, text}, filtered, requests, console, pageErrors,
//    failedRequests, elapsedMs}
//
//   node docs.js '{"page": URL, "open": OPERATION_ID, "filter": WORDS,
//                  "screenshot": PATH, "timeoutMs": N, "chromium": "/usr/bin/chromium"}'
//
// Exit status 0 when the JSON was printed, 2 when the browser could not be
// driven at all (the reason on stderr).
'use strict';

const fs = require('fs');
const path = require('path');
const browser = require('./browser');

browser.main('docs.js', async (opts) => {
	const { out, started } = await browser.withPage(opts,
		{ timeoutMs: 30000, viewport: { width: 1100, height: 900 }, out: { requests: [] } },
		(page, s) => read(opts, page, s));
	out.elapsedMs = Date.now() - started;
	process.stdout.write(JSON.stringify(out) + '\n');
});

async function read(opts, page, { out, left }) {
	page.on('request', (r) => out.requests.push(r.url()));

	await page.goto(opts.page, { timeout: left() });
	await page.waitForFunction(() => window.docsState &&
		(window.docsState.loaded || window.docsState.error), null, { timeout: left() });
	out.state = await page.evaluate(() => window.docsState);
	out.title = await page.evaluate(() => document.getElementById('title').firstChild.textContent);
	out.version = await page.textContent('#version');
	out.operations = await page.evaluate(() => [...document.querySelectorAll('#operations details.op')]
		.map((d) => ({ id: d.id, method: d.dataset.method, path: d.dataset.path })));

	if (opts.open) {
		await page.click(`#${opts.open} > summary`, { timeout: left() });
		const sel = `#${opts.open} .body`;
		out.opened = {
			visible: await page.isVisible(sel),
			statuses: await page.evaluate((s) => [...document.querySelectorAll(s + ' tr.response')]
				.map((tr) => tr.dataset.status), sel),
			text: await page.textContent(`#${opts.open}`),
		};
		// Its body's schema, expanded as a reader would.
		await page.click(`${sel} details.ref > summary`, { timeout: left() });
	}
	if (opts.screenshot) {
		fs.mkdirSync(path.dirname(opts.screenshot), { recursive: true });
		await page.screenshot({ path: opts.screenshot, fullPage: true, timeout: 10000 });
	}
	await page.fill('#filter', opts.filter || 'credits');
	out.filtered = await page.evaluate(() => [...document.querySelectorAll('#operations details.op')]
		.filter((d) => !d.classList.contains('hidden')).map((d) => d.id).sort());
}
