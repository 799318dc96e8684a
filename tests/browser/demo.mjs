// SPDX-License-Identifier: MIT
// demo.mjs: the demo page (www/index.html) driven like a person would
//
// Env: BASE_URL (the server), TOKEN (pasted), QUERY (appended to the page
// URL, e.g. ?threshold=4), SCREENSHOT (a PNG path, optional).
// QUERY2: the second tab's query (secondTab). TEXT: the message to send
// (message).
import assert from 'node:assert/strict';
import { run } from './lib.mjs';

const text = (page, sel) => page.locator(sel).innerText();

async function openAndAsk({ page, env }, query = env.QUERY) {
	await page.goto(`${env.BASE_URL}/${query || ''}`);
	await page.getByLabel('Clerk session token (JWT)').fill(env.TOKEN || '');
	await page.getByRole('button', { name: 'Get a session' }).click();
}

// The rows of the device list: [{ device, current, text }], once it shows
// n rows.
async function deviceRows(page, n, until) {
	return until(async () => {
		const rows = await page.locator('#device-list tr').evaluateAll((trs) =>
		    trs.map((tr) => ({
			device: tr.querySelector('code').textContent,
			current: tr.getAttribute('aria-current') === 'true',
			text: tr.innerText,
		    })));
		return rows.length === n && rows;
	}, `${n} rows in the device list`);
}

// The page's requests to the ChatKit server behind the gate (/chatkit), in
// the order they were answered; calls() resolves to [{ method, status,
// authorization, contentType, userIdHeader, roleHeader }].
function gateCalls(page) {
	const calls = [];
	page.on('response', (res) => {
		const req = res.request();
		if (new URL(req.url()).pathname !== '/chatkit')
			return;
		const call = { method: req.method(), status: res.status() };
		calls.push(call);
		call.ready = req.allHeaders().then((h) => {
			call.authorization = h.authorization ?? null;
			call.contentType = h['content-type'] ?? null;
			call.userIdHeader = h['x-chatkit-user-id'] ?? null;
			call.roleHeader = h['x-chatkit-role'] ?? null;
		});
	});
	return async () => {
		await Promise.all(calls.map((c) => c.ready));
		return calls.map(({ ready, ...c }) => c);
	};
}

// Type MESSAGE in "Send a message", send it, and resolve to the answer shown
// (once it differs from before), or fail with the error shown.
async function send(page, message, until) {
	const before = await text(page, '#reply-text');
	await page.getByLabel('Message to the ChatKit server').fill(message);
	await page.getByRole('button', { name: 'Send' }).click();
	return until(async () => {
		if (await page.locator('#message-error').isVisible())
			throw new Error(`error shown: ${await text(page, '#message-error')}`);
		const t = await text(page, '#reply-text');
		return t !== before && t;
	}, `the answer to "${message}"`);
}
async function pasteToken({ page, env }) {
	await page.goto(`${env.BASE_URL}/${env.QUERY || ''}`);
	await page.getByLabel('Clerk session token (JWT)').fill(env.TOKEN || '');
}

