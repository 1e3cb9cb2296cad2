/** CIs: state, availability this month and a segment strip (up / down / unknown over the month). */
import { get } from '../api';
import { count, href, html, pager, pct, raw, when } from '../html';
import type { Page, Params } from '../main';
import type { CiListDoc, CiStripsDoc } from '../types';

interface Data {
  list: CiListDoc;
  strips: CiStripsDoc;
}

function query(p: Params) {
  return { filter: p.query.get('filter') ?? '', down: p.query.get('down') ?? '', page: Math.max(1, Number(p.query.get('page') ?? '1') || 1) };
}

/** The strip as SVG: one rectangle per segment, coloured and patterned by side, with a text summary beside for screen readers. */
function strip(from: number, to: number, segments: CiStripsDoc['cis'][number]['segments']): string {
  const w = 300;
  const x = (t: number) => ((Math.min(Math.max(t, from), to) - from) / (to - from)) * w;
  const rects = segments
    .map(
      (s) =>
        `<rect x="${x(s.start).toFixed(2)}" y="0" width="${Math.max(0.5, x(s.stop) - x(s.start)).toFixed(2)}" height="14" class="seg-${s.side}"><title>${s.side}</title></rect>`,
    )
    .join('');
  return `<svg class="strip" viewBox="0 0 ${w} 14" preserveAspectRatio="none" width="100%" height="14" aria-hidden="true" focusable="false"><rect x="0" y="0" width="${w}" height="14" class="seg-none"/>${rects}</svg>`;
}

export const cisPage: Page<Data> = {
  title: () => 'CIs',
  load: async (p) => {
    const q = query(p);
    const list = await get<CiListDoc>('/v1/cis', { filter: q.filter || undefined, down: q.down || undefined, page: q.page });
    const strips = await get<CiStripsDoc>('/v1/cis/strips', { ids: list.cis.map((c) => c.ciId).join(',') || undefined });
    return { list, strips };
  },
  render({ list, strips }, p) {
    const q = query(p);
    const from = Date.parse(strips.from);
    const to = Date.parse(strips.to);
    const byId = new Map(strips.cis.map((c) => [c.ciId, c]));
    const link = (over: Partial<ReturnType<typeof query>>) => {
      const n = { ...q, ...over };
      return href('/cis', { filter: n.filter || undefined, down: n.down || undefined, page: n.page > 1 ? n.page : undefined });
    };
    return html` <h1>Configuration items</h1>
      <p class="filters">
        <a href="${link({ down: '', page: 1 })}" ${q.down === '' ? html`aria-current="page"` : ''}>All</a> ·
        <a href="${link({ down: 'true', page: 1 })}" ${q.down === 'true' ? html`aria-current="page"` : ''}>Down</a>
      </p>
      <p id="ci-count">${count(list.total)} CI(s)${q.down === 'true' ? ' down' : ''}; availability and strip for ${when(strips.from)} – ${when(strips.to)} (wall clock).</p>
      <p class="legend small">
        <span class="key seg-up"></span> up <span class="key seg-down"></span> down <span class="key seg-unknown"></span> unknown <span class="key seg-none"></span> not measured
      </p>
      <div class="scroll">
        <table id="cis">
          <thead>
            <tr>
              <th scope="col">CI</th>
              <th scope="col">Class</th>
              <th scope="col">State</th>
              <th scope="col" class="num">Availability this month</th>
              <th scope="col" class="stripcol">Up / down / unknown over the month</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            ${list.cis.map((c) => {
              const s = byId.get(c.ciId);
              const down = s ? s.downSeconds : 0;
              return html`<tr data-ci="${c.ciId}" class="${c.down ? 'row-Breached' : ''}">
                <th scope="row">${c.ciId}</th>
                <td>${c.class ?? '—'}</td>
                <td>${c.down ? html`<strong class="down">${c.state ?? 'down'}</strong>` : (c.state ?? '—')}</td>
                <td class="num">${pct(s?.availability ?? null)}</td>
                <td>
                  ${raw(strip(from, to, s?.segments ?? []))}<span class="sr-only"
                    >${s ? `up ${Math.round(s.upSeconds / 60)} min, down ${Math.round(down / 60)} min` : 'no segments'}</span
                  >
                </td>
                <td>${when(c.updatedAt)}</td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>
      ${pager(list.page, list.total, (page) => link({ page }))}`;
  },
};
