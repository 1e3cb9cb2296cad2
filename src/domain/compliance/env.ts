/**
 * The compliance environment of a definitions document: its agreements as scopes (with the instant
 * each began to count) and what compliance needs of each service target.
 */
import type { BusinessTime } from '../calendar';
import { isCiTarget, type Definitions } from '../definitions';
import { scopesOf, type ComplianceEnv, type TargetInfo } from './record';

export function complianceEnv(defs: Definitions, calendar: (id: string | null) => BusinessTime, definedAt: (agreementId: string) => number): ComplianceEnv {
  const targets = new Map<string, TargetInfo>();
  for (const t of defs.serviceTargets) {
    targets.set(
      t.id,
      isCiTarget(t)
        ? { type: t.type, calendarId: t.calendar ?? null, costPerMinute: t.costPerMinute ?? null, goal: t.goal }
        : { type: 'request', calendarId: typeof t.calendar === 'string' ? t.calendar : null, costPerMinute: t.costPerMinute ?? null, goal: null },
    );
  }
  return { scopes: scopesOf(defs.agreements, defs.contracts, definedAt), targets, calendar };
}
