/**
 * Agreements and contracts (DESIGN §4.8, seed 002 pp. 20–22, 36–44): the definitions' `contracts` and
 * `agreements` sections, their validation beyond the shape (unknown targets and contracts, bounds,
 * overlapping ranges) and the compiled form the compliance engine reads.
 */
import { IANAZone } from 'luxon';
import { z } from 'zod';

export const REVIEW_PERIODS = ['daily', 'weekly', 'monthly', 'quarterly'] as const;
export type ReviewPeriod = (typeof REVIEW_PERIODS)[number];
export const AGREEMENT_TYPES = ['SLA', 'OLA', 'UC'] as const;

const id = z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits and . _ - only');
const percent = z.number().min(0).max(100);
/** A calendar date `YYYY-MM-DD` (a contract's validity, read in the agreement's time zone). */
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');
const amount = z.number().nonnegative();

const contractSchema = z
  .object({
    id,
    customer: z.string().min(1).optional(),
    /** The value of the definitions' `tenantField` this contract's measurements carry. */
    tenant: z.string().min(1),
    validFrom: date.optional(),
    validTo: date.optional(),
  })
  .strict()
  .refine((c) => c.validFrom === undefined || c.validTo === undefined || c.validFrom <= c.validTo, { message: 'validTo is before validFrom', path: ['validTo'] });

const rangeSchema = z
  .object({ below: percent.optional(), atLeast: percent.optional(), amount })
  .strict()
  .refine((r) => r.below === undefined || r.atLeast === undefined || r.atLeast < r.below, { message: 'atLeast must be below "below"', path: ['atLeast'] });
export type ComplianceRange = z.infer<typeof rangeSchema>;

const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const email = z.string().regex(EMAIL, 'expected an e-mail address');

/** What a compliance milestone may do: tell someone, or start a workflow (there is no ticket to write to). */
const complianceActionSchema = z.union(
  [
    z
      .object({
        notify: z
          .object({ webhook: url.optional(), email: z.union([email, z.array(email).min(1)]).optional(), subject: z.string().optional() })
          .strict()
          .refine((n) => n.webhook !== undefined || n.email !== undefined, { message: 'notify needs a webhook or an email' }),
      })
      .strict(),
    z.object({ startWorkflow: z.object({ workflowType: z.string().min(1), taskQueue: z.string().min(1).optional(), input: z.json().optional() }).strict() }).strict(),
  ],
  { error: 'a compliance milestone action is notify or startWorkflow' },
);
export type ComplianceActionDefinition = z.infer<typeof complianceActionSchema>;

const complianceMilestoneSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
    /** `atRisk`: status At Risk or worse; `breached`; `{ below: P }`: percent below P. */
    at: z.union([z.literal('atRisk'), z.literal('breached'), z.object({ below: percent }).strict()], { error: 'expected atRisk, breached or { below: P }' }),
    actions: z.array(complianceActionSchema).default([]),
  })
  .strict();
export type ComplianceMilestone = z.infer<typeof complianceMilestoneSchema>;

const agreementSchema = z
  .object({
    id,
    title: z.string().optional(),
    type: z.enum(AGREEMENT_TYPES).default('SLA'),
    contract: id.optional(),
    reviewPeriods: z.array(z.enum(REVIEW_PERIODS)).min(1, 'at least one review period').default(['monthly']),
    timezone: z
      .string()
      .refine((zone) => IANAZone.isValidZone(zone), { message: 'unknown IANA time zone' })
      .default('UTC'),
    compliance: z.object({ target: percent, atRisk: percent.optional() }).strict(),
    targets: z
      .array(z.object({ serviceTarget: z.string().min(1), weight: z.number().gt(0, 'a weight must be above 0') }).strict())
      .min(1, 'an agreement needs at least one target'),
    penalties: z.array(rangeSchema).default([]),
    rewards: z.array(rangeSchema).default([]),
    milestones: z.array(complianceMilestoneSchema).default([]),
  })
  .strict();

export type ContractDefinition = z.infer<typeof contractSchema>;
export type AgreementDefinition = z.infer<typeof agreementSchema>;

/* Accessors, not the schemas: the workflow worker freezes this module's exports, and a frozen zod schema cannot parse. */
export const contractsSchema = () => z.array(contractSchema).default([]);
export const agreementsSchema = () => z.array(agreementSchema).default([]);

/**
 * Cross-field checks of agreements and contracts; returns the first problem as `path: reason`, or
 * null. `targetIds` are the service targets defined.
 */
export function checkAgreements(contracts: ContractDefinition[], agreements: AgreementDefinition[], targetIds: Set<string>, tenantField: string | undefined): string | null {
  const contractIds = new Set<string>();
  for (const [i, c] of contracts.entries()) {
    if (contractIds.has(c.id)) return `contracts[${i}].id: duplicate contract "${c.id}"`;
    contractIds.add(c.id);
    if (tenantField === undefined) return `contracts[${i}].tenant: a contract's tenant needs tenantField (the ticket and CI field that holds the tenant)`;
  }
  const agreementIds = new Set<string>();
  for (const [i, a] of agreements.entries()) {
    const at = `agreements[${i}]`;
    if (agreementIds.has(a.id)) return `${at}.id: duplicate agreement "${a.id}"`;
    agreementIds.add(a.id);
    if (a.contract !== undefined && !contractIds.has(a.contract)) return `${at}.contract: unknown contract "${a.contract}"`;
    if (a.compliance.atRisk !== undefined && a.compliance.atRisk < a.compliance.target)
      return `${at}.compliance.atRisk: ${a.compliance.atRisk} is below the target ${a.compliance.target}`;
    const seen = new Set<string>();
    for (const [j, t] of a.targets.entries()) {
      if (!targetIds.has(t.serviceTarget)) return `${at}.targets[${j}].serviceTarget: unknown service target "${t.serviceTarget}"`;
      if (seen.has(t.serviceTarget)) return `${at}.targets[${j}].serviceTarget: "${t.serviceTarget}" is listed twice`;
      seen.add(t.serviceTarget);
    }
    if (new Set(a.reviewPeriods).size !== a.reviewPeriods.length) return `${at}.reviewPeriods: a review period is listed twice`;
    for (const kind of ['penalties', 'rewards'] as const) {
      const ranges = a[kind];
      for (let j = 0; j < ranges.length; j++)
        for (let k = 0; k < j; k++) if (overlap(ranges[j]!, ranges[k]!)) return `${at}.${kind}[${j}]: overlaps ${kind}[${k}] (a percent would match both)`;
    }
    const names = new Set<string>();
    for (const [j, m] of a.milestones.entries()) {
      if (names.has(m.name)) return `${at}.milestones[${j}].name: duplicate milestone "${m.name}"`;
      names.add(m.name);
    }
  }
  return null;
}

/** Whether two `[atLeast, below)` ranges share a percent (a missing bound is open). */
function overlap(a: ComplianceRange, b: ComplianceRange): boolean {
  const lo = Math.max(a.atLeast ?? -Infinity, b.atLeast ?? -Infinity);
  const hi = Math.min(a.below ?? Infinity, b.below ?? Infinity);
  return lo < hi;
}

/** The first range (in list order) with `atLeast ≤ percent < below`; null with no percent or no match. */
export function rangeFor(ranges: readonly ComplianceRange[], percent: number | null): number | null {
  if (percent === null) return null;
  for (const r of ranges) if ((r.atLeast === undefined || r.atLeast <= percent) && (r.below === undefined || percent < r.below)) return r.amount;
  return null;
}
