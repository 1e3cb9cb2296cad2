/** The SNOW poll loop: enabled, frequency, last poll, errors; pause, resume and re-time it (admin tokens). */
import { patch, get } from '../api';
import { html, when } from '../html';
import type { Page } from '../main';
import type { SyncDoc } from '../types';

export const syncPage: Page<SyncDoc> = {
  title: () => 'SNOW sync',
  load: () => get<SyncDoc>('/v1/sync'),
  render(s, _p, ctx) {
    const admin = ctx.session.role === 'admin' && ctx.session.tenant === null;
    return html` <h1>SNOW sync</h1>
      <section class="card" aria-labelledby="state-h">
        <h2 id="state-h">Poll loop</h2>
        <dl class="facts">
          <div>
            <dt>State</dt>
            <dd id="sync-state">${s.enabled ? html`<span class="badge s-Compliant">Running</span>` : html`<span class="badge s-AtRisk">Paused</span>`}</dd>
          </div>
          <div>
            <dt>Frequency</dt>
            <dd id="sync-frequency">every ${s.frequencySeconds} s</dd>
          </div>
          <div>
            <dt>Last poll</dt>
            <dd>${when(s.lastPollAt)}</dd>
          </div>
          <div>
            <dt>Changes up to</dt>
            <dd>${when(s.lastSyncAt)}</dd>
          </div>
          <div>
            <dt>Polls</dt>
            <dd>${s.polls}</dd>
          </div>
          <div>
            <dt>Changes forwarded</dt>
            <dd>${s.changesForwarded}</dd>
          </div>
          <div>
            <dt>Last error</dt>
            <dd class="${s.lastError ? 'error' : ''}">${s.lastError ?? 'none'}</dd>
          </div>
        </dl>
      </section>
      ${
        admin
          ? html`<section class="card" aria-labelledby="ops-h">
              <h2 id="ops-h">Operate</h2>
              <div class="actions">
                <button type="button" id="sync-toggle">${s.enabled ? 'Pause the poll loop' : 'Resume the poll loop'}</button>
              </div>
              <form id="sync-form" class="inline">
                <label for="frequency">Poll every (seconds, 10–86400)</label>
                <input id="frequency" name="frequency" type="number" min="10" max="86400" step="1" value="${s.frequencySeconds}" required />
                <button type="submit">Set frequency</button>
              </form>
              <p id="sync-message" role="status" data-keep></p>
            </section>`
          : html`<p class="muted">Pausing, resuming and re-timing the loop takes an admin token not bound to a tenant.</p>`
      }`;
  },
  after(root, s, _p, ctx) {
    const message = root.querySelector<HTMLElement>('#sync-message');
    const send = async (body: { enabled?: boolean; frequencySeconds?: number }) => {
      try {
        await patch<SyncDoc>('/v1/sync', body);
        if (message) message.textContent = 'Saved.';
        await ctx.refresh();
      } catch (err) {
        if (message) message.textContent = `Not saved: ${(err as Error).message}`;
      }
    };
    const toggle = root.querySelector<HTMLButtonElement>('#sync-toggle');
    if (toggle) toggle.onclick = () => void send({ enabled: !s.enabled });
    const form = root.querySelector<HTMLFormElement>('#sync-form');
    if (form)
      form.onsubmit = (e) => {
        e.preventDefault();
        const v = Number(root.querySelector<HTMLInputElement>('#frequency')!.value);
        void send({ frequencySeconds: v });
      };
  },
};
