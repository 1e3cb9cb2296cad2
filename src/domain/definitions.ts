/**
 * Service-target definitions (DESIGN §4.4), validated on load: a zod schema for the shape, a CEL
 * compile for every condition and a check of every calendar reference. An invalid file is rejected
 * whole with the path of the bad field; nothing of it is applied.
 */
import { z } from 'zod';
import { calendarSchema, type Calendar } from './calendar';
import { compileKpiExpression, compileOptional, type Condition, type KpiExpression } from './conditions';
import { compileConnector, connectorSchema, type CompiledConnector } from './snow/connector';
import { compileSource, sourceSchema } from './sources';
import { positiveDurationSchema, durationSchema } from './duration';
import { goalScheduleSchema } from './request/goalSchedule';
import { agreementsSchema, checkAgreements, contractsSchema } from './compliance/agreements';

const cel = z.string().trim().min(1, 'must be a CEL expression');
const fieldName = z.string().trim().min(1, 'must name a ticket field');
const fromField = z.object({ fromField: fieldName }).strict();

/**
 * Exactly one of the keys of `shape`, each validated with its own path (so an error reads
 * `goal.duration: …`, not "no union member matched"), typed as the union of single-key objects.
 */
function oneOf<S extends Record<string, z.ZodType>>(shape: S) {
  const keys = Object.keys(shape);
  const optional = Object.fromEntries(keys.map((k) => [k, shape[k]!.optional()])) as { [K in keyof S]: z.ZodOptional<S[K]> };
  return z
    .object(optional)
    .strict()
    .superRefine((v, ctx) => {
      const present = keys.filter((k) => (v as Record<string, unknown>)[k] !== undefined);
      if (present.length !== 1) ctx.addIssue({ code: 'custom', message: `expected exactly one of ${keys.join(', ')}${present.length ? ` (got ${present.join(', ')})` : ''}` });
    })
    .transform((v) => v as { [K in keyof S]: { [P in K]: z.output<S[K]> } }[keyof S]);
}

const goalSchema = oneOf({ duration: positiveDurationSchema(), fromField: fieldName, schedule: goalScheduleSchema() });

const milestoneAtSchema = oneOf({
  percentOfGoal: z.number().gt(0).max(1000),
  afterStart: durationSchema(),
  beforeDue: durationSchema(),
  afterDue: durationSchema(),
  on: z.enum(['start', 'stop', 'exclude']),
  when: cel,
});

const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
/*
 * Our own pattern rather than z.email(): zod's shared patterns are frozen along with this module in
 * the workflow worker, and zod resets a pattern's lastIndex before each test.
 */
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const email = z.string().regex(EMAIL, 'expected an e-mail address');

const actionSchema = oneOf({
  notify: z
    .object({
      webhook: url.optional(),
      email: z.union([email, z.array(email).min(1)]).optional(),
      subject: z.string().optional(),
    })
    .strict()
    .refine((n) => n.webhook !== undefined || n.email !== undefined, { message: 'notify needs a webhook or an email' }),
  setField: z.record(z.string().min(1), z.json()).refine((o) => Object.keys(o).length > 0 && !('id' in o), { message: 'setField needs at least one field, and never id' }),
  raiseAlarm: z
    .object({
      alarmType: z.string().optional(),
      perceivedSeverity: z.enum(['critical', 'major', 'minor', 'warning', 'indeterminate']).optional(),
      probableCause: z.string().optional(),
    })
    .strict(),
  startWorkflow: z.object({ workflowType: z.string().min(1), taskQueue: z.string().min(1).optional(), input: z.json().optional() }).strict(),
});
export type ActionDefinition = z.infer<typeof actionSchema>;

const milestoneSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
    at: milestoneAtSchema,
    repeat: z.object({ every: positiveDurationSchema(), times: z.number().int().positive().optional() }).strict().optional(),
    if: cel.optional(),
    actions: z.array(actionSchema).default([]),
  })
  .strict();
export type MilestoneDefinition = z.infer<typeof milestoneSchema>;

