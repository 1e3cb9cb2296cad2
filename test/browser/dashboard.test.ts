/// <reference lib="dom" />
/**
 * The dashboard in real Chromium (playwright-core, Debian's chromium) against `npm start`'s real
 * stack in its own process: data made through the API, the numbers on each page asserted as text,
 * the tickets table filtered, sorted and paged, a breach made through the API turning its agreement
 * red without a reload, a PDF report downloaded and read back with pdftotext, tenant tokens seeing
 * their own only, and no console error on any page. A screenshot of each page is saved under
 * `.data/test-output/dashboard/` for review.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import YAML from 'yaml';
import { ensurePdftotext } from '../../src/infra/debian';
import { launchBrowser, openPage, screenshotDir, type WatchedPage } from '../support/browser';
import { freshStack, startEmbedded, stop, type Started } from '../support/embedded';
import { eventually, runCli } from '../support/harness';

jest.setTimeout(180_000);

const TOKENS = {
  admin: 'dash-admin-token-0123456789abcdef',
  acme: 'dash-acme-reader-0123456789abcdef',
  beta: 'dash-beta-reader-0123456789abcdef',
};

const DEFINITIONS = {
  tenantField: 'customer',
  serviceTargets: [
    {
      id: 'acme-fix',
      title: 'ACME tickets fixed within 8 seconds',
      type: 'request',
      appliesTo: 'ticket.customer == "acme"',
      start: 'ticket.state in ["New", "In Progress"]',
      stop: 'ticket.state in ["Resolved", "Closed"]',
      goal: { duration: '8s' },
    },
    {
      id: 'beta-fix',
      title: 'Beta tickets fixed within a second',
      type: 'request',
      appliesTo: 'ticket.customer == "beta"',
      start: 'ticket.state in ["New", "In Progress"]',
      stop: 'ticket.state in ["Resolved", "Closed"]',
      goal: { duration: '1s' },
    },
    {
      id: 'core-up',
      title: 'Core routers up',
      type: 'availability',
      appliesTo: 'ci.class == "core"',
      up: 'ci.status == "up"',
      down: 'ci.status == "down"',
      goal: { availability: 99 },
    },
  ],
  contracts: [
    { id: 'acme-2026', customer: 'ACME Corp', tenant: 'acme' },
    { id: 'beta-2026', customer: 'Beta Bank', tenant: 'beta' },
  ],
  agreements: [
    {
      id: 'acme-gold',
      title: 'ACME gold',
      contract: 'acme-2026',
      reviewPeriods: ['monthly'],
      timezone: 'UTC',
      compliance: { target: 95, atRisk: 97 },
      targets: [
        { serviceTarget: 'acme-fix', weight: 1 },
        { serviceTarget: 'core-up', weight: 1 },
      ],
      penalties: [{ below: 95, amount: 2500 }],
      rewards: [{ atLeast: 99.9, amount: 100 }],
    },
    {
      id: 'beta-core',
      title: 'Beta core network',
      contract: 'beta-2026',
      reviewPeriods: ['monthly'],
      timezone: 'UTC',
      compliance: { target: 99, atRisk: 99.5 },
      targets: [
        { serviceTarget: 'core-up', weight: 1 },
        { serviceTarget: 'beta-fix', weight: 1 },
      ],
    },
  ],
};

const execFileP = promisify(execFile);
const shots = screenshotDir();

let stack: Started;
let base: string;
let cliEnv: Record<string, string>;
let browser: Browser;
let pdftotext: string;
const pages: WatchedPage[] = [];

async function api(method: string, route: string, body?: unknown, token = TOKENS.admin) {
  const r = await request(`${base}${route}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  if (r.statusCode >= 400) throw new Error(`${method} ${route}: ${r.statusCode} ${text}`);
  return text.startsWith('{') || text.startsWith('[') ? (JSON.parse(text) as unknown) : text;
}

/** A signed-in page (the ready banner's #token= link) at 1280 px, watched for console errors. */
async function signedIn(token = TOKENS.admin, viewport = { width: 1280, height: 900 }): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const watched = await openPage(context);
  pages.push(watched);
  await watched.page.goto(`${base}/#token=${token}`);
  await watched.page.waitForSelector('#tile-open');
  return { context, page: watched.page, problems: watched.problems };
}

