/**
 * Messages of the ticket workflow, defined once and shared by the workflow and its callers (CLI,
 * tests, benchmarks). Importing this module does not pull in workflow code.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { MeasurementView } from '../domain/measurement';
import type { ServiceProblemRef } from '../domain/serviceProblem';
import type { Ticket } from '../domain/ticket';

/** The full new snapshot of a ticket. Sent with signal-with-start by `slm ticket upsert`. */
export const upsertTicketSignal = defineSignal<[Ticket]>('upsertTicket');

export interface TicketStatusView {
  ticket: Ticket | null;
  measurements: MeasurementView[];
  serviceProblem: (ServiceProblemRef & { status: string | null; lastSyncAt: string | null; lastError: string | null }) | null;
  rejectedUpdates: string[];
}

export const getTicketStatusQuery = defineQuery<TicketStatusView>('getTicketStatus');
