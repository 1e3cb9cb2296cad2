/**
 * `slm` — the operator CLI (DESIGN §4.6). Read commands take `--json` and then print exactly one JSON
 * document. Bad input exits 2 with a one-line reason on stderr; other failures exit 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type Config } from '../config';
import { applyDefinitionsDoc, definitionsAppliedText } from '../app/definitions';
import type { AppPorts } from '../app/ports';
import { changeSyncSettings, getSyncStatus, SyncSettingsError, syncStatusText } from '../app/sync';
import { listTicketsDoc, showTicket, TICKET_SORT_NAMES, updateTicket, upsertTicket, type TicketSort } from '../app/tickets';
import { exportCiHistory, exportTicketHistory } from '../client/history';
import { timelineDoc } from '../app/timeline';
import { migrateDb, openDb, type DbHandle } from '../db/client';
import { parseFaults } from '../emulator/faults';
import { startEmulator } from '../emulator/server';
import { readDefinitionsFile } from '../infra/files';
import { runtimeState } from '../infra/runtimeInfo';
import { registerSearchAttributes } from '../infra/searchAttributes';
import { parseEvents, printedReplayLine, replay } from '../domain/replay';
import { CI_PAGE_SIZE, CI_SORT_NAMES, ciTimelineText, listCisDoc, pushKpis, showCi, upsertCi } from '../app/cis';
import { parseCi, parseKpiSample } from '../domain/ci/ci';
import { readStructuredFile } from '../infra/files';
import { parseTicket, parseTicketPatch } from '../domain/ticket';
import { describeFailure } from './errors';
import { SYNC_FREQUENCY_RANGE, type SyncSettings } from '../workflows/messages';
import { calendarCommand } from './calendar';
import { agreementsList, complianceCommand, complianceReplayCommand } from './compliance';
import { periodInstant } from '../app/compliance';
import { UsageError, fieldsFromFlags, readTextInput, renderTicket, renderTicketList, renderTimeline, ticketFromFlags } from './format';

const HELP = `slm — temporal-slm operator CLI

  slm ticket upsert --id ID [--priority N] [--state S] [--field key=value …]
  slm ticket upsert --file FILE.json            (or --file - for stdin): the full snapshot
  slm ticket update --id ID [--priority P] [--state S] [--field key=value …]   merge only these fields
  slm ticket update --id ID --file PATCH.json   a JSON merge patch (RFC 7386; null removes a field)
  slm ticket show ID [--json] [--timeline]      --timeline explains each target, line by line
  slm ticket export ID --out DIR                 the workflow's history as replay input
  slm tickets list [--filter TEXT] [--sort id|state|priority|updated] [--desc] [--page N] [--json]
  slm ci upsert --id ID [--class C] [--status up|down|…] [--field key=value …]   a CI's full snapshot
  slm ci upsert --file FILE.json                (or --file - for stdin)
  slm ci show ID [--json] [--timeline]          state, measurements, segments and why
  slm ci export ID --out DIR                    the CI workflow's history as replay input
  slm cis list [--filter TEXT] [--down] [--sort id|state|class|updated] [--desc] [--page N] [--json]
  slm kpi push --ci ID --name KPI --value V [--at ISO]   one sample (a number, or OK|Warning|Alarm|Offline)
  slm kpi push --file SAMPLES.json              a JSON array of {ci, name, value, at?} (or - for stdin)
  slm definitions apply FILE [--recompute-from YYYY-MM-DD]   (YAML or JSON); running tickets and CIs
                                                are recomputed; compliance records too from the date
  slm replay --definitions FILE --events FILE.jsonl [--decisions]   evaluate a ticket history offline
                                                (no server); --decisions adds SNOW calls, notices, …
  slm agreements list [--json] [--tenant T]     agreements, their contracts and current records
  slm compliance show AGREEMENT [--period YYYY-MM|YYYY-MM-DD] [--json] [--tenant T]   records, forecast
  slm compliance history AGREEMENT [--json]     every record, and the settlement ledger
  slm compliance export --period P [--agreement A] --format csv [--out FILE]   records + measurements
  slm compliance report --agreement A --period P --format pdf|csv [--review-period K] [--out FILE]
                                                     the customer report (PDF one-pager, or CSV)
  slm compliance recompute AGREEMENT --from YYYY-MM-DD   recount records from the stored measurements
  slm compliance replay --definitions FILE --events FILE.jsonl   agreements' records offline (no server)
  slm sync status|pause|resume [--json]         the SNOW poll loop
  slm sync frequency SECONDS                    10 – 86400
  slm setup                                     register the search attributes, migrate the database
  slm calendar add|subtract --calendar FILE --from ISO --seconds N   → the ISO instant (UTC)
  slm calendar diff --calendar FILE --from ISO --to ISO              → whole business seconds
  slm calendar advance --calendar FILE --from ISO                    → next business instant
  slm emulator [--port P] [--username U] [--password P] [--latency MS] [--error-rate R]
               [--rate-limit-rate R] [--retry-after S] [--drop-rate R]   (rates 0..1)

Connects to TEMPORAL_ADDRESS and DATABASE_URL, or to the stack \`npm start\` is running
(found through SLM_DATA_DIR/runtime.json); with neither, it says so and does nothing.`;

interface Endpoints {
  temporalAddress: string;
  namespace: string;
  databaseUrl: string | null;
}

/** The stack isn't there: exit 1 with what to do. */
class NoStackError extends Error {
  override name = 'NoStackError';
}

