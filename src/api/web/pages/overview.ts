/** The overview: every agreement with its current record, forecast and trend (breaches first), and the counts. */
import { get } from '../api';
import { sparkline } from '../chart';
import { badge, count, day, href, html, pct, raw, when } from '../html';
import type { Page } from '../main';
import type { OverviewDoc } from '../types';

export const overviewPage: Page<OverviewDoc> = {
  title: () => 'Overview',
  load: () => get<OverviewDoc>('/v1/overview'),
  render(doc) {
    const breached = doc.agreements.filter((a) => a.status === 'Breached').length;
    const atRisk = doc.agreements.filter((a) => a.status === 'AtRisk').length;
    const c = doc.counts;
    return html` <h1>Service levels</h1>
      <section class="tiles" aria-label="Counts">
        <div class="tile ${breached ? 'bad' : ''}" id="tile-breached"><span class="n">${breached}</span><span>agreements breached</span></div>
        <div class="tile ${atRisk ? 'warn' : ''}" id="tile-atrisk"><span class="n">${atRisk}</span><span>agreements at risk</span></div>
        <a class="tile" href="${href('/tickets')}" id="tile-open"
          ><span class="n">${count(c.openTickets)}</span><span>open tickets <small>of ${count(c.tickets)}</small></span></a
        >
        <div class="tile ${c.missedGoal ? 'warn' : ''}" id="tile-missedgoal">
          <span class="n">${count(c.missedGoal)}</span><span>measurements past their goal (MissedGoal)</span>
        </div>
        <a class="tile ${c.cisDown ? 'bad' : ''}" href="${href('/cis', { down: 'true' })}" id="tile-down"
          ><span class="n">${count(c.cisDown)}</span><span>CIs down <small>of ${count(c.cis)}</small></span></a
        >
      </section>
      <section aria-labelledby="agreements-h">
        <h2 id="agreements-h">Agreements</h2>
        ${
          doc.agreements.length === 0
            ? html`<p class="muted">No agreements yet: add <code>agreements</code> (and <code>contracts</code>) to the definitions.</p>`
            : html`<div class="scroll">
                <table class="agreements">
                  <caption class="sr-only">
                    Agreements, breached and at risk first
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Agreement</th>
                      <th scope="col">Customer</th>
                      <th scope="col">Status</th>
                      <th scope="col" class="num">Now</th>
                      <th scope="col" class="num">Target</th>
                      <th scope="col">Forecast at period end</th>
                      <th scope="col">Trend</th>
                      <th scope="col">Period</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${doc.agreements.map((a) => {
                      const r = a.current[0];
                      const trend = a.trend.map((t) => t.percent);
                      return html`<tr class="row-${a.status ?? 'none'}" data-agreement="${a.id}">
                        <th scope="row">
                          <a href="${href(`/agreements/${encodeURIComponent(a.id)}`)}">${a.title ?? a.id}</a>
                          <div class="muted small">${a.type} ${a.id}</div>
                        </th>
                        <td>${a.customer ?? (a.contractId ? a.contractId : html`<span class="muted">every tenant</span>`)}</td>
                        <td>${badge(a.status)}</td>
                        <td class="num percent">${pct(r?.percent ?? null)}</td>
                        <td class="num">
                          ${pct(a.compliance.target, 2)}${a.compliance.atRisk !== null ? html`<div class="muted small">at risk ${pct(a.compliance.atRisk, 2)}</div>` : ''}
                        </td>
                        <td>
                          ${r?.forecast ? html`${pct(r.forecast.percent)} ${badge(r.forecast.status)}${r.forecast.breachedAt ? html`<div class="small">breach ${when(r.forecast.breachedAt, a.timezone)}</div>` : r.forecast.atRiskAt ? html`<div class="small">at risk ${when(r.forecast.atRiskAt, a.timezone)}</div>` : ''}` : '—'}
                        </td>
                        <td>
                          ${raw(sparkline(trend, a.compliance.target))}<span class="sr-only"
                            >${a.trend.map((t) => `${day(t.periodStart, a.timezone)}: ${pct(t.percent)}`).join(', ')}</span
                          >
                        </td>
                        <td class="small">${r ? html`${r.reviewPeriod}<br />${day(r.periodStart, a.timezone)} – ${day(r.periodEnd, a.timezone)}` : '—'}</td>
                      </tr>`;
                    })}
                  </tbody>
                </table>
              </div>`
        }
      </section>
      <p class="muted small">As of ${when(doc.generatedAt)}.</p>`;
  },
};
