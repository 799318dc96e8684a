// SPDX-License-Identifier: MIT
// demo.js: the demo page: Clerk sign-in or a pasted token, one session client, the view
import { createChatKitSession } from './chatkit-session.js';

const $ = (id) => document.getElementById(id);

function meta(name) {
	const el = document.querySelector(`meta[name="${name}"]`);
	return el ? el.content.trim() : '';
}

// Settings come from the <meta> tags of index.html. The query string may
// preset the harmless ones (?threshold=4&deviceId=tab1) but never the
// endpoint, the ChatKit server or the Clerk script: a link must not be
// able to send the visitor's token or session somewhere else.
function readConfig() {
	const q = new URLSearchParams(location.search);
	const threshold = q.get('threshold') ?? meta('chatkit-refresh-threshold');
	return {
		publishableKey: meta('clerk-publishable-key'),
		clerkJsUrl: meta('clerk-js-url'),
		endpoint: meta('chatkit-endpoint') || 'api/chatkit/session',
		chatkitUrl: meta('chatkit-url') || 'chatkit',
		threshold: /^\d+$/.test(threshold || '') ? Number(threshold) : 3600,
		deviceId: q.get('deviceId') || '',
	};
}

const config = readConfig();
let clerk = null;		// window.Clerk once loaded
let shown = null;		// the session on screen
let lastAsk = 'click';		// what started the request under way

// A publishable key is "pk_test_" or "pk_live_" and the base64 of the
// Frontend API host followed by "$".
function frontendApiFromKey(key) {
	const m = /^pk_(?:test|live)_([A-Za-z0-9+/=_-]+)$/.exec(key);
	if (!m)
		return null;
	let host;
	try {
		host = atob(m[1].replace(/-/g, '+').replace(/_/g, '/'));
	} catch (e) {
		return null;
	}
	if (!host.endsWith('$'))
		return null;
	host = host.slice(0, -1);
	return /^[A-Za-z0-9.-]+(:\d+)?$/.test(host) ? host : null;
}

function pastedToken() {
	return $('token').value.trim().replace(/^bearer\s+/i, '');
}

async function getToken() {
	if (clerk === null)
		return pastedToken() || null;
	if (!clerk.session)
		throw new Error('you are not signed in');
	return clerk.session.getToken();
}

const client = createChatKitSession({
	endpoint: config.endpoint,
	refreshThreshold: config.threshold,
	deviceId: config.deviceId || undefined,
	metadata: { source: 'demo' },
	getToken,
});
window.chatkitDemo = { client, config };

// What a person should take from each kind of failure; the server's own
// message is shown beneath it.
function errorTitle(err) {
	switch (err.error) {
	case 'Network Error': return 'The server could not be reached.';
	case 'Timeout': return 'The server took too long to answer.';
	case 'Token Error': return clerk ? 'Clerk gave no sign-in token.' : 'No sign-in token.';
	case 'Bad Response': return 'The server sent something that is not a session.';
	case 'Configuration Error': return 'The server is not set up correctly.';
	default: break;
	}
	switch (err.status) {
	case 400: return 'The server could not read the request.';
	case 401: return clerk ? 'Your sign-in was not accepted.'
	    : 'The token was not accepted.';
	case 403: return 'You are signed in, but not allowed to start a chat.';
	case 404:
	case 405: return 'The endpoint address looks wrong.';
	case 413: return 'The request was too large.';
	case 415: return 'The request was sent in the wrong format.';
	case 429: return err.retryAfter
	    ? `Too many new sessions for now; try again in ${formatDuration(err.retryAfter)}.`
	    : 'Too many new sessions for now; try again later.';
	case 503: return err.retryAfter
	    ? `The service is unavailable; try again in ${err.retryAfter} seconds.`
	    : 'The service is unavailable; try again shortly.';
	default: return err.status >= 500 ? 'Something went wrong on the server.'
	    : 'The request failed.';
	}
}

function showError(err) {
	const box = $('error');
	if (!err) {
		box.hidden = true;
		return;
	}
	$('error-title').textContent = errorTitle(err);
	$('error-message').textContent = err.message;
	$('error-detail').textContent = err.status
	    ? `HTTP ${err.status} · ${err.error}` : err.error;
	box.hidden = false;
}

// "1 d 2 h 3 min 4 s", largest unit first, seconds always shown.
function formatDuration(seconds) {
	let s = Math.max(0, Math.floor(seconds));
	const parts = [];
	for (const [unit, size] of [['d', 86400], ['h', 3600], ['min', 60]]) {
		if (s >= size || parts.length > 0)
			parts.push(`${Math.floor(s / size)} ${unit}`);
		s %= size;
	}
	parts.push(`${s} s`);
	return parts.join(' ');
}

