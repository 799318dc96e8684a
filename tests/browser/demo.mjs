// SPDX-License-Identifier: MIT
// demo.mjs: the demo page (www/index.html) driven like a person would
//
// Env: BASE_URL (the server), TOKEN (pasted), QUERY (appended to the page
// URL, e.g. ?threshold=4), SCREENSHOT (a PNG path, optional).
import assert from 'node:assert/strict';
import { run } from './lib.mjs';

const text = (page, sel) => page.locator(sel).innerText();

async function openAndAsk({ page, env }) {
	await page.goto(`${env.BASE_URL}/${env.QUERY || ''}`);
	await page.getByLabel('Clerk session token (JWT)').fill(env.TOKEN || '');
	await page.getByRole('button', { name: 'Get a session' }).click();
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
