/**
 * Applying definitions (`slm definitions apply`, and the API's PUT): validated whole, stored as a new
 * version when they differ, then every running ticket is told so its open measurements are recomputed
 * from now on. Stored is what counts: a ticket that cannot be told now reads them at its next change.
 */
import { notifyDefinitionsChanged } from '../client/tickets';
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

/** `defs` are already validated (`parseDefinitions`/`readDefinitionsFile`); `source` names where they came from. */
export async function applyDefinitionsDoc(ports: Pick<AppPorts, 'db' | 'temporal'>, defs: Definitions, source: string | null): Promise<DefinitionsApplied> {
  const res = await applyDefinitions(await ports.db(), defs, source);
  let told: { tickets: number; cis: number } | null = null;
  if (res.changed) {
    try {
      told = await notifyDefinitionsChanged(await ports.temporal(), String(res.version));
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