/** A request-based target (DESIGN §4.4): measures tickets. */
const requestTargetSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
    title: z.string().optional(),
    type: z.literal('request'),
    appliesTo: cel,
    start: cel.optional(),
    stop: cel,
    exclude: cel.optional(),
    goal: goalSchema,
    startTime: fromField.optional(),
    calendar: z.union([z.string().min(1), fromField]).optional(),
    group: z.string().min(1).optional(),
    costPerMinute: z.number().nonnegative().optional(),
    milestones: z.array(milestoneSchema).default([]),
  })
  .strict();

/** Milestones of CI targets (DESIGN §4.7): down for a business duration, a down count, availability below a percent. */
const ciMilestoneSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
    at: oneOf({
      downFor: positiveDurationSchema(),
      downCount: z.number().int().positive(),
      availabilityBelow: z.number().gt(0).max(100),
    }),
    repeat: z.object({ every: positiveDurationSchema(), times: z.number().int().positive().optional() }).strict().optional(),
    if: cel.optional(),
    actions: z.array(actionSchema).default([]),
  })
  .strict()
  .refine((m) => m.repeat === undefined || 'downFor' in m.at, { message: 'repeat applies to downFor milestones only', path: ['repeat'] });
export type CiMilestoneDefinition = z.infer<typeof ciMilestoneSchema>;

/** Goals of CI targets, per review period: an availability %, a maximum business down time, or a maximum count of outages. */
const ciGoalSchema = oneOf({
  availability: z.number().gt(0).max(100),
  maxDownTime: positiveDurationSchema(),
  maxDownCount: z.number().int().nonnegative(),
});

const targetId = z.string().regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');
const ciTargetFields = {
  id: targetId,
  title: z.string().optional(),
  /** Terms: CEL over `ci`; one measurement per matching CI. */
  appliesTo: cel,
  calendar: z.string().min(1).optional(),
  goal: ciGoalSchema,
  costPerMinute: z.number().nonnegative().optional(),
  milestones: z.array(ciMilestoneSchema).default([]),
};

/** An availability target (DESIGN §4.7): up / down / unknown time of CIs, from their snapshots. */
const availabilityTargetSchema = z
  .object({
    ...ciTargetFields,
    type: z.literal('availability'),
    up: cel.default('ci.status == "up"'),
    down: cel.default('ci.status == "down"'),
  })
  .strict();

