// The launch the browser drivers share (drive.js, dashboard.js, docs.js):
// Debian's chromium, headless, through playwright-core (no browser is
// downloaded), in a throwaway profile, under one deadline, with the page's
// console messages, errors and failed requests collected.
//
//   const browser = require('./browser');
//   browser.main('name.js', async (opts) => {
//       await browser.withPage(opts, { timeoutMs: 30000, viewport: {...} },
//           async (page, s) => { ... s.out ... s.left() ... s.until(...) ... });
//   });
//
// main() reads the options (JSON in argv[2]) and runs the driver; when it
// throws, prints the reason on stderr and exits with status 2 ("the browser
// could not be driven at all"). withPage() closes the browser and removes
// the profile on every path, whatever the body did.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Runs body(page, s) in a fresh browser. settings: timeoutMs (the default
// when opts.timeoutMs is not given), viewport, context (more options for
// launchPersistentContext, e.g. httpCredentials), out (more fields for the
// report, placed after console, pageErrors, failedRequests).
// s: {out, started, left(), until(predicate, arg, what)}; until waits for
// the predicate on the page (polling every 100 ms) within the deadline and
// says whether it held; when not, it records out.timeout.
// Returns s.
async function withPage(opts, settings, body) {
	const started = Date.now();
	const deadline = started + (opts.timeoutMs || settings.timeoutMs);
	const left = () => Math.max(1, deadline - Date.now());
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-chromium-'));
	const out = { console: [], pageErrors: [], failedRequests: [], ...settings.out };
	const s = { out, started, left };
	let context;
	try {
		context = await chromium.launchPersistentContext(profile, {
			executablePath: opts.chromium || '/usr/bin/chromium',
			headless: true,
			timeout: left(),
			args: FLAGS,
			viewport: settings.viewport,
			...settings.context,
		});
		const page = context.pages()[0] || await context.newPage();
		page.on('console', (m) => out.console.push(`${m.type()}: ${m.text()}`));
		page.on('pageerror', (e) => out.pageErrors.push(String(e)));
		page.on('requestfailed', (r) => out.failedRequests.push(
			{ method: r.method(), url: r.url(), error: r.failure() && r.failure().errorText }));
		s.until = async (predicate, arg, what) => {
			try {
				await page.waitForFunction(predicate, arg, { timeout: left(), polling: 100 });
				return true;
			} catch (e) {
				out.timeout = `${what}: not within ${opts.timeoutMs} ms`;
				return false;
			}
		};
		await body(page, s);
	} finally {
		if (context)
			await context.close().catch(() => {});
		fs.rmSync(profile, { recursive: true, force: true });
	}
	return s;
}

// Runs driver(opts) with the options in argv[2]; exit status 2 and the
// reason on stderr (after "name: " when name is given) when it throws.
function main(name, driver) {
	Promise.resolve().then(() => driver(JSON.parse(process.argv[2] || '{}'))).catch((e) => {
		process.stderr.write(`${name ? name + ': ' : ''}${e && e.stack || e}\n`);
		process.exit(2);
	});
}

module.exports = { withPage, main };