/**
 * Where to act: the addresses given in the environment, else the stack `npm start` runs on this data
 * folder. Never a guessed default: a CLI that silently acted on whatever listens on the default port
 * would change another system's tickets.
 */
function endpoints(config: Config, need: 'temporal' | 'database'): Endpoints {
  const given = need === 'temporal' ? config.TEMPORAL_ADDRESS : config.DATABASE_URL;
  const rt = runtimeState(config.SLM_DATA_DIR);
  const live = rt.state === 'running' ? rt.info : null;
  if (given || live) {
    return {
      temporalAddress: config.TEMPORAL_ADDRESS ?? live?.temporalAddress ?? '',
      namespace: config.TEMPORAL_ADDRESS ? config.TEMPORAL_NAMESPACE : (live?.namespace ?? config.TEMPORAL_NAMESPACE),
      databaseUrl: config.DATABASE_URL ?? live?.databaseUrl ?? null,
    };
  }
  const variable = need === 'temporal' ? 'TEMPORAL_ADDRESS' : 'DATABASE_URL';
  const runtimeFile = path.join(config.SLM_DATA_DIR, 'runtime.json');
  if (rt.state === 'stale') {
    throw new NoStackError(`the stack recorded in ${runtimeFile} is not running (its process ${rt.pid} is gone): start it with \`npm start\`, or set ${variable} to use another`);
  }
  throw new NoStackError(`no stack to talk to: \`npm start\` is not running on ${config.SLM_DATA_DIR} and ${variable} is not set`);
}

/** For one-line errors: where the CLI was talking to (set once it knows). */
const target: { temporalAddress?: string; namespace?: string } = {};

async function withClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const ep = endpoints(config, 'temporal');
  target.temporalAddress = ep.temporalAddress;
  target.namespace = ep.namespace;
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: ep.temporalAddress, connectTimeout: 5000 });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${ep.temporalAddress}: ${(err as Error).message.split('\n')[0]} (is \`npm start\` running, or TEMPORAL_ADDRESS set?)`, {
      cause: err,
    });
  }
  try {
    return await fn(new Client({ connection, namespace: ep.namespace }));
  } finally {
    await connection.close();
  }
}

/**
 * Before starting a workflow: the namespace must have our search attributes (a plain cluster, as
 * docker-compose runs it, has none); adds the missing ones, once per command.
 */
