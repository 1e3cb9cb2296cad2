/** An agreement: the selected record in detail with its chart, each target's contribution, the records period by period and the ledger. */
import { download, get } from '../api';
import { PercentChart, type ChartInput } from '../chart';
import { badge, day, href, html, money, pct, seconds, when } from '../html';
import type { Page, Params } from '../main';
import { statusFor } from '../../../domain/compliance/status';
import type { AgreementPageDoc, RecordView, Status } from '../types';

type Range = AgreementPageDoc['agreement']['penalties'][number];

let chart: { el: HTMLElement; chart: PercentChart } | null = null;

const rangeText = (r: Range) => [r.atLeast !== null ? `≥ ${r.atLeast} %` : null, r.below !== null ? `< ${r.below} %` : null].filter(Boolean).join(' and ') || 'any';

function chartInput(doc: AgreementPageDoc): ChartInput | null {
  const s = doc.series;
  if (!s) return null;
  return {
    start: Date.parse(s.periodStart),
    end: Date.parse(s.periodEnd),
    points: s.points,
    target: doc.agreement.compliance.target,
    atRisk: doc.agreement.compliance.atRisk,
    label: 'Compliance',
  };
}

/** The status of the percent the page shows (the amended one where a late fact amended the record). */
const shownStatus = (r: RecordView, a: AgreementPageDoc['agreement']): Status | null => statusFor(a.compliance, r.amendedPercent ?? r.percent);

function periodParam(r: RecordView, zone: string): string {
  // The period's first day in the agreement's zone (YYYY-MM-DD).
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(r.periodStart));
  return parts;
}

