// The Python service's frontend flows, call for call (issue 11):
//   on load   GET  {api}/elevenlabs/credits (no token); warns when
//                  characters_available < 5000, shows the figures as the
//                  upload form does (toLocaleString(), toFixed(1))
//   on Create POST {api}/uploads/sign-url/ {filename}     (Bearer token)
//             POST every fields entry, then file (last), as multipart to url
//             POST {api}/podcasts/ {original_file_url: `${url}${fields.key}`,
//                                   requirements}          (Bearer token)
//             GET  {api}/podcasts/{id} every `poll` ms until complete/failed
//             <audio src={stream_url}>, played to its end when Play is pressed
// Settings come from the query string: api (the API's base URL, used as
// written), token, poll (ms, default 3000 as the real page), rate (the
// audio's playback rate, default 1).
//
// Every step's outcome is recorded in window.flow (read by drive.js) and
// listed in #log; flow.done is true once the flow has stopped, flow.error
// says where it stopped early.
(function () {
	'use strict';

	const params = new URLSearchParams(window.location.search);
	const API_URL = params.get('api');
	const TOKEN = params.get('token');
	const POLL_MS = Number(params.get('poll') || 3000);
	const RATE = Number(params.get('rate') || 1);

	const $ = (id) => document.getElementById(id);
	const flow = window.flow = { steps: [], polls: [], done: false, error: null, readyToPlay: false };

	function step(name, data) {
		flow[name] = data;
		flow.steps.push(name);
		const li = document.createElement('li');
		li.dataset.step = name;
		const text = JSON.stringify(data);
		li.textContent = name + ': ' + (text.length > 600 ? text.slice(0, 600) + '...' : text);
		$('log').appendChild(li);
	}

	function stop(where, err) {
		flow.error = { where: where, message: err instanceof Error ? err.message : String(err) };
		$('status-text').textContent = 'error at ' + where + ': ' + flow.error.message;
		flow.done = true;
	}

	async function body(res) {
		const text = await res.text();
		try {
			return JSON.parse(text);
		} catch (e) {
			return text;
		}
	}

	// As the upload form does on mount.
	async function loadCredits() {
		const rec = {};
		try {
			const res = await fetch(`${API_URL}/elevenlabs/credits`);
			rec.status = res.status;
			rec.body = await body(res);
			if (res.ok) {
				const credits = rec.body;
				rec.warns = credits.characters_available < 5000;
				$('credits-warning').hidden = !rec.warns;
				// The real form renders these expressions: a field it cannot
				// render (null.toLocaleString()) crashes it.
				try {
					$('credits-text').textContent =
						`${credits.characters_available.toLocaleString()} characters available`;
					$('credits-usage').textContent = `${credits.usage_percentage.toFixed(1)}% ` +
						`(${credits.character_count.toLocaleString()} / ${credits.character_limit.toLocaleString()})`;
					$('credits-bar').style.width = `${credits.usage_percentage}%`;
				} catch (e) {
					rec.renderError = String(e);
					$('credits-text').textContent = 'cannot show credits: ' + rec.renderError;
				}
				$('credits-text').hidden = false;
			}
		} catch (e) {
			rec.fetchError = String(e);
		}
		$('credits-loading').hidden = true;
		step('credits', rec);
	}

	function pollUntilDone(id) {
		return new Promise((resolve) => {
			let finished = false;
			const timer = setInterval(async () => {
				if (finished)
					return;
				const seen = { at: Math.round(performance.now()) };
				try {
					const res = await fetch(`${API_URL}/podcasts/${id}`, {
						headers: { Authorization: `Bearer ${TOKEN}` },
						cache: 'no-store',
					});
					seen.http = res.status;
					if (res.ok) {
						const podcast = await res.json();
						seen.status = podcast.status;
						seen.stage = podcast.stage;
						seen.progress = podcast.progress;
						$('status-text').textContent =
							`${podcast.status} ${podcast.stage || ''} ${podcast.progress == null ? '' : podcast.progress + '%'}`;
						if (!finished && (podcast.status === 'complete' || podcast.status === 'failed')) {
							finished = true;
							clearInterval(timer);
							resolve(podcast);
						}
					}
				} catch (e) {
					seen.error = String(e);
				}
				flow.polls.push(seen);
			}, POLL_MS);
		});
	}

	function play(podcast) {
		const audio = $('player');
		const rec = { src: podcast.stream_url, ended: false, timeupdates: 0 };
		flow.audio = rec;
		return new Promise((resolve) => {
			audio.addEventListener('loadedmetadata', () => {
				rec.metadataDuration = audio.duration;
			});
			audio.addEventListener('timeupdate', () => {
				rec.timeupdates++;
			});
			audio.addEventListener('ended', () => {
				rec.ended = true;
				rec.endedAt = Math.round(performance.now());
				rec.duration = audio.duration;
				rec.currentTime = audio.currentTime;
				resolve();
			});
			audio.addEventListener('error', () => {
				rec.error = audio.error ? { code: audio.error.code, message: audio.error.message } : 'error';
				resolve();
			});
			audio.defaultPlaybackRate = RATE;
			audio.src = podcast.stream_url;
			// A user presses Play (the driver clicks it: a real gesture).
			$('play').hidden = false;
			$('play').addEventListener('click', () => {
				rec.pressedAt = Math.round(performance.now());
				audio.playbackRate = RATE;
				audio.play().catch((e) => {
					rec.playError = String(e);
					resolve();
				});
			});
			flow.readyToPlay = true;
		});
	}

	async function create() {
		const file = $('file').files[0];
		if (!file)
			return stop('file', 'Please add a file');
		// The real form's own checks.
		if (file.type !== 'application/pdf')
			return stop('file', 'Only PDF files are accepted');
		if (file.size > 1 * 1024 * 1024)
			return stop('file', 'File must be smaller than 1MB');
		step('file', { name: file.name, size: file.size, type: file.type });
		$('status-text').textContent = 'uploading';

		let where = 'sign-url';
		try {
			const presignRes = await fetch(`${API_URL}/uploads/sign-url/`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
				body: JSON.stringify({ filename: file.name }),
			});
			if (!presignRes.ok) {
				step('signUrl', { status: presignRes.status, body: await body(presignRes) });
				throw new Error(`Failed to get upload URL: HTTP ${presignRes.status}`);
			}
			const { url, fields } = await presignRes.json();
			step('signUrl', { status: presignRes.status, url: url, fields: fields });

			where = 'upload';
			const formData = new FormData();
			Object.entries(fields).forEach(([k, v]) => formData.append(k, String(v)));
			formData.append('file', file);
			const uploadRes = await fetch(url, { method: 'POST', body: formData });
			step('upload', { status: uploadRes.status, ok: uploadRes.ok, body: await body(uploadRes) });
			if (!uploadRes.ok)
				throw new Error(`Failed to upload file: ${uploadRes.statusText}`);

			where = 'create';
			const requirements = $('requirements').value;
			const original_file_url = `${url}${fields.key}`;
			const createRes = await fetch(`${API_URL}/podcasts/`, {
				method: 'POST',
				headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
				body: JSON.stringify({ original_file_url: original_file_url, requirements: requirements || null }),
			});
			step('create', { status: createRes.status, sent: original_file_url, body: await body(createRes) });
			if (!createRes.ok)
				throw new Error(`Failed to create podcast: HTTP ${createRes.status}`);

			where = 'poll';
			$('status-text').textContent = 'pending';
			const podcast = await pollUntilDone(flow.create.body.id);
			step('podcast', podcast);
			$('title').textContent = podcast.title || '';
			if (podcast.status !== 'complete')
				throw new Error(`podcast ${podcast.status}: ${podcast.error || ''}`);

			where = 'audio';
			await play(podcast);
			step('played', flow.audio);
			if (!flow.audio.ended)
				throw new Error('the audio did not play to its end');
			$('status-text').textContent = 'played to the end';
		} catch (e) {
			return stop(where, e);
		}
		flow.done = true;
	}

	loadCredits();
	$('create').addEventListener('click', () => {
		create();
	});
	flow.loaded = true;
})();
