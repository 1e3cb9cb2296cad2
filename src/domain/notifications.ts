/**
 * What a milestone's actions say and where they go: the webhook payload, the e-mail's subject and
 * text, the id of a started workflow. Pure, so the texts people receive are the ones tests and
 * replay produce.
 */
import type { ActionEffect } from './request/engine';
import type { MeasurementView } from './request/measurement';
import type { Ticket } from './ticket';

export interface MilestonePayload {
  event: 'milestone';
  key: string;
  ticketId: string;
  serviceTargetId: string;
  milestone: string;
  occurrence: number;
  dueAt: string;
  firedAt: string;
  ticket: Ticket;
  measurement: MeasurementView | null;
}

/** The document a webhook receives (and a started workflow gets, unless the action names its input). */
export function milestonePayload(e: ActionEffect, measurement: MeasurementView | null): MilestonePayload {
  return {
    event: 'milestone',
    key: e.key,
    ticketId: e.ticketId,
    serviceTargetId: e.serviceTargetId,
    milestone: e.milestone,
    occurrence: e.occurrence,
    dueAt: new Date(e.dueAt).toISOString(),
    firedAt: new Date(e.firedAt).toISOString(),
    ticket: e.ticket,
    measurement,
  };
}

/** The e-mail of a `notify.email` action: the action's subject, or ours, and a two-line text. */
export function milestoneEmail(p: MilestonePayload, subject?: string): { subject: string; text: string } {
  const m = p.measurement;
  return {
    subject: subject ?? `[SLM] ${p.milestone}: ${p.serviceTargetId} on ticket ${p.ticketId}`,
    text: [
      `Milestone ${p.milestone} of service target ${p.serviceTargetId} fired at ${p.firedAt} on ticket ${p.ticketId}.`,
      m ? `Status ${m.status}; due ${m.dueAt ?? 'n/a'}; elapsed ${m.elapsedSeconds} s of ${m.goalSeconds} s.` : '',
    ].join('\n'),
  };
}

/** The measurement an action's key names (`<ticket>|<target>#n|…`), as an index into `measurementKeys`. */
export function measurementIndexOf(actionKey: string, measurementKeys: readonly string[]): number {
  return measurementKeys.indexOf(actionKey.split('|')[1] ?? '');
}

/** The workflow id a `startWorkflow` action starts: one per firing, so a retry never starts two. */
export function actionWorkflowId(actionKey: string): string {
  return `slm-action:${actionKey}`;
}
