// SPDX-License-Identifier: MIT
// lib.mjs: headless Chromium for the browser tests: bounded in time, always closed
//
// A scenario script does
//     import { run } from './lib.mjs';
//     run({ name(ctx) {...}, other(ctx) {...} });
// and is called as `node script.mjs NAME`. ctx = { page, context, env,
// requests() (the endpoint's POSTs), allRequests(), result(obj),
// until(fn, what, ms) }. Exit status: 0 passed,
// 1 failed (the reason on stderr), 77 Chromium could not be started.
// Whatever is passed to result() is printed as one JSON line on stdout for
// the .bats file to check; everything else goes to stderr.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

export const EXIT_NO_BROWSER = 77;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.BROWSER_TIMEOUT || 60) * 1000;	// whole run
const ARGS = [
	'--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
	'--disable-background-networking', '--disable-component-update',
	'--disable-sync', '--disable-quic',
];

function log(...a) {
	process.stderr.write(`# ${a.join(' ')}\n`);
}

// playwright-core from this checkout's node_modules (npm ci), found from
// this file, so any working directory works.
function loadPlaywright() {
	const require = createRequire(import.meta.url);
	try {
		return require('playwright-core');
	} catch (e) {
		log(`playwright-core is not installed (${e.code || e.message}); run scripts/install-deps --browser`);
		process.exit(EXIT_NO_BROWSER);
	}
}

// until(fn, what, ms): poll fn (async allowed) with Node's own timers, so
// a page whose clock is faked cannot stall it; resolves to fn's first
// truthy value, rejects after ms naming what was awaited.
export async function until(fn, what, ms = 10000) {
	const deadline = Date.now() + ms;
	let last;
	for (;;) {
		try {
			last = await fn();
			if (last)
				return last;
		} catch (e) {
			last = e;
		}
		if (Date.now() > deadline)
			throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

// Launch Chromium with a fresh profile directory; on any failure to start,
// exit EXIT_NO_BROWSER with the reason.
async function launch(chromium, dir) {
	try {
		const context = await chromium.launchPersistentContext(dir, {
			executablePath: CHROMIUM,
			headless: true,
			args: ARGS,
			timeout: 30000,
			viewport: { width: 900, height: 1000 },
			handleSIGTERM: true,
			handleSIGINT: true,
		});
		return context;
	} catch (e) {
		log(`cannot start Chromium (${CHROMIUM}): ${e.message.split('\n')[0]}`);
		await rm(dir, { recursive: true, force: true });
		process.exit(EXIT_NO_BROWSER);
	}
}

export async function run(scenarios) {
	const name = process.argv[2];
	if (!Object.hasOwn(scenarios, name)) {
		log(`unknown scenario '${name}'; known: ${Object.keys(scenarios).join(' ')}`);
		process.exit(2);
	}
	const { chromium } = loadPlaywright();
	const dir = await mkdtemp(join(tmpdir(), 'chatkit-chromium-'));
	const context = await launch(chromium, dir);
	let closing = null;
	const close = () => (closing ??= context.close().catch(() => {})
	    .then(() => rm(dir, { recursive: true, force: true })));

	// The whole run is bounded: close Chromium and fail when time is up.
	const watchdog = setTimeout(async () => {
		log(`scenario '${name}' took longer than ${TIMEOUT / 1000} s`);
		setTimeout(() => process.exit(1), 5000).unref();
		await close();
		process.exit(1);
	}, TIMEOUT);

	const page = context.pages()[0] || await context.newPage();
	page.setDefaultTimeout(10000);
	const reqs = [];
	page.on('request', (r) => {
		if (new URL(r.url()).pathname.endsWith('/api/chatkit/session'))
			reqs.push(r);
	});
	page.on('console', (m) => log(`console.${m.type()}: ${m.text()}`));
	page.on('pageerror', (e) => log(`page error: ${e.message}`));

	let out = {};
	let status = 0;
	try {
		await scenarios[name]({
			page,
			context,
			env: process.env,
			// POSTs to the endpoint; allRequests() has GET and DELETE too.
			requests: () => reqs.filter((r) => r.method() === 'POST'),
			allRequests: () => reqs,
			result: (o) => Object.assign(out, o),
			until,
		});
		process.stdout.write(JSON.stringify(out) + '\n');
	} catch (e) {
		status = 1;
		log(`scenario '${name}' failed: ${e && e.stack || e}`);
		if (Object.keys(out).length)
			log(`partial result: ${JSON.stringify(out)}`);
		if (process.env.FAIL_SCREENSHOT)
			await page.screenshot({ path: process.env.FAIL_SCREENSHOT, fullPage: true })
			    .catch(() => {});
	} finally {
		clearTimeout(watchdog);
		await close();
	}
	process.exit(status);
}

// blankPage(page, base): open an empty page at base (same origin as the
// endpoint and the module) without any file of the site's own.
export async function blankPage(page, base, html = '') {
	const url = `${base}/__blank.html`;
	await page.route(url, (r) => r.fulfill({
		status: 200,
		contentType: 'text/html; charset=utf-8',
		body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>test</title>${html}</head><body></body></html>`,
	}));
	await page.goto(url);
}
