/** The shapes a ticket run starts with and carries across continue-as-new. */
import type { CalendarWindow } from '../../domain/calendar';
import type { CompiledDefinitions } from '../../domain/definitions';
import type { ActionEffect, TicketEngineState } from '../../domain/request/engine';
import type { ServiceProblemBody } from '../../domain/snow/serviceProblem';
import type { ProblemState } from '../../domain/snow/snowCycle';
import type { Ticket, TicketValue } from '../../domain/ticket';
import type { RejectedChange, RemoteProblemChange } from '../messages';

export interface TicketWorkflowInput {
  ticketId: string;
  /** Task queue of the HTTP activities. */
  tmfTaskQueue?: string;
  /** Search attributes are upserted only where the server has them registered. */
  searchAttributes?: boolean;
  /** TICKET_RUN_RELEASE of the code the run was started for (absent: release 0.2 or earlier). */
  release?: number;
  /**
   * Settings that runs of release 0.2 and earlier were started with (frozen from the caller's
   * environment). New runs get none: the definitions (`connector.activeStates`, `connector.eventField`,
   * `engine.reopenWindow`) and the worker's configuration (the tmf timeout) decide. When both are
   * absent these still apply, so a run in flight keeps behaving as it started.
   */
  activeStates?: string[];
  reopenWindowSeconds?: number;
  eventField?: string;
  tmfTimeoutSeconds?: number;
  /** State carried across continue-as-new. */
  carried?: CarriedState;
}

export interface CarriedState {
  engine: TicketEngineState;
  problem: ProblemState | null;
  lastSent: ServiceProblemBody | null;
  lastError: string | null;
  /** Full snapshots not applied yet (runs before merge patches existed carried only these). */
  pending: Ticket[];
  /** Changes not applied yet, snapshots and merge patches in order (replaces `pending` when present). */
  pendingChanges?: Change[];
  /** Changes refused, newest last (at most 20). */
  rejected?: RejectedChange[];
  /** SNOW-side changes not yet applied. */
  pendingRemote?: RemoteProblemChange[];
  /** Alarms raised for this ticket, and device events waiting to be raised. */
  alarms?: RaisedAlarm[];
  pendingAlarms?: { device: string; at: number; ticket: Ticket }[];
  /** Milestone actions not carried out yet (their keys make a repeat harmless). */
  actions?: ActionEffect[];
  /** Recorded calendar windows, by `<definitions version>:<calendar id>`. */
  windows?: Record<string, CalendarWindow>;
  /** A definitions change seen but not applied yet. */
  definitionsDirty?: boolean;
  /** The problem was closed by the closure condition: the ticket is no longer synced (seed step 3). */
  syncClosed?: boolean;
}

/** One change waiting in the inbox: a full snapshot, or a merge patch applied to the latest snapshot. */
export type Change = { ticket: Ticket; seq?: number } | { patch: Record<string, TicketValue>; seq?: number };

export interface RaisedAlarm {
  id: string;
  externalAlarmId: string;
  device: string;
  raisedAt: string;
}

export interface LoadedDefinitions {
  version: string;
  compiled: CompiledDefinitions;
}
