#!/usr/bin/env node
// Drives the job dashboard (fcgi/dashboard/) in Debian's chromium, headless,
// through playwright-core (launched by browser.js, as for drive.js), with the dashboard's basic-auth credentials:
//   1. opens the page and prints "READY" on stdout once it has polled;
//   2. samples the running jobs' rows every 100 ms (job, stage, progress);
//   3. waits for the dead job DEADJOB's row and for the podcast job
//      PODCASTJOB to be seen in STAGES.length stages or to finish, takes a
//      screenshot while both show;
//   4. presses that dead row's Retry button and waits until the row is gone
//      and the page's events show the job started again;
// then prints one JSON object on the last line of stdout:
//   {samples, stages, deadRow, screenshotAt, retry, eventsAfterRetry, dom,
//    console, pageErrors, failedRequests, polls, errors[, timeout]}
// (tests/integration/test_dashboard_browser.py asserts on it).
//
//   node dashboard.js '{"url": URL, "user": U, "password": P, "podcastJob": ID,
//                       "deadJob": ID, "stages": ["writing", "voicing"],
//                       "screenshot": PATH, "timeoutMs": N, "chromium": PATH}'
//
// Exit status 0 when the JSON was printed, 2 when the browser could not be
// driven at all (the reason on stderr).
'use strict';

const browser = require('./browser');

browser.main(null, (opts) => browser.withPage(opts, {
	timeoutMs: 60000,
	viewport: { width: 1280, height: 1000 },
	context: { httpCredentials: { username: opts.user, password: opts.password } },
}, (page, s) => watch(opts, page, s)));

async function watch(opts, page, s) {
	const { out, left, until } = s;
	page.on('dialog', (d) => d.accept());

	await page.goto(opts.url, { timeout: left() });
	if (!await until(() => window.dash && window.dash.polls > 0, null, 'the first poll'))
		return await report(opts, page, s);
	// Every 100 ms: the running rows, as the page shows them.
	await page.evaluate(() => {
		window.samples = [];
		setInterval(() => {
			for (const tr of document.querySelectorAll('#running tbody tr')) {
				const bar = tr.querySelector('.bar em');
				const s = { job: tr.dataset.job, stage: tr.dataset.stage,
					progress: bar ? bar.textContent : null, t: Date.now() };
				const last = window.samples.filter((x) => x.job === s.job).pop();
				if (!last || last.stage !== s.stage || last.progress !== s.progress)
					window.samples.push(s);
			}
		}, 100);
	});
	process.stdout.write('READY\n');

	const deadSel = `#dead tr[data-job="${opts.deadJob}"]`;
	if (!await until((sel) => document.querySelector(sel), deadSel, 'the dead job on the page'))
		return await report(opts, page, s);
	out.deadRow = await page.$eval(deadSel, (tr) => ({
		entry: tr.dataset.entry, text: tr.textContent,
		error: tr.querySelector('.err').textContent,
	}));
	// The podcast's stages: the wanted ones seen, or its job gone.
	const stages = opts.stages || [];
	const seenAll = ({ job, stages: want }) => {
		const got = new Set(window.samples.filter((x) => x.job === job).map((x) => x.stage));
		return want.every((s) => got.has(s));
	};
	const shotWhen = ({ job, stage }) => window.samples.some((x) => x.job === job && x.stage === stage);
	if (await until(shotWhen, { job: opts.podcastJob, stage: stages[stages.length - 1] },
		'the podcast in its last wanted stage')) {
		if (opts.screenshot) {
			await page.screenshot({ path: opts.screenshot, fullPage: true });
			out.screenshotAt = Date.now();
		}
	}
	await until(seenAll, { job: opts.podcastJob, stages }, 'the podcast in every wanted stage');

	// Retry from the button.
	const before = await page.evaluate(() => window.dash.events.length);
	const clickedAt = Date.now();
	await page.click(`${deadSel} button.retry`, { timeout: left() });
	const gone = await until(({ sel, entry }) => !document.querySelector(`#dead tr[data-entry="${entry}"]`) &&
		window.dash.actions.length > 0, { sel: deadSel, entry: out.deadRow.entry }, 'the dead row to go');
	const ranAgain = gone && await until(({ job, from }) => window.dash.events.slice(from).some(
		(e) => e.id === job && e.event === 'started' && e.attempt === '1'),
	{ job: opts.deadJob, from: before }, 'the retried job to start again');
	out.retry = { clickedAt, gone, ranAgain,
		action: await page.evaluate(() => window.dash.actions[0] || null),
		note: await page.$eval('#action-result', (p) => p.textContent) };
	out.eventsAfterRetry = await page.evaluate(({ job, from }) =>
		window.dash.events.slice(from).filter((e) => e.id === job), { job: opts.deadJob, from: before });
	return await report(opts, page, s);
}

// Prints the JSON line, while the page is still open.
async function report(opts, page, { out: o, started }) {
	o.samples = await page.evaluate(() => window.samples || []);
	o.stages = [...new Set(o.samples.filter((x) => x.job === opts.podcastJob).map((x) => x.stage))];
	o.polls = await page.evaluate(() => window.dash && window.dash.polls);
	o.errors = await page.evaluate(() => window.dash && { count: window.dash.errors, last: window.dash.lastError });
	o.dom = await page.evaluate(() => ({
		live: document.getElementById('live-text').textContent,
		workers: [...document.querySelectorAll('#workers tbody tr')].map((tr) => tr.dataset.worker),
		queues: [...document.querySelectorAll('#queues tbody tr')].map((tr) => tr.dataset.queue),
		dead: [...document.querySelectorAll('#dead tbody tr')].map((tr) => tr.dataset.job),
		totals: ['workers', 'running', 'waiting', 'delayed', 'dead'].map(
			(k) => document.getElementById('n-' + k).textContent),
	}));
	o.elapsedMs = Date.now() - started;
	process.stdout.write(JSON.stringify(o) + '\n');
}
