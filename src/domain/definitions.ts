/**
 * Service-target definitions (DESIGN §4.4), validated on load: a zod schema for the shape and a CEL
 * compile for every condition. An invalid file is rejected whole with the path of the bad field.
 *
 * This is the request-based subset the engine measures today; fields it does not measure yet
 * (calendars, milestones, goal schedules) are rejected rather than silently ignored.
 */
import { z } from 'zod';
import { compileOptional, type Condition } from './conditions';
import { positiveDurationSchema } from './duration';

const cel = z.string().trim().min(1, 'must be a CEL expression');

export const serviceTargetSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'),
    title: z.string().optional(),
    type: z.literal('request').default('request'),
    appliesTo: cel,
    start: cel.optional(),
    stop: cel,
    exclude: cel.optional(),
    goal: z.object({ duration: positiveDurationSchema }).strict(),
    group: z.string().optional(),
    costPerMinute: z.number().nonnegative().optional(),
  })
  .strict();

export const definitionsSchema = z
  .object({
    serviceTargets: z.array(serviceTargetSchema).default([]),
  })
  .strict();

export type ServiceTargetDefinition = z.infer<typeof serviceTargetSchema>;
export type Definitions = z.infer<typeof definitionsSchema>;

export type CompiledServiceTarget = ServiceTargetDefinition & {
  conditions: { appliesTo: Condition; start: Condition; stop: Condition; exclude: Condition };
};

export class DefinitionError extends Error {
  override name = 'DefinitionError';
}

/** Validates raw definitions (already parsed from YAML/JSON); throws a DefinitionError with the field path. */
export function parseDefinitions(raw: unknown): Definitions {
  const parsed = definitionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DefinitionError(`invalid definitions at ${formatPath(issue.path)}: ${issue.message}`);
  }
  const seen = new Set<string>();
  parsed.data.serviceTargets.forEach((t, i) => {
    if (seen.has(t.id)) throw new DefinitionError(`invalid definitions at serviceTargets[${i}].id: duplicate id "${t.id}"`);
    seen.add(t.id);
    compileTarget(t, `serviceTargets[${i}]`);
  });
  return parsed.data;
}

/** Compiles every condition of a target; throws a DefinitionError naming the field on bad CEL. */
export function compileTarget(t: ServiceTargetDefinition, where = t.id): CompiledServiceTarget {
  const field = (name: 'appliesTo' | 'start' | 'stop' | 'exclude', fallback: 'always' | 'never') => {
    try {
      return compileOptional(t[name], fallback);
    } catch (err) {
      throw new DefinitionError(`invalid definitions at ${where}.${name}: ${(err as Error).message}`);
    }
  };
  return {
    ...t,
    conditions: {
      appliesTo: field('appliesTo', 'always'),
      start: field('start', 'always'),
      stop: field('stop', 'never'),
      exclude: field('exclude', 'never'),
    },
  };
}

function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(root)';
}
