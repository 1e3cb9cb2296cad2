/** The API documents the dashboard reads (the fields it uses; the server's app layer defines them). */
export type Status = 'Compliant' | 'AtRisk' | 'Breached';

export interface TargetView {
  serviceTargetId: string;
  weight: number;
  percent: number | null;
  met: number | null;
  missed: number | null;
  upSeconds: number | null;
  downSeconds: number | null;
  unknownSeconds: number | null;
  downCount: number | null;
  impactCost: number;
}

export interface RecordView {
  agreementId: string;
  contractId: string | null;
  reviewPeriod: string;
  periodStart: string;
  periodEnd: string;
  percent: number | null;
  status: Status | null;
  closed: boolean;
  impactCost: number;
  penalty: number | null;
  reward: number | null;
  amendedPercent: number | null;
  amendedPenalty: number | null;
  amendedReward: number | null;
  amendedAt: string | null;
  targets: TargetView[];
  forecast: { percent: number | null; status: Status | null; atRiskAt: string | null; breachedAt: string | null } | null;
  milestones: { name: string; firedAt: string }[];
}

export interface Session {
  name: string;
  role: 'ingest' | 'read' | 'admin';
  tenant: string | null;
  temporalUiUrl: string | null;
  namespace: string;
}

export interface OverviewDoc {
  generatedAt: string;
  counts: { openTickets: number; missedGoal: number; cisDown: number; tickets: number; cis: number };
  agreements: {
    id: string;
    title: string | null;
    type: string;
    contractId: string | null;
    customer: string | null;
    timezone: string;
    compliance: { target: number; atRisk: number | null };
    status: Status | null;
    current: RecordView[];
    trend: { reviewPeriod: string; periodStart: string; percent: number | null; status: Status | null; closed: boolean }[];
  }[];
}

export interface AgreementsDoc {
  agreements: {
    id: string;
    title: string | null;
    type: string;
    contractId: string | null;
    customer: string | null;
    tenant: string | null;
    reviewPeriods: string[];
    timezone: string;
    compliance: { target: number; atRisk: number | null };
    targets: { serviceTarget: string; weight: number }[];
  }[];
}

export interface HistoryDoc {
  agreementId: string;
  records: RecordView[];
  settlements: {
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
  }[];
}

export interface SeriesDoc {
  agreementId: string;
  compliance: { target: number; atRisk: number | null };
  series: { contractId: string | null; reviewPeriod: string; periodStart: string; periodEnd: string; closed: boolean; points: [number, number | null][] }[];
}

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

export interface MeasurementView {
  serviceTargetId: string;
  status: string;
  startedAt: string | null;
  stoppedAt: string | null;
  dueAt: string | null;
  goalSeconds: number;
  elapsedSeconds: number;
  pausedSeconds: number;
  impactCost: number | null;
  [k: string]: unknown;
}

export interface TicketDoc {
  ticket: Record<string, unknown> | null;
  measurements: MeasurementView[];
  serviceProblem: { id: string; incidentNumber: string | null; link: string | null; status: string | null; lastSyncAt: string | null; lastError: string | null } | null;
  rejectedChanges: { at: string; reason: string }[];
}

export interface TimelineDoc {
  ticketId: string;
  entries: { heading: string; events: { at: string; text: string }[]; verdict: string }[];
  text: string;
}

export interface CiListDoc {
  total: number;
  page: number;
  cis: { ciId: string; class: string | null; state: string | null; down: boolean; measurements: number; updatedAt: string }[];
}

export interface CiStripsDoc {
  from: string;
  to: string;
  cis: {
    ciId: string;
    availability: number | null;
    upSeconds: number;
    downSeconds: number;
    segments: { serviceTargetId: string; side: 'up' | 'down' | 'unknown'; start: number; stop: number }[];
  }[];
}

export interface DefinitionsDoc {
  version: number;
  definitions: Record<string, unknown> & {
    serviceTargets?: { id: string; type?: string; title?: string; goal?: unknown; calendar?: string }[];
    agreements?: { id: string; title?: string; type?: string }[];
    calendars?: unknown[];
  };
}

export interface SyncDoc {
  enabled: boolean;
  frequencySeconds: number;
  lastSyncAt: string;
  lastPollAt: string | null;
  lastError: string | null;
  polls: number;
  changesForwarded: number;
}