function setTime(el, iso) {
	el.dateTime = iso;
	el.textContent = new Date(iso).toLocaleString();
}

// The countdowns, once a second; not in the live region, so a screen
// reader is not told every second.
function tick() {
	if (!shown)
		return;
	const left = client.secondsLeft();
	$('session-expires-in').textContent = left > 0
	    ? `(in ${formatDuration(left)})` : '(expired)';
	const renewIn = client.secondsUntilRefresh();
	$('session-renewal').textContent = client.loading ? 'asking the server now'
	    : renewIn > 0 ? `automatically in ${formatDuration(renewIn)}`
	    : 'soon, when the server allows it';
}

function showSession(session) {
	$('session').hidden = !session;
	if (!session)
		return;
	$('session-id').textContent = session.chatKitSessionId;
	$('session-device').textContent = session.deviceId ?? '';
	$('session-user').textContent = session.userId ?? '';
	$('session-workflow').textContent = session.workflowId ?? '';
	setTime($('session-created'), session.createdAt);
	setTime($('session-expires'), session.expiresAt);
	$('session-metadata').textContent = JSON.stringify(session.metadata ?? {}, null, 2);
	tick();
}

// One sentence for the live region about what the last answer meant;
// how: 'click', 'auto', or 'message' (asked for by client.fetch).
function describe(prev, next, how) {
	const auto = how === 'auto' ? 'Renewed automatically: '
	    : how === 'message' && prev ? 'For the message, ' : '';
	let what;
	if (!prev)
		what = 'session ready.';
	else if (prev.chatKitSessionId === next.chatKitSessionId)
		return 'The server returned the same session; it has more than the threshold left.';
	else if (prev.createdAt === next.createdAt && prev.deviceId === next.deviceId)
		what = 'session renewed with a new ID.';
	else
		what = 'a new session was created.';
	return auto ? auto + what : what[0].toUpperCase() + what.slice(1);
}

// --- a message to the ChatKit server, through the gate ----------------------

// The request ChatKit's widget sends to start a thread with one message.
function chatkitRequest(text) {
	return {
		type: 'threads.create',
		params: { input: { content: [{ type: 'input_text', text }] } },
	};
}

// The JSON of each event of a server-sent event stream (ChatKit streams
// its answer to a message).
function streamEvents(body) {
	return body.split(/\r?\n\r?\n/)
	    .map((block) => block.split(/\r?\n/)
		.filter((line) => line.startsWith('data:'))
		.map((line) => line.slice(5).replace(/^ /, ''))
		.join('\n'))
	    .filter((data) => data !== '')
	    .map((data) => JSON.parse(data));
}

// What a person should take from a refusal by the gate or the server.
function messageErrorTitle(status, retryAfter) {
	const later = retryAfter ? `try again in ${formatDuration(retryAfter)}`
	    : 'try again shortly';
	switch (status) {
	case 401: return 'The gate did not accept the session, nor a fresh one.';
	case 403: return 'The gate refused this user.';
	case 429: return `Too many messages for now; ${later}.`;
	case 503: return `The session store is unavailable; ${later}.`;
	case 404:
	case 502:
	case 504: return 'The ChatKit server could not be reached.';
	default: return 'The ChatKit server did not take the message.';
	}
}

function showReply(reply, error) {
	$('reply').hidden = !reply;
	$('message-error').hidden = !error;
	if (reply) {
		$('reply-text').textContent = reply.text;
		$('reply-detail').textContent = reply.detail;
	}
	if (error) {
		$('message-error-title').textContent = error.title;
		$('message-error-message').textContent = error.message;
	}
}

