// The job dashboard's page (doc/dashboard.md): polls api/state once a
// second (never held open: the responder's acceptors are few), keeps the
// events after its cursor, and sends the dead-letter buttons' requests with
// the CSRF token the state carries. Everything from the server is written
// as text, never as markup. window.dash is the page's state, for tests.
'use strict';

(function () {
	const POLL_MS = 1000;
	const EVENTS_KEPT = 200;
	const FAILURES_SHOWN = 20;
	const dash = window.dash = {
		state: null, cursor: '', events: [], polls: 0, errors: 0, lastError: null,
		lastOkAt: 0, actions: [],
	};
	const $ = (id) => document.getElementById(id);

	function el(tag, props, ...children) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(props || {})) {
			if (k === 'class') e.className = v;
			else if (k === 'title') e.title = v;
			else if (k.startsWith('data-')) e.setAttribute(k, v);
			else if (k === 'onclick') e.addEventListener('click', v);
			else e[k] = v;
		}
		for (const c of children) {
			if (c === null || c === undefined) continue;
			e.append(c instanceof Node ? c : String(c));
		}
		return e;
	}

	function fill(table, rows, emptyId) {
		const body = $(table).tBodies[0];
		body.replaceChildren(...rows);
		if (emptyId) $(emptyId).hidden = rows.length > 0;
	}

	function ago(seconds) {
		if (!isFinite(seconds)) return '';
		seconds = Math.max(0, seconds);
		if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + ' s';
		if (seconds < 3600) return Math.floor(seconds / 60) + ' min ' + Math.floor(seconds % 60) + ' s';
		if (seconds < 86400) return Math.floor(seconds / 3600) + ' h ' + Math.floor(seconds % 3600 / 60) + ' min';
		return Math.floor(seconds / 86400) + ' d ' + Math.floor(seconds % 86400 / 3600) + ' h';
	}

	function clock(ts) {
		const d = new Date(Number(ts) * 1000);
		return isNaN(d) ? '' : d.toLocaleTimeString([], { hour12: false });
	}

	// The ms part of a stream entry id ("1765000000000-0").
	function entryTime(entry) {
		return Number(String(entry).split('-')[0]) / 1000;
	}

	function short(id) {
		return id ? String(id).slice(-8) : '';
	}

	function renderTotals(s) {
		const sum = (k) => s.queues.reduce((a, q) => a + q[k], 0);
		$('n-workers').textContent = s.workers.length;
		$('n-running').textContent = s.running.length;
		$('n-waiting').textContent = sum('waiting');
		$('n-delayed').textContent = sum('delayed');
		$('n-dead').textContent = sum('dead');
	}

	function renderRunning(s) {
		fill('running', s.running.map((j) => {
			const p = j.podcast;
			const progress = p ? p.progress : null;
			const bar = progress === null ? '' : el('div', { class: 'bar', title: progress + ' %' },
				el('span'), el('em', {}, progress + ' %'));
			if (bar) bar.firstChild.style.width = Math.min(100, Math.max(0, progress)) + '%';
			return el('tr', { 'data-job': j.id, 'data-stage': p ? p.stage : '' },
				el('td', { class: 'mono', title: j.id }, short(j.id)),
				el('td', {}, j.task),
				el('td', { class: 'mono', title: p ? (p.title || p.id) : '' },
					j.args && j.args.podcast_id ? short(j.args.podcast_id) : ''),
				el('td', {}, p ? el('span', { class: 'stage' }, p.stage) : (j.started_at ? 'running' : 'reserved')),
				el('td', {}, bar),
				el('td', {}, j.worker, ' / ', j.pid || ''),
				el('td', { class: 'num' }, j.attempt),
				el('td', { class: 'num' }, j.started_at ? ago(s.now - j.started_at) : ''));
		}), 'running-empty');
	}

	function renderWorkers(s) {
		fill('workers', s.workers.map((w) => {
			const st = w.stats || {};
			const kids = (w.children || []).map((c) => el('span', {
				class: 'pill' + (c.busy ? ' busy' : ''),
				title: (c.busy ? 'busy' : 'idle') + ', ' + c.tasks_done + ' jobs done',
			}, c.pid));
			return el('tr', { 'data-worker': w.name },
				el('td', {}, el('div', {}, w.name), el('div', { class: 'dim' },
					(w.hostname || '') + ' pid ' + w.pid + ' · ' + (w.queues || []).join(', ') +
					(w.stopping ? ' · stopping' : ''))),
				el('td', {}, ...kids),
				el('td', { class: 'num' }, (st.succeeded || 0) + ' / ' + (st.failed || 0)),
				el('td', { class: 'num' }, w.rss_kb ? Math.round(w.rss_kb / 1024) + ' MiB' : ''),
				el('td', { class: 'num' }, ago(s.now - w.started_at)));
		}), 'workers-empty');
	}

	function renderQueues(s) {
		fill('queues', s.queues.map((q) => el('tr', { 'data-queue': q.queue },
			el('td', {}, q.queue),
			el('td', { class: 'num' }, q.waiting),
			el('td', { class: 'num' }, q.running),
			el('td', { class: 'num' }, q.delayed),
			el('td', { class: 'num' }, q.dead),
			el('td', {}, q.dead > 0 ? el('button', {
				type: 'button', class: 'danger', onclick: () => purge(q.queue),
			}, 'Purge') : ''))));
	}

	function renderDead(s) {
		fill('dead', s.dead.map((d) => el('tr', { 'data-entry': d.entry, 'data-job': d.id || '' },
			el('td', {}, clock(entryTime(d.entry))),
			el('td', { class: 'mono', title: d.id || '' }, short(d.id)),
			el('td', {}, d.task || ''),
			el('td', {}, d.queue || ''),
			el('td', { class: 'err' }, d.error || ''),
			el('td', {}, el('button', { type: 'button', class: 'retry', onclick: () => retry(d.entry, d.queue) },
				'Retry')))), 'dead-empty');
		$('retry-all').disabled = $('purge-all').disabled = s.dead.length === 0;
	}

	function renderEvents() {
		const more = (e) => Object.keys(e).filter((k) =>
			!['event', 'id', 'task', 'queue', 'worker', 'ts'].includes(k)).map((k) => k + '=' + e[k]).join(' ');
		const recent = dash.events.slice(-60).reverse();
		fill('events', recent.map((e) => el('tr', {},
			el('td', {}, clock(e.ts)),
			el('td', { class: 'ev-' + e.event }, e.event),
			el('td', { class: 'mono', title: e.id || '' }, short(e.id)),
			el('td', {}, e.task || ''),
			el('td', {}, e.queue || ''),
			el('td', {}, e.worker || ''),
			el('td', { class: 'more' }, more(e)))));
		const failures = dash.events.filter((e) => ['failed', 'retried', 'dead'].includes(e.event))
			.slice(-FAILURES_SHOWN).reverse();
		fill('failures', failures.map((e) => el('tr', {},
			el('td', {}, clock(e.ts)),
			el('td', { class: 'ev-' + e.event }, e.event),
			el('td', { class: 'mono', title: e.id || '' }, short(e.id)),
			el('td', {}, e.task || ''),
			el('td', { class: 'err' }, e.error || ''))), 'failures-empty');
	}

	function setLive(kind, text) {
		$('live').className = 'live ' + kind;
		$('live-text').textContent = text;
	}

	async function poll() {
		try {
			const r = await fetch('api/state?after=' + encodeURIComponent(dash.cursor), {
				credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store',
			});
			const body = await r.json().catch(() => ({}));
			if (!r.ok) throw new Error(r.status + ' ' + (body.detail || r.statusText));
			dash.state = body;
			dash.cursor = body.cursor;
			dash.events.push(...body.events);
			if (dash.events.length > EVENTS_KEPT) dash.events.splice(0, dash.events.length - EVENTS_KEPT);
			dash.polls++;
			dash.lastOkAt = Date.now();
			renderTotals(body);
			renderRunning(body);
			renderWorkers(body);
			renderQueues(body);
			renderDead(body);
			renderEvents();
			$('user').textContent = 'Signed in as ' + body.user + '.';
			setLive(body.database ? 'ok' : 'stale', body.database ? 'live' : 'live (database down: no stages)');
		} catch (e) {
			dash.errors++;
			dash.lastError = String(e.message || e);
			setLive('down', 'not updating: ' + dash.lastError);
		} finally {
			setTimeout(poll, POLL_MS);
		}
	}

	function report(text, bad) {
		const p = $('action-result');
		p.hidden = false;
		p.className = 'note' + (bad ? ' bad' : '');
		p.textContent = text;
	}

	async function act(path, body) {
		const r = await fetch(path, {
			method: 'POST', credentials: 'same-origin', cache: 'no-store',
			headers: {
				'Content-Type': 'application/json', Accept: 'application/json',
				'X-CSRF-Token': dash.state ? dash.state.csrf : '',
			},
			body: JSON.stringify(body),
		});
		const out = await r.json().catch(() => ({}));
		dash.actions.push({ path, body, status: r.status, response: out });
		return { status: r.status, body: out };
	}

	async function retry(id, queue) {
		const r = await act('api/dead/retry', queue ? { id, queue } : { id });
		if (r.status === 200)
			report('Retried ' + r.body.retried.length + ' job(s): ' + r.body.retried.map((x) => x.id).join(', '));
		else
			report('Retry failed: ' + (r.body.detail || JSON.stringify(r.body.failed || r.status)), true);
	}

	async function purge(queue) {
		if (!window.confirm(queue ? 'Delete every dead job of ' + queue + '?' : 'Delete every dead job?'))
			return;
		const r = await act('api/dead/purge', queue ? { queue } : {});
		if (r.status === 200) report('Purged ' + r.body.purged + ' dead job(s).');
		else report('Purge failed: ' + (r.body.detail || r.status), true);
	}

	$('retry-all').addEventListener('click', () => retry('all'));
	$('purge-all').addEventListener('click', () => purge(null));
	poll();
})();
