/**
 * Applying definitions (`slm definitions apply`, and the API's PUT): validated whole, stored as a new
 * version when they differ, then every running ticket is told so its open measurements are recomputed
 * from now on. Stored is what counts: a ticket that cannot be told now reads them at its next change.
 */
import { wakeCompliance } from '../client/compliance';
import { notifyDefinitionsChanged } from '../client/tickets';
import { requestRecompute } from '../db/compliance';
import { applyDefinitions } from '../db/queries';
import type { Definitions } from '../domain/definitions';
import type { AppPorts } from './ports';

export interface DefinitionsApplied {
  version: number;
  changed: boolean;
  serviceTargets: number;
  calendars: number;
  /** Running tickets told; null when unchanged or Temporal could not be reached. */
  ticketsTold: number | null;
  /** Running CI workflows told; null when unchanged or Temporal could not be reached. */
  cisTold: number | null;
}

/**
 * `defs` are already validated (`parseDefinitions`/`readDefinitionsFile`); `source` names where they
 * came from. `recomputeFrom` (an instant): compliance records ending after it are recounted from the
 * stored measurements under these definitions (closed ones show the difference as an amendment).
 */
export async function applyDefinitionsDoc(
  ports: Pick<AppPorts, 'db' | 'temporal'> & { settings?: AppPorts['settings'] },
  defs: Definitions,
  source: string | null,
  recomputeFrom: number | null = null,
): Promise<DefinitionsApplied> {
  const db = await ports.db();
  const res = await applyDefinitions(db, defs, source);
  if (recomputeFrom !== null) await requestRecompute(db, recomputeFrom);
  let told: { tickets: number; cis: number } | null = null;
  if (res.changed || recomputeFrom !== null) {
    try {
      const client = await ports.temporal();
      if (res.changed) told = await notifyDefinitionsChanged(client, String(res.version));
      // Open compliance records are recounted under the new version (or from recomputeFrom) at the next tick.
      if (ports.settings && (defs.agreements.length > 0 || recomputeFrom !== null)) await wakeCompliance(client, ports.settings.SLM_TASK_QUEUE);
    } catch {
      // Stored is what counts; ticket workflows read the newest version at their next change.
    }
  }
  return {
    version: res.version,
    changed: res.changed,
    serviceTargets: defs.serviceTargets.length,
    calendars: defs.calendars.length,
    ticketsTold: told?.tickets ?? null,
    cisTold: told?.cis ?? null,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The one line the CLI prints. */
export function definitionsAppliedText(r: DefinitionsApplied): string {
  const told =
    r.ticketsTold === null
      ? 'running tickets pick them up at their next change (Temporal not reachable to tell them now)'
      : `${r.ticketsTold} running tickets recomputed${r.cisTold ? `, ${plural(r.cisTold, 'CI')}` : ''}`;
  return `definitions v${r.version}${r.changed ? '' : ' (unchanged)'}: ${plural(r.serviceTargets, 'service target')}, ${plural(r.calendars, 'calendar')}${r.changed ? `; ${told}` : ''}\n`;
}