// Send the message through client.fetch and show the ChatKit server's
// answer, or the refusal with the server's own message.
async function sendMessage() {
	const text = $('message-text').value.trim();
	if (text === '') {
		showReply(null, { title: 'Nothing to send.', message: 'Write a message first.' });
		$('message-text').focus();
		return;
	}
	$('send').disabled = true;
	$('send').setAttribute('aria-busy', 'true');
	lastAsk = 'message';
	try {
		const res = await client.fetch(config.chatkitUrl, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify(chatkitRequest(text)),
		});
		const body = await res.text();
		if (!res.ok) {
			let message = `HTTP ${res.status} ${res.statusText}`.trim();
			try {
				const e = JSON.parse(body);
				if (e && typeof e.message === 'string')
					message = `${e.message} (HTTP ${res.status} · ${e.error})`;
			} catch (e) {
				// not JSON: the status line says enough
			}
			const retry = Number(res.headers.get('Retry-After')) || null;
			showReply(null, { title: messageErrorTitle(res.status, retry), message });
			return;
		}
		const type = res.headers.get('Content-Type') || '';
		const events = type.startsWith('text/event-stream')
		    ? streamEvents(body) : [JSON.parse(body)];
		const said = events.map((ev) => typeof ev.text === 'string'
		    ? ev.text : JSON.stringify(ev));
		showReply({
			text: said.join('\n'),
			detail: `HTTP ${res.status} · ${events.length} ${events.length === 1 ? 'event' : 'events'} from the ChatKit server`,
		}, null);
	} catch (err) {
		showReply(null, {
			title: err instanceof SyntaxError
			    ? 'The ChatKit server sent something that is not JSON.'
			    : err.status !== undefined ? 'No session for the message.'
			    : 'The ChatKit server could not be reached.',
			message: err.message,
		});
	} finally {
		if (lastAsk === 'message')
			lastAsk = 'auto';
		$('send').disabled = false;
		$('send').setAttribute('aria-busy', 'false');
	}
}

// --- the user's devices ---------------------------------------------------

let listing = 0;		// number of the list request whose answer counts

function deviceRow(d, current) {
	const tr = document.createElement('tr');
	const name = document.createElement('td');
	const code = document.createElement('code');
	code.textContent = d.deviceId;
	name.appendChild(code);
	if (current) {
		tr.className = 'current';
		tr.setAttribute('aria-current', 'true');
		const mark = document.createElement('span');
		mark.className = 'this-device';
		mark.textContent = '(this device)';
		name.appendChild(mark);
	}
	tr.appendChild(name);
	for (const iso of [d.createdAt, d.lastActivityAt, d.expiresAt]) {
		const td = document.createElement('td');
		const t = document.createElement('time');
		setTime(t, iso);
		td.appendChild(t);
		tr.appendChild(td);
	}
	const act = document.createElement('td');
	const b = document.createElement('button');
	b.type = 'button';
	b.className = 'secondary revoke';
	b.textContent = 'Revoke';
	b.dataset.deviceId = d.deviceId;
	b.setAttribute('aria-label', `Revoke the session of ${d.deviceId}`);
	b.addEventListener('click', () => revokeDevice(d.deviceId, b));
	act.appendChild(b);
	tr.appendChild(act);
	return tr;
}

function showDevices(list) {
	const body = $('device-list');
	body.replaceChildren(...list.map((d) =>
	    deviceRow(d, shown !== null && d.deviceId === shown.deviceId)));
	$('device-table').hidden = list.length === 0;
	$('devices-empty').hidden = list.length !== 0;
	$('devices').hidden = false;
}

async function loadDevices() {
	const mine = ++listing;
	try {
		const list = await client.list();
		if (mine === listing)
			showDevices(list);
	} catch (err) {
		if (mine === listing)
			$('devices-status').textContent = `The list could not be loaded: ${err.message}`;
	}
}

async function revokeDevice(deviceId, button) {
	const own = shown !== null && shown.deviceId === deviceId;
	button.disabled = true;
	try {
		const n = await client.revoke(deviceId);
		$('devices-status').textContent = n > 0
		    ? `Revoked the session of ${deviceId}.`
		    : `${deviceId} had no active session.`;
		if (own)
			$('status').textContent = 'This device\'s session was revoked; ask again for a new one.';
	} catch (err) {
		button.disabled = false;
		$('devices-status').textContent = `Could not revoke ${deviceId}: ${err.message}`;
		return;
	}
	await loadDevices();
}

async function revokeAll() {
	$('revoke-all').disabled = true;
	try {
		const n = await client.revokeAll();
		$('devices-status').textContent = `Revoked ${n} session${n === 1 ? '' : 's'}.`;
		$('status').textContent = 'Every session was revoked; ask again for a new one.';
	} catch (err) {
		$('devices-status').textContent = `Could not revoke the sessions: ${err.message}`;
	} finally {
		$('revoke-all').disabled = false;
	}
	await loadDevices();
}

