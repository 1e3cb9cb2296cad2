/**
 * The API's request and response schemas (zod): they validate requests and generate `/openapi.json`.
 * Tickets are validated by the same schema as the CLI's (`ticketInputSchema`), then by `parseTicket`
 * for size and depth, as every front end does.
 */
import { z } from 'zod';
import { ticketInputSchema } from '../domain/ticket';
import { SYNC_FREQUENCY_RANGE } from '../workflows/messages';
import { TICKET_SORT_NAMES } from '../app/tickets';

export const MAX_TICKETS_PER_REQUEST = 1000;

export const errorSchema = z.object({ error: z.string() }).meta({ id: 'Error', description: 'One line naming what was wrong' });

export const ticketSchema = ticketInputSchema().meta({
  id: 'Ticket',
  description: 'A full ticket snapshot: `id` and free-form fields; `updatedAt` (an instant or a source version) orders deliveries',
});

export const ticketsBodySchema = z.union([ticketSchema, z.array(ticketSchema).min(1).max(MAX_TICKETS_PER_REQUEST)]);

export const ticketPatchSchema = z.record(z.string(), z.json()).meta({ id: 'TicketPatch', description: 'A JSON merge patch (RFC 7386): null removes a field' });

export const waitQuery = z.object({
  wait: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});

export const idParams = z.object({ id: z.string().min(1).max(200) });
export const sourceParams = z.object({ name: z.string().min(1).max(40) });

const measurementSchema = z.looseObject({ serviceTargetId: z.string(), status: z.string(), dueAt: z.string().nullable() }).meta({ id: 'Measurement' });

export const acceptedSchema = z
  .object({
    accepted: z.array(z.object({ ticketId: z.string(), workflowId: z.string() })),
    stale: z.array(z.object({ ticketId: z.string(), updatedAt: z.unknown(), applied: z.string() })),
    ignored: z.array(z.object({ reason: z.string() })).optional(),
    results: z.array(z.object({ ticketId: z.string(), measurements: z.array(measurementSchema) })).optional(),
  })
  .meta({ id: 'Accepted', description: 'What was taken in; stale snapshots (older than one applied) are ignored' });

export const measuredSchema = z.object({ ticketId: z.string(), measurements: z.array(measurementSchema), ticket: z.unknown() }).meta({ id: 'Measured' });

export const listQuery = z.object({
  filter: z.string().max(200).optional(),
  sort: z.enum(TICKET_SORT_NAMES as [string, ...string[]]).default('id'),
  desc: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
  page: z.coerce.number().int().min(1).default(1),
});