const month = () => new Date().toISOString().slice(0, 7);

beforeAll(async () => {
  pdftotext = await ensurePdftotext();
  const fresh = await freshStack('slm-dash-');
  cliEnv = fresh.cliEnv;
  const defs = path.join(fresh.dataDir, 'definitions.yaml');
  fs.writeFileSync(defs, YAML.stringify(DEFINITIONS));
  const tokens = path.join(fresh.dataDir, 'tokens.yaml');
  fs.writeFileSync(
    tokens,
    YAML.stringify([
      { token: TOKENS.admin, role: 'admin', name: 'ops lead' },
      { token: TOKENS.acme, role: 'read', tenant: 'acme', name: 'acme reader' },
      { token: TOKENS.beta, role: 'read', tenant: 'beta', name: 'beta reader' },
    ]),
  );
  stack = startEmbedded({ ...fresh.vars, SLM_DEFINITIONS: defs, SLM_API_TOKENS_FILE: tokens });
  // The ready banner's dashboard line: the URL an operator opens.
  const banner = await eventually(async () => /dashboard\s+(http:\/\/\S+)/.exec(stack.output()) ?? undefined, 120_000, 'the ready banner');
  base = banner[1]!.replace(/\/$/, '');

  // ACME: 29 tickets fixed in time, one missed (open 9.5 s on an 8 s goal), one still open and past its goal
  // (MissedGoal counts as missed): 29 / 31 = 93.548 %, and with its CI up, (93.548 + 100) / 2 = 96.774 %: at risk.
  const acme = (i: number, state: string) => ({ id: `ACME-${String(i).padStart(3, '0')}`, priority: (i % 4) + 1, state, customer: 'acme', title: `ACME incident ${i}` });
  await api('POST', '/v1/tickets?wait=true', [acme(30, 'New'), acme(31, 'New')]);
  const opened = Date.now();
  for (let i = 1; i <= 29; i += 10) {
    const batch = Array.from({ length: Math.min(10, 30 - i) }, (_, k) => i + k);
    await api(
      'POST',
      '/v1/tickets?wait=true',
      batch.map((n) => acme(n, 'New')),
    );
    await api(
      'POST',
      '/v1/tickets?wait=true',
      batch.map((n) => acme(n, 'Resolved')),
    );
  }
  await new Promise((r) => setTimeout(r, Math.max(0, opened + 9_500 - Date.now())));
  await api('POST', '/v1/tickets?wait=true', [acme(30, 'Resolved')]);
  await api('POST', '/v1/cis', [
    { id: 'acme-core-1', class: 'core', status: 'up', customer: 'acme' },
    { id: 'beta-core-1', class: 'core', status: 'up', customer: 'beta' },
  ]);
  // Counted: both agreements have their records.
  await eventually(
    async () => {
      const doc = (await api('GET', '/v1/overview')) as { agreements: { id: string; current: { percent: number | null }[] }[] };
      const acmeNow = doc.agreements.find((a) => a.id === 'acme-gold')?.current[0]?.percent;
      const betaNow = doc.agreements.find((a) => a.id === 'beta-core')?.current[0]?.percent;
      if (acmeNow !== undefined && acmeNow !== null && Math.abs(acmeNow - 96.774193548) < 1e-6 && betaNow === 100) return true;
      throw new Error(`acme-gold ${acmeNow}, beta-core ${betaNow}`);
    },
    60_000,
    'records counted',
  );
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (stack) await stop(stack);
});

afterEach(() => {
  // No console error, page error or failed request on any page a test opened.
  const problems = pages.splice(0).flatMap((p) => p.problems);
  expect(problems).toEqual([]);
});

