/**
 * What a ticket run shows the outside: the row in PostgreSQL (`slm ticket show/list` after the run
 * ends), the search attributes the Temporal UI filters on, and the details on the workflow's page.
 * Each is written only when it changed.
 */
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { ticketAttributes } from '../../domain/ticketAttributes';
import { ticketDetails } from '../../domain/ticketDetails';
import { SA } from '../searchAttributes';
import * as acts from './proxies';
import type { TicketEntity } from './entity';

export class Publisher {
  /** The wall clock at the last save, as the save recorded it (the main loop times its timers from it). */
  savedAt = 0;
  /** The measurements as last saved: a save that changed none of them writes only the ticket row. */
  private savedMeasurements = '';
  private publishedAttributes = '';
  private publishedDetails = '';

  constructor(private readonly t: TicketEntity) {}

  async save(): Promise<void> {
    const s = this.t.state;
    const ticket = s.engine.ticket;
    if (!ticket) return;
    const text = JSON.stringify(s.engine.measurements);
    const unchanged = text === this.savedMeasurements;
    const all = unchanged ? [] : this.t.views(Date.now());
    const record = {
      ticketId: this.t.ticketId,
      ticket,
      measurements: unchanged ? null : s.engine.measurements.map((m, i) => ({ state: m, view: all[i]! })),
      problem: s.problem && { id: s.problem.id, incidentNumber: s.problem.incidentNumber, link: s.problem.link, status: s.problem.status, lastSyncAt: s.problem.lastSyncAt },
      lastError: s.lastError,
      syncClosed: s.syncClosed ?? false,
      rejectedChanges: [...this.t.rejected],
    };
    this.savedAt = await this.t.local(() => acts.db.saveTicketState(record));
    this.savedMeasurements = text;
    this.t.rejectedChanged = false;
  }

  /** Saves the state and publishes the search attributes. */
  async publish(): Promise<void> {
    await this.save();
    this.searchAttributes();
  }

  /** Search attributes: each upsert is a visibility write on the server, so only a change is sent. */
  searchAttributes(): void {
    const s = this.t.state;
    const ticket = s.engine.ticket;
    if (this.t.input.searchAttributes === false || !ticket) return;
    const a = ticketAttributes(ticket, s.engine.measurements, s.problem);
    const updates = [
      { key: SA.ticketId, value: a.ticketId },
      { key: SA.breached, value: a.breached },
      { key: SA.nextDue, value: a.nextDue === null ? null : new Date(a.nextDue) },
      { key: SA.ticketState, value: a.ticketState },
      { key: SA.priority, value: a.priority },
      { key: SA.problemId, value: a.problemId },
      { key: SA.incidentNumber, value: a.incidentNumber },
      { key: SA.statuses, value: a.statuses },
    ];
    const text = JSON.stringify(updates.map((u) => u.value));
    if (text === this.publishedAttributes) return;
    this.publishedAttributes = text;
    upsertSearchAttributes(updates);
  }

  /** The Temporal UI's page of the run (no history event: a query answers it). */
  details(reopenWindowEnds: number | null): void {
    const s = this.t.state;
    const text = ticketDetails({
      ticket: s.engine.ticket,
      measurements: s.engine.measurements,
      problem: s.problem,
      lastError: s.lastError,
      reopenWindowEnds,
      rejected: this.t.rejected.length,
    });
    if (text === this.publishedDetails) return;
    this.publishedDetails = text;
    setCurrentDetails(text);
  }
}
