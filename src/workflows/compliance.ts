/**
 * complianceWorkflow — the namespace's one compliance run, id `compliance` on the slm queue (DESIGN
 * §4.8). It keeps every agreement's records current: each time measurements are saved (the save
 * signals it, a few times a second at most per worker) and at each instant time alone changes
 * something — a period's end, or the forecast instant a CI's outage takes a record across a milestone
 * level — a durable timer wakes it and one activity (the tick) counts, closes, settles and fires in one
 * transaction. It carries out the milestone actions the tick returns, and shows the agreements in
 * breach or at risk as search attributes.
 *
 * Why a timer and not a Temporal Schedule: the next instant depends on the records (period ends in
 * each agreement's zone, forecast crossings that move with every CI change), which a timer re-armed
 * after every tick follows exactly; a worker or server outage makes the timer fire late, and that tick
 * closes every period that ended meanwhile.
 */
import { condition, continueAsNew, log, setHandler, upsertSearchAttributes, workflowInfo, proxyLocalActivities } from '@temporalio/workflow';
import type { createComplianceActivities } from '../activities/compliance';
import type { MilestoneEffect } from '../domain/compliance/book';
import { complianceChangedSignal, getComplianceStatusQuery, type ComplianceRunStatus } from './messages';
import { SA } from './searchAttributes';
import { startActionWorkflow } from './startAction';
import * as acts from './ticket/proxies';

const compliance = proxyLocalActivities<ReturnType<typeof createComplianceActivities>>({
  startToCloseTimeout: '2m',
  localRetryThreshold: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 },
});

export interface ComplianceWorkflowInput {
  searchAttributes?: boolean;
  carried?: { nextWake: number | null; ticks: number };
}

export async function complianceWorkflow(input: ComplianceWorkflowInput = {}): Promise<void> {
  let dirty = true;
  let nextWake = input.carried?.nextWake ?? null;
  const status: ComplianceRunStatus = { ticks: input.carried?.ticks ?? 0, lastTickAt: null, nextWakeAt: null, breached: [], atRisk: [], pendingActions: 0, lastError: null };
  let published = '';
  setHandler(complianceChangedSignal, () => {
    dirty = true;
  });
  setHandler(getComplianceStatusQuery, () => ({ ...status, nextWakeAt: nextWake === null ? null : new Date(nextWake).toISOString() }));

  for (;;) {
    if (!dirty) await condition(() => dirty, nextWake === null ? undefined : Math.max(0, nextWake - Date.now()));
    dirty = false;
    const r = await compliance.complianceTick();
    status.ticks++;
    status.lastTickAt = new Date().toISOString();
    nextWake = r.nextWake;
    status.breached = r.breached;
    status.atRisk = r.atRisk;
    for (const a of r.actions) {
      status.pendingActions++;
      void runAction(a)
        .catch((err: Error) => {
          status.lastError = `${a.key}: ${err.message}`;
          log.warn('compliance milestone action failed', { key: a.key, error: err.message });
        })
        .finally(() => status.pendingActions--);
    }
    if (input.searchAttributes !== false) {
      const text = JSON.stringify([r.breached, r.atRisk]);
      if (text !== published) {
        published = text;
        upsertSearchAttributes([
          { key: SA.breachedAgreements, value: [...r.breached].sort() },
          { key: SA.atRiskAgreements, value: [...r.atRisk].sort() },
        ]);
      }
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(() => status.pendingActions === 0);
      await continueAsNew<typeof complianceWorkflow>({ ...input, carried: { nextWake, ticks: status.ticks } });
    }
  }
}

/** A compliance milestone's action: the record travels as the payload; the key makes it happen once. */
async function runAction(e: MilestoneEffect): Promise<void> {
  const a = e.action;
  const payload = {
    kind: 'compliance-milestone',
    agreementId: e.agreementId,
    contractId: e.contractId,
    reviewPeriod: e.reviewPeriod,
    periodStart: e.periodStart,
    milestone: e.milestone,
    firedAt: new Date(e.firedAt).toISOString(),
    record: e.record,
  };
  if ('notify' in a) {
    if (a.notify.webhook) await acts.actions.notifyWebhook({ key: `${e.key}|webhook`, url: a.notify.webhook, payload });
    if (a.notify.email) {
      const to = Array.isArray(a.notify.email) ? a.notify.email : [a.notify.email];
      const subject = a.notify.subject ?? `[SLM] ${e.agreementId}: compliance milestone ${e.milestone} (${e.record.percent ?? 'no'} %, ${e.record.status ?? 'no status'})`;
      const text = [
        `Agreement ${e.agreementId}${e.contractId ? ` (contract ${e.contractId})` : ''}, ${e.reviewPeriod} period from ${e.periodStart}`,
        `Milestone ${e.milestone} fired at ${payload.firedAt}`,
        `Percent ${e.record.percent ?? '—'} (${e.record.status ?? '—'}), forecast ${e.record.forecast?.percent ?? '—'}`,
      ].join('\n');
      await acts.actions.notifyEmail({ key: `${e.key}|email`, to, subject, text });
    }
  } else await startActionWorkflow(e.key, a.startWorkflow, payload);
}