client.subscribe((state) => {
	$('ask').setAttribute('aria-busy', String(state.loading));
	if (state.loading) {
		$('status').textContent = 'Asking the server for a session…';
		tick();
		return;
	}
	showError(state.error);
	if (state.error) {
		$('status').textContent = shown ? 'The session could not be renewed.'
		    : 'No session.';
	} else if (state.session) {
		$('status').textContent = describe(shown, state.session, lastAsk);
	}
	if (state.session !== shown) {
		shown = state.session;
		showSession(shown);
		if (shown)
			loadDevices();
	}
	$('ask').textContent = shown ? 'Ask again' : 'Get a session';
	lastAsk = 'auto';
});

function readOptions() {
	const deviceId = $('device-id').value.trim();
	const threshold = $('threshold').value.trim();
	if (deviceId !== '' && !/^[A-Za-z0-9._:-]{1,128}$/.test(deviceId))
		return { field: 'device-id', problem: 'A device ID is 1 to 128 letters, digits, dots, underscores, colons or hyphens.' };
	if (!/^\d+$/.test(threshold))
		return { field: 'threshold', problem: 'The threshold is a whole number of seconds, 0 or more.' };
	return { deviceId: deviceId || null, refreshThreshold: Number(threshold) };
}

function ask() {
	const o = readOptions();
	if (o.problem) {
		$('options').open = true;
		$('status').textContent = o.problem;
		$(o.field).setAttribute('aria-invalid', 'true');
		$(o.field).focus();
		return;
	}
	$('device-id').removeAttribute('aria-invalid');
	$('threshold').removeAttribute('aria-invalid');
	client.update({ deviceId: o.deviceId, refreshThreshold: o.refreshThreshold });
	lastAsk = 'click';
	client.refresh().catch(() => {});	// shown through the subscription
}

function loadScript(src, key) {
	return new Promise((resolve, reject) => {
		const s = document.createElement('script');
		s.async = true;
		s.crossOrigin = 'anonymous';
		s.dataset.clerkPublishableKey = key;
		s.src = src;
		s.addEventListener('load', resolve);
		s.addEventListener('error', () => reject(new Error(`could not load ${src}`)));
		document.head.appendChild(s);
	});
}

function showClerkUser() {
	const user = clerk.user;
	$('sign-out').hidden = !user;
	if (user) {
		clerk.unmountSignIn($('clerk-mount'));
		const name = user.primaryEmailAddress?.emailAddress || user.username || user.id;
		$('clerk-user').textContent = `Signed in as ${name}.`;
	} else {
		$('clerk-user').textContent = 'Sign in to get a session.';
		clerk.mountSignIn($('clerk-mount'));
	}
	$('ask').disabled = !user;
}

async function startClerk() {
	const host = frontendApiFromKey(config.publishableKey);
	$('clerk-section').hidden = false;
	$('token-section').hidden = true;
	if (!host && !config.clerkJsUrl) {
		$('clerk-user').textContent = 'The Clerk publishable key in this page is not valid (it should look like pk_test_…).';
		return;
	}
	const src = config.clerkJsUrl ||
	    `https://${host}/npm/@clerk/clerk-js@5/dist/clerk.browser.js`;
	$('status').textContent = 'Loading Clerk…';
	try {
		await loadScript(src, config.publishableKey);
		await window.Clerk.load();
	} catch (e) {
		$('status').textContent = '';
		$('clerk-user').textContent = `Clerk could not be loaded (${e.message}).`;
		return;
	}
	clerk = window.Clerk;
	$('status').textContent = '';
	let signedIn = Boolean(clerk.user);
	showClerkUser();
	if (signedIn)
		ask();
	clerk.addListener(() => {
		const now = Boolean(clerk.user);
		if (now === signedIn)
			return;
		signedIn = now;
		showClerkUser();
		if (now) {
			ask();
		} else {
			client.close();
			shown = null;
			showSession(null);
			showError(null);
			listing++;
			$('devices').hidden = true;
		}
	});
	$('sign-out').addEventListener('click', () => clerk.signOut());
}

$('endpoint-shown').textContent = config.endpoint;
$('chatkit-url-shown').textContent = config.chatkitUrl;
$('message-form').addEventListener('submit', (e) => {
	e.preventDefault();
	sendMessage();
});
$('threshold').value = String(config.threshold);
$('device-id').value = config.deviceId;
$('devices-reload').addEventListener('click', () => loadDevices());
$('revoke-all').addEventListener('click', () => revokeAll());
$('ask-form').addEventListener('submit', (e) => {
	e.preventDefault();
	ask();
});
setInterval(tick, 1000);
if (config.publishableKey || config.clerkJsUrl)
	startClerk();
