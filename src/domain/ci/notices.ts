/** What a CI milestone's actions say: the webhook payload, the e-mail and the TMF642 alarm (DESIGN §4.7). */
import { milestoneAlarmOn, type AlarmBody, type MilestoneAlarmOptions } from '../snow/alarm';
import type { Ci } from './ci';
import type { CiActionEffect, CiMeasurementView } from './engine';

export interface CiMilestonePayload {
  event: 'milestone';
  key: string;
  ciId: string;
  serviceTargetId: string;
  milestone: string;
  occurrence: number;
  dueAt: string;
  firedAt: string;
  measurement: CiMeasurementView | null;
  ci: Ci;
}

export function ciMilestonePayload(e: CiActionEffect, measurement: CiMeasurementView | null): CiMilestonePayload {
  return {
    event: 'milestone',
    key: e.key,
    ciId: e.ciId,
    serviceTargetId: e.serviceTargetId,
    milestone: e.milestone,
    occurrence: e.occurrence,
    dueAt: new Date(e.dueAt).toISOString(),
    firedAt: new Date(e.firedAt).toISOString(),
    measurement,
    ci: e.ci,
  };
}

export function ciMilestoneEmail(p: CiMilestonePayload, subject?: string): { subject: string; text: string } {
  const m = p.measurement;
  const lines = [
    `Milestone ${p.milestone} of service target ${p.serviceTargetId} fired on CI ${p.ciId} at ${p.firedAt}.`,
    ...(m ? [`State: ${m.state} (${m.status}); down ${m.downSeconds} s in ${m.downCount} outage(s); availability ${m.availability ?? 'n/a'} %.`] : []),
    `Key: ${p.key}`,
  ];
  return { subject: subject ?? `[SLM] ${p.serviceTargetId}: ${p.milestone} on ${p.ciId}`, text: lines.join('\n') + '\n' };
}

export function ciMilestoneAlarm(e: CiActionEffect, options: MilestoneAlarmOptions): AlarmBody {
  return milestoneAlarmOn({ id: e.ciId, type: 'ConfigurationItem', noun: 'CI' }, e, options, e.key);
}

/** The CI's headline state: the worst of its open measurements (down or alarm first), null with none. */
export function ciHeadline(views: Pick<CiMeasurementView, 'status' | 'state'>[]): { state: string | null; down: boolean } {
  const rank: Record<string, number> = { up: 0, ok: 0, warning: 1, unknown: 2, down: 3, alarm: 3 };
  let best: string | null = null;
  for (const v of views) {
    if (v.status === 'Detached') continue;
    if (best === null || rank[v.state]! > rank[best]!) best = v.state;
  }
  return { state: best, down: best === 'down' || best === 'alarm' };
}
