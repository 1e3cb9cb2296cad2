/**
 * The KPI ingest's reduction (DESIGN §4.7: only state changes enter history). Monitoring sends a
 * sample per KPI every few seconds; a CI workflow needs only the samples that change a measurement's
 * state. For each CI the ingest keeps the latest reading of every KPI and the readings it last
 * forwarded to the workflow, and forwards a sample when:
 * - it is the first of its KPI (the workflow has no value of it yet);
 * - a performance target's state from the forwarded readings differs from its state with this sample
 *   (the same `stateOf` the workflow runs);
 * - the workflow's copy of some KPI is older than half its staleness limit while a newer value exists
 *   (so a KPI that keeps reporting an unchanged value never goes stale in the workflow).
 * Forwards carry only the readings that changed since the last forward.
 */
import type { CompiledCiTarget } from '../definitions';
import type { KpiReading, KpiValue } from './ci';
import { stateOf } from './engine';

export interface KpiLedger {
  readings: Record<string, KpiReading>;
  sent: Record<string, KpiReading>;
}

export interface KpiForwardOut {
  at: number;
  readings: Record<string, KpiReading>;
}

/** Half the shortest staleness limit of the performance targets (5 minutes with none). */
export function refreshMsOf(targets: CompiledCiTarget[]): number {
  let min = 600_000;
  for (const t of targets) if (t.type === 'performance' && t.missingData.after * 1000 < min) min = t.missingData.after * 1000;
  return min / 2;
}

/** Applies `samples` (sorted by instant) to `ledger` in place; returns the forwards for the workflow and counts stale samples in `tally`. */
export function reduceSamples(
  ciId: string,
  ledger: KpiLedger,
  samples: { name: string; value: KpiValue; at: number }[],
  targets: CompiledCiTarget[],
  refreshMs: number,
  tally: { stale: number } = { stale: 0 },
): KpiForwardOut[] {
  const out: KpiForwardOut[] = [];
  const ci = { id: ciId };
  for (const s of samples) {
    const held = ledger.readings[s.name];
    if (held && held.at > s.at) {
      tally.stale++; // older than the value held: out of order, ignored
      continue;
    }
    if (held && held.at === s.at && held.value === s.value) continue; // a repeat
    ledger.readings[s.name] = { value: s.value, at: s.at };
    let forward = ledger.sent[s.name] === undefined;
    for (let i = 0; !forward && i < targets.length; i++) {
      const t = targets[i]!;
      if (t.type !== 'performance') continue;
      const before = stateOf(t, ci, ledger.sent, s.at);
      const after = stateOf(t, ci, ledger.readings, s.at);
      forward = before.state !== after.state || before.invalid !== after.invalid;
    }
    if (!forward) {
      for (const name in ledger.sent) {
        const sent = ledger.sent[name]!;
        if (sent.at + refreshMs <= s.at && ledger.readings[name]!.at > sent.at) {
          forward = true;
          break;
        }
      }
    }
    if (!forward) continue;
    const delta: Record<string, KpiReading> = {};
    for (const name in ledger.readings) {
      const r = ledger.readings[name]!;
      const sent = ledger.sent[name];
      if (!sent || sent.at !== r.at || sent.value !== r.value) delta[name] = { value: r.value, at: r.at };
    }
    ledger.sent = { ...ledger.sent, ...delta };
    // Forwards at one instant (the first samples of a CI's KPIs, a batch measured together) go as one.
    const last = out[out.length - 1];
    if (last && last.at === s.at) last.readings = { ...last.readings, ...delta };
    else out.push({ at: s.at, readings: delta });
  }
  return out;
}
