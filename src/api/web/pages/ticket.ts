/** A ticket: its fields, the service problem in SNOW, its measurements and their timeline (`slm ticket show --timeline`), and its workflow in the Temporal UI. */
import { get } from '../api';
import { href, html, seconds, when } from '../html';
import type { Page } from '../main';
import type { Session, TicketDoc, TimelineDoc } from '../types';

interface Data {
  doc: TicketDoc;
  timeline: TimelineDoc;
}

function temporalLink(session: Session, ticketId: string): string | null {
  if (!session.temporalUiUrl) return null;
  return `${session.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(session.namespace)}/workflows/${encodeURIComponent(`ticket:${ticketId}`)}`;
}

export const ticketPage: Page<Data> = {
  title: (p) => `Ticket ${p.path[1] ?? ''}`,
  load: async (p) => {
    const id = encodeURIComponent(p.path[1]!);
    const [doc, timeline] = await Promise.all([get<TicketDoc>(`/v1/tickets/${id}`), get<TimelineDoc>(`/v1/tickets/${id}/timeline`)]);
    return { doc, timeline };
  },
  render({ doc, timeline }, p, ctx) {
    const id = p.path[1]!;
    const t = doc.ticket ?? {};
    const sp = doc.serviceProblem;
    const link = temporalLink(ctx.session, id);
    const fields = Object.entries(t).filter(([k]) => k !== 'id');
    return html` <nav class="crumbs" aria-label="Breadcrumb"><a href="${href('/tickets')}">Tickets</a> › <span>${id}</span></nav>
      <h1>Ticket ${id}</h1>
      <p>
        ${link ? html`<a href="${link}" target="_blank" rel="noopener noreferrer" id="temporal-link">Its workflow in the Temporal UI<span class="sr-only"> (opens a new tab)</span></a>` : html`<span class="muted">Workflow <code>ticket:${id}</code> (set TEMPORAL_UI_URL to link the Temporal UI)</span>`}
      </p>
      <div class="grid2">
        <section class="card" aria-labelledby="fields-h">
          <h2 id="fields-h">Fields</h2>
          <dl class="facts">
            ${fields.map(
              ([k, v]) =>
                html`<div>
                  <dt>${k}</dt>
                  <dd>${typeof v === 'string' ? v : JSON.stringify(v)}</dd>
                </div>`,
            )}
          </dl>
        </section>
        <section class="card" aria-labelledby="snow-h">
          <h2 id="snow-h">SNOW service problem</h2>
          ${
            sp
              ? html`<dl class="facts">
                  <div>
                    <dt>Service problem</dt>
                    <dd class="mono">${sp.id}</dd>
                  </div>
                  <div>
                    <dt>Incident</dt>
                    <dd>
                      ${sp.incidentNumber ? (sp.link ? html`<a href="${sp.link}" target="_blank" rel="noopener noreferrer">${sp.incidentNumber}</a>` : sp.incidentNumber) : '—'}
                    </dd>
                  </div>
                  <div>
                    <dt>Status</dt>
                    <dd>${sp.status ?? '—'}</dd>
                  </div>
                  <div>
                    <dt>Last sync</dt>
                    <dd>${when(sp.lastSyncAt)}</dd>
                  </div>
                  <div>
                    <dt>Last error</dt>
                    <dd class="${sp.lastError ? 'error' : ''}">${sp.lastError ?? 'none'}</dd>
                  </div>
                </dl>`
              : html`<p class="muted">Not mirrored to SNOW (not in an active state yet, or no connector).</p>`
          }
        </section>
      </div>
      <section class="card" aria-labelledby="m-h">
        <h2 id="m-h">Measurements</h2>
        ${
          doc.measurements.length
            ? html`<div class="scroll">
                <table id="measurements">
                  <thead>
                    <tr>
                      <th scope="col">Service target</th>
                      <th scope="col">Status</th>
                      <th scope="col">Started</th>
                      <th scope="col">Due</th>
                      <th scope="col">Stopped</th>
                      <th scope="col" class="num">Goal</th>
                      <th scope="col" class="num">Elapsed</th>
                      <th scope="col" class="num">Paused</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${doc.measurements.map(
                      (m) =>
                        html`<tr>
                          <th scope="row">${m.serviceTargetId}</th>
                          <td><span class="m-${m.status}">${m.status}</span></td>
                          <td>${when(m.startedAt)}</td>
                          <td>${when(m.dueAt)}</td>
                          <td>${when(m.stoppedAt)}</td>
                          <td class="num">${seconds(m.goalSeconds)}</td>
                          <td class="num">${seconds(m.elapsedSeconds)}</td>
                          <td class="num">${seconds(m.pausedSeconds)}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
            : html`<p class="muted">No service target applies to this ticket.</p>`
        }
      </section>
      <section class="card" aria-labelledby="tl-h">
        <h2 id="tl-h">Timeline</h2>
        ${timeline.entries.length ? '' : html`<p class="muted">Nothing measured yet.</p>`}
        ${timeline.entries.map(
          (e) =>
            html`<article class="timeline">
              <h3>${e.heading}</h3>
              <ol>
                ${e.events.map((ev) => html`<li><time datetime="${ev.at}">${when(ev.at)}</time> <span class="mono">${ev.text}</span></li>`)}
              </ol>
              <p><strong>${e.verdict}</strong></p>
            </article>`,
        )}
      </section>
      ${
        doc.rejectedChanges.length
          ? html`<section class="card" aria-labelledby="rej-h">
              <h2 id="rej-h">Changes refused</h2>
              <ul>
                ${doc.rejectedChanges.map((r) => html`<li>${when(r.at)}: ${r.reason}</li>`)}
              </ul>
            </section>`
          : ''
      }`;
  },
};
