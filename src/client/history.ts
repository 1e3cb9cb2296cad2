/**
 * A ticket workflow's history as `slm replay` input (DESIGN §4.3): the ticket snapshots it received,
 * each at the instant the workflow applied it (recorded by its context local activity), and the
 * definitions it loaded. Replaying the export runs the same engine offline and must reproduce the
 * workflow's measurements field by field — an audit trail anyone can re-run without a server.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { parseTicket, ticketWorkflowId, type Ticket } from '../domain/ticket';
import { ciWorkflowId, parseCi } from '../domain/ci/ci';
import { definitionsChangedSignal, kpiReadingsSignal, upsertCiSignal, upsertTicketSignal, upsertTicketUpdate, type KpiForward } from '../workflows/messages';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

export interface ExportedHistory {
  /** The definitions the first run started with (the replay's --definitions). */
  definitions: unknown;
  /** Replay lines: `{at, ticket}` and `{at, definitions}`, in the order the workflow applied them. */
  events: ({ at: string; ticket: Ticket } | { at: string; definitions: unknown })[];
}

const decode = (p: Payloads): unknown[] => (p?.payloads ?? []).map((x) => defaultPayloadConverter.fromPayload(x));

/** Every run of a workflow, oldest first (following continue-as-new back to the first run). */
async function fetchRuns(client: Client, workflowId: string): Promise<HistoryEvent[][]> {
  const runs: HistoryEvent[][] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: HistoryEvent[] = history.events ?? [];
    runs.unshift(events);
    runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/** A context or clock local activity's recorded result: `{now, version?, definitions?}`, or null for other markers. */
function clockOf(e: HistoryEvent): { now: number; floor?: number; version?: string; definitions?: unknown } | null {
  const marker = e.markerRecordedEventAttributes;
  if (!marker?.details) return null;
  const [data] = decode(marker.details.data) as { activity_type?: string; activityType?: string }[];
  const type = data?.activity_type ?? data?.activityType;
  if (type !== 'loadEngineContext' && type !== 'batchClock' && type !== 'startRun' && type !== 'ciBatchClock') return null;
  const [result] = decode(marker.details.result) as { now: number; floor?: number; version?: string; definitions?: unknown }[];
  return result ?? null;
}

/**
 * A CI workflow's history as replay input (DESIGN §4.7): `{at, ci}` for each snapshot and `{at, kpi}`
 * for each KPI reading forwarded to it, at the instant of the batch that applied them, and the
 * definitions it loaded.
 */
export async function exportCiHistory(client: Client, ciId: string): Promise<{ definitions: unknown; events: Record<string, unknown>[] }> {
  const runs = await fetchRuns(client, ciWorkflowId(ciId));
  const out: { definitions: unknown; events: Record<string, unknown>[] } = { definitions: null, events: [] };
  const waiting: ({ ci: unknown } | { kpis: KpiForward })[] = [];
  let version: string | null = null;
  for (const events of runs) {
    let first = true;
    for (const e of events) {
      const signal = e.workflowExecutionSignaledEventAttributes;
      if (signal?.signalName === upsertCiSignal.name) {
        const [raw] = decode(signal.input);
        try {
          waiting.push({ ci: parseCi(raw) });
        } catch {
          // rejected by the workflow too
        }
      } else if (signal?.signalName === kpiReadingsSignal.name) {
        const [forwards] = decode(signal.input) as [KpiForward[]];
        for (const f of forwards ?? []) waiting.push({ kpis: f });
      }
      const result = clockOf(e);
      if (!result) continue;
      const at = new Date(result.now).toISOString();
      if (result.definitions != null && result.version !== version) {
        const labelled = { ...result.definitions, version: result.version };
        if (out.definitions === null) out.definitions = labelled;
        else out.events.push({ at, definitions: labelled });
        version = result.version ?? null;
      }
      if (first) {
        first = false;
        continue;
      }
      // As the run applies them: a snapshot at the batch's instant, readings at their own between the floor and it.
      let cursor = result.floor ?? result.now;
      for (const w of waiting.splice(0)) {
        const when = 'ci' in w ? result.now : Math.min(result.now, Math.max(cursor, w.kpis.at));
        cursor = when;
        const stamp = new Date(when).toISOString();
        if ('ci' in w) out.events.push({ at: stamp, ci: w.ci });
        else for (const [name, r] of Object.entries(w.kpis.readings)) out.events.push({ at: stamp, kpi: { ci: ciId, name, value: r.value, at: new Date(r.at).toISOString() } });
      }
    }
  }
  return out;
}

/** Exports every run of the ticket's workflow (following continue-as-new back to the first run). */
export async function exportTicketHistory(client: Client, ticketId: string): Promise<ExportedHistory> {
  const runs = await fetchRuns(client, ticketWorkflowId(ticketId));

  const out: ExportedHistory = { definitions: null, events: [] };
  const waiting: Ticket[] = [];
  let version: string | null = null;
  for (const events of runs) {
    // Each run loads the definitions once before it applies anything; the tickets that started it
    // are applied at the next context load.
    let first = true;
    for (const e of events) {
      const signal = e.workflowExecutionSignaledEventAttributes;
      if (signal?.signalName === upsertTicketSignal.name) {
        const [raw] = decode(signal.input);
        try {
          waiting.push(parseTicket(raw));
        } catch {
          // rejected by the workflow too
        }
      } else if (signal?.signalName === definitionsChangedSignal.name) continue;
      const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
      if (update?.input?.name === upsertTicketUpdate.name) waiting.push(parseTicket(decode(update.input.args)[0]));
      const marker = e.markerRecordedEventAttributes;
      if (!marker?.details) continue;
      const [data] = decode(marker.details.data) as { activity_type?: string; activityType?: string }[];
      const type = data?.activity_type ?? data?.activityType;
      // A run's first context: `startRun` (release 3 runs) or `loadEngineContext`. A batch's instant:
      // `batchClock` (release 3, when no definitions changed), or `loadEngineContext`, which also
      // carries new definitions (every batch of earlier runs).
      if (type !== 'loadEngineContext' && type !== 'batchClock' && type !== 'startRun') continue;
      const [result] = decode(marker.details.result) as { now: number; version?: string; definitions?: unknown }[];
      if (!result) continue;
      const at = new Date(result.now).toISOString();
      if (result.definitions != null && result.version !== version) {
        // Labelled with the stored version, so replayed measurements name the same version.
        const labelled = { ...result.definitions, version: result.version };
        if (out.definitions === null) out.definitions = labelled;
        else out.events.push({ at, definitions: labelled });
        version = result.version ?? null;
      }
      if (first) first = false;
      else for (const ticket of waiting.splice(0)) out.events.push({ at, ticket });
    }
  }
  return out;
}
