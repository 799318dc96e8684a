// SPDX-License-Identifier: MIT
// chatkit-session.js: get a ChatKit session from chatkit-session.cgi and keep it fresh
//
// A plain ES module with no dependencies and no build step. Load it with
//
//     <script type="module">
//       import { createChatKitSession } from './chatkit-session.js';
//     </script>
//
// createChatKitSession(options) -> client
//
//   options (all optional):
//     getToken          () => string | null | Promise<string | null>. Called
//                       before every request; a token is sent as
//                       "Authorization: Bearer <token>". With Clerk:
//                       () => window.Clerk.session.getToken().
//                       Without a token the request carries only the
//                       page's cookies (same-origin), which the server
//                       accepts only from its configured origins.
//     endpoint          URL of the endpoint, default '/api/chatkit/session'.
//                       A relative URL is taken against the page's address,
//                       so 'api/chatkit/session' works under a subdirectory.
//     deviceId          string sent as the body's "deviceId".
//     metadata          object sent as the body's "metadata" (kept by the
//                       server when it creates a session).
//     refreshThreshold  seconds, default 3600. The client asks again when
//                       less than this is left of the session. Give it the
//                       server's CHATKIT_REFRESH_THRESHOLD.
//     autoRefresh       default true: schedule that request with a timer,
//                       and re-check when the tab becomes visible or gets
//                       focus again (timers sleep with the machine).
//     timeout           seconds a request may take, default 30.
//     fetch             a fetch function, default globalThis.fetch.
//
//   client.getSession()   Promise<session>: the kept session while more
//                         than the threshold is left, otherwise a request.
//   client.refresh()      Promise<session>: always asks the endpoint.
//                         Concurrent calls of both share one request.
//   client.check()        what a tab focus does: refresh if needed, else
//                         re-arm the timer. Never rejects.
//   client.update(opts)   change deviceId, metadata, getToken, endpoint or
//                         refreshThreshold for the next request; an
//                         undefined value changes nothing, null clears.
//   client.state          { session, loading, error }, a new frozen object
//                         on every change.
//   client.session, client.loading, client.error   the same, one by one.
//   client.secondsLeft()  seconds until the kept session expires, or null.
//   client.secondsUntilRefresh()  seconds until less than the threshold
//                         is left (0 once it is), or null.
//   client.subscribe(fn)  fn(state) on every change; returns unsubscribe.
//   client.close()        stop the timer and the focus listeners. A later
//                         getSession(), refresh() or check() starts again.
//   client.fetch(input, init)  a fetch for ChatKit's custom backend
//                         (api: { url, domainKey, fetch: client.fetch }):
//                         sends the request with the kept session as
//                         "Authorization: Bearer <chatKitSessionId>", the
//                         credential the gate in front of your ChatKit
//                         server checks. On a 401 (the session was revoked
//                         or has expired) it gets a fresh session once and
//                         sends the request once more. Already bound: pass
//                         it as it is.
//   client.list()         Promise<array>: the user's active sessions, newest
//                         first (GET): { deviceId, workflowId, createdAt,
//                         expiresAt, lastActivityAt, metadata } each, never
//                         a chatKitSessionId.
//   client.revoke(deviceId)  Promise<number>: ends that device's session
//                         (DELETE {"deviceId"}); resolves to how many were
//                         revoked (0 or 1).
//   client.revokeAll()    Promise<number>: ends every session of the user
//                         (DELETE {"all": true}).
//                         When a revoke ends the kept session (its device,
//                         or all), the client drops it: state.session is
//                         null and the next getSession() asks for a new one.
//                         These three reject with a ChatKitSessionError and
//                         leave client.error alone.
//
//   A session is the server's object as it sent it: { chatKitSessionId,
//   deviceId, userId, workflowId, createdAt, expiresAt, metadata, ... }.
//
// requestChatKitSession({ endpoint, token, deviceId, metadata, timeout,
//     fetch }) -> Promise<session>: one request, nothing kept.
// listChatKitSessions({ endpoint, token, timeout, fetch }) -> Promise<array>
// revokeChatKitSession({ endpoint, token, deviceId, timeout, fetch }) and
// revokeAllChatKitSessions({ endpoint, token, timeout, fetch })
//     -> Promise<number>: the same three calls, nothing kept.
//
// ChatKitSessionError extends Error: every failure rejects with one.
//     status       HTTP status, or 0 when no answer came
//     error        the server's "error" ("Unauthorized", ...), or one of
//                  'Network Error', 'Timeout', 'Token Error', 'Bad Response'
//     message      the server's "message", or what went wrong in words
//     retryAfter   seconds from a Retry-After header, or null
//     retryable    true for network errors, timeouts, 408, 429, 502-504
//                  (the ones an automatic retry may fix)
//
// makeUseChatKitSession(React) -> useChatKitSession(options): a React hook
// made from the page's own React, so React is never bundled here.
//     const useChatKitSession = makeUseChatKitSession(window.React);
//     const { session, loading, error, createSession, list, revoke,
//         revokeAll } = useChatKitSession({ getToken, refreshThreshold: 3600 });
//   session        the session or null
//   loading        true while a request runs
//   error          a ChatKitSessionError or null (show error.message)
//   createSession(deviceId?, metadata?)  asks the endpoint; resolves to
//                  the session, or to null when it failed (see error)
//   list(), revoke(deviceId), revokeAll(), fetch  the client's calls above
//   options as for createChatKitSession, plus auto: true to ask on mount.
//
// docs/browser.md has the longer description and examples.