/** A performance target (DESIGN §4.7): warning / alarm levels of KPI expressions, time in alarm is down. */
const performanceTargetSchema = z
  .object({
    ...ciTargetFields,
    type: z.literal('performance'),
    warning: cel.optional(),
    alarm: cel.optional(),
    /** A status KPI (OK / Warning / Alarm / Offline) whose value is a state of its own; the worse of it and the expressions counts. */
    statusKpi: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a KPI name')
      .optional(),
    missingData: z
      .object({
        after: positiveDurationSchema().default(600),
        treatAs: z.enum(['unknown', 'ok', 'alarm', 'lastValue']).default('unknown'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((t) => t.warning !== undefined || t.alarm !== undefined || t.statusKpi !== undefined, {
    message: 'a performance target needs warning, alarm or statusKpi',
    path: ['alarm'],
  });

/** The kinds of service target: requests measure tickets; availability and performance measure CIs. */
export const TARGET_TYPES = ['request', 'availability', 'performance'] as const;

/**
 * A service target: a union discriminated on `type` (absent: `request`, as every earlier file wrote
 * it), so each kind brings its own fields and an unknown kind is named in the error.
 */
const serviceTargetSchema = z.preprocess(
  (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) && (v as { type?: unknown }).type === undefined ? { ...v, type: 'request' } : v),
  z.discriminatedUnion('type', [requestTargetSchema, availabilityTargetSchema, performanceTargetSchema], {
    error: (issue) => (issue.code === 'invalid_union' ? `expected one of ${TARGET_TYPES.join(', ')}` : undefined),
  }),
);

const definitionsSchema = z
  .object({
    /** An optional label recorded on measurements by `slm replay` (the server numbers stored versions itself). */
    version: z
      .union([z.string().min(1), z.number()])
      .transform(String)
      .optional(),
    calendars: z.array(calendarSchema()).default([]),
    serviceTargets: z.array(serviceTargetSchema).default([]),
    /** The SNOW connector's rules (mapping, closure, events, reactions to remote changes). */
    connector: connectorSchema().prefault({}),
    /** How ticket runs behave. */
    engine: z
      .object({
        /** How long a closed ticket's run waits for a reopen before it completes. Unset: 30 days. */
        reopenWindow: positiveDurationSchema().optional(),
      })
      .strict()
      .prefault({}),
    /** Ticketing systems whose native webhooks `POST /v1/sources/{name}/events` takes, each with its field mapping. */
    sources: z.array(sourceSchema()).default([]),
    /** The ticket (and CI) field that holds the tenant; unset: no tenancy (tenant-bound API tokens are refused). */
    tenantField: fieldName.optional(),
    /** Contracts: one customer each, with the tenant its measurements carry (DESIGN §4.8). */
    contracts: contractsSchema(),
    /** Agreements (SLA / OLA / UC) over weighted service targets, with review periods, compliance levels, penalties and rewards. */
    agreements: agreementsSchema(),
  })
  .strict();

export type ServiceTargetDefinition = z.infer<typeof serviceTargetSchema>;
export type RequestTargetDefinition = z.infer<typeof requestTargetSchema>;
export type AvailabilityTargetDefinition = z.infer<typeof availabilityTargetSchema>;
export type PerformanceTargetDefinition = z.infer<typeof performanceTargetSchema>;
export type CiTargetDefinition = AvailabilityTargetDefinition | PerformanceTargetDefinition;
export type Definitions = z.infer<typeof definitionsSchema>;
export type GoalDefinition = RequestTargetDefinition['goal'];
export type CiGoalDefinition = CiTargetDefinition['goal'];

export const isCiTarget = (t: ServiceTargetDefinition): t is CiTargetDefinition => t.type === 'availability' || t.type === 'performance';

export interface CompiledCiMilestone extends CiMilestoneDefinition {
  if_: Condition;
}

/** A CI target compiled: terms and up/down over `ci`, warning/alarm over `kpi`. */
export type CompiledCiTarget = CiTargetDefinition & {
  appliesTo_: Condition;
  up_: Condition | null;
  down_: Condition | null;
  warning_: KpiExpression | null;
  alarm_: KpiExpression | null;
  compiledMilestones: CompiledCiMilestone[];
};

export interface CompiledMilestone extends MilestoneDefinition {
  when: Condition | null;
  if_: Condition;
}

export type CompiledServiceTarget = RequestTargetDefinition & {
  conditions: { appliesTo: Condition; start: Condition; stop: Condition; exclude: Condition };
  compiledMilestones: CompiledMilestone[];
};

export class DefinitionError extends Error {
  override name = 'DefinitionError';
}

/** Validates raw definitions (already parsed from YAML/JSON); throws a DefinitionError with the field path. */
export function parseDefinitions(raw: unknown): Definitions {
  const parsed = definitionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DefinitionError(`invalid definitions at ${formatPath(issue.path)}: ${issueText(issue)}`);
  }
  checkDefinitions(parsed.data);
  return parsed.data;
}

/** Cross-field checks: unique ids, known calendars, unique milestone names, compilable CEL. */
function checkDefinitions(defs: Definitions): void {
  try {
    compileConnector(defs.connector);
  } catch (err) {
    throw new DefinitionError(`invalid definitions at ${(err as Error).message}`);
  }
  const sourceNames = new Set<string>();
  defs.sources.forEach((src, i) => {
    if (sourceNames.has(src.name)) throw new DefinitionError(`invalid definitions at sources[${i}].name: duplicate source "${src.name}"`);
    sourceNames.add(src.name);
    try {
      compileSource(src, `sources[${i}]`);
    } catch (err) {
      throw new DefinitionError(`invalid definitions at ${(err as Error).message}`);
    }
  });
  const calendarIds = new Set<string>();
  defs.calendars.forEach((c, i) => {
    if (calendarIds.has(c.id)) throw new DefinitionError(`invalid definitions at calendars[${i}].id: duplicate id "${c.id}"`);
    calendarIds.add(c.id);
  });
  const seen = new Set<string>();
  defs.serviceTargets.forEach((t, i) => {
    const where = `serviceTargets[${i}]`;
    if (seen.has(t.id)) throw new DefinitionError(`invalid definitions at ${where}.id: duplicate id "${t.id}"`);
    seen.add(t.id);
    if (typeof t.calendar === 'string' && !calendarIds.has(t.calendar)) {
      throw new DefinitionError(`invalid definitions at ${where}.calendar: unknown calendar "${t.calendar}"`);
    }
    const names = new Set<string>();
    t.milestones.forEach((m, j) => {
      if (names.has(m.name)) throw new DefinitionError(`invalid definitions at ${where}.milestones[${j}].name: duplicate milestone "${m.name}"`);
      names.add(m.name);
    });
    if (isCiTarget(t)) compileCiTarget(t, where);
    else compileTarget(t, where);
  });
  const problem = checkAgreements(defs.contracts, defs.agreements, seen, defs.tenantField);
  if (problem) throw new DefinitionError(`invalid definitions at ${problem}`);
}

/**
 * Merges `update` into `base` by id (DESIGN §4.3: a `definitions` line replaces the definitions with
 * the same ids and keeps the others), then validates the result.
 */
export function mergeDefinitions(base: Definitions, update: unknown): Definitions {
  const raw = (update ?? {}) as { calendars?: unknown; serviceTargets?: unknown; contracts?: unknown; agreements?: unknown };
  const incoming = definitionsSchema.safeParse(raw);
  if (!incoming.success) {
    const issue = incoming.error.issues[0]!;
    throw new DefinitionError(`invalid definitions at ${formatPath(issue.path)}: ${issueText(issue)}`);
  }
  const byId = <T extends { id: string }>(a: T[], b: T[]) => {
    const map = new Map(a.map((x) => [x.id, x]));
    for (const x of b) map.set(x.id, x);
    return [...map.values()];
  };
  const tenantField = raw && typeof raw === 'object' && 'tenantField' in raw ? incoming.data.tenantField : base.tenantField;
  const merged: Definitions = {
    ...(incoming.data.version !== undefined ? { version: incoming.data.version } : {}),
    calendars: byId(base.calendars, incoming.data.calendars),
    serviceTargets: byId(base.serviceTargets, incoming.data.serviceTargets),
    contracts: byId(base.contracts, incoming.data.contracts),
    agreements: byId(base.agreements, incoming.data.agreements),
    connector: raw && typeof raw === 'object' && 'connector' in raw ? incoming.data.connector : base.connector,
    engine: raw && typeof raw === 'object' && 'engine' in raw ? incoming.data.engine : base.engine,
    sources: raw && typeof raw === 'object' && 'sources' in raw ? incoming.data.sources : base.sources,
    ...(tenantField !== undefined ? { tenantField } : {}),
  };
  checkDefinitions(merged);
  return merged;
}

/** Compiles the conditions and KPI expressions of a CI target; throws a DefinitionError naming the field. */
export function compileCiTarget(t: CiTargetDefinition, where = t.id): CompiledCiTarget {
  const at = <T>(path: string, f: () => T): T => {
    try {
      return f();
    } catch (err) {
      throw new DefinitionError(`invalid definitions at ${where}.${path}: ${(err as Error).message}`);
    }
  };
  const availability = t.type === 'availability';
  return {
    ...t,
    appliesTo_: at('appliesTo', () => compileOptional(t.appliesTo, 'always', 'ci')),
    up_: availability ? at('up', () => compileOptional(t.up, 'never', 'ci')) : null,
    down_: availability ? at('down', () => compileOptional(t.down, 'never', 'ci')) : null,
    warning_: !availability && t.warning !== undefined ? at('warning', () => compileKpiExpression(t.warning!)) : null,
    alarm_: !availability && t.alarm !== undefined ? at('alarm', () => compileKpiExpression(t.alarm!)) : null,
    compiledMilestones: t.milestones.map((m, j) => ({ ...m, if_: at(`milestones[${j}].if`, () => compileOptional(m.if, 'always', 'ci')) })),
  };
}

/** Compiles every condition of a target; throws a DefinitionError naming the field on bad CEL. */
export function compileTarget(t: RequestTargetDefinition, where = t.id): CompiledServiceTarget {
  const compile = (source: string | undefined, fallback: 'always' | 'never', path: string) => {
    try {
      return compileOptional(source, fallback);
    } catch (err) {
      throw new DefinitionError(`invalid definitions at ${where}.${path}: ${(err as Error).message}`);
    }
  };
  return {
    ...t,
    conditions: {
      appliesTo: compile(t.appliesTo, 'always', 'appliesTo'),
      start: compile(t.start, 'always', 'start'),
      stop: compile(t.stop, 'never', 'stop'),
      exclude: compile(t.exclude, 'never', 'exclude'),
    },
    compiledMilestones: t.milestones.map((m, j) => ({
      ...m,
      when: 'when' in m.at ? compile(m.at.when, 'never', `milestones[${j}].at.when`) : null,
      if_: compile(m.if, 'always', `milestones[${j}].if`),
    })),
  };
}

/** The definitions compiled for the engine: targets in file order and calendars by id. */
export interface CompiledDefinitions {
  version: string;
  /** Request targets (on tickets), in file order. */
  targets: CompiledServiceTarget[];
  /** Availability and performance targets (on CIs), in file order. */
  ciTargets: CompiledCiTarget[];
  calendars: Map<string, Calendar>;
  connector: CompiledConnector;
  /** Seconds; null when the definitions leave it unset. */
  reopenWindowSeconds: number | null;
}

export function compileDefinitions(defs: Definitions, version: string): CompiledDefinitions {
  return {
    version,
    targets: defs.serviceTargets.flatMap((t) => (isCiTarget(t) ? [] : [compileTarget(t)])),
    ciTargets: defs.serviceTargets.flatMap((t) => (isCiTarget(t) ? [compileCiTarget(t)] : [])),
    calendars: new Map(defs.calendars.map((c) => [c.id, c])),
    connector: compileConnector(defs.connector ?? connectorSchema().parse({})),
    reopenWindowSeconds: defs.engine?.reopenWindow ?? null,
  };
}

/** What the fields a target cannot do without are for, said when one is missing. */
const REQUIRED_BECAUSE: Record<string, string> = {
  stop: 'the condition that ends the measurement (Met or Missed), e.g. ticket.state in ["Resolved", "Closed"]',
  appliesTo: 'the terms: which tickets or CIs the target measures, e.g. ticket.priority == 1 or ci.class == "web"',
  goal: 'e.g. { duration: 4h } for a request target, { availability: 99.5 } for a CI target',
  id: 'a name of letters, digits and . _ : -',
};

/** A zod issue as one line; a missing field reads `required: <what it is for>`. */
function issueText(issue: { message: string; path: PropertyKey[] }): string {
  if (!/received undefined$/.test(issue.message)) return issue.message;
  const field = String(issue.path[issue.path.length - 1] ?? '');
  return REQUIRED_BECAUSE[field] ? `required: ${REQUIRED_BECAUSE[field]}` : 'required';
}

export function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(root)';
}

/**
 * Compiled definitions by version and document. The workflow worker preloads this module, so one
 * memo serves every ticket workflow it hosts: without it each cached workflow validated and compiled
 * its own copy. A memo of a pure function (one document always compiles to the same result, which
 * nothing mutates), so it cannot change what any workflow computes.
 */
const compiledCache = new Map<string, CompiledDefinitions>();

export function compiledDefinitionsOf(version: string, body: unknown): CompiledDefinitions {
  const key = `${version}\u0000${JSON.stringify(body)}`;
  let compiled = compiledCache.get(key);
  if (!compiled) {
    compiled = compileDefinitions(parseDefinitions(body), version);
    compiledCache.set(key, compiled);
    if (compiledCache.size > 16) compiledCache.delete(compiledCache.keys().next().value!);
  }
  return compiled;
}