run({
	// A valid token: the session appears, with a countdown that moves.
	async session(ctx) {
		const { page, env, result, requests } = ctx;
		await openAndAsk(ctx);
		await page.locator('#session-id').filter({ hasText: /\S/ }).waitFor();
		const id = await text(page, '#session-id');
		const first = await text(page, '#session-expires-in');
		await page.waitForFunction((t) =>
		    document.getElementById('session-expires-in').textContent !== t, first,
		    { timeout: 5000 });
		assert.equal(await page.locator('#error').isHidden(), true, 'no error shown');
		assert.equal(await page.getByRole('button', { name: 'Ask again' }).count(), 1);
		if (env.SCREENSHOT)
			await page.screenshot({ path: env.SCREENSHOT, fullPage: true });
		result({
			id,
			device: await text(page, '#session-device'),
			user: await text(page, '#session-user'),
			status: await text(page, '#status'),
			countdown: [first, await text(page, '#session-expires-in')],
			requests: requests().length,
		});
	},

	// A rejected token: the server's message is on screen, in the alert.
	async rejected(ctx) {
		const { page, result } = ctx;
		await openAndAsk(ctx);
		const alert = page.getByRole('alert');
		await alert.waitFor();
		if (ctx.env.SCREENSHOT)
			await page.screenshot({ path: ctx.env.SCREENSHOT, fullPage: true });
		result({
			title: await text(page, '#error-title'),
			message: await text(page, '#error-message'),
			detail: await text(page, '#error-detail'),
			status: await text(page, '#status'),
			sessionShown: await page.locator('#session').isVisible(),
		});
	},

	// The device list: this device marked, another one revoked with its
	// button.
	async devices(ctx) {
		const { page, result, until, allRequests } = ctx;
		await openAndAsk(ctx);
		await page.locator('#session-id').filter({ hasText: /\S/ }).waitFor();
		const before = await deviceRows(page, 2, until);
		const heading = await page.getByRole('heading', { name: 'Your devices' }).count();
		await page.getByRole('button', { name: 'Revoke the session of phone-1' }).click();
		const after = await deviceRows(page, 1, until);
		await page.locator('#devices-status').filter({ hasText: /\S/ }).waitFor();
		if (ctx.env.SCREENSHOT)
			await page.screenshot({ path: ctx.env.SCREENSHOT, fullPage: true });
		result({
			heading,
			before,
			after,
			devicesStatus: await text(page, '#devices-status'),
			sessionShown: await page.locator('#session').isVisible(),
			methods: allRequests().map((q) => q.method()),
		});
	},

	// Two tabs of one user on two devices: the second revokes the first's
	// session from its list; the first tab's next request gets a new one.
	async secondTab(ctx) {
		const { page, context, env, result, until } = ctx;
		await openAndAsk(ctx);
		await page.locator('#session-id').filter({ hasText: /\S/ }).waitFor();
		const first = await text(page, '#session-id');
		const tab2 = await context.newPage();
		await openAndAsk({ page: tab2, env }, env.QUERY2);
		await tab2.locator('#session-id').filter({ hasText: /\S/ }).waitFor();
		const rows2 = await deviceRows(tab2, 2, until);
		await tab2.getByRole('button', { name: 'Revoke the session of tab-1' }).click();
		await deviceRows(tab2, 1, until);
		const stillShown = await text(page, '#session-id');
		await page.getByRole('button', { name: 'Ask again' }).click();
		const second = await until(async () => {
			const t = await text(page, '#session-id');
			return t !== first && t;
		}, 'a new session id in the first tab');
		await page.locator('#status').filter({ hasText: /created/ }).waitFor();
		const rows1 = await deviceRows(page, 2, until);
		result({
			first, second, stillShown, rows2, rows1,
			tab2Status: await text(tab2, '#devices-status'),
			status: await text(page, '#status'),
		});
	},

	// A message through the gate: the answer shown names the user.
	async message(ctx) {
		const { page, env, result, until } = ctx;
		const calls = gateCalls(page);
		await pasteToken(ctx);
		const reply = await send(page, env.TEXT || 'Hello', until);
		await page.locator('#session-id').filter({ hasText: /\S/ }).waitFor();
		if (env.SCREENSHOT)
			await page.screenshot({ path: env.SCREENSHOT, fullPage: true });
		result({
			reply,
			detail: await text(page, '#reply-detail'),
			errorShown: await page.locator('#message-error').isVisible(),
			id: await text(page, '#session-id'),
			calls: await calls(),
		});
	},

	// A message, then every session of the user revoked through the
	// endpoint with the user's token (not through the page, which would
	// drop its session): the next message gets the gate's 401 first, then
	// goes through with a fresh session.
	async revokedMessage(ctx) {
		const { page, env, result, until, requests } = ctx;
		const calls = gateCalls(page);
		await pasteToken(ctx);
		const first = await send(page, 'first', until);
		await page.locator('#session-id').filter({ hasText: /\S/ }).waitFor();
		const id1 = await text(page, '#session-id');
		const res = await page.request.delete(`${env.BASE_URL}/api/chatkit/session`, {
			headers: { Authorization: `Bearer ${env.TOKEN}`, 'Content-Type': 'application/json' },
			data: JSON.stringify({ all: true }),
		});
		const revoke = `${res.status()} ${await res.text()}`;
		const shownAfterRevoke = await text(page, '#session-id');
		const second = await send(page, 'second', until);
		const id2 = await until(async () => {
			const t = await text(page, '#session-id');
			return t !== id1 && t;
		}, 'a new session id on the page');
		await page.locator('#status').filter({ hasText: /created/ }).waitFor();
		result({
			first, id1, revoke, shownAfterRevoke, second, id2,
			calls: await calls(),
			posts: requests().length,
			status: await text(page, '#status'),
			errorShown: await page.locator('#message-error').isVisible(),
		});
	},

	// The page's own X-ChatKit-User-Id and X-ChatKit-Role, through the
	// module's fetch as a page would send them.
	async forged(ctx) {
		const { page, result } = ctx;
		const calls = gateCalls(page);
		await pasteToken(ctx);
		const answer = await page.evaluate(async () => {
			const res = await window.chatkitDemo.client.fetch('chatkit', {
				method: 'POST',
				headers: {
					'Content-Type': 'application/json',
					'X-ChatKit-User-Id': 'someone_else',
					'X-ChatKit-Role': 'admin',
				},
				body: JSON.stringify({ type: 'threads.list', params: {} }),
			});
			return res.json();
		});
		result({ answer, calls: await calls() });
	},

	// With a short TTL on the server and the same threshold given to the
	// page, the shown id changes with no click.
	async renews(ctx) {
		const { page, result, requests, until } = ctx;
		await openAndAsk(ctx);
		await page.locator('#session-id').filter({ hasText: /\S/ }).waitFor();
		const first = await text(page, '#session-id');
		const clicks = requests().length;
		const second = await until(async () => {
			const t = await text(page, '#session-id');
			return t !== first && t;
		}, 'the shown session id to change by itself', 20000);
		result({
			first,
			second,
			requestsBefore: clicks,
			requestsAfter: requests().length,
			status: await text(page, '#status'),
		});
	},
});
