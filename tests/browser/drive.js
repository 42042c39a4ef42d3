#!/usr/bin/env node
// Drives frontend.html in Debian's chromium (headless, through
// playwright-core; no browser is downloaded): picks the document as a user
// would (a file input), presses Create, presses Play once the audio is
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
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

async function main() {
	const opts = JSON.parse(process.argv[2] || '{}');
	const started = Date.now();
	const deadline = started + (opts.timeoutMs || 50000);
	const left = () => Math.max(1, deadline - Date.now());
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-chromium-'));
	const out = { console: [], pageErrors: [], failedRequests: [] };
	let context;
	try {
		context = await chromium.launchPersistentContext(profile, {
			executablePath: opts.chromium || '/usr/bin/chromium',
			headless: true,
			timeout: left(),
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
			viewport: { width: 1000, height: 900 },
		});
		const page = context.pages()[0] || await context.newPage();
		page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`));
		page.on('pageerror', (e) => out.pageErrors.push(String(e)));
		page.on('requestfailed', (r) => out.failedRequests.push(
			{ method: r.method(), url: r.url(), error: r.failure() && r.failure().errorText }));

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

		// Waits for the page; on timeout says so, and the rest is still
		// reported as it stands.
		const until = async (predicate, what) => {
			try {
				await page.waitForFunction(predicate, null, { timeout: left(), polling: 100 });
				return true;
			} catch (e) {
				out.timeout = `${what}: not within ${opts.timeoutMs} ms`;
				return false;
			}
		};
		// Play once the audio is there, unless the flow stopped before.
		if (await until(() => window.flow.done || window.flow.readyToPlay, 'the audio to be ready')) {
			if (await page.evaluate(() => !window.flow.done))
				await page.click('#play', { timeout: left() });
			await until(() => window.flow.done && window.flow.credits, "the page's flow to stop");
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
	} finally {
		if (context)
			await context.close().catch(() => {});
		fs.rmSync(profile, { recursive: true, force: true });
	}
	out.elapsedMs = Date.now() - started;
	process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
	process.stderr.write(`drive.js: ${e && e.stack || e}\n`);
	process.exit(2);
});