it('overview: agreements with their current percent, status, forecast and the counts', async () => {
  const { page, context } = await signedIn();
  const row = page.locator('tr[data-agreement="acme-gold"]');
  await expect(row.locator('.percent').innerText()).resolves.toBe('96.774 %');
  await expect(row.locator('.badge').first().innerText()).resolves.toBe('At risk');
  expect(await row.getAttribute('class')).toBe('row-AtRisk');
  await expect(row.locator('th').innerText()).resolves.toContain('ACME gold');
  await expect(row.innerText()).resolves.toContain('ACME Corp');
  // The counts are the store's (another test may have added to them): the page shows the API's figures.
  const { counts } = (await api('GET', '/v1/overview')) as { counts: Record<string, number> };
  expect(await page.locator('#tile-open .n').innerText()).toBe(String(counts.openTickets));
  expect(await page.locator('#tile-missedgoal .n').innerText()).toBe(String(counts.missedGoal));
  expect(await page.locator('#tile-open').innerText()).toContain(`of ${counts.tickets}`);
  expect(await page.locator('#tile-down').innerText()).toMatch(new RegExp(`CIs down\\s*of ${counts.cis}`));
  // The trend has the current period, read for screen readers as text too.
  expect(await row.locator('td .sr-only').last().innerText()).toContain('96.774 %');
  await page.screenshot({ path: path.join(shots, 'overview.png'), fullPage: true });
  await context.close();
});