const DEFAULT_ENDPOINT = '/api/chatkit/session';
const DEFAULT_THRESHOLD = 3600; // seconds, the server's default too
const DEFAULT_TIMEOUT = 30; // seconds
const MAX_TIMER = 24 * 3600 * 1000; // ms; setTimeout overflows past 2^31-1
const MIN_RETRY = 1000; // ms between two automatic requests, at least
const BACKOFF_FIRST = 5000; // ms after the first failed automatic request
const BACKOFF_MAX = 300000; // ms
const SKEW_IGNORED = 5000; // ms of clock difference left uncorrected
const SLACK = 500; // ms past the threshold, so the server sees it crossed too

export class ChatKitSessionError extends Error {
	constructor(message, { status = 0, error = 'Error', retryAfter = null,
	    cause } = {}) {
		super(message, cause === undefined ? undefined : { cause });
		this.name = 'ChatKitSessionError';
		this.status = status;
		this.error = error;
		this.retryAfter = retryAfter;
	}

	get retryable() {
		if (this.status === 0)
			return this.error !== 'Token Error';
		return this.status === 408 ||
		    this.status === 429 || (this.status >= 502 && this.status <= 504);
	}
}

// Messages for answers that carry no JSON error of their own (a proxy's
// HTML page, a wrong endpoint URL).
function statusWords(status, statusText, url, method) {
	switch (status) {
	case 401: return 'The server did not accept the sign-in.';
	case 403: return 'The server refused the request.';
	case 429: return 'Too many new sessions for now; try again later (HTTP 429).';
	case 404: return `Nothing answers at ${url} (HTTP 404); check the endpoint address.`;
	case 405: return `${url} does not take ${method} requests (HTTP 405); check the endpoint address.`;
	case 502:
	case 504: return `The web server could not reach the session program (HTTP ${status}).`;
	case 503: return 'The service is unavailable for a moment (HTTP 503).';
	default: return `The server answered HTTP ${status}${statusText ? ' ' + statusText : ''} without an explanation.`;
	}
}

// Retry-After: delay-seconds or an HTTP-date; seconds, 0..3600, or null.
function parseRetryAfter(value, nowMs) {
	if (!value)
		return null;
	let s;
	if (/^\s*\d+\s*$/.test(value))
		s = Number(value);
	else {
		const t = Date.parse(value);
		if (Number.isNaN(t))
			return null;
		s = Math.ceil((t - nowMs) / 1000);
	}
	return Math.min(Math.max(s, 0), 3600);
}

function isSession(s) {
	return s !== null && typeof s === 'object' &&
	    typeof s.chatKitSessionId === 'string' && s.chatKitSessionId !== '' &&
	    typeof s.expiresAt === 'string' && !Number.isNaN(Date.parse(s.expiresAt));
}

