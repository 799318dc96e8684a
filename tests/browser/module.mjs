// SPDX-License-Identifier: MIT
// module.mjs: www/chatkit-session.js in a real browser, against the real server
// where the server can show the behaviour, and against page.route fakes
// (with a faked page clock) where only a misbehaving network or hours of
// waiting could.
//
// Env: BASE_URL, TOKEN (valid), BAD_TOKEN (bad signature), UNKNOWN_TOKEN
// (valid, user without a users row), MANAGE (react: also the hook's list
// and revoke calls).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run, blankPage } from './lib.mjs';

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

// The fields a test looks at of an error from the module.
const describeError = `(e, m) => e === null ? null : ({
	name: e.name,
	isError: e instanceof Error,
	isChatKitSessionError: e instanceof m.ChatKitSessionError,
	status: e.status, error: e.error, message: e.message,
	retryAfter: e.retryAfter, retryable: e.retryable,
})`;

run({
	// Callers of one client at the same time share one request; a kept
	// session needs none; two refresh() at once share one too.
	async shared({ page, env, requests, result }) {
		await blankPage(page, env.BASE_URL);
		const first = await page.evaluate(async (token) => {
			const m = await import('/chatkit-session.js');
			window.tokens = 0;
			const c = window.c = m.createChatKitSession({
				getToken: async () => {
					window.tokens++;
					await new Promise((r) => setTimeout(r, 150));
					return token;
				},
			});
			// One more caller arrives while the request is under way.
			const late = new Promise((r) => setTimeout(r, 50)).then(() => c.getSession());
			const all = await Promise.all([c.getSession(), c.getSession(),
			    c.refresh(), c.getSession(), late]);
			return { ids: all.map((s) => s.chatKitSessionId), tokens: window.tokens };
		}, env.TOKEN);
		const afterConcurrent = requests().length;
		const kept = await page.evaluate(async () => (await window.c.getSession()).chatKitSessionId);
		const afterKept = requests().length;
		const forced = await page.evaluate(async () => {
			const all = await Promise.all([window.c.refresh(), window.c.refresh(),
			    window.c.getSession()]);
			window.c.close();
			return all.map((s) => s.chatKitSessionId);
		});
		result({
			ids: first.ids, tokenCalls: first.tokens, afterConcurrent,
			kept, afterKept, forced, afterForced: requests().length,
		});
	},

	// What goes on the wire: method, headers, body, same-origin cookies.
	async wire({ page, context, env, requests, result }) {
		await context.addCookies([{ name: 'probe', value: 'yes', url: env.BASE_URL }]);
		await blankPage(page, env.BASE_URL);
		const r = await page.evaluate(async (token) => {
			const m = await import('/chatkit-session.js');
			const c = m.createChatKitSession({
				getToken: () => token,
				deviceId: 'dev-wire',
				metadata: { source: 'browser-test', n: 1 },
			});
			const s = await c.getSession();
			const anon = m.createChatKitSession({ getToken: () => null });
			const e = await anon.getSession().then(() => null, (x) => x);
			return { session: s, anonStatus: e && e.status };
		}, env.TOKEN);
		const [withToken, anon] = requests();
		const h = await withToken.allHeaders();
		const ha = await anon.allHeaders();
		result({
			count: requests().length,
			method: withToken.method(),
			authorization: h.authorization,
			contentType: h['content-type'],
			cookie: h.cookie || '',
			body: withToken.postDataJSON(),
			anonAuthorization: ha.authorization ?? null,
			anonBody: anon.postData(),
			anonStatus: r.anonStatus,
			device: r.session.deviceId,
			id: r.session.chatKitSessionId,
			metadata: r.session.metadata,
		});
	},

	// The server's refusals arrive as ChatKitSessionError with its words.
	async refusals({ page, env, result }) {
		await blankPage(page, env.BASE_URL);
		const r = await page.evaluate(async ({ bad, unknown, describe }) => {
			const m = await import('/chatkit-session.js');
			const d = eval(describe);
			const out = {};
			for (const [name, token] of Object.entries({ bad, unknown, none: null })) {
				const c = m.createChatKitSession({ getToken: () => token });
				const e = await c.getSession().then(() => null, (x) => x);
				out[name] = d(e, m);
				out[name].kept = c.error === e && c.session === null && !c.loading;
				c.close();
			}
			return out;
		}, { bad: env.BAD_TOKEN, unknown: env.UNKNOWN_TOKEN, describe: describeError });
		result(r);
	},

	// What a network or a proxy in front of the server can do, faked.
	async failures({ page, env, result }) {
		const base = `${env.BASE_URL}/fake`;
		await page.route(`${base}/**`, async (route) => {
			switch (new URL(route.request().url()).pathname) {
			case '/fake/refused':
				return route.abort('connectionrefused');
			case '/fake/proxy-502':
				return route.fulfill({ status: 502, contentType: 'text/html',
				    body: '<html><body><h1>Bad Gateway</h1></body></html>' });
			case '/fake/busy':
				return route.fulfill({ status: 503, contentType: 'application/json',
				    headers: { 'Retry-After': '7' },
				    body: '{"error":"Service Unavailable","message":"The session store is unavailable."}' });
			case '/fake/not-a-session':
				return route.fulfill({ status: 200, contentType: 'application/json',
				    body: '{"ok":true}' });
			case '/fake/slow':
				await pause(2500);
				return route.fulfill({ status: 200, body: '{}' }).catch(() => {});
			default:
				return route.fulfill({ status: 404, body: 'not found' });
			}
		});
		await blankPage(page, env.BASE_URL);
		const r = await page.evaluate(async (describe) => {
			const m = await import('/chatkit-session.js');
			const d = eval(describe);
			const ask = (o) => m.requestChatKitSession({ token: 't', ...o })
			    .then(() => null, (e) => d(e, m));
			let asked = 0;
			const c = m.createChatKitSession({
				endpoint: '/fake/none',
				getToken: () => { throw new Error('signed out'); },
				fetch: (...a) => { asked++; return fetch(...a); },
			});
			return {
				refused: await ask({ endpoint: '/fake/refused' }),
				proxy: await ask({ endpoint: '/fake/proxy-502' }),
				busy: await ask({ endpoint: '/fake/busy' }),
				notSession: await ask({ endpoint: '/fake/not-a-session' }),
				missing: await ask({ endpoint: '/fake/missing' }),
				slow: await ask({ endpoint: '/fake/slow', timeout: 1 }),
				token: await c.getSession().then(() => null, (e) => d(e, m)),
				tokenFetches: asked,
			};
		}, describeError);
		result(r);
	},

	// Scheduling, with the page's clock faked: the next request comes
	// when less than the threshold is left, a server that kept an old
	// session is asked again halfway to expiry rather than at once, a tab
	// waking from sleep re-checks, retries follow Retry-After, a refusal
	// is not retried, and close() stops it all.
	async schedule({ page, env, result, until }) {
		const S = 1000;
		const plan = [
			{ left: 100 * S },	// 1: first request
			{ left: 20 * S },	// 2: at the threshold; server kept one
			{ left: 100 * S },	// 3: halfway through those 20 s
			{ left: 100 * S },	// 4: after the sleep
			{ status: 503 },	// 5: retried after Retry-After
			{ status: 401 },	// 6: not retried
			{ left: 100 * S },	// 7: a caller's refresh()
		];
		let served = 0;
		await page.route(`${env.BASE_URL}/fake/session`, async (route) => {
			const p = plan[Math.min(served++, plan.length - 1)];
			if (p.status === 503)
				return route.fulfill({ status: 503, contentType: 'application/json',
				    headers: { 'Retry-After': '7' },
				    body: '{"error":"Service Unavailable","message":"Try again soon."}' });
			if (p.status === 401)
				return route.fulfill({ status: 401, contentType: 'application/json',
				    body: '{"error":"Unauthorized","message":"The token has expired."}' });
			const now = await page.evaluate(() => Date.now());
			return route.fulfill({ status: 200, contentType: 'application/json',
			    body: JSON.stringify({ session: {
				chatKitSessionId: `fake-${served}`, deviceId: 'd', userId: 'u',
				workflowId: 'w', createdAt: new Date(now).toISOString(),
				expiresAt: new Date(now + p.left).toISOString(), metadata: {},
			} }) });
		});
		await page.clock.install({ time: new Date('2030-01-01T00:00:00Z') });
		await blankPage(page, env.BASE_URL);

		const idle = () => page.evaluate(() => !window.c.loading);
		// Requests served once the page is idle again; a short real pause
		// first lets a request that a timer just started reach the route.
		const count = async () => {
			await pause(300);
			await until(idle, 'the client to be idle', 5000);
			return served;
		};
		const run = async (ms) => {
			await page.clock.runFor(ms);
			return count();
		};
		const steps = {};
		await page.evaluate(async () => {
			const m = await import('/chatkit-session.js');
			window.c = m.createChatKitSession({ endpoint: '/fake/session',
			    getToken: () => 't', refreshThreshold: 30 });
			await window.c.getSession();
		});
		steps.start = await count();			// 1
		steps.before70s = await run(69 * S);		// 1
		steps.at70s = await run(2 * S);			// 2
		steps.halfway9s = await run(9 * S);		// 2
		steps.halfway11s = await run(2 * S);		// 3
		await page.clock.setSystemTime(Date.parse('2030-01-01T00:00:00Z') + 162 * S);
		steps.sleptNoTimer = await count();		// 3: timers did not run
		await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
		steps.visible = await count();			// 4
		await page.evaluate(() => window.dispatchEvent(new Event('focus')));
		steps.focusFresh = await count();		// 4: nothing to do
		steps.atThreshold = await run(71 * S);		// 5: 503
		steps.error5 = await page.evaluate(() => window.c.error && window.c.error.status);
		steps.retry6s = await run(6 * S);		// 5
		steps.retry7s = await run(2 * S);		// 6: 401
		steps.error6 = await page.evaluate(() => window.c.error && window.c.error.status);
		steps.tenMinutes = await run(600 * S);		// 6: not retried
		steps.refreshed = await page.evaluate(async () =>
		    (await window.c.refresh()).chatKitSessionId);
		steps.afterRefresh = await count();		// 7
		steps.errorCleared = await page.evaluate(() => window.c.error === null);
		await page.evaluate(() => window.c.close());
		steps.closed = await run(200 * S);		// 7
		await page.evaluate(() => window.dispatchEvent(new Event('focus')));
		steps.closedFocus = await count();		// 7
		result(steps);
	},

	// list(), revoke() and revokeAll() against the real server: what they
	// send, what they resolve to, how the kept session follows a revoke,
	// and that refusals reject with the same error objects.
	async manage({ page, env, allRequests, result }) {
		await blankPage(page, env.BASE_URL);
		const r = await page.evaluate(async ({ token, bad, describe }) => {
			const m = await import('/chatkit-session.js');
			const d = eval(describe);
			const opts = { getToken: () => token, autoRefresh: false };
			const a = m.createChatKitSession({ ...opts, deviceId: 'dev-m1' });
			const b = m.createChatKitSession({ ...opts, deviceId: 'dev-m2' });
			const s1 = await a.getSession();
			const s2 = await b.getSession();
			const listed = await a.list();
			const revokedOther = await a.revoke('dev-m2');
			const keptAfterOther = a.session !== null &&
			    a.session.chatKitSessionId === s1.chatKitSessionId;
			const listedAfter = (await m.listChatKitSessions({ token }))
			    .map((x) => x.deviceId);
			const states = [];
			a.subscribe((st) => states.push(st.session === null ? 'none' : 'kept'));
			const revokedOwn = await a.revoke('dev-m1');
			const droppedOwn = a.session === null;
			const s3 = await a.getSession();
			const revokedNone = await m.revokeChatKitSession({ token, deviceId: 'dev-none' });
			const revokedAll = await b.revokeAll();
			const droppedAll = b.session === null;
			const afterAll = (await a.list()).length;
			const badShape = await a.revoke('not a device').then(() => null, (e) => d(e, m));
			const c = m.createChatKitSession({ getToken: () => bad, autoRefresh: false });
			const refusedList = await c.list().then(() => null, (e) => d(e, m));
			const refusedRevoke = await c.revokeAll().then(() => null, (e) => d(e, m));
			const noToken = await m.revokeAllChatKitSessions({}).then(() => null, (e) => d(e, m));
			return {
				ids: [s1, s2, s3].map((s) => s.chatKitSessionId),
				listed, revokedOther, keptAfterOther, listedAfter, states,
				revokedOwn, droppedOwn, revokedNone, revokedAll, droppedAll,
				afterAll, badShape, refusedList, refusedRevoke, noToken,
				clientErrorUntouched: c.error === null,
			};
		}, { token: env.TOKEN, bad: env.BAD_TOKEN, describe: describeError });
		const all = allRequests();
		const get = all.find((q) => q.method() === 'GET');
		const del = all.find((q) => q.method() === 'DELETE');
		const gh = await get.allHeaders();
		const dh = await del.allHeaders();
		result({
			...r,
			getAuthorization: gh.authorization,
			getBody: get.postData(),
			deleteAuthorization: dh.authorization,
			deleteType: dh['content-type'],
			deleteBodies: all.filter((q) => q.method() === 'DELETE')
			    .map((q) => q.postData()),
		});
	},

	// The React hook, with React 18 from node_modules loaded as the page's
	// own script (never bundled with the module), in StrictMode.
	async react({ page, env, result, until }) {
		const require = createRequire(import.meta.url);
		const dir = (pkg) => dirname(require.resolve(pkg));	// exports hide umd/
		const files = {
			'/__react/react.js': join(dir('react'), 'umd/react.development.js'),
			'/__react/react-dom.js': join(dir('react-dom'), 'umd/react-dom.development.js'),
		};
		await page.route(`${env.BASE_URL}/__react/*`, async (route) => route.fulfill({
			status: 200, contentType: 'text/javascript',
			body: await readFile(files[new URL(route.request().url()).pathname]),
		}));
		await blankPage(page, env.BASE_URL,
		    '<script src="/__react/react.js"></script><script src="/__react/react-dom.js"></script>');
		await page.evaluate(async (token) => {
			window.TOKEN = token;
			const m = await import('/chatkit-session.js');
			const { React, ReactDOM } = window;
			const h = React.createElement;
			const useChatKitSession = m.makeUseChatKitSession(React,
			    { endpoint: '/api/chatkit/session' });
			window.seen = [];
			function App() {
				const { session, loading, error, createSession, list, revoke,
				    revokeAll } = useChatKitSession({ getToken: () => window.TOKEN });
				window.hook = { list, revoke, revokeAll };
				const label = `${loading ? 'loading' : 'idle'}|` +
				    `${session ? session.chatKitSessionId : ''}|` +
				    `${error ? `${error.status} ${error.message}` : ''}`;
				React.useEffect(() => { window.seen.push(label); }, [label]);
				return h('div', null,
				    h('button', { id: 'go', onClick: () => {
					createSession('dev-react', { source: 'react' })
					    .then((s) => { window.created = s; });
				    } }, 'Start chat'),
				    h('p', { id: 'state' }, label));
			}
			const el = document.body.appendChild(document.createElement('div'));
			window.root = ReactDOM.createRoot(el);
			window.root.render(h(React.StrictMode, null, h(App)));
		}, env.TOKEN);
		const state = () => page.locator('#state').innerText();
		const initial = await state();
		await page.click('#go');
		const ok = await until(async () => {
			const s = await state();
			return /^idle\|[^|]+\|$/.test(s) && s;
		}, 'a session in the hook state');
		const created = await page.evaluate(() => window.created);
		await page.evaluate((t) => { window.TOKEN = t; window.created = undefined; }, env.BAD_TOKEN);
		await page.click('#go');
		const failed = await until(async () => {
			const s = await state();
			return /^idle\|[^|]+\|401 /.test(s) && s;
		}, 'an error in the hook state');
		const createdOnError = await until(() => page.evaluate(() =>
		    window.created === undefined ? false : { value: window.created }),
		    'createSession to resolve');
		// With MANAGE set: list() and revoke() of the hook, with a good
		// token again.
		if (env.MANAGE) {
			const hookList = await page.evaluate(async (t) => {
				window.TOKEN = t;
				return (await window.hook.list()).map((x) => x.deviceId);
			}, env.TOKEN);
			const hookRevoked = await page.evaluate(() => window.hook.revoke('dev-react'));
			const afterRevoke = await until(async () => {
				const s = await state();
				return /^idle\|\|/.test(s) && s;
			}, 'the revoked session to leave the hook state');
			const hookRevokedAll = await page.evaluate(() => window.hook.revokeAll());
			result({ hookList, hookRevoked, afterRevoke, hookRevokedAll });
		}
		await page.evaluate(() => window.root.unmount());
		result({
			initial, ok, failed,
			created: created && created.chatKitSessionId,
			createdDevice: created && created.deviceId,
			createdOnError: createdOnError.value,
			seen: await page.evaluate(() => window.seen),
		});
	},
});
