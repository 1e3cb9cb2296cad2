/**
 * Markup for the dashboard: a tagged template that escapes every value it is given (so a ticket
 * field can never become markup), and the formatters every page shares.
 */

/** Markup already made safe: `html` output, or `raw()`. */
export class Safe {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const raw = (text: string) => new Safe(text);

export function esc(value: string | number | boolean | null | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Part = Safe | string | number | boolean | null | undefined | readonly Part[];

const isList = (v: Part): v is readonly Part[] => Array.isArray(v);

function partText(v: Part): string {
  if (v instanceof Safe) return v.text;
  if (isList(v)) return v.map(partText).join('');
  if (v === null || v === undefined || v === false) return '';
  return esc(v);
}

export function html(strings: TemplateStringsArray, ...values: Part[]): Safe {
  let out = strings[0]!;
  values.forEach((v, i) => (out += partText(v) + strings[i + 1]!));
  return new Safe(out);
}

export const pct = (p: number | null | undefined, digits = 3): string => (p === null || p === undefined ? '—' : `${trim(p, digits)} %`);
export const trim = (x: number, digits = 3): string => String(Math.round(x * 10 ** digits) / 10 ** digits);
export const money = (x: number | null | undefined): string =>
  x === null || x === undefined ? '—' : x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
export const count = (n: number): string => n.toLocaleString('en-US');

/** An instant as date and time in `zone` (default: the browser's). */
export function when(iso: string | null | undefined, zone?: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(d);
}

export function day(iso: string, zone?: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: 'short', day: '2-digit' }).format(new Date(iso));
}

export function seconds(total: number | null | undefined): string {
  if (total === null || total === undefined) return '—';
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = Math.round(total % 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s} s`;
  return `${s} s`;
}

const STATUS_TEXT: Record<string, string> = { Compliant: 'Compliant', AtRisk: 'At risk', Breached: 'Breached' };

/** A status as a badge: the word is always there, the colour only repeats it. */
export function badge(status: string | null | undefined): Safe {
  if (!status) return html`<span class="badge none">Nothing counted</span>`;
  return html`<span class="badge s-${status}">${STATUS_TEXT[status] ?? status}</span>`;
}

/** Previous / page N of M / next, for a list of 25 a page; `link(n)` is page n's address. */
export function pager(page: number, total: number, link: (page: number) => string, pageSize = 25): Safe {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return html`<nav class="pager" aria-label="Pages">
    ${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">‹ Previous</a>` : html`<span class="muted">‹ Previous</span>`}
    <span>Page ${page} of ${count(pages)}</span>
    ${page < pages ? html`<a href="${link(page + 1)}" rel="next">Next ›</a>` : html`<span class="muted">Next ›</span>`}
  </nav>`;
}

/** A link inside the dashboard (hash routes). */
export function href(path: string, query: Record<string, string | number | boolean | undefined> = {}): string {
  const q = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== '' && v !== false)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `#${path}${q ? `?${q}` : ''}`;
}

/**
 * Brings `root`'s children to the markup `next` describes, changing only what differs: a live
 * refresh keeps focus, scroll, open details and the chart (an element marked `data-keep` keeps
 * its children; the page updates those itself).
 */
export function morph(root: Element, next: string): void {
  const t = document.createElement('template');
  t.innerHTML = next;
  morphChildren(root, t.content);
}

function morphChildren(into: Node, from: Node): void {
  const want = Array.from(from.childNodes);
  let have = Array.from(into.childNodes);
  want.forEach((w, i) => {
    const h = have[i];
    if (!h) into.appendChild(w);
    else if (!same(h, w)) into.replaceChild(w, h);
    else if (h.nodeType === Node.TEXT_NODE || h.nodeType === Node.COMMENT_NODE) {
      if (h.nodeValue !== w.nodeValue) h.nodeValue = w.nodeValue;
    } else {
      const he = h as Element;
      const we = w as Element;
      for (const attr of Array.from(he.attributes)) if (!we.hasAttribute(attr.name)) he.removeAttribute(attr.name);
      for (const attr of Array.from(we.attributes)) if (he.getAttribute(attr.name) !== attr.value) he.setAttribute(attr.name, attr.value);
      if (he instanceof HTMLInputElement && we instanceof HTMLInputElement && document.activeElement !== he) he.value = we.value;
      if (!he.hasAttribute('data-keep')) morphChildren(he, we);
    }
  });
  have = Array.from(into.childNodes);
  for (let i = have.length - 1; i >= want.length; i--) into.removeChild(have[i]!);
}

function same(a: Node, b: Node): boolean {
  if (a.nodeType !== b.nodeType) return false;
  if (a.nodeType !== Node.ELEMENT_NODE) return true;
  const ae = a as Element;
  const be = b as Element;
  return ae.tagName === be.tagName && ae.id === be.id;
}
