/**
 * Messages of the ticket workflow, defined once and shared by the workflow and its callers (CLI,
 * tests, benchmarks). Importing this module does not pull in workflow code.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Ci, KpiReading } from '../domain/ci/ci';
import type { CiMeasurementView } from '../domain/ci/engine';
import type { MeasurementView } from '../domain/request/measurement';
import type { ServiceProblemRef } from '../domain/snow/serviceProblem';
import type { Ticket, TicketValue } from '../domain/ticket';

/**
 * The release of the ticket workflow code that callers start runs for (in the run's input, and set
 * again at continue-as-new). Behaviours a newer release added are taken by runs of at least that
 * release at once; runs started before replay their history without them, and switch at their next
 * step through a `patched()` marker. A number in the input costs nothing per run, where a marker
 * costs two history events (the marker and a search-attribute upsert of TemporalChangeVersion).
 *
 * Release 5: SNOW calls beside the main loop (ticket/snowCycle.ts `syncBeside`), so a SNOW outage
 * holds back only SNOW; test/integration/snowOutage.test.ts passes with it and fails with release 4.
 * Release 6: one timer for the run's next instant while that instant stays (ticket/waits.ts), shared
 * by the wait for SNOW's answer and the sleep after it.
 */
export const TICKET_RUN_RELEASE = 6;

/** The full new snapshot of a ticket. Sent with signal-with-start by `slm ticket upsert`. */
export const upsertTicketSignal = defineSignal<[Ticket]>('upsertTicket');

/** What the upsert update returns once the change is applied to the measurements. */
export interface UpsertResult {
  ticketId: string;
  measurements: MeasurementView[];
  /** The ticket as measured after this change (for a merge: the merged snapshot). */
  ticket?: Ticket | null;
}

/**
 * The same change as an update with a validator (used by `slm ticket upsert`): a malformed ticket is
 * rejected to the caller and never reaches history; a valid one returns once it is measured.
 */
export const upsertTicketUpdate = defineUpdate<UpsertResult, [Ticket]>('upsertTicketChecked');

/**
 * A partial change: a JSON merge patch (RFC 7386) applied to the ticket's latest snapshot inside the
 * workflow, in order with every other change (`slm ticket update`). Returns once measured; a patch
 * whose result is not a valid ticket is rejected with the reason.
 */
export const mergeTicketUpdate = defineUpdate<UpsertResult, [Record<string, TicketValue>]>('mergeTicket');

/**
 * Why an update is refused (before it is accepted, so it leaves no trace in history) by a run about
 * to continue as new: the run answers the updates it has accepted and takes no more, or a steady
 * stream of changes would keep it from ever reaching a moment with none waiting. Callers send the
 * change again (`src/client/tickets.ts` does), and it reaches the next run.
 */
export const RUN_CONTINUING_AS_NEW = 'the ticket run is continuing as new; send the change again';

/** A change the workflow refused, with when and why (`slm ticket show` lists them). */
export interface RejectedChange {
  at: string;
  reason: string;
}

/** Sent by `slm definitions apply` to running ticket workflows: re-read the definitions now. */
export const definitionsChangedSignal = defineSignal<[string]>('definitionsChanged');

export interface TicketStatusView {
  ticket: Ticket | null;
  measurements: MeasurementView[];
  serviceProblem: (ServiceProblemRef & { status: string | null; lastSyncAt: string | null; lastError: string | null }) | null;
  /** Reasons of the last refused changes (oldest first); `rejectedChanges` carries them with their instants. */
  rejectedUpdates: string[];
  rejectedChanges: RejectedChange[];
  /** TMF642 alarms raised for this ticket's device events. */
  alarms: { id: string; externalAlarmId: string; device: string; raisedAt: string }[];
  /** Milestone actions scheduled and not finished yet. */
  pendingActions: number;
}

export const getTicketStatusQuery = defineQuery<TicketStatusView>('getTicketStatus');

/** A change SNOW made to a ticket's service problem, forwarded by the problem-sync workflow. */
export interface RemoteProblemChange {
  problemId: string;
  status: string | null;
  incidentNumber: string | null;
  link: string | null;
  updatedOn: string;
}

export const remoteProblemChangedSignal = defineSignal<[RemoteProblemChange]>('remoteProblemChanged');

/** Settings of the problem-sync workflow, changeable while it runs (the seed's Configuration page). */
export interface SyncSettings {
  enabled: boolean;
  /** 10 s – 24 h (seed 000). */
  frequencySeconds: number;
}

export interface SyncStatus extends SyncSettings {
  /** The `sys_updated_on` boundary of the last successful poll. */
  lastSyncAt: string;
  lastPollAt: string | null;
  lastError: string | null;
  polls: number;
  changesForwarded: number;
}

export const SYNC_FREQUENCY_RANGE = { min: 10, max: 86_400 } as const;

export const setSyncSettingsUpdate = defineUpdate<SyncStatus, [Partial<SyncSettings>]>('setSyncSettings');
export const getSyncStatusQuery = defineQuery<SyncStatus>('getSyncStatus');

// ── configuration items (DESIGN §4.7) ───────────────────────────────────────────────────────────

/** The release of the CI workflow code that callers start runs for (in the run's input). */
export const CI_RUN_RELEASE = 1;

/** The full new snapshot of a CI (`slm ci upsert`, `POST /v1/cis`), sent with signal-with-start. */
export const upsertCiSignal = defineSignal<[Ci]>('upsertCi');

/**
 * KPI readings that may change a measurement's state, already reduced by the ingest (`src/app/cis`):
 * the CI's current value of each KPI, with the instant it was measured. Samples that change no state
 * never reach the run; the run's copy is refreshed well before its values would go stale.
 */
export interface KpiForward {
  /** When the ingest saw them (the latest sample's instant). */
  at: number;
  readings: Record<string, KpiReading>;
}
export const kpiReadingsSignal = defineSignal<[KpiForward[]]>('kpiReadings');

export interface CiStatusView {
  ci: Ci | null;
  kpis: Record<string, KpiReading>;
  measurements: CiMeasurementView[];
  rejectedChanges: RejectedChange[];
  pendingActions: number;
}
export const getCiStatusQuery = defineQuery<CiStatusView>('getCiStatus');

// ── compliance (DESIGN §4.8) ────────────────────────────────────────────────────────────────────

/**
 * The compliance run's workflow task timeout. Its tick is a local activity inside a workflow task, and
 * under load (a backlog of saved measurements, a busy worker) a tick ran past the default 10 s: the
 * task timed out, its result was lost and the tick ran again.
 */
export const COMPLIANCE_WORKFLOW_TASK_TIMEOUT = '1 minute';

/** The one compliance run of a namespace. */
export const COMPLIANCE_WORKFLOW_ID = 'compliance';

/** Measurements were saved (or definitions applied): the compliance run counts them. No payload: the feed in PostgreSQL holds what changed. */
export const complianceChangedSignal = defineSignal<[]>('complianceChanged');

export interface ComplianceRunStatus {
  ticks: number;
  lastTickAt: string | null;
  nextWakeAt: string | null;
  breached: string[];
  atRisk: string[];
  pendingActions: number;
  lastError: string | null;
}
export const getComplianceStatusQuery = defineQuery<ComplianceRunStatus>('getComplianceStatus');
