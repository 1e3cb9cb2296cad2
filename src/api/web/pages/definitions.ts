/** What is applied: the definitions in force and their version, read-only. */
import { get } from '../api';
import { html } from '../html';
import type { Page } from '../main';
import type { DefinitionsDoc } from '../types';

const goalText = (g: unknown) =>
  g && typeof g === 'object'
    ? Object.entries(g as Record<string, unknown>)
        .map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(', ')
    : '—';

export const definitionsPage: Page<DefinitionsDoc> = {
  title: () => 'Definitions',
  load: () => get<DefinitionsDoc>('/v1/definitions'),
  render(doc) {
    const d = doc.definitions;
    const targets = d.serviceTargets ?? [];
    return html` <h1>Definitions <span class="muted">version ${doc.version}</span></h1>
      <p class="muted">Read-only: change them with <code>slm definitions apply FILE</code> or <code>PUT /v1/definitions</code>.</p>
      <section class="card" aria-labelledby="st-h">
        <h2 id="st-h">Service targets (${targets.length})</h2>
        <div class="scroll">
          <table id="targets">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Type</th>
                <th scope="col">Title</th>
                <th scope="col">Goal</th>
                <th scope="col">Calendar</th>
              </tr>
            </thead>
            <tbody>
              ${targets.map(
                (t) =>
                  html`<tr>
                    <th scope="row">${t.id}</th>
                    <td>${t.type ?? 'request'}</td>
                    <td>${t.title ?? ''}</td>
                    <td>${goalText(t.goal)}</td>
                    <td>${typeof t.calendar === 'string' ? t.calendar : t.calendar ? `from field ${t.calendar.fromField}` : '24×7'}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="ag-h">
        <h2 id="ag-h">Agreements (${(d.agreements ?? []).length})</h2>
        <ul>
          ${(d.agreements ?? []).map((a) => html`<li><a href="#/agreements/${encodeURIComponent(a.id)}">${a.title ?? a.id}</a> <span class="muted">${a.type ?? 'SLA'} ${a.id}</span></li>`)}
        </ul>
      </section>
      <section class="card" aria-labelledby="doc-h">
        <h2 id="doc-h">The document</h2>
        <details>
          <summary>Show the whole definitions document (JSON)</summary>
          <pre class="code">${JSON.stringify(d, null, 2)}</pre>
        </details>
      </section>`;
  },
};
