/**
 * Durations as users write them: `90s`, `15m`, `4h`, `1h30m`, `2d` (a day is 24 hours) or ISO 8601
 * (`PT4H`, `P1DT2H`). A bare number is seconds. Returns whole seconds.
 */
import { z } from 'zod';

const UNIT_SECONDS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };

export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new Error(`invalid duration ${text}: expected a non-negative number of seconds`);
    return Math.round(text);
  }
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s));
  const short = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/i.exec(s);
  if (short && s !== '') {
    const [, d, h, m, sec] = short;
    return [d, h, m, sec].reduce((acc, part, i) => acc + Number(part ?? 0) * [86400, 3600, 60, 1][i]!, 0);
  }
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(s);
  if (iso && s.length > 1 && !/T$/i.test(s)) {
    const [, d, h, m, sec] = iso;
    return Math.round(Number(d ?? 0) * UNIT_SECONDS.d! + Number(h ?? 0) * UNIT_SECONDS.h! + Number(m ?? 0) * 60 + Number(sec ?? 0));
  }
  throw new Error(`invalid duration "${text}": expected e.g. 90s, 15m, 4h, 1h30m, 2d or ISO 8601 like PT4H`);
}

/** A zod field for a positive duration as users write it, parsed to whole seconds. */
const POSITIVE = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    const seconds = parseDuration(v);
    if (seconds <= 0) throw new Error(`invalid duration "${v}": must be positive`);
    return seconds;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** A zod field for a non-negative duration (offsets such as `beforeDue: 0s`). */
const NON_NEGATIVE = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/* An accessor, not the schema: the workflow worker shares this module between workflows and freezes its exports, and a frozen zod schema cannot parse. */
export const positiveDurationSchema = () => POSITIVE;
export const durationSchema = () => NON_NEGATIVE;