// One request: method, a body object (null: none). Resolves to { json,
// res } for a 2xx answer; rejects with a ChatKitSessionError.
async function call(method, body, { endpoint = DEFAULT_ENDPOINT, token,
    timeout = DEFAULT_TIMEOUT, fetch: fetchFn }) {
	const doFetch = fetchFn || globalThis.fetch;
	const headers = { Accept: 'application/json' };
	if (body !== null)
		headers['Content-Type'] = 'application/json';
	if (token)
		headers.Authorization = `Bearer ${token}`;

	const abort = typeof AbortController === 'function' ? new AbortController() : null;
	let timedOut = false;
	const timer = abort && timeout > 0 ? setTimeout(() => {
		timedOut = true;
		abort.abort();
	}, timeout * 1000) : null;

	let res, text;
	try {
		res = await doFetch(endpoint, {
			method,
			headers,
			body: body === null ? undefined : JSON.stringify(body),
			credentials: 'same-origin',
			cache: 'no-store',
			signal: abort ? abort.signal : undefined,
		});
		text = await res.text();
	} catch (e) {
		if (timedOut)
			throw new ChatKitSessionError(
			    `The server did not answer within ${timeout} second${timeout === 1 ? '' : 's'}.`,
			    { error: 'Timeout', cause: e });
		throw new ChatKitSessionError(
		    'Could not reach the server; check the network connection and the endpoint address.',
		    { error: 'Network Error', cause: e });
	} finally {
		if (timer !== null)
			clearTimeout(timer);
	}

	let json = null;
	try {
		json = text === '' ? null : JSON.parse(text);
	} catch (e) {
		json = null;
	}
	if (!res.ok) {
		const ra = parseRetryAfter(res.headers.get('Retry-After'), Date.now());
		const hasShape = json !== null && typeof json === 'object';
		const message = hasShape && typeof json.message === 'string' && json.message !== ''
		    ? json.message : statusWords(res.status, res.statusText, endpoint, method);
		const error = hasShape && typeof json.error === 'string' && json.error !== ''
		    ? json.error : (res.statusText || `HTTP ${res.status}`);
		throw new ChatKitSessionError(message, { status: res.status, error, retryAfter: ra });
	}
	return { json, res };
}

function badResponse(res, what) {
	return new ChatKitSessionError(`The server answered, but not with ${what}.`,
	    { status: res.status, error: 'Bad Response' });
}

// One POST. Resolves to { session, serverDate } (serverDate: ms from the
// Date header, or NaN); rejects with a ChatKitSessionError.
async function post(options) {
	const body = {};
	if (options.deviceId !== undefined && options.deviceId !== null)
		body.deviceId = options.deviceId;
	if (options.metadata !== undefined && options.metadata !== null)
		body.metadata = options.metadata;
	const { json, res } = await call('POST', body, options);
	if (json === null || typeof json !== 'object' || !isSession(json.session))
		throw badResponse(res, 'a session');
	return { session: json.session, serverDate: Date.parse(res.headers.get('Date') || '') };
}

export async function requestChatKitSession(options = {}) {
	return (await post(options)).session;
}

export async function listChatKitSessions(options = {}) {
	const { json, res } = await call('GET', null, options);
	if (json === null || typeof json !== 'object' || !Array.isArray(json.sessions))
		throw badResponse(res, 'a list of sessions');
	return json.sessions;
}

// DELETE with body; resolves to the server's count of revoked sessions.
async function revokeCall(body, options) {
	const { json, res } = await call('DELETE', body, options);
	if (json === null || typeof json !== 'object' || !Number.isInteger(json.revoked))
		throw badResponse(res, 'a count of revoked sessions');
	return json.revoked;
}

// The server checks deviceId's shape (400 with its message when wrong).
export async function revokeChatKitSession(options = {}) {
	return revokeCall({ deviceId: options.deviceId }, options);
}

export async function revokeAllChatKitSessions(options = {}) {
	return revokeCall({ all: true }, options);
}

async function callGetToken(getToken) {
	if (typeof getToken !== 'function')
		return null;
	try {
		const t = await getToken();
		return t ? String(t) : null;
	} catch (e) {
		throw new ChatKitSessionError(
		    `Could not get a sign-in token${e && e.message ? ': ' + e.message : ''}.`,
		    { error: 'Token Error', cause: e });
	}
}

class ChatKitSessionClient {
	constructor(options = {}) {
		this._opts = {
			endpoint: DEFAULT_ENDPOINT,
			refreshThreshold: DEFAULT_THRESHOLD,
			autoRefresh: true,
			timeout: DEFAULT_TIMEOUT,
			...options,
		};
		this._state = Object.freeze({ session: null, loading: false, error: null });
		this._listeners = new Set();
		this._inflight = null;
		this._timer = null;
		this._skew = 0;		// server clock minus ours, ms
		this._failures = 0;	// automatic requests failed in a row
		this._started = false;	// a request was asked for
		this._listening = false;
		this.fetch = this._gateFetch.bind(this);
	}

	get state() { return this._state; }
	get session() { return this._state.session; }
	get loading() { return this._state.loading; }
	get error() { return this._state.error; }

	update(options = {}) {
		for (const [k, v] of Object.entries(options)) {
			if (v !== undefined)
				this._opts[k] = v;
		}
		if (this._started && this._inflight === null)
			this._schedule();
	}

	subscribe(fn) {
		this._listeners.add(fn);
		return () => this._listeners.delete(fn);
	}

	// Milliseconds of the session left by the server's clock, or null.
	_msLeft(session = this._state.session) {
		if (!session)
			return null;
		return Date.parse(session.expiresAt) - (Date.now() + this._skew);
	}