async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  await registerSearchAttributes(client.connection, namespace);
}

/**
 * The application's ports for one command: Temporal and the database are opened when a use case
 * first needs them, and closed when the command ends.
 */
async function withPorts<T>(config: Config, fn: (ports: AppPorts) => Promise<T>): Promise<T> {
  const open: { connection: Promise<Connection> | null; handle: DbHandle | null } = { connection: null, handle: null };
  const connect = async (): Promise<Connection> => {
    const ep = endpoints(config, 'temporal');
    target.temporalAddress = ep.temporalAddress;
    target.namespace = ep.namespace;
    try {
      return await Connection.connect({ address: ep.temporalAddress, connectTimeout: 5000 });
    } catch (err) {
      throw new Error(`cannot reach Temporal at ${ep.temporalAddress}: ${(err as Error).message.split('\n')[0]} (is \`npm start\` running, or TEMPORAL_ADDRESS set?)`, {
        cause: err,
      });
    }
  };
  const ports: AppPorts = {
    settings: config,
    async temporal() {
      open.connection ??= connect();
      return new Client({ connection: await open.connection, namespace: target.namespace! });
    },
    async db() {
      if (!open.handle) {
        const url = endpoints(config, 'database').databaseUrl;
        if (!url) throw new NoStackError('no database: set DATABASE_URL, or run `npm start`');
        open.handle = openDb(url, { max: 2 });
      }
      return open.handle.db;
    },
  };
  try {
    return await fn(ports);
  } finally {
    await Promise.all([
      open.connection?.then(
        (c) => c.close(),
        () => undefined,
      ),
      open.handle?.close(),
    ]);
  }
}

async function withDb<T>(config: Config, fn: (h: DbHandle) => Promise<T>): Promise<T> {
  const url = endpoints(config, 'database').databaseUrl;
  if (!url) throw new NoStackError('no database: set DATABASE_URL, or run `npm start`');
  const handle = openDb(url, { max: 2 });
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

async function ticketUpsert(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      id: { type: 'string' },
      priority: { type: 'string' },
      state: { type: 'string' },
      field: { type: 'string', multiple: true },
      file: { type: 'string' },
    },
    strict: true,
  });
  let raw: unknown;
  if (values.file !== undefined) {
    if (values.id || values.priority || values.state || values.field) throw new UsageError('give either --file or --id/--priority/--state/--field, not both');
    raw = readJsonInput(values.file);
  } else {
    if (values.id === undefined) throw new UsageError('ticket upsert needs --id (or --file)');
    raw = ticketFromFlags({ id: values.id, priority: values.priority, state: values.state, fields: values.field ?? [] });
  }
  const ticket = parseTicket(raw); // bad input (size and depth too) is refused before touching the network
  await withPorts(config, async (ports) => {
    await ensureSearchAttributes(await ports.temporal(), target.namespace!);
    process.stdout.write(measuredLine(await upsertTicket(ports, ticket)));
  });
}

function measuredLine(res: { ticketId: string; measurements: { serviceTargetId: string; status: string; dueAt: string | null }[] }): string {
  const summary = res.measurements.map((m) => `${m.serviceTargetId} ${m.status}${m.dueAt ? ` due ${m.dueAt}` : ''}`).join('; ');
  return `ticket ${res.ticketId} measured: ${summary || 'no service target attached'}\n`;
}

