#!/usr/bin/env node
// Drives frontend.html in Debian's chromium (headless, through
// playwright-core, launched as browser.js does): picks the document as a
// user would (a file input), presses Create, presses Play once the audio is
// there, waits until the page's flow has stopped, saves a screenshot, and
// prints one JSON object on stdout:
//   {flow, dom, console, pageErrors, failedRequests, elapsedMs[, timeout]}
// timeoutMs bounds the launch and the page's flow; reporting afterwards
// (the page's state, the screenshot) takes at most about 15 s more.
// The caller asserts on it (tests/integration/test_browser.py).
//
//   node drive.js '{"page": URL, "file": PATH, "name": UPLOAD_NAME,
//                   "requirements": TEXT, "screenshot": PATH, "timeoutMs": N,
//                   "chromium": "/usr/bin/chromium"}'
//
// Exit status 0 when the JSON was printed (whatever the flow did), 2 when
// the browser could not be driven at all (the reason on stderr).
'use strict';

const fs = require('fs');
const path = require('path');
const browser = require('./browser');

browser.main('drive.js', async (opts) => {
	const { out, started } = await browser.withPage(opts,
		{ timeoutMs: 50000, viewport: { width: 1000, height: 900 } }, (page, s) => drive(opts, page, s));
	out.elapsedMs = Date.now() - started;
	process.stdout.write(JSON.stringify(out) + '\n');
});

async function drive(opts, page, { out, left, until }) {
	await page.goto(opts.page, { timeout: left() });
	await page.waitForFunction(() => window.flow && window.flow.loaded, null, { timeout: left() });
	await page.setInputFiles('#file', {
		name: opts.name,
		mimeType: 'application/pdf',
		buffer: fs.readFileSync(opts.file),
	});
	if (opts.requirements)
		await page.fill('#requirements', opts.requirements);
	await page.click('#create');

	// Play once the audio is there, unless the flow stopped before. On a
	// timeout (until() records it) the rest is still reported as it stands.
	if (await until(() => window.flow.done || window.flow.readyToPlay, null, 'the audio to be ready')) {
		if (await page.evaluate(() => !window.flow.done))
			await page.click('#play', { timeout: left() });
		await until(() => window.flow.done && window.flow.credits, null, "the page's flow to stop");
	}
	out.flow = await page.evaluate(() => window.flow);
	out.dom = await page.evaluate(() => ({
		status: document.getElementById('status-text').textContent,
		title: document.getElementById('title').textContent,
		creditsText: document.getElementById('credits-text').hidden ? null
			: document.getElementById('credits-text').textContent,
		creditsUsage: document.getElementById('credits-usage').textContent,
		creditsWarning: !document.getElementById('credits-warning').hidden,
		audioSrc: document.getElementById('player').currentSrc,
	}));
	if (opts.screenshot) {
		fs.mkdirSync(path.dirname(opts.screenshot), { recursive: true });
		await page.screenshot({ path: opts.screenshot, fullPage: true, timeout: 10000 });
	}
}
