/**
 * Fault injection for the emulator (DESIGN §4.5): settable at start (`slm emulator` flags) and at run
 * time (`PUT /_emulator/faults`, where `{}` clears everything). Rates are probabilities per SNOW API
 * request, drawn from a seeded generator so a run can be repeated.
 */
import { z } from 'zod';

const rate = z.number().min(0).max(1);

export const faultsSchema = z
  .object({
    /** Added to every SNOW API answer. */
    latencyMs: z.number().int().min(0).max(600_000).default(0),
    /** Share of answers delayed by a further `spikeMs` (latency spikes). */
    spikeRate: rate.default(0),
    spikeMs: z.number().int().min(0).max(600_000).default(200),
    /** Share of requests answered 503 with a TMF error body, before anything is applied. */
    errorRate: rate.default(0),
    /** Share of requests answered 429 with `Retry-After`, before anything is applied. */
    rateLimitRate: rate.default(0),
    retryAfterSeconds: z.number().int().min(0).max(3600).default(1),
    /** Share of POST/PATCH requests applied and then answered by dropping the connection. */
    dropRate: rate.default(0),
    /** Stop listening (connections refused) for this long, then listen again. */
    refuseForMs: z.number().int().min(0).max(3_600_000).default(0),
    seed: z.number().int().default(1),
  })
  .strict();

export type Faults = z.output<typeof faultsSchema>;

export function parseFaults(raw: unknown): Faults {
  const parsed = faultsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid faults at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** mulberry32: small, fast, seedable. */
export function randomSource(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