export const ticketListSchema = z
  .object({
    total: z.number(),
    page: z.number(),
    tickets: z.array(
      z.object({
        ticketId: z.string(),
        state: z.string().nullable(),
        priority: z.number().nullable(),
        problemId: z.string().nullable(),
        incidentNumber: z.string().nullable(),
        link: z.string().nullable(),
        lastSyncAt: z.string().nullable(),
        lastError: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'TicketList', description: '`slm tickets list --json`: 25 a page' });

export const ticketDocSchema = z
  .object({
    ticket: z.unknown(),
    measurements: z.array(measurementSchema),
    serviceProblem: z.unknown(),
    rejectedChanges: z.array(z.object({ at: z.string(), reason: z.string() })),
  })
  .meta({ id: 'TicketDoc', description: '`slm ticket show --json`' });

export const timelineSchema = z
  .object({
    ticketId: z.string(),
    entries: z.array(z.object({ heading: z.string(), events: z.array(z.object({ at: z.string(), text: z.string() })), verdict: z.string() })),
    text: z.string(),
  })
  .meta({ id: 'Timeline', description: '`slm ticket show --timeline --json`' });

export const syncSchema = z.looseObject({ enabled: z.boolean(), frequencySeconds: z.number() }).meta({ id: 'SyncStatus', description: '`slm sync status --json`' });

export const syncPatchSchema = z
  .object({
    enabled: z.boolean().optional(),
    frequencySeconds: z
      .number()
      .int()
      .optional()
      .meta({ description: `${SYNC_FREQUENCY_RANGE.min}–${SYNC_FREQUENCY_RANGE.max} seconds` }),
  })
  .strict()
  .meta({ id: 'SyncPatch' });

export const definitionsBodySchema = z
  .record(z.string(), z.unknown())
  .meta({ id: 'Definitions', description: 'A definitions document (DESIGN §4.4), as `slm definitions apply` takes it' });

export const definitionsAppliedSchema = z
  .object({ version: z.number(), changed: z.boolean(), serviceTargets: z.number(), calendars: z.number(), ticketsTold: z.number().nullable(), cisTold: z.number().nullable() })
  .meta({ id: 'DefinitionsApplied' });

export const definitionsDocSchema = z.object({ version: z.number(), definitions: z.unknown() }).meta({ id: 'DefinitionsInForce' });

export const sourceEventSchema = z.unknown().meta({ description: "The ticketing system's native webhook body (JSON)" });

export const healthSchema = z.object({ status: z.string() });
export const readySchema = z.object({ status: z.string(), temporal: z.string(), database: z.string() });

/** Headers the ingest routes read (every other header passes through untouched). */
export const idempotencyHeaders = z.looseObject({
  'idempotency-key': z.string().optional().meta({ description: 'A retried request with the same key applies once and gets the first answer (kept 24 h)' }),
});

// ── configuration items (DESIGN §4.7) ───────────────────────────────────────────────────────────

const ciSchema = z
  .looseObject({ id: z.string().trim().min(1).max(200).regex(/^\S+$/, 'must not contain spaces') })
  .meta({ id: 'Ci', description: 'A full CI snapshot: `id` and free-form fields (`class`, `status`, the tenant field, …)' });
export const ciBodySchema = z.union([ciSchema, z.array(ciSchema).min(1).max(1000)]);
export const ciAcceptedSchema = z.object({ accepted: z.array(z.object({ ciId: z.string(), workflowId: z.string() })) });

const kpiSampleSchema = z
  .record(z.string(), z.unknown())
  .meta({ id: 'KpiSample', description: '`{ci, name, value, at?}`: a number, or a status OK / Warning / Alarm / Offline; `at` an ISO instant (default: now)' });
export const kpiBodySchema = z.union([z.array(kpiSampleSchema), z.object({ samples: z.array(kpiSampleSchema) }).strict()]);
export const kpiPushedSchema = z.object({ accepted: z.number(), stale: z.number(), forwarded: z.number(), cis: z.number() });

export const ciListQuery = z.object({
  filter: z.string().max(200).optional(),
  sort: z.enum(['id', 'state', 'class', 'updated']).default('id'),
  desc: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
  down: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1')),
  page: z.coerce.number().int().min(1).default(1),
});
export const ciListSchema = z.looseObject({ total: z.number(), page: z.number(), cis: z.array(z.looseObject({ ciId: z.string() })) });
export const ciDocSchema = z.looseObject({
  ci: z.looseObject({}).nullable(),
  measurements: z.array(z.looseObject({ ciId: z.string(), serviceTargetId: z.string(), state: z.string() })),
});

// ── compliance (DESIGN §4.8) ────────────────────────────────────────────────────────────────────

export const agreementsDocSchema = z
  .looseObject({ agreements: z.array(z.looseObject({ id: z.string() })) })
  .meta({ id: 'Agreements', description: '`slm agreements list --json`' });
export const complianceQuery = z.object({
  agreement: z.string().min(1).max(200),
  /** A month (YYYY-MM), a day (YYYY-MM-DD) or an ISO instant: the records whose period holds it. */
  period: z.string().min(1).max(40).optional(),
  /** Every record of the agreement and the settlement ledger (`slm compliance history --json`). */
  history: z.stringbool().default(false),
});
export const complianceDocSchema = z
  .looseObject({ agreementId: z.string(), records: z.array(z.looseObject({ agreementId: z.string() })) })
  .meta({ id: 'Compliance', description: '`slm compliance show --json` (or `history --json`)' });
export const complianceExportQuery = z.object({ period: z.string().min(1).max(40), agreement: z.string().min(1).max(200).optional() });

// ── the dashboard's reads ─────────────────────────────────────────────────────────────────────────
export const sessionSchema = z
  .object({ name: z.string(), role: z.string(), tenant: z.string().nullable(), temporalUiUrl: z.string().nullable(), namespace: z.string() })
  .meta({ id: 'Session', description: 'Who the token is: its name, role and tenant, and where the Temporal UI is' });
export const overviewSchema = z
  .looseObject({
    generatedAt: z.string(),
    counts: z.looseObject({ openTickets: z.number(), missedGoal: z.number(), cisDown: z.number() }),
    agreements: z.array(z.looseObject({ id: z.string() })),
  })
  .meta({ id: 'Overview', description: "The dashboard's overview: agreements with current records, forecast and trend (breached and at risk first), and counts" });
export const agreementPageQuery = z.object({
  period: z.string().min(1).max(40).optional(),
  reviewPeriod: z.enum(['daily', 'weekly', 'monthly', 'quarterly']).optional(),
});
export const agreementPageSchema = z
  .looseObject({ agreement: z.looseObject({ id: z.string() }), records: z.array(z.looseObject({})), selected: z.looseObject({}).nullable() })
  .meta({ id: 'AgreementPage', description: 'An agreement, its latest records, the selected record with its chart series, and the settlement ledger' });
export const seriesQuery = z.object({ agreement: z.string().min(1).max(200), period: z.string().min(1).max(40).optional() });
export const seriesSchema = z
  .looseObject({ agreementId: z.string(), series: z.array(z.looseObject({ reviewPeriod: z.string(), points: z.array(z.tuple([z.number(), z.number().nullable()])) })) })
  .meta({ id: 'ComplianceSeries', description: 'The percent of the records over their period, [ms, percent] points' });
export const reportQuery = z.object({
  agreement: z.string().min(1).max(200),
  period: z.string().min(1).max(40),
  format: z.enum(['pdf', 'csv']).default('pdf'),
  reviewPeriod: z.enum(['daily', 'weekly', 'monthly', 'quarterly']).optional(),
});
export const stripsQuery = z.object({ ids: z.string().max(20_000).default('') });
export const stripsSchema = z
  .looseObject({ from: z.string(), to: z.string(), cis: z.array(z.looseObject({ ciId: z.string() })) })
  .meta({ id: 'CiStrips', description: "The CIs' segments over the current month (UTC) and their availability" });