/** Reads a JSON document from a file or stdin (`-`), as a usage error when it cannot. */
function readJsonInput(file: string): unknown {
  const where = file === '-' ? 'stdin' : file;
  const text = readTextInput(file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${where} is not JSON: ${(err as Error).message}`);
  }
}

async function ticketUpdate(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { id: { type: 'string' }, priority: { type: 'string' }, state: { type: 'string' }, field: { type: 'string', multiple: true }, file: { type: 'string' } },
    strict: true,
  });
  if (values.id === undefined) throw new UsageError('ticket update needs --id');
  let patch: unknown;
  if (values.file !== undefined) {
    if (values.priority || values.state || values.field) throw new UsageError('give either --file or --priority/--state/--field, not both');
    patch = readJsonInput(values.file);
  } else {
    if (values.priority === undefined && values.state === undefined && !values.field?.length) throw new UsageError('ticket update needs --field, --priority, --state or --file');
    patch = fieldsFromFlags({ priority: values.priority, state: values.state, fields: values.field ?? [] });
  }
  parseTicketPatch(patch, values.id);
  const id = values.id;
  await withPorts(config, async (ports) => {
    await ensureSearchAttributes(await ports.temporal(), target.namespace!);
    process.stdout.write(measuredLine(await updateTicket(ports, id, patch)));
  });
}

async function ticketShow(argv: string[], config: Config): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, timeline: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new UsageError('usage: slm ticket show ID [--json] [--timeline]');
  const doc = await withPorts(config, (ports) => showTicket(ports, id));
  if (values.json) process.stdout.write(JSON.stringify(values.timeline ? timelineDoc(id, doc) : doc) + '\n');
  else process.stdout.write(values.timeline ? renderTimeline(doc) : renderTicket(doc));
}

async function ticketExport(argv: string[], config: Config): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: true, strict: true });
  const id = positionals[0];
  if (!id || positionals.length > 1 || !values.out) throw new UsageError('usage: slm ticket export ID --out DIR');
  const out = values.out;
  writeExport(`ticket ${id}`, out, await withClient(config, (client) => exportTicketHistory(client, id)));
}

/** An exported history as `slm replay` input: DIR/definitions.json and DIR/events.jsonl. */
function writeExport(what: string, out: string, exported: { definitions: unknown; events: unknown[] }): void {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'definitions.json'), JSON.stringify(exported.definitions ?? {}, null, 2) + '\n');
  fs.writeFileSync(path.join(out, 'events.jsonl'), exported.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  process.stdout.write(
    `${exported.events.length} events of ${what} → ${out}/events.jsonl (replay: slm replay --definitions ${out}/definitions.json --events ${out}/events.jsonl)\n`,
  );
}

async function ciUpsert(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { id: { type: 'string' }, class: { type: 'string' }, status: { type: 'string' }, field: { type: 'string', multiple: true }, file: { type: 'string' } },
    strict: true,
  });
  let raw: unknown;
  if (values.file !== undefined) {
    if (values.id || values.class || values.status || values.field) throw new UsageError('give either --file or --id/--class/--status/--field, not both');
    raw = readJsonInput(values.file);
  } else {
    if (values.id === undefined) throw new UsageError('ci upsert needs --id (or --file)');
    raw = {
      ...fieldsFromFlags({ fields: values.field ?? [] }),
      id: values.id,
      ...(values.class !== undefined ? { class: values.class } : {}),
      ...(values.status !== undefined ? { status: values.status } : {}),
    };
  }
  const ci = parseCi(raw); // refused before touching the network
  const res = await withPorts(config, async (ports) => {
    await ensureSearchAttributes(await ports.temporal(), target.namespace!);
    return upsertCi(ports, ci);
  });
  process.stdout.write(`CI ${res.ciId} sent to ${res.workflowId} (slm ci show ${res.ciId})\n`);
}

async function ciShow(argv: string[], config: Config): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, timeline: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new UsageError('usage: slm ci show ID [--json] [--timeline]');
  const doc = await withPorts(config, (ports) => showCi(ports, id));
  if (values.json) process.stdout.write(JSON.stringify(doc) + '\n');
  else if (values.timeline) process.stdout.write(ciTimelineText(doc));
  else process.stdout.write(ciTimelineText({ ...doc, measurements: doc.measurements.map((m) => ({ ...m, segments: m.segments.slice(-5) })) }));
}

async function ciExport(argv: string[], config: Config): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string' } }, allowPositionals: true, strict: true });
  const id = positionals[0];
  if (!id || positionals.length > 1 || !values.out) throw new UsageError('usage: slm ci export ID --out DIR');
  const out = values.out;
  writeExport(`CI ${id}`, out, await withClient(config, (client) => exportCiHistory(client, id)));
}

async function cisList(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      filter: { type: 'string' },
      down: { type: 'boolean' },
      sort: { type: 'string', default: 'id' },
      desc: { type: 'boolean' },
      page: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const page = Number(values.page);
  if (!Number.isInteger(page) || page < 1) throw new UsageError(`--page must be a whole number ≥ 1, got "${values.page}"`);
  if (!(CI_SORT_NAMES as string[]).includes(values.sort)) throw new UsageError(`--sort must be one of ${CI_SORT_NAMES.join(', ')}`);
  const doc = await withPorts(config, (ports) =>
    listCisDoc(ports, { page, filter: values.filter, sort: values.sort, descending: !!values.desc, down: values.down ? true : undefined }),
  );
  if (values.json) return void process.stdout.write(JSON.stringify(doc) + '\n');
  const pages = Math.max(1, Math.ceil(doc.total / CI_PAGE_SIZE));
  const lines = [`${doc.total} CIs (page ${doc.page} of ${pages})`];
  for (const c of doc.cis) lines.push(`  ${c.ciId.padEnd(24)} ${(c.class ?? '-').padEnd(10)} ${(c.state ?? '-').padEnd(8)} ${c.measurements} measurement(s)  ${c.updatedAt}`);
  process.stdout.write(lines.join('\n') + '\n');
}

async function kpiPush(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ci: { type: 'string' }, name: { type: 'string' }, value: { type: 'string' }, at: { type: 'string' }, file: { type: 'string' } },
    strict: true,
  });
  let samples: unknown[];
  if (values.file !== undefined) {
    if (values.ci || values.name || values.value || values.at) throw new UsageError('give either --file or --ci/--name/--value/--at, not both');
    const raw = readJsonInput(values.file);
    samples = Array.isArray(raw) ? raw : [raw];
  } else {
    if (values.ci === undefined || values.name === undefined || values.value === undefined) throw new UsageError('kpi push needs --ci, --name and --value (or --file)');
    samples = [{ ci: values.ci, name: values.name, value: values.value, ...(values.at !== undefined ? { at: values.at } : {}) }];
  }
  const now = Date.now();
  // Every sample is checked before anything is sent: a bad one refuses the push, naming it.
  const parsed = samples.map((s, i) => parseKpiSample(s, now, samples.length > 1 ? `samples[${i}]` : 'sample'));
  const total = await withPorts(config, async (ports) => {
    await ensureSearchAttributes(await ports.temporal(), target.namespace!);
    const sum = { accepted: 0, stale: 0, forwarded: 0, cis: new Set<string>() };
    for (let i = 0; i < parsed.length; i += 5000) {
      const batch = parsed.slice(i, i + 5000);
      const r = await pushKpis(ports, batch);
      sum.accepted += r.accepted;
      sum.stale += r.stale;
      sum.forwarded += r.forwarded;
      for (const s of batch) sum.cis.add(s.ci);
    }
    return sum;
  });
  process.stdout.write(
    `${total.accepted} sample(s) for ${total.cis.size} CI(s) accepted${total.stale ? `, ${total.stale} stale ignored` : ''}; ${total.forwarded} state change(s) forwarded\n`,
  );
}

async function replayCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { definitions: { type: 'string' }, events: { type: 'string' }, decisions: { type: 'boolean' } }, strict: true });
  if (!values.definitions || !values.events) throw new UsageError('usage: slm replay --definitions FILE --events FILE.jsonl [--decisions]');
  let outputs;
  try {
    const defs = readStructuredFile(values.definitions, 'definitions');
    outputs = replay(defs, parseEvents(readTextInput(values.events)), undefined, { decisions: !!values.decisions });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  process.stdout.write(outputs.map(printedReplayLine).join('\n') + '\n');
}

async function ticketsList(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      filter: { type: 'string' },
      sort: { type: 'string', default: 'id' },
      desc: { type: 'boolean' },
      page: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const page = Number(values.page);
  if (!Number.isInteger(page) || page < 1) throw new UsageError(`--page must be a whole number ≥ 1, got "${values.page}"`);
  if (!TICKET_SORT_NAMES.includes(values.sort as TicketSort)) throw new UsageError(`--sort must be one of ${TICKET_SORT_NAMES.join(', ')}`);
  const doc = await withPorts(config, (ports) => listTicketsDoc(ports, { page, filter: values.filter, sort: values.sort, descending: !!values.desc }));
  process.stdout.write(values.json ? JSON.stringify(doc) + '\n' : renderTicketList(doc));
}

async function definitionsApply(argv: string[], config: Config): Promise<void> {
  const { positionals, values } = parseArgs({ args: argv, options: { 'recompute-from': { type: 'string' } }, allowPositionals: true, strict: true });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError('usage: slm definitions apply FILE [--recompute-from YYYY-MM-DD]');
  let defs;
  let recomputeFrom: number | null = null;
  try {
    defs = readDefinitionsFile(file);
    // A date is local midnight in UTC here (each agreement's records are recounted from the period holding it).
    if (values['recompute-from'] !== undefined) recomputeFrom = periodInstant(values['recompute-from'], 'UTC');
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const applied = await withPorts(config, (ports) => applyDefinitionsDoc(ports, defs, file, recomputeFrom));
  process.stdout.write(
    definitionsAppliedText(applied) + (recomputeFrom !== null ? `compliance records ending after ${new Date(recomputeFrom).toISOString()} are recounted\n` : ''),
  );
}

/**
 * Prepares a namespace and a database for a fleet: the search attributes (added where missing) and
 * the schema migrations. Idempotent; the workers and the CLI do the same when they meet a bare one.
 */
async function setup(argv: string[], config: Config): Promise<void> {
  parseArgs({ args: argv, strict: true });
  const added = await withClient(config, (client) => registerSearchAttributes(client.connection, target.namespace!));
  process.stdout.write(`search attributes on ${target.temporalAddress} namespace ${target.namespace}: ${added.length ? `added ${added.join(', ')}` : 'all present'}\n`);
  await withDb(config, (h) => migrateDb(h.db));
  process.stdout.write('database: migrations applied\n');
}

async function sync(op: string | undefined, argv: string[], config: Config): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  let patch: Partial<SyncSettings> | null = null;
  if (op === 'pause') patch = { enabled: false };
  else if (op === 'resume') patch = { enabled: true };
  else if (op === 'frequency') {
    const v = positionals[0];
    if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`usage: slm sync frequency SECONDS (${SYNC_FREQUENCY_RANGE.min}–${SYNC_FREQUENCY_RANGE.max})`);
    patch = { frequencySeconds: Number(v) };
  } else if (op !== 'status') throw new UsageError('usage: slm sync status|pause|resume|frequency SECONDS');
  const status = await withPorts(config, async (ports) => {
    if (!patch) return getSyncStatus(ports);
    try {
      return await changeSyncSettings(ports, patch);
    } catch (err) {
      throw err instanceof SyncSettingsError ? new UsageError(err.message) : err;
    }
  });
  process.stdout.write(values.json ? JSON.stringify(status) + '\n' : syncStatusText(status));
}

async function emulator(argv: string[], config: Config): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      latency: { type: 'string' },
      'error-rate': { type: 'string' },
      'rate-limit-rate': { type: 'string' },
      'retry-after': { type: 'string' },
      'drop-rate': { type: 'string' },
    },
    strict: true,
  });
  const port = values.port === undefined ? config.EMULATOR_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got "${values.port}"`);
  const num = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got "${v}"`);
    return n;
  };
  let faults;
  try {
    faults = parseFaults({
      latencyMs: num('latency', values.latency),
      errorRate: num('error-rate', values['error-rate']),
      rateLimitRate: num('rate-limit-rate', values['rate-limit-rate']),
      retryAfterSeconds: num('retry-after', values['retry-after']),
      dropRate: num('drop-rate', values['drop-rate']),
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const emu = await startEmulator({
    host: values.host ?? config.EMULATOR_HOST,
    port,
    username: values.username ?? config.SNOW_USERNAME,
    password: values.password ?? config.SNOW_PASSWORD,
    problemPath: config.SNOW_PROBLEM_PATH,
    alarmPath: config.SNOW_ALARM_PATH,
    faults,
  });
  process.stdout.write(`SNOW emulator on ${emu.url} (TMF656 under /${config.SNOW_PROBLEM_PATH.replace(/^\//, '')}, inspect /_emulator/problems, faults /_emulator/faults)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emu.close();
}

export async function main(argv: string[]): Promise<number> {
  const [a, b, ...rest] = argv;
  if (!a || a === 'help' || a === '--help' || a === '-h') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  try {
    const config = loadConfig();
    if (a === 'ticket' && b === 'upsert') await ticketUpsert(numericValues(rest), config);
    else if (a === 'ticket' && b === 'update') await ticketUpdate(numericValues(rest), config);
    else if (a === 'setup') await setup(b === undefined ? rest : [b, ...rest], config);
    else if (a === 'ticket' && b === 'show') await ticketShow(rest, config);
    else if (a === 'ticket' && b === 'export') await ticketExport(rest, config);
    else if (a === 'tickets' && b === 'list') await ticketsList(rest, config);
    else if (a === 'ci' && b === 'upsert') await ciUpsert(rest, config);
    else if (a === 'ci' && b === 'show') await ciShow(rest, config);
    else if (a === 'ci' && b === 'export') await ciExport(rest, config);
    else if (a === 'cis' && b === 'list') await cisList(rest, config);
    else if (a === 'kpi' && b === 'push') await kpiPush(rest, config);
    else if (a === 'definitions' && b === 'apply') await definitionsApply(rest, config);
    else if (a === 'calendar') await calendarCommand(b, rest);
    else if (a === 'replay') await replayCommand(b === undefined ? rest : [b, ...rest]);
    else if (a === 'compliance' && b === 'replay') complianceReplayCommand(rest);
    else if (a === 'compliance') await complianceCommand(b, rest, (fn) => withPorts(config, fn));
    else if (a === 'agreements' && b === 'list') await agreementsList(rest, (fn) => withPorts(config, fn));
    else if (a === 'sync') await sync(b, rest, config);
    else if (a === 'emulator') await emulator(b === undefined ? rest : [b, ...rest], config);
    else throw new UsageError(`unknown command "${[a, b].filter(Boolean).join(' ')}" (see slm --help)`);
    return 0;
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const usage = e instanceof UsageError || e.name === 'TicketValidationError' || e.name === 'ConfigError' || (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(`slm: ${usage ? e.message.split('\n')[0] : describeFailure(err, target)}\n`);
    return usage ? 2 : 1;
  }
}

/**
 * `--priority -1` as a value, not a flag: node's parseArgs reads any word starting with `-` as an
 * option, so a negative number after an option that takes a value is joined to it (`--priority=-1`).
 */
export function numericValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (/^--[a-z][\w-]*$/.test(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Exits once everything written to stdout and stderr is flushed (a pipe takes it in 64 KiB pieces). */
export function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

if (require.main === module) {
  main(process.argv.slice(2)).then(exitAfterFlush, (err: Error) => {
    process.stderr.write(`slm: ${err.message}\n`);
    exitAfterFlush(1);
  });
}
