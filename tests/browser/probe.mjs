// SPDX-License-Identifier: MIT
// probe.mjs: can headless Chromium start here? Exit 0 yes, 77 no (reason on stderr).
import { run } from './lib.mjs';

run({
	async probe({ page, result }) {
		await page.setContent('<!doctype html><title>probe</title><p>ok</p>');
		result({ text: await page.locator('p').innerText(), version: page.context().browser()?.version() ?? null });
	},
});