it('an agreement: the record, each target’s contribution, the chart, and a PDF report read back', async () => {
  const { page, context } = await signedIn();
  await page.goto(`${base}/#/agreements/acme-gold`);
  await page.waitForSelector('#record-percent');
  expect(await page.locator('#record-percent').innerText()).toBe('96.774 %');
  const fix = page.locator('#targets-h + .scroll tbody tr', { hasText: 'acme-fix' });
  expect(await fix.locator('td').allInnerTexts()).toEqual(['1', '93.548 %', '46.774 %', '29 met, 2 missed', '0.00']);
  const core = page.locator('#targets-h + .scroll tbody tr', { hasText: 'core-up' });
  expect((await core.locator('td').allInnerTexts()).slice(0, 3)).toEqual(['1', '100 %', '50 %']);
  // uPlot drew the chart: its canvas and a legend with the record and both lines.
  await page.waitForSelector('#chart canvas');
  expect(await page.locator('#chart .u-legend').innerText()).toMatch(/Compliance.*Target.*At risk/);
  expect(await page.locator('#records tbody tr').count()).toBe(1);
  // Which tickets hurt: the one that missed and the one still past its goal, each linked to its page.
  expect(await page.locator('#hurt-h + p').innerText()).toBe('2 ticket(s) missed a target in this period:');
  const hurting = (await page.locator('#hurting-tickets tbody tr').allInnerTexts()).map((t) => t.split('\t').slice(0, 3).join(' ')).sort();
  expect(hurting).toEqual(['ACME-030 acme-fix Missed', 'ACME-031 acme-fix MissedGoal']);
  expect(await page.locator('#hurting-tickets a', { hasText: 'ACME-031' }).getAttribute('href')).toBe('#/tickets/ACME-031');
  await page.screenshot({ path: path.join(shots, 'agreement.png'), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-pdf')]);
  expect(download.suggestedFilename()).toBe(`acme-gold-${month()}-01.pdf`);
  const file = path.join(shots, 'acme-gold-report.pdf');
  await download.saveAs(file);
  const text = (await execFileP(pdftotext, ['-layout', file, '-'])).stdout;
  expect(text).toContain('ACME gold');
  expect(text).toContain('contract acme-2026 (ACME Corp)');
  expect(text).toContain('96.774 %');
  expect(text).toContain('At risk');
  expect(text).toContain('Target 95.00 %, at risk below 97.00 %');
  expect(text).toMatch(/acme-fix\s+1\s+93\.548 %\s+46\.774 %\s+29 met, 2 missed\s+0\.00/);
  expect(text).toMatch(/core-up\s+1\s+100\.000 %\s+50\.000 %/);
  expect(text).toContain('Penalty 2,500.00 when compliance is below 95.00 %');
  expect(text).toContain('Compliance over the period');
  // A one-pager.
  expect((await execFileP(pdftotext.replace(/pdftotext$/, 'pdfinfo'), [file])).stdout).toMatch(/^Pages:\s+1$/m);
  // The page's live refresh leaves the report's status line as the download left it.
  await page.waitForTimeout(1_500);
  await expect(page.locator('#report-status').innerText()).resolves.toBe('PDF downloaded.');
  await context.close();
});

it('tickets: 25 a page with the total, filter, sort, and incident numbers linked to SNOW', async () => {
  const { page, context } = await signedIn();
  await page.goto(`${base}/#/tickets`);
  await page.waitForSelector('#tickets tbody tr');
  expect(await page.locator('#ticket-total').innerText()).toBe('31');
  expect(await page.locator('#tickets tbody tr').count()).toBe(25);
  expect(await page.locator('#tickets tbody tr th').first().innerText()).toBe('ACME-001');
  const link = page.locator('#tickets tbody tr[data-ticket="ACME-031"] a[target="_blank"]');
  await page.click('a[rel="next"]');
  await page.waitForSelector('#tickets tbody tr[data-ticket="ACME-031"]');
  expect(await page.locator('#tickets tbody tr').count()).toBe(6);
  expect(await link.getAttribute('href')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  expect(await link.innerText()).toMatch(/^PRB\d+/);
  await page.screenshot({ path: path.join(shots, 'tickets.png'), fullPage: true });

  // Sort by priority, then descending: the header says which (aria-sort).
  await page.goto(`${base}/#/tickets`);
  await page.click('th >> text=Priority');
  await page.waitForSelector('th[aria-sort="ascending"] >> text=Priority');
  expect(await page.locator('#tickets tbody tr td.num').first().innerText()).toBe('1');
  await page.click('th >> text=Priority');
  await page.waitForSelector('th[aria-sort="descending"] >> text=Priority');
  expect(await page.locator('#tickets tbody tr td.num').first().innerText()).toBe('4');

  // Typing filters in place (the field keeps its focus).
  await page.fill('#filter', 'ACME-03');
  await eventually(async () => ((await page.locator('#ticket-total').innerText()) === '2' ? true : undefined), 5000, 'filtered total');
  expect(await page.locator('#tickets tbody tr th').allInnerTexts()).toEqual(['ACME-031', 'ACME-030']);
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('filter');
  expect(page.url()).toContain('filter=ACME-03');
  await context.close();
});

it('a ticket: its measurements, its timeline and a link to its workflow in the Temporal UI', async () => {
  const { page, context } = await signedIn();
  await page.goto(`${base}/#/tickets/ACME-030`);
  await page.waitForSelector('#measurements');
  expect(await page.locator('#measurements tbody tr th').innerText()).toBe('acme-fix');
  expect(await page.locator('#measurements tbody tr td').first().innerText()).toBe('Missed');
  expect(await page.locator('.timeline h3').first().innerText()).toContain('acme-fix — Missed');
  expect(await page.locator('.timeline').first().innerText()).toContain('MissedGoal');
  expect(await page.locator('#temporal-link').getAttribute('href')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/ticket%3AACME-030$/);
  await page.screenshot({ path: path.join(shots, 'ticket.png'), fullPage: true });
  await context.close();
});

it('CIs: state, availability this month and a segment strip', async () => {
  const { page, context } = await signedIn();
  await page.goto(`${base}/#/cis`);
  await page.waitForSelector('#cis tbody tr[data-ci="acme-core-1"]');
  const row = page.locator('#cis tbody tr[data-ci="acme-core-1"]');
  expect(await row.locator('td').nth(1).innerText()).toBe('up');
  expect(await row.locator('td.num').innerText()).toBe('100 %');
  expect(await row.locator('svg.strip rect.seg-up').count()).toBe(1);
  expect(await row.locator('svg.strip rect.seg-down').count()).toBe(0);
  await page.screenshot({ path: path.join(shots, 'cis.png'), fullPage: true });
  await context.close();
});

it('definitions: what is applied, with its version', async () => {
  const { page, context } = await signedIn();
  await page.goto(`${base}/#/definitions`);
  await page.waitForSelector('#targets');
  const { version } = (await api('GET', '/v1/definitions')) as { version: number };
  expect(await page.locator('h1').innerText()).toBe(`Definitions version ${version}`);
  expect(await page.locator('#targets tbody th').allInnerTexts()).toEqual(['acme-fix', 'beta-fix', 'core-up']);
  expect(await page.locator('#targets tbody tr', { hasText: 'core-up' }).innerText()).toContain('availability 99');
  await page.screenshot({ path: path.join(shots, 'definitions.png'), fullPage: true });
  await context.close();
});

it('SNOW sync: an admin pauses, re-times and resumes the poll loop', async () => {
  const { page, context } = await signedIn();
  await page.goto(`${base}/#/sync`);
  await page.waitForSelector('#sync-toggle');
  expect(await page.locator('#sync-state').innerText()).toBe('Running');
  await page.click('#sync-toggle');
  await page.waitForSelector('#sync-state >> text=Paused');
  expect(((await api('GET', '/v1/sync')) as { enabled: boolean }).enabled).toBe(false);
  await page.fill('#frequency', '45');
  await page.click('#sync-form button');
  await page.waitForSelector('#sync-frequency >> text=every 45 s');
  await page.waitForTimeout(1_500);
  expect(await page.locator('#sync-message').innerText()).toBe('Saved.');
  expect(((await api('GET', '/v1/sync')) as { frequencySeconds: number }).frequencySeconds).toBe(45);
  await page.screenshot({ path: path.join(shots, 'sync.png'), fullPage: true });
  await page.click('#sync-toggle');
  await page.waitForSelector('#sync-state >> text=Running');
  expect(((await api('GET', '/v1/sync')) as { enabled: boolean }).enabled).toBe(true);
  await context.close();
});

it('a breach made through the API turns its agreement red on the open overview, without a reload', async () => {
  const { page, context } = await signedIn();
  const row = page.locator('tr[data-agreement="beta-core"]');
  expect(await row.getAttribute('class')).toBe('row-Compliant');
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
  // A Beta ticket left open past its one-second goal: MissedGoal counts as missed, (100 + 0) / 2 = 50 %.
  const sent = Date.now();
  await api('POST', '/v1/tickets', { id: 'BETA-1', priority: 1, state: 'New', customer: 'beta' });
  await page.waitForSelector('tr[data-agreement="beta-core"].row-Breached', { timeout: 20_000 });
  const shown = Date.now() - sent;
  const missedAt = Date.parse(((await api('GET', '/v1/tickets/BETA-1')) as { measurements: { missedGoalAt: string }[] }).measurements[0]!.missedGoalAt);
  expect(await row.locator('.badge').first().innerText()).toBe('Breached');
  expect(await row.locator('.percent').innerText()).toBe('50 %');
  // The same document: the page was updated in place, not reloaded.
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
  // Breached first.
  expect(await page.locator('table.agreements tbody tr').first().getAttribute('data-agreement')).toBe('beta-core');
  const latency = sent + shown - missedAt;
  process.stdout.write(`breach (MissedGoal at ${new Date(missedAt).toISOString()}) → red on the open overview ${latency} ms later\n`);
  // The goal is 2 s (a 1 s poll after the record is written); a busy CI box gets some slack.
  expect(latency).toBeLessThan(5_000);
  await page.screenshot({ path: path.join(shots, 'overview-breach.png'), fullPage: true });
  await context.close();
});

it('a tenant token signs in through the form and sees its own agreements, tickets and CIs only', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const watched = await openPage(context);
  pages.push(watched);
  const { page } = watched;
  await page.goto(`${base}/`);
  await page.waitForSelector('#login');
  await page.screenshot({ path: path.join(shots, 'login.png') });
  await page.fill('#token', 'not-a-token-at-all-0000');
  await page.click('#login button');
  await page.waitForSelector('[role="alert"] >> text=That token was not accepted.');
  // The rejected sign-in answered 401: expected here, not a page problem.
  watched.problems.splice(0);
  await page.fill('#token', TOKENS.acme);
  await page.press('#token', 'Enter');
  await page.waitForSelector('tr[data-agreement="acme-gold"]');
  expect(await page.locator('table.agreements tbody tr').count()).toBe(1);
  expect(await page.locator('#who').innerText()).toContain('tenant acme');
  // ACME's own counts: 31 tickets, ACME-031 open and past its goal, one CI.
  expect(await page.locator('#tile-open .n').innerText()).toBe('1');
  expect(await page.locator('#tile-open').innerText()).toContain('of 31');
  expect(await page.locator('#tile-missedgoal .n').innerText()).toBe('1');
  expect(await page.locator('#tile-down').innerText()).toMatch(/CIs down\s*of 1/);
  await page.goto(`${base}/#/tickets?filter=BETA`);
  await page.waitForSelector('#ticket-count');
  expect(await page.locator('#ticket-count').innerText()).toBe('No tickets matching “BETA”');
  await page.goto(`${base}/#/cis`);
  await page.waitForSelector('#cis');
  expect(await page.locator('#cis tbody th').allInnerTexts()).toEqual(['acme-core-1']);
  await page.goto(`${base}/#/sync`);
  await page.waitForSelector('#sync-state');
  expect(await page.locator('#sync-toggle').count()).toBe(0);
  // Another tenant's agreement reads as unknown.
  await page.goto(`${base}/#/agreements/beta-core`);
  await page.waitForSelector('[role="alert"]');
  expect(await page.locator('[role="alert"]').innerText()).toContain('unknown agreement "beta-core"');
  watched.problems.splice(0); // that 404 is the answer asked for
  await context.close();
});

it('readable on a phone: no sideways scrolling of the page, tables scroll in their box', async () => {
  const { page, context } = await signedIn(TOKENS.admin, { width: 390, height: 844 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await page.screenshot({ path: path.join(shots, 'overview-phone.png'), fullPage: true });
  await page.goto(`${base}/#/agreements/acme-gold`);
  await page.waitForSelector('#chart canvas');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await context.close();
});

it('keyboard: a skip link first, then the navigation, each link reachable by Tab', async () => {
  const { page, context } = await signedIn();
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Overview');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#tickets');
  // Every form field has a label.
  const unlabelled = await page.evaluate(() => Array.from(document.querySelectorAll('input')).filter((i) => !i.labels?.length).length);
  expect(unlabelled).toBe(0);
  await context.close();
});

it('slm compliance report writes the PDF and the CSV of an agreement and period', async () => {
  const pdf = path.join(shots, 'acme-gold-report-cli.pdf');
  fs.rmSync(pdf, { force: true });
  const r = await runCli(['compliance', 'report', '--agreement', 'acme-gold', '--period', month(), '--format', 'pdf', '--out', pdf], { env: cliEnv });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(fs.readFileSync(pdf).subarray(0, 5).toString()).toBe('%PDF-');
  const text = (await execFileP(pdftotext, ['-layout', pdf, '-'])).stdout;
  expect(text).toContain('ACME gold');
  expect(text).toMatch(/monthly review period 01 Dec 2026 to 01 Jan 2027|monthly review period \d{2} \w{3} \d{4} to \d{2} \w{3} \d{4}/);
  expect(text).toContain('96.774 %');
  const csv = await runCli(['compliance', 'report', '--agreement', 'acme-gold', '--period', month(), '--format', 'csv'], { env: cliEnv });
  expect(csv.code).toBe(0);
  const lines = csv.stdout.split('\n');
  expect(lines.filter((l) => l.startsWith('record,acme-gold,acme-2026,monthly'))).toHaveLength(2);
  expect(lines.filter((l) => l.startsWith('measurement,acme-gold') && l.includes(',acme-fix,'))).toHaveLength(31);
  // A bad request is one line naming what was wrong.
  const bad = await runCli(['compliance', 'report', '--agreement', 'acme-gold', '--period', month(), '--format', 'docx'], { env: cliEnv });
  expect(bad.code).toBe(2);
  expect(bad.stderr.trim()).toBe('slm: --format must be pdf or csv, got "docx"');
  const unknown = await runCli(['compliance', 'report', '--agreement', 'nope', '--period', month()], { env: cliEnv });
  expect(unknown.stderr.trim()).toBe('slm: unknown agreement "nope"');
});
