/**
 * The dashboard: hash routes over the HTTP API. Each page loads its documents and renders them; the
 * page in view is read again every second (while the tab is visible) and re-rendered only where the
 * documents changed, so a change shows within two seconds without a reload.
 */
import './style.css';
import { ApiFailure, forgetToken, get, setToken, token } from './api';
import { html, morph, type Safe } from './html';
import type { Session } from './types';
import { overviewPage } from './pages/overview';
import { agreementPage } from './pages/agreement';
import { ticketsPage } from './pages/tickets';
import { ticketPage } from './pages/ticket';
import { cisPage } from './pages/cis';
import { definitionsPage } from './pages/definitions';
import { syncPage } from './pages/sync';

/** What a page does: load its data (the live loop calls this again), and show it. */
export interface Page<D> {
  title: (params: Params, data: D | null) => string;
  load: (params: Params, session: Session) => Promise<D>;
  /** The page's markup for `data` (set on navigation, morphed in on a live refresh). */
  render: (data: D, params: Params, ctx: Ctx) => Safe;
  /** After each render: wire controls (by property, so a second call replaces the first) and charts. */
  after?: (root: HTMLElement, data: D, params: Params, ctx: Ctx) => void;
}

export interface Params {
  path: string[];
  query: URLSearchParams;
}

export interface Ctx {
  session: Session;
  first: boolean;
  /** Loads and renders the page again now (after an action). */
  refresh: () => Promise<void>;
  navigate: (hash: string) => void;
}

const REFRESH_MS = 1000;

const routes: { match: (p: string[]) => boolean; page: Page<unknown>; nav: string }[] = [
  { match: (p) => p.length === 0, page: overviewPage as Page<unknown>, nav: 'overview' },
  { match: (p) => p[0] === 'agreements' && p.length === 2, page: agreementPage as Page<unknown>, nav: 'overview' },
  { match: (p) => p[0] === 'tickets' && p.length === 1, page: ticketsPage as Page<unknown>, nav: 'tickets' },
  { match: (p) => p[0] === 'tickets' && p.length === 2, page: ticketPage as Page<unknown>, nav: 'tickets' },
  { match: (p) => p[0] === 'cis' && p.length === 1, page: cisPage as Page<unknown>, nav: 'cis' },
  { match: (p) => p[0] === 'definitions', page: definitionsPage as Page<unknown>, nav: 'definitions' },
  { match: (p) => p[0] === 'sync', page: syncPage as Page<unknown>, nav: 'sync' },
];

const NAV: [string, string][] = [
  ['overview', 'Overview'],
  ['tickets', 'Tickets'],
  ['cis', 'CIs'],
  ['definitions', 'Definitions'],
  ['sync', 'SNOW sync'],
];

const $ = (id: string) => document.getElementById(id)!;

let session: Session | null = null;
let current: { key: string; page: Page<unknown>; params: Params; json: string } | null = null;
let timer: number | undefined;
/** Numbers each load: a slower, older one (a live refresh overtaken by a navigation) is dropped. */
let seq = 0;

