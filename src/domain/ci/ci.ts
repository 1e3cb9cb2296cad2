/**
 * Configuration items and KPI samples (DESIGN §4.7). A CI is a JSON object with at least `id`, like a
 * ticket (every other field free-form: `class`, `status`, the tenant field…); a KPI sample is
 * `{ci, name, value, at?}`, its value a finite number or a status (OK / Warning / Alarm / Offline).
 * Validated here before anything reaches a workflow, so a malformed one never poisons a CI's run.
 */
import { checkJson, type TicketValue } from '../ticket';

export type CiValue = TicketValue;
export type Ci = { id: string } & { [key: string]: CiValue };

/** A status KPI's value, normalised. */
export const KPI_STATUSES = ['OK', 'WARNING', 'ALARM', 'OFFLINE'] as const;
export type KpiStatus = (typeof KPI_STATUSES)[number];
export type KpiValue = number | KpiStatus;

export interface KpiSample {
  ci: string;
  name: string;
  value: KpiValue;
  /** The instant measured (epoch ms); absent: when it was received. */
  at?: number;
}

/** A KPI's current value as a CI run holds it: the value and the instant it was measured. */
export interface KpiReading {
  value: KpiValue;
  at: number;
}

export class CiValidationError extends Error {
  override name = 'CiValidationError';
}

const ID = /^[^\s]{1,200}$/;
/** KPI names are CEL identifiers, so an expression reads them as `kpi.<name>`. */
const KPI_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Returns the CI or throws a one-line CiValidationError naming the bad field. */
export function parseCi(input: unknown): Ci {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new CiValidationError('invalid CI: expected a JSON object');
  try {
    checkJson(input, 'invalid CI');
  } catch (err) {
    throw new CiValidationError((err as Error).message.replace(/the ticket/g, 'the CI').replace(/: ticket:/, ': ci:'));
  }
  const id = (input as Record<string, unknown>).id;
  if (typeof id !== 'string') throw new CiValidationError(`invalid CI: id: ${id === undefined ? 'required' : 'must be a non-empty string'}`);
  const trimmed = id.trim();
  if (!ID.test(trimmed)) throw new CiValidationError('invalid CI: id: must be 1 to 200 characters without spaces');
  return { ...(input as Record<string, CiValue>), id: trimmed };
}

/** How far from the receiving clock a sample's own instant may be. */
export const SAMPLE_MAX_AGE_MS = 24 * 3600_000;
export const SAMPLE_MAX_AHEAD_MS = 5 * 60_000;

/**
 * One sample, checked: `where` names it in the error (`samples[3]`). `now` bounds its instant to
 * the last 24 hours and 5 minutes ahead (a clock far off, or a sample from another year, is refused
 * rather than rewriting measured time).
 */
export function parseKpiSample(input: unknown, now: number, where = 'sample'): KpiSample & { at: number } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new CiValidationError(`invalid ${where}: expected a JSON object`);
  const s = input as Record<string, unknown>;
  for (const k of Object.keys(s))
    if (!['ci', 'name', 'value', 'at'].includes(k)) throw new CiValidationError(`invalid ${where}: ${k}: unknown field (a sample has ci, name, value and at)`);
  if (typeof s.ci !== 'string' || !ID.test(s.ci))
    throw new CiValidationError(`invalid ${where}: ci: ${s.ci === undefined ? 'required' : 'must be a CI id (1 to 200 characters without spaces)'}`);
  if (typeof s.name !== 'string' || !KPI_NAME.test(s.name)) {
    throw new CiValidationError(`invalid ${where}: name: ${s.name === undefined ? 'required' : 'must be a KPI name (letters, digits and _, not starting with a digit)'}`);
  }
  const value = kpiValue(s.value);
  if (value === null) {
    throw new CiValidationError(
      `invalid ${where}: value: ${s.value === undefined ? 'required' : `expected a number or a status (OK, Warning, Alarm, Offline), got ${JSON.stringify(s.value)?.slice(0, 40)}`}`,
    );
  }
  let at = now;
  if (s.at !== undefined) {
    at = typeof s.at === 'string' && /(Z|[+-]\d{2}:?\d{2})$/i.test(s.at) ? Date.parse(s.at) : typeof s.at === 'number' ? s.at : NaN;
    if (!Number.isFinite(at)) throw new CiValidationError(`invalid ${where}: at: expected an ISO 8601 instant with Z or an offset`);
    if (at < now - SAMPLE_MAX_AGE_MS) throw new CiValidationError(`invalid ${where}: at: ${new Date(at).toISOString()} is more than 24 hours in the past`);
    if (at > now + SAMPLE_MAX_AHEAD_MS) throw new CiValidationError(`invalid ${where}: at: ${new Date(at).toISOString()} is more than 5 minutes in the future`);
  }
  return { ci: s.ci, name: s.name, value, at };
}

/** A sample's value: a finite number (numeric text too, as Prometheus sends it) or a status; null otherwise. */
export function kpiValue(v: unknown): KpiValue | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  const status = v.trim().toUpperCase();
  if ((KPI_STATUSES as readonly string[]).includes(status)) return status as KpiStatus;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

export function ciWorkflowId(ciId: string): string {
  return `ci:${ciId}`;
}
