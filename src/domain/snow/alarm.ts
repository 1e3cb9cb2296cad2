/**
 * Event problems (seed 000, step 3): when a ticket's device field was set and is now cleared, a
 * TMF642 alarm is raised for that device, correlated to the ticket's service problem. Pure: the
 * workflow detects the event, the `tmf` activity only carries the body.
 */
import type { ServiceProblemRef } from './serviceProblem';
import type { Ticket, TicketValue } from '../ticket';

/** The TMF642 v4 Alarm_Create body we send (every mandatory field present). */
export interface AlarmBody {
  alarmType: string;
  perceivedSeverity: 'critical' | 'major' | 'minor' | 'warning';
  probableCause: string;
  specificProblem: string;
  alarmedObject: { id: string };
  alarmedObjectType: string;
  sourceSystemId: string;
  state: 'raised';
  alarmRaisedTime: string;
  externalAlarmId: string;
  serviceAffecting: boolean;
  alarmDetails?: string;
}

const present = (v: TicketValue | undefined): v is string => typeof v === 'string' && v.trim() !== '';

/** The device whose field `field` was set in `previous` and is cleared in `next`, else null. */
export function clearedDevice(previous: Ticket | null, next: Ticket, field: string): string | null {
  const before = previous?.[field];
  return present(before) && !present(next[field]) ? before : null;
}

/** Unique per ticket, field and instant: a retried POST finds the alarm it may already have made. */
export function externalAlarmIdFor(ticketId: string, field: string, at: number): string {
  return `ticket:${ticketId}:${field}:${at}`;
}

export function toAlarm(ticket: Ticket, field: string, device: string, problem: ServiceProblemRef | null, at: number): AlarmBody {
  const p = typeof ticket.priority === 'number' ? ticket.priority : 5;
  return {
    alarmType: 'CommunicationsAlarm',
    perceivedSeverity: p <= 1 ? 'critical' : p === 2 ? 'major' : p === 3 ? 'minor' : 'warning',
    probableCause: present(ticket.reason) ? ticket.reason : 'deviceEvent',
    specificProblem: `${field} ${device} cleared on ticket ${ticket.id}`,
    alarmedObject: { id: device },
    alarmedObjectType: 'Device',
    sourceSystemId: 'temporal-slm',
    state: 'raised',
    alarmRaisedTime: new Date(at).toISOString(),
    externalAlarmId: externalAlarmIdFor(ticket.id, field, at),
    serviceAffecting: true,
    ...(problem ? { alarmDetails: `service problem ${problem.id}${problem.incidentNumber ? ` (${problem.incidentNumber})` : ''}` } : {}),
  };
}

export type MilestoneAlarmOptions = { alarmType?: string; perceivedSeverity?: AlarmBody['perceivedSeverity'] | 'indeterminate'; probableCause?: string };

/**
 * The TMF642 alarm a milestone's `raiseAlarm` action sends, on whatever it measures (a ticket, a CI):
 * a quality-of-service alarm, major and `thresholdCrossed` unless the action says otherwise.
 */
export function milestoneAlarmOn(
  object: { id: string; type: 'Ticket' | 'ConfigurationItem'; noun: string },
  firing: { serviceTargetId: string; milestone: string; firedAt: number },
  options: MilestoneAlarmOptions,
  externalAlarmId: string,
): AlarmBody {
  const severity = options.perceivedSeverity === 'indeterminate' ? 'warning' : options.perceivedSeverity;
  return {
    alarmType: options.alarmType ?? 'QualityOfServiceAlarm',
    perceivedSeverity: severity ?? 'major',
    probableCause: options.probableCause ?? 'thresholdCrossed',
    specificProblem: `milestone ${firing.milestone} of ${firing.serviceTargetId} on ${object.noun} ${object.id}`,
    alarmedObject: { id: object.id },
    alarmedObjectType: object.type,
    sourceSystemId: 'temporal-slm',
    state: 'raised',
    alarmRaisedTime: new Date(firing.firedAt).toISOString(),
    externalAlarmId,
    serviceAffecting: true,
  };
}

/** A ticket milestone's alarm; its externalAlarmId is the action's key. */
export function milestoneAlarm(
  ticket: Ticket,
  firing: { key: string; serviceTargetId: string; milestone: string; firedAt: number },
  options: MilestoneAlarmOptions,
  problem: ServiceProblemRef | null,
): AlarmBody {
  return {
    ...milestoneAlarmOn({ id: ticket.id, type: 'Ticket', noun: 'ticket' }, firing, options, `milestone:${firing.key}`),
    ...(problem ? { alarmDetails: `service problem ${problem.id}${problem.incidentNumber ? ` (${problem.incidentNumber})` : ''}` } : {}),
  };
}
