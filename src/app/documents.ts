/**
 * The public documents (DESIGN §4.6): what the CLI prints with `--json`, the HTTP API returns and the
 * dashboard reads. Types only, over domain types only, so the browser code imports them as they are
 * (src/api/web) and a change here is a change every front end sees at compile time.
 */
import type { Ci, KpiValue } from '../domain/ci/ci';
import type { CiMeasurementView } from '../domain/ci/engine';
import type { CiSide } from '../domain/compliance/facts';
import type { ComplianceRecordView, ComplianceStatus } from '../domain/compliance/record';
import type { MeasurementView } from '../domain/request/measurement';
import type { RejectedChange, SyncStatus } from '../workflows/messages';

export type { ComplianceRecordView, ComplianceStatus, MeasurementView, RejectedChange, SyncStatus };

/** `slm ticket show --json`. */
export interface TicketDoc {
  ticket: unknown;
  measurements: MeasurementView[];
  serviceProblem: { id: string; incidentNumber: string | null; link: string | null; status: string | null; lastSyncAt: string | null; lastError: string | null } | null;
  /** Changes the workflow refused (malformed, or a merge patch whose result is no valid ticket), with when and why. */
  rejectedChanges: RejectedChange[];
}

/** `slm tickets list --json`. */
export interface TicketListDoc {
  total: number;
  page: number;
  tickets: {
    ticketId: string;
    state: string | null;
    priority: number | null;
    problemId: string | null;
    incidentNumber: string | null;
    link: string | null;
    lastSyncAt: string | null;
    lastError: string | null;
  }[];
}

/** One measurement's story: a heading, its events in time order, and the verdict. */
export interface TimelineEntry {
  heading: string;
  events: { at: string; text: string }[];
  verdict: string;
}

/** `slm ticket show ID --timeline --json` and the API's `/v1/tickets/{id}/timeline`: the entries and the text. */
export interface TimelineDoc {
  ticketId: string;
  entries: TimelineEntry[];
  text: string;
}

/** `slm ci show --json`. */
export interface CiDoc {
  ci: Ci | null;
  kpis: Record<string, { value: KpiValue; at: string }>;
  measurements: CiMeasurementView[];
  rejectedChanges: RejectedChange[];
}

/** `slm cis list --json`. */
export interface CiListDoc {
  total: number;
  page: number;
  cis: { ciId: string; class: string | null; state: string | null; down: boolean; measurements: number; updatedAt: string }[];
}

/** An agreement as the lists show it. */
export interface AgreementSummary {
  id: string;
  title: string | null;
  type: string;
  contractId: string | null;
  customer: string | null;
  timezone: string;
  compliance: { target: number; atRisk: number | null };
}

/** `slm agreements list --json`, `GET /v1/agreements`. */
export interface AgreementsDoc {
  agreements: (AgreementSummary & {
    tenant: string | null;
    reviewPeriods: string[];
    targets: { serviceTarget: string; weight: number }[];
    /** The open record of each review period (none before anything was counted). */
    current: ComplianceRecordView[];
  })[];
}

/** `slm compliance show AGREEMENT [--period P] --json`, `GET /v1/compliance?agreement=A[&period=P]`: the records of the current periods, or those holding P. */
export interface ComplianceDoc {
  agreementId: string;
  records: ComplianceRecordView[];
}

/** A line of the settlement ledger: a close-out (revision 1) or an amendment's delta. */
export interface SettlementView {
  key: string;
  reviewPeriod: string;
  periodStart: string;
  revision: number;
  percent: number | null;
  penalty: number | null;
  reward: number | null;
  penaltyDelta: number;
  rewardDelta: number;
  settledAt: string;
}

/** `slm compliance history AGREEMENT --json`: every record, newest first, and the settlement ledger. */
export interface ComplianceHistoryDoc extends ComplianceDoc {
  settlements: SettlementView[];
}

// ── the dashboard's ───────────────────────────────────────────────────────────────────────────────

/** `GET /v1/session`: the token in use, and where the Temporal UI is. */
export interface SessionDoc {
  name: string;
  role: 'ingest' | 'read' | 'admin';
  tenant: string | null;
  temporalUiUrl: string | null;
  namespace: string;
}

export interface OverviewCounts {
  /** Tickets in one of the connector's active states. */
  openTickets: number;
  /** Request measurements past their goal and still running. */
  missedGoal: number;
  cisDown: number;
  tickets: number;
  cis: number;
}

/** `GET /v1/overview`. */
export interface OverviewDoc {
  generatedAt: string;
  counts: OverviewCounts;
  agreements: (AgreementSummary & {
    /** The worst status among the current records (Breached, AtRisk, Compliant; null: nothing counted). */
    status: ComplianceStatus | null;
    /** The open record of each review period. */
    current: ComplianceRecordView[];
    /** The first review period's latest records, oldest first (amended percent where amended). */
    trend: { reviewPeriod: string; periodStart: string; percent: number | null; status: ComplianceStatus | null; closed: boolean }[];
  })[];
}

/** The percent of one record over its period. */
export interface RecordSeries {
  contractId: string | null;
  reviewPeriod: string;
  periodStart: string;
  periodEnd: string;
  closed: boolean;
  /** [instant (ms), percent] as the record was written, and for an open record the percent now. */
  points: [number, number | null][];
}

/** `GET /v1/compliance/series`. */
export interface SeriesDoc {
  agreementId: string;
  compliance: { target: number; atRisk: number | null };
  /** One series per record whose period holds the instant asked (every review period and contract). */
  series: RecordSeries[];
}

export interface ComplianceRange {
  atLeast: number | null;
  below: number | null;
  amount: number;
}

/** `GET /v1/agreements/{id}`: the dashboard's agreement page. */
export interface AgreementPageDoc {
  agreement: AgreementSummary & {
    reviewPeriods: string[];
    targets: { serviceTarget: string; weight: number }[];
    penalties: ComplianceRange[];
    rewards: ComplianceRange[];
  };
  /** Newest first, the latest few of each review period. */
  records: ComplianceRecordView[];
  /** The record shown in detail: of `reviewPeriod` (default the first), holding `period` (default now); null before anything was counted. */
  selected: ComplianceRecordView | null;
  series: RecordSeries | null;
  /** What pulls the selected record down (null without one). */
  hurting: Hurting | null;
  settlements: SettlementView[];
}

/** The tickets that missed in a record's period (costliest first, at most 25 of `ticketsTotal`) and the CIs with the most down time. */
export interface Hurting {
  tickets: { ticketId: string; serviceTargetId: string; status: string; resultAt: string | null; impactCost: number | null }[];
  ticketsTotal: number;
  cis: { ciId: string; serviceTargetId: string; downSeconds: number; outages: number }[];
}

export interface CiStrip {
  ciId: string;
  /** Up time over up and down time in the window (wall clock), null with neither. */
  availability: number | null;
  upSeconds: number;
  downSeconds: number;
  segments: { serviceTargetId: string; side: CiSide; start: number; stop: number }[];
}

/** `GET /v1/cis/strips`: the current month (UTC) of the CIs asked for. */
export interface CiStripsDoc {
  from: string;
  to: string;
  cis: CiStrip[];
}