	secondsLeft() {
		const ms = this._msLeft();
		return ms === null ? null : Math.max(0, Math.floor(ms / 1000));
	}

	secondsUntilRefresh() {
		const ms = this._msLeft();
		return ms === null ? null
		    : Math.max(0, Math.floor((ms - this._thresholdMs()) / 1000));
	}

	_thresholdMs() {
		const t = Number(this._opts.refreshThreshold);
		return Number.isFinite(t) && t >= 0 ? t * 1000 : DEFAULT_THRESHOLD * 1000;
	}

	_needsRefresh() {
		const left = this._msLeft();
		return left === null || left <= this._thresholdMs();
	}

	_set(patch) {
		this._state = Object.freeze({ ...this._state, ...patch });
		for (const fn of [...this._listeners]) {
			try {
				fn(this._state);
			} catch (e) {
				setTimeout(() => { throw e; }, 0);
			}
		}
	}

	getSession() {
		this._start();
		if (!this._needsRefresh() && this._inflight === null)
			return Promise.resolve(this._state.session);
		return this.refresh();
	}

	refresh() {
		this._start();
		if (this._inflight !== null)
			return this._inflight;
		this._clearTimer();
		this._set({ loading: true });
		const p = this._run();
		this._inflight = p;
		const done = () => {
			if (this._inflight === p)
				this._inflight = null;
		};
		p.then(done, done);
		return p;
	}

	async _run() {
		try {
			const token = await callGetToken(this._opts.getToken);
			const { session, serverDate } = await post({ ...this._opts, token });
			const skew = Number.isNaN(serverDate) ? 0 : serverDate - Date.now();
			this._skew = Math.abs(skew) > SKEW_IGNORED ? skew : 0;
			this._failures = 0;
			this._inflight = null;
			this._set({ session, loading: false, error: null });
			this._schedule();
			return session;
		} catch (e) {
			const err = e instanceof ChatKitSessionError ? e
			    : new ChatKitSessionError(String(e && e.message || e),
				{ error: 'Error', cause: e });
			this._failures++;
			this._inflight = null;
			this._set({ loading: false, error: err });
			this._scheduleRetry(err);
			throw err;
		}
	}

	// After a success: ask again when the threshold is reached. When the
	// server returned a session already within our threshold (its own
	// threshold is smaller, or its TTL is), ask again halfway to expiry
	// instead of at once, so a mismatch costs a few requests, not a flood.
	_schedule() {
		this._clearTimer();
		if (!this._opts.autoRefresh || !this._listening || !this._state.session)
			return;
		const left = this._msLeft();
		let delay = left - this._thresholdMs() + SLACK;
		if (delay <= SLACK)
			delay = left > 0 ? left / 2 : 0;
		this._arm(Math.max(delay, MIN_RETRY));
	}

	// After a failure: retry what a retry can fix (network, timeouts,
	// 408, 429, 502-504), honouring Retry-After, doubling from 5 s to
	// 5 min. Other errors wait for a caller, or for the tab's next focus.
	_scheduleRetry(err) {
		this._clearTimer();
		if (!this._opts.autoRefresh || !this._listening || !err.retryable)
			return;
		let delay = Math.min(BACKOFF_FIRST * 2 ** (this._failures - 1), BACKOFF_MAX);
		if (err.retryAfter !== null)
			delay = Math.max(err.retryAfter * 1000, MIN_RETRY);
		this._arm(delay);
	}

	_arm(delay) {
		this._timer = setTimeout(() => {
			this._timer = null;
			this.check();
		}, Math.min(delay, MAX_TIMER));
	}

	_clearTimer() {
		if (this._timer !== null) {
			clearTimeout(this._timer);
			this._timer = null;
		}
	}

	check() {
		this._start();
		if (this._inflight !== null)
			return;
		if (this._needsRefresh())
			this.refresh().catch(() => {});
		else
			this._schedule();
	}

	_onVisible() {
		if (typeof document !== 'undefined' && document.visibilityState === 'hidden')
			return;
		if (this._started)
			this.check();
	}

	_start() {
		this._started = true;
		if (this._listening)
			return;
		this._listening = true;
		if (!this._opts.autoRefresh)
			return;
		this._onVisibleBound = this._onVisibleBound || this._onVisible.bind(this);
		if (typeof document !== 'undefined')
			document.addEventListener('visibilitychange', this._onVisibleBound);
		if (typeof window !== 'undefined') {
			window.addEventListener('focus', this._onVisibleBound);
			window.addEventListener('online', this._onVisibleBound);
			window.addEventListener('pageshow', this._onVisibleBound);
		}
	}

