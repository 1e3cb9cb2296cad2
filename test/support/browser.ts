/**
 * Real Chromium (Debian's, installed by the project's own setup when missing) driven by
 * playwright-core, for the dashboard's tests and bench. Every page opened through `openPage` records
 * console errors, uncaught exceptions and failed requests, which the tests require to be none.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureChromium } from '../../src/infra/debian';

export async function launchBrowser(): Promise<Browser> {
  const executablePath = await ensureChromium((m) => process.stderr.write(`${m}\n`));
  // Root in a container has no user namespace for Chromium's sandbox.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, page errors and failed requests seen so far. */
  problems: string[];
}

export async function openPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // A download the page hands to the browser, or a poll cut short by navigation, is not a failure of the page.
    const why = r.failure()?.errorText ?? '';
    if (!/ERR_ABORTED/.test(why)) problems.push(`request failed: ${r.method()} ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return { page, problems };
}

/** Where screenshots go for review: test output, outside the repository's tracked files. */
export function screenshotDir(): string {
  const dir = path.resolve(__dirname, '../../.data/test-output/dashboard');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