export const agreementPage: Page<AgreementPageDoc> = {
  title: (p, d) => d?.agreement.title ?? p.path[1] ?? 'Agreement',
  load: (p: Params) =>
    get<AgreementPageDoc>(`/v1/agreements/${encodeURIComponent(p.path[1]!)}`, {
      period: p.query.get('period') ?? undefined,
      reviewPeriod: p.query.get('reviewPeriod') ?? undefined,
    }),
  render(doc, params) {
    const a = doc.agreement;
    const r = doc.selected;
    const zone = a.timezone;
    const kind = params.query.get('reviewPeriod') ?? a.reviewPeriods[0]!;
    const totalWeight = r ? r.targets.filter((t) => t.percent !== null).reduce((s, t) => s + t.weight, 0) : 0;
    const shown = r ? (r.amendedPercent ?? r.percent) : null;
    return html` <nav class="crumbs" aria-label="Breadcrumb"><a href="#/">Overview</a> › <span>${a.id}</span></nav>
      <h1>${a.title ?? a.id}</h1>
      <p class="muted">
        ${a.type} ${a.id}${a.contractId ? html` · contract ${a.contractId}${a.customer ? ` (${a.customer})` : ''}` : ' · every tenant'} · ${zone} · target
        ${pct(a.compliance.target, 2)}${a.compliance.atRisk !== null ? html`, at risk below ${pct(a.compliance.atRisk, 2)}` : ''}
      </p>
      ${
        a.reviewPeriods.length > 1
          ? html`<nav class="tabs" aria-label="Review period">
              ${a.reviewPeriods.map(
                (k) =>
                  html`<a
                    href="${href(`/agreements/${encodeURIComponent(a.id)}`, { reviewPeriod: k, period: params.query.get('period') ?? undefined })}"
                    ${k === kind ? html`aria-current="page"` : ''}
                    >${k}</a
                  >`,
              )}
            </nav>`
          : ''
      }
      ${
        r
          ? html`<section class="card record row-${shownStatus(r, a) ?? 'none'}" aria-labelledby="record-h">
                <h2 id="record-h">
                  ${r.reviewPeriod} ${day(r.periodStart, zone)} – ${day(r.periodEnd, zone)}
                  ${r.closed ? html`<span class="muted">(closed)</span>` : html`<span class="muted">(open)</span>`}
                </h2>
                <div class="headline"><span class="big" id="record-percent">${pct(shown)}</span> ${badge(shownStatus(r, a))}</div>
                <dl class="facts">
                  ${
                    r.forecast
                      ? html`<div>
                          <dt>Forecast at period end</dt>
                          <dd>
                            ${pct(r.forecast.percent)}
                            ${badge(r.forecast.status)}${r.forecast.breachedAt ? html` — breached from ${when(r.forecast.breachedAt, zone)}` : ''}${r.forecast.atRiskAt ? html` — at risk from ${when(r.forecast.atRiskAt, zone)}` : ''}
                          </dd>
                        </div>`
                      : ''
                  }
                  <div>
                    <dt>Impact cost</dt>
                    <dd>${money(r.impactCost)}</dd>
                  </div>
                  <div>
                    <dt>Penalty</dt>
                    <dd>${r.closed ? money(r.amendedPenalty ?? r.penalty) : 'settled at close-out'}</dd>
                  </div>
                  <div>
                    <dt>Reward</dt>
                    <dd>${r.closed ? money(r.amendedReward ?? r.reward) : 'settled at close-out'}</dd>
                  </div>
                  ${
                    r.amendedAt
                      ? html`<div>
                          <dt>Amended</dt>
                          <dd>${when(r.amendedAt, zone)}: from ${pct(r.percent)} (penalty ${money(r.penalty)}, reward ${money(r.reward)}) to ${pct(r.amendedPercent)}</dd>
                        </div>`
                      : ''
                  }
                  ${
                    r.milestones.length
                      ? html`<div>
                          <dt>Milestones</dt>
                          <dd>${r.milestones.map((m) => html`${m.name} fired ${when(m.firedAt, zone)}<br />`)}</dd>
                        </div>`
                      : ''
                  }
                </dl>
                <div class="actions">
                  <button type="button" id="report-pdf">Download PDF report</button>
                  <button type="button" id="report-csv" class="secondary">Download CSV</button>
                  <span id="report-status" role="status" class="small" data-keep></span>
                </div>
              </section>
              <section class="card" aria-labelledby="chart-h">
                <h2 id="chart-h">Compliance over the period</h2>
                <div
                  id="chart"
                  class="chart"
                  data-keep
                  role="img"
                  aria-label="${`Compliance over ${r.reviewPeriod} ${day(r.periodStart, zone)}: now ${pct(shown)}, target ${a.compliance.target} %`}"
                ></div>
              </section>
              <section class="card" aria-labelledby="targets-h">
                <h2 id="targets-h">Service targets</h2>
                <div class="scroll">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Service target</th>
                        <th scope="col" class="num">Weight</th>
                        <th scope="col" class="num">Percent</th>
                        <th scope="col" class="num">Contribution <span class="small muted">(weight × percent ÷ Σ weights)</span></th>
                        <th scope="col">Measured</th>
                        <th scope="col" class="num">Impact cost</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${r.targets.map(
                        (t) =>
                          html`<tr>
                            <th scope="row">${t.serviceTargetId}</th>
                            <td class="num">${t.weight}</td>
                            <td class="num">${pct(t.percent)}</td>
                            <td class="num">${t.percent === null || !totalWeight ? '—' : pct((t.weight * t.percent) / totalWeight)}</td>
                            <td>
                              ${t.met !== null ? `${t.met} met, ${t.missed} missed` : `up ${seconds(t.upSeconds)}, down ${seconds(t.downSeconds)} in ${t.downCount ?? 0} outage(s), unknown ${seconds(t.unknownSeconds)}`}
                            </td>
                            <td class="num">${money(t.impactCost)}</td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>
                </div>
              </section>`
          : html`<section class="card"><p>No ${kind} record holds this period yet: nothing has been counted for this agreement.</p></section>`
      }
      ${
        doc.hurting && (doc.hurting.tickets.length || doc.hurting.cis.length)
          ? html`<section class="card" aria-labelledby="hurt-h">
              <h2 id="hurt-h">What pulls this record down</h2>
              ${
                doc.hurting.tickets.length
                  ? html`<p>
                        ${doc.hurting.ticketsTotal} ticket(s) missed a target in this
                        period${doc.hurting.ticketsTotal > doc.hurting.tickets.length ? html`; the ${doc.hurting.tickets.length} costliest` : ''}:
                      </p>
                      <div class="scroll">
                        <table id="hurting-tickets">
                          <thead>
                            <tr>
                              <th scope="col">Ticket</th>
                              <th scope="col">Service target</th>
                              <th scope="col">Status</th>
                              <th scope="col">Counted at</th>
                              <th scope="col" class="num">Impact cost</th>
                            </tr>
                          </thead>
                          <tbody>
                            ${doc.hurting.tickets.map(
                              (t) =>
                                html`<tr>
                                  <th scope="row"><a href="${href(`/tickets/${encodeURIComponent(t.ticketId)}`)}">${t.ticketId}</a></th>
                                  <td>${t.serviceTargetId}</td>
                                  <td><span class="m-${t.status}">${t.status}</span></td>
                                  <td>${when(t.resultAt, zone)}</td>
                                  <td class="num">${money(t.impactCost)}</td>
                                </tr>`,
                            )}
                          </tbody>
                        </table>
                      </div>`
                  : ''
              }
              ${
                doc.hurting.cis.length
                  ? html`<div class="scroll">
                      <table id="hurting-cis">
                        <thead>
                          <tr>
                            <th scope="col">CI</th>
                            <th scope="col">Service target</th>
                            <th scope="col" class="num">Down in this period</th>
                            <th scope="col" class="num">Outages</th>
                          </tr>
                        </thead>
                        <tbody>
                          ${doc.hurting.cis.map(
                            (c) =>
                              html`<tr>
                                <th scope="row">${c.ciId}</th>
                                <td>${c.serviceTargetId}</td>
                                <td class="num">${seconds(c.downSeconds)}</td>
                                <td class="num">${c.outages}</td>
                              </tr>`,
                          )}
                        </tbody>
                      </table>
                    </div>`
                  : ''
              }
            </section>`
          : ''
      }
      <section class="card" aria-labelledby="records-h">
        <h2 id="records-h">Records, period by period</h2>
        <div class="scroll">
          <table id="records">
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col">Review</th>
                <th scope="col" class="num">Percent</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">Penalty</th>
                <th scope="col" class="num">Reward</th>
                <th scope="col">Amended</th>
              </tr>
            </thead>
            <tbody>
              ${doc.records.map(
                (x) =>
                  html`<tr>
                    <th scope="row">
                      <a href="${href(`/agreements/${encodeURIComponent(a.id)}`, { reviewPeriod: x.reviewPeriod, period: periodParam(x, zone) })}"
                        >${day(x.periodStart, zone)} – ${day(x.periodEnd, zone)}</a
                      >${x.closed ? '' : html` <span class="muted small">open</span>`}
                    </th>
                    <td>${x.reviewPeriod}</td>
                    <td class="num">${pct(x.amendedPercent ?? x.percent)}</td>
                    <td>${badge(shownStatus(x, a))}</td>
                    <td class="num">${x.closed ? money(x.amendedPenalty ?? x.penalty) : '—'}</td>
                    <td class="num">${x.closed ? money(x.amendedReward ?? x.reward) : '—'}</td>
                    <td>${x.amendedAt ? html`${when(x.amendedAt, zone)} (was ${pct(x.percent)})` : ''}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
        ${a.penalties.length || a.rewards.length ? html`<p class="small muted">Penalties: ${a.penalties.map((p) => `${money(p.amount)} when ${rangeText(p)}`).join('; ') || 'none'}. Rewards: ${a.rewards.map((p) => `${money(p.amount)} when ${rangeText(p)}`).join('; ') || 'none'}.</p>` : ''}
      </section>
      ${
        doc.settlements.length
          ? html`<section class="card" aria-labelledby="ledger-h">
              <h2 id="ledger-h">Settlement ledger</h2>
              <div class="scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Period</th>
                      <th scope="col" class="num">Revision</th>
                      <th scope="col" class="num">Percent</th>
                      <th scope="col" class="num">Penalty (Δ)</th>
                      <th scope="col" class="num">Reward (Δ)</th>
                      <th scope="col">Settled</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${doc.settlements.map(
                      (s) =>
                        html`<tr>
                          <th scope="row">${s.reviewPeriod} ${day(s.periodStart, zone)}</th>
                          <td class="num">${s.revision}</td>
                          <td class="num">${pct(s.percent)}</td>
                          <td class="num">${money(s.penalty)} (${money(s.penaltyDelta)})</td>
                          <td class="num">${money(s.reward)} (${money(s.rewardDelta)})</td>
                          <td>${when(s.settledAt, zone)}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>
            </section>`
          : ''
      }`;
  },
  after(_root, doc, params) {
    const a = doc.agreement;
    const r = doc.selected;
    const zone = a.timezone;
    const kind = params.query.get('reviewPeriod') ?? a.reviewPeriods[0]!;
    const input = chartInput(doc);
    const el = document.getElementById('chart');
    if (el && input) {
      // The same element after a live refresh: new data into the same chart.
      if (chart?.el === el) chart.chart.update(input);
      else chart = { el, chart: new PercentChart(el, input) };
    } else chart = null;

    const period = r ? periodParam(r, zone) : undefined;
    const status = document.getElementById('report-status');
    const report = (format: 'pdf' | 'csv') => async () => {
      if (!period || !status) return;
      status.textContent = `Preparing the ${format.toUpperCase()}…`;
      try {
        await download('/v1/compliance/report', { agreement: a.id, period, reviewPeriod: kind, format }, `${a.id}-${period}.${format}`);
        status.textContent = `${format.toUpperCase()} downloaded.`;
      } catch (err) {
        status.textContent = `Could not make the report: ${(err as Error).message}`;
      }
    };
    const pdf = document.getElementById('report-pdf');
    const csv = document.getElementById('report-csv');
    if (pdf) pdf.onclick = () => void report('pdf')();
    if (csv) csv.onclick = () => void report('csv')();
  },
};
