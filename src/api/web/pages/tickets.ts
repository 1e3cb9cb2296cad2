/** The managed-tickets table (seed 000): filter, sort, 25 a page, the total; incident numbers linked to SNOW. */
import { get } from '../api';
import { count, href, html, pager, when } from '../html';
import type { Page, Params } from '../main';
import type { TicketListDoc } from '../types';

const PAGE_SIZE = 25;
const COLUMNS: { key: string | null; label: string; num?: boolean }[] = [
  { key: 'id', label: 'Ticket' },
  { key: 'state', label: 'State' },
  { key: 'priority', label: 'Priority', num: true },
  { key: null, label: 'Service problem' },
  { key: null, label: 'Incident' },
  { key: 'lastSync', label: 'Last sync' },
  { key: null, label: 'Last error' },
];

function query(p: Params) {
  return {
    filter: p.query.get('filter') ?? '',
    sort: p.query.get('sort') ?? 'id',
    desc: p.query.get('desc') === 'true',
    page: Math.max(1, Number(p.query.get('page') ?? '1') || 1),
  };
}

let debounce: number | undefined;

export const ticketsPage: Page<TicketListDoc> = {
  title: () => 'Tickets',
  load: (p) => {
    const q = query(p);
    return get<TicketListDoc>('/v1/tickets', { filter: q.filter || undefined, sort: q.sort, desc: q.desc || undefined, page: q.page });
  },
  render(doc, p) {
    const q = query(p);
    const pages = Math.max(1, Math.ceil(doc.total / PAGE_SIZE));
    const link = (over: Partial<ReturnType<typeof query>>) => {
      const n = { ...q, ...over };
      return href('/tickets', { filter: n.filter || undefined, sort: n.sort === 'id' ? undefined : n.sort, desc: n.desc || undefined, page: n.page > 1 ? n.page : undefined });
    };
    const first = (doc.page - 1) * PAGE_SIZE + 1;
    return html` <h1>Managed tickets</h1>
      <form class="filter" role="search" id="ticket-filter">
        <label for="filter">Filter on ticket id, state or incident number</label>
        <input id="filter" name="filter" type="search" value="${q.filter}" autocomplete="off" />
        <button type="submit">Filter</button>
      </form>
      <p id="ticket-count" aria-live="polite">
        ${doc.total === 0 ? 'No tickets' : html`Tickets ${count(first)}–${count(first + doc.tickets.length - 1)} of <strong id="ticket-total">${count(doc.total)}</strong>`}${q.filter ? html` matching “${q.filter}”` : ''}
      </p>
      <div class="scroll">
        <table id="tickets">
          <caption class="sr-only">
            Managed tickets, page ${doc.page} of ${pages}
          </caption>
          <thead>
            <tr>
              ${COLUMNS.map((c) => {
                if (!c.key) return html`<th scope="col">${c.label}</th>`;
                const active = q.sort === c.key;
                const sort = active ? (q.desc ? 'descending' : 'ascending') : 'none';
                return html`<th scope="col" aria-sort="${sort}" class="${c.num ? 'num' : ''}">
                  <a href="${link({ sort: c.key, desc: active ? !q.desc : false, page: 1 })}">${c.label}<span aria-hidden="true">${active ? (q.desc ? ' ▼' : ' ▲') : ''}</span></a>
                </th>`;
              })}
            </tr>
          </thead>
          <tbody>
            ${doc.tickets.map(
              (t) =>
                html`<tr data-ticket="${t.ticketId}">
                  <th scope="row"><a href="${href(`/tickets/${encodeURIComponent(t.ticketId)}`)}">${t.ticketId}</a></th>
                  <td>${t.state ?? '—'}</td>
                  <td class="num">${t.priority ?? '—'}</td>
                  <td class="mono">${t.problemId ?? '—'}</td>
                  <td>
                    ${t.incidentNumber ? (t.link ? html`<a href="${t.link}" target="_blank" rel="noopener noreferrer">${t.incidentNumber}<span class="sr-only"> (opens SNOW)</span></a>` : t.incidentNumber) : '—'}
                  </td>
                  <td>${when(t.lastSyncAt)}</td>
                  <td class="${t.lastError ? 'error' : ''}">${t.lastError ?? ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${pager(doc.page, doc.total, (page) => link({ page }), PAGE_SIZE)}`;
  },
  after(root, _doc, p, ctx) {
    const form = root.querySelector<HTMLFormElement>('#ticket-filter');
    const input = root.querySelector<HTMLInputElement>('#filter');
    if (!form || !input) return;
    const apply = () => {
      const q = query(p);
      const next = href('/tickets', { filter: input.value.trim() || undefined, sort: q.sort === 'id' ? undefined : q.sort, desc: q.desc || undefined });
      if (next === location.hash) return;
      // Replace the address without a navigation, then refresh in place: the field keeps its focus.
      history.replaceState(null, '', next);
      void ctx.refresh();
    };
    form.onsubmit = (e) => {
      e.preventDefault();
      window.clearTimeout(debounce);
      apply();
    };
    input.oninput = () => {
      window.clearTimeout(debounce);
      debounce = window.setTimeout(apply, 300);
    };
  },
};