function parseHash(): Params {
  const h = location.hash.replace(/^#\/?/, '');
  const [p = '', q = ''] = h.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

function setLive(text: string, error = false): void {
  const el = $('live');
  el.textContent = text;
  el.className = error ? 'error' : '';
}

function renderNav(active: string): void {
  $('nav').innerHTML = html`<ul>
    ${NAV.map(([key, label]) => html`<li><a href="#/${key === 'overview' ? '' : key}" ${active === key ? html`aria-current="page"` : ''}>${label}</a></li>`)}
  </ul>`.text;
  $('who').innerHTML = session
    ? html`<span>${session.name}${session.tenant ? html` · tenant <strong>${session.tenant}</strong>` : ''} (${session.role})</span>
        <button type="button" id="logout" class="link">Sign out</button>`.text
    : '';
  document.getElementById('logout')?.addEventListener('click', () => {
    forgetToken();
    session = null;
    showLogin();
  });
}

function showLogin(message?: string): void {
  current = null;
  renderNav('');
  $('nav').innerHTML = '';
  document.title = 'Sign in · temporal-slm';
  const main = $('main');
  main.innerHTML = html`<section class="login card">
    <h1>Sign in</h1>
    <p>Paste an API token (the ready banner of <code>npm start</code> prints one; operators get theirs from <code>SLM_API_TOKENS_FILE</code>).</p>
    ${message ? html`<p class="error" role="alert">${message}</p>` : ''}
    <form id="login">
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" required minlength="16" />
      <label class="check"><input type="checkbox" id="keep" /> Keep me signed in on this browser</label>
      <button type="submit">Sign in</button>
    </form>
  </section>`.text;
  const form = document.getElementById('login') as HTMLFormElement;
  (document.getElementById('token') as HTMLInputElement).focus();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken((document.getElementById('token') as HTMLInputElement).value.trim(), (document.getElementById('keep') as HTMLInputElement).checked);
    void start();
  });
}

function errorBox(err: unknown): Safe {
  return html`<div class="card error" role="alert">
    <h1>Could not load this page</h1>
    <p>${err instanceof Error ? err.message : String(err)}</p>
  </div>`;
}

async function show(first: boolean, focus = false): Promise<void> {
  if (!session) return;
  const params = parseHash();
  const route = routes.find((r) => r.match(params.path));
  const main = $('main');
  if (!route) {
    main.innerHTML = html`<div class="card">
      <h1>Not found</h1>
      <p>No page at ${location.hash}. <a href="#/">Back to the overview</a>.</p>
    </div>`.text;
    return;
  }
  const key = location.hash;
  if (first) renderNav(route.nav);
  const mine = ++seq;
  try {
    const data = await route.page.load(params, session);
    if (mine !== seq || key !== location.hash) return; // navigated meanwhile
    const json = JSON.stringify(data);
    const same = !first && current?.key === key && current.json === json;
    current = { key, page: route.page, params, json };
    document.title = `${route.page.title(params, data)} · temporal-slm`;
    if (!same) {
      const ctx: Ctx = { session, first, refresh: () => show(false), navigate: (hash) => (location.hash = hash) };
      const view = route.page.render(data, params, ctx).text;
      if (first) main.innerHTML = view;
      else morph(main, view);
      route.page.after?.(main, data, params, ctx);
      // The page's data is on screen: the bench reads this mark as its first meaningful paint.
      if (first) performance.mark(`slm:rendered:${route.nav}`);
      // After a navigation, focus moves to the new page's content (as a page load would put it at the top).
      if (focus) main.focus({ preventScroll: true });
    }
    setLive(`Updated ${new Date().toLocaleTimeString('en-GB')}`);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      forgetToken();
      showLogin('That token was not accepted.');
      return;
    }
    if (mine !== seq) return;
    if (first) main.innerHTML = errorBox(err).text;
    setLive(`Not updated: ${err instanceof Error ? err.message : String(err)}`, true);
  }
}

function loop(): void {
  window.clearTimeout(timer);
  timer = window.setTimeout(() => {
    if (document.visibilityState === 'visible') void show(false).finally(loop);
    else loop();
  }, REFRESH_MS);
}

async function start(): Promise<void> {
  if (!token()) return showLogin();
  try {
    session = await get<Session>('/v1/session');
  } catch (err) {
    forgetToken();
    return showLogin(err instanceof ApiFailure && err.status === 401 ? 'That token was not accepted.' : (err as Error).message);
  }
  await show(true);
  loop();
}

// The ready banner's link carries the token in the fragment (never sent to a server): keep it for the tab, drop it from the address.
const fromLink = /^#token=([^&]+)/.exec(location.hash);
if (fromLink) {
  setToken(decodeURIComponent(fromLink[1]!), false);
  history.replaceState(null, '', `${location.pathname}#/`);
}
window.addEventListener('hashchange', () => void show(true, true));
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void show(false);
});
void start();