	// GET and DELETE with the client's token and options; errors reject
	// and leave state.error alone (it is about the kept session).
	async _withToken(fn) {
		const token = await callGetToken(this._opts.getToken);
		return fn({ ...this._opts, token });
	}

	list() {
		return this._withToken((o) => listChatKitSessions(o));
	}

	async revoke(deviceId) {
		const n = await this._withToken((o) => revokeChatKitSession({ ...o, deviceId }));
		if (this._state.session && this._state.session.deviceId === deviceId)
			this._forget();
		return n;
	}

	async revokeAll() {
		const n = await this._withToken((o) => revokeAllChatKitSessions(o));
		this._forget();
		return n;
	}

	// One request to the ChatKit server behind the gate, with the session
	// as its credential; a 401 means the gate no longer knows it (revoked,
	// expired, its user deactivated), so a fresh session is asked for once
	// and the request sent once more. Other answers are the caller's.
	async _gateFetch(input, init = {}) {
		const f = this._opts.fetch || globalThis.fetch;
		const request = typeof Request === 'function' && input instanceof Request
		    ? input : null;
		const send = (session, req) => {
			const headers = new Headers(init.headers !== undefined ? init.headers
			    : req ? req.headers : undefined);
			headers.set('Authorization', `Bearer ${session.chatKitSessionId}`);
			return f(req || input, { ...init, headers });
		};
		// A Request's body can be read once: keep a copy for the retry.
		const spare = request ? request.clone() : null;
		const first = await this.getSession();
		const res = await send(first, request);
		if (res.status !== 401)
			return res;
		const kept = this._state.session;
		const session = kept && kept.chatKitSessionId !== first.chatKitSessionId
		    ? kept : await this.refresh();
		return send(session, spare);
	}

	// The kept session was revoked: drop it, so the next getSession() asks
	// for a new one. A request under way is left to finish (its answer is
	// a session the server handed out after the revoke).
	_forget() {
		if (this._inflight !== null || !this._state.session)
			return;
		this._clearTimer();
		this._set({ session: null });
	}

	close() {
		this._clearTimer();
		if (!this._listening)
			return;
		this._listening = false;
		if (!this._onVisibleBound)
			return;
		if (typeof document !== 'undefined')
			document.removeEventListener('visibilitychange', this._onVisibleBound);
		if (typeof window !== 'undefined') {
			window.removeEventListener('focus', this._onVisibleBound);
			window.removeEventListener('online', this._onVisibleBound);
			window.removeEventListener('pageshow', this._onVisibleBound);
		}
	}
}

export function createChatKitSession(options = {}) {
	return new ChatKitSessionClient(options);
}

export function makeUseChatKitSession(React, defaults = {}) {
	const { useState, useEffect, useRef, useCallback } = React;

	return function useChatKitSession(options = {}) {
		const opts = { ...defaults, ...options };
		const latest = useRef(opts);
		latest.current = opts;

		const ref = useRef(null);
		if (ref.current === null) {
			ref.current = createChatKitSession({
			    ...opts,
			    // Always the caller's newest getToken (often an inline arrow).
			    getToken: () => (typeof latest.current.getToken === 'function'
				? latest.current.getToken() : null),
			});
		}
		const client = ref.current;
		const [state, setState] = useState(client.state);

		const { endpoint, deviceId, metadata, refreshThreshold } = opts;
		useEffect(() => {
			client.update({ endpoint, deviceId, metadata, refreshThreshold });
		}, [client, endpoint, deviceId, metadata, refreshThreshold]);

		useEffect(() => {
			const unsubscribe = client.subscribe(setState);
			setState(client.state);
			if (latest.current.auto)
				client.getSession().catch(() => {});
			else if (client.session)
				client.check();
			return () => {
				unsubscribe();
				client.close();
			};
		}, [client]);

		const createSession = useCallback((deviceIdArg, metadataArg) => {
			const changes = {};
			if (deviceIdArg !== undefined)
				changes.deviceId = deviceIdArg;
			if (metadataArg !== undefined)
				changes.metadata = metadataArg;
			client.update(changes);
			return client.refresh().catch(() => null);
		}, [client]);

		const list = useCallback(() => client.list(), [client]);
		const revoke = useCallback((deviceIdArg) => client.revoke(deviceIdArg), [client]);
		const revokeAll = useCallback(() => client.revokeAll(), [client]);

		return {
			session: state.session,
			loading: state.loading,
			error: state.error,
			createSession,
			list,
			revoke,
			revokeAll,
			fetch: client.fetch,
			client,
		};
	};
}
