/**
 * `slm compliance …` and `slm agreements list` (DESIGN §4.8): replay offline, and the live records.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { readStructuredFile } from '../infra/files';
import { parseEvents } from '../domain/replay';
import { complianceReplay } from '../domain/compliance/replay';
import type { ComplianceRecordView } from '../domain/compliance/record';
import { AgreementNotFoundError, ComplianceRequestError, complianceCsv, complianceHistoryDoc, complianceShowDoc, listAgreementsDoc, recomputeCompliance } from '../app/compliance';
import type { AgreementsDoc } from '../app/documents';
import type { AppPorts } from '../app/ports';
import { UsageError, readTextInput } from './format';
import { complianceReport, RecordNotFoundError, REPORT_FORMATS, type ReportFormat } from '../app/report';
import { REVIEW_PERIODS, type ReviewPeriod } from '../domain/compliance/agreements';

type WithPorts = <T>(fn: (ports: AppPorts) => Promise<T>) => Promise<T>;

/** `slm compliance replay --definitions FILE --events FILE.jsonl`: one line per check and the end. */
export function complianceReplayCommand(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { definitions: { type: 'string' }, events: { type: 'string' } }, strict: true });
  if (!values.definitions || !values.events) throw new UsageError('usage: slm compliance replay --definitions FILE --events FILE.jsonl');
  let lines;
  try {
    const defs = readStructuredFile(values.definitions, 'definitions');
    lines = complianceReplay(defs, parseEvents(readTextInput(values.events))).lines;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
  process.stdout.write(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
}

/** Our own errors as usage errors (exit 2, one line). */
async function asUsage<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof AgreementNotFoundError || err instanceof ComplianceRequestError || err instanceof RecordNotFoundError) throw new UsageError(err.message);
    throw err;
  }
}

const pct = (p: number | null) => (p === null ? '—' : `${Math.round(p * 1000) / 1000} %`);

/** A record in a few lines, as `slm compliance show` prints it. */
export function renderRecord(r: ComplianceRecordView): string {
  const head = `${r.agreementId}${r.contractId ? ` (contract ${r.contractId})` : ''} ${r.reviewPeriod} ${r.periodStart} → ${r.periodEnd}: ${pct(r.percent)} ${r.status ?? '(nothing counted)'}${r.closed ? ', closed' : ''}`;
  const lines = [head];
  if (r.closed)
    lines.push(
      `  penalty ${r.penalty ?? '—'}, reward ${r.reward ?? '—'}${r.amendedAt ? `; amended ${r.amendedAt}: ${pct(r.amendedPercent)}, penalty ${r.amendedPenalty ?? '—'}, reward ${r.amendedReward ?? '—'}` : ''}`,
    );
  else if (r.forecast)
    lines.push(
      `  forecast at period end: ${pct(r.forecast.percent)} ${r.forecast.status ?? ''}${r.forecast.atRiskAt ? `; at risk from ${r.forecast.atRiskAt}` : ''}${r.forecast.breachedAt ? `; breached from ${r.forecast.breachedAt}` : ''}`,
    );
  lines.push(`  impact cost ${r.impactCost}`);
  for (const t of r.targets) {
    const counts = t.met !== null ? `${t.met} met, ${t.missed} missed` : `up ${t.upSeconds} s, down ${t.downSeconds} s (${t.downCount} outages), unknown ${t.unknownSeconds} s`;
    lines.push(`  ${t.serviceTargetId} ×${t.weight}: ${pct(t.percent)} — ${counts}${t.impactCost ? `, impact ${t.impactCost}` : ''}`);
  }
  for (const m of r.milestones) lines.push(`  milestone ${m.name} fired ${m.firedAt}`);
  return lines.join('\n') + '\n';
}

function renderAgreements(doc: AgreementsDoc): string {
  if (!doc.agreements.length) return 'no agreements (add them to the definitions: agreements, contracts)\n';
  return (
    doc.agreements
      .map((a) => {
        const now = a.current.map((r) => `${r.reviewPeriod} ${pct(r.percent)} ${r.status ?? ''}`.trim()).join(', ') || 'nothing counted yet';
        return `${a.id} ${a.type}${a.contractId ? ` contract ${a.contractId} (${a.customer ?? a.tenant})` : ' (every tenant)'}: target ${a.compliance.target} %${a.compliance.atRisk !== null ? `, at risk below ${a.compliance.atRisk} %` : ''}; ${a.targets.length} target(s); now: ${now}`;
      })
      .join('\n') + '\n'
  );
}

/** `slm compliance show|history|export|recompute …` and `slm agreements list`. */
export async function complianceCommand(op: string | undefined, argv: string[], withPorts: WithPorts): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      period: { type: 'string' },
      from: { type: 'string' },
      format: { type: 'string' },
      agreement: { type: 'string' },
      tenant: { type: 'string' },
      out: { type: 'string' },
      'review-period': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const tenant = values.tenant ?? null;
  const agreement = positionals[0];
  switch (op) {
    case 'show': {
      if (!agreement) throw new UsageError('usage: slm compliance show AGREEMENT [--period YYYY-MM|YYYY-MM-DD] [--json] [--tenant T]');
      const doc = await withPorts((p) => asUsage(complianceShowDoc(p, agreement, { period: values.period, tenant })));
      process.stdout.write(
        values.json ? JSON.stringify(doc) + '\n' : doc.records.length ? doc.records.map(renderRecord).join('') : `${agreement}: no record yet (nothing counted)\n`,
      );
      return;
    }
    case 'history': {
      if (!agreement) throw new UsageError('usage: slm compliance history AGREEMENT [--json] [--tenant T]');
      const doc = await withPorts((p) => asUsage(complianceHistoryDoc(p, agreement, tenant)));
      if (values.json) process.stdout.write(JSON.stringify(doc) + '\n');
      else {
        process.stdout.write(doc.records.map(renderRecord).join('') || `${agreement}: no record yet\n`);
        for (const s of doc.settlements)
          process.stdout.write(
            `settled ${s.reviewPeriod} ${s.periodStart} rev ${s.revision}: penalty ${s.penalty ?? '—'} (Δ ${s.penaltyDelta}), reward ${s.reward ?? '—'} (Δ ${s.rewardDelta}) at ${s.settledAt}\n`,
          );
      }
      return;
    }
    case 'export': {
      if (!values.period) throw new UsageError('usage: slm compliance export --period YYYY-MM|YYYY-MM-DD [--agreement A] --format csv [--out FILE]');
      if ((values.format ?? 'csv') !== 'csv') throw new UsageError(`--format must be csv, got "${values.format}"`);
      const period = values.period;
      const csv = await withPorts((p) => asUsage(complianceCsv(p, { period, agreementId: values.agreement ?? agreement, tenant })));
      if (values.out) {
        fs.writeFileSync(values.out, csv);
        process.stdout.write(`${csv.split('\n').filter((l) => l.startsWith('record,') || l.startsWith('measurement,')).length} line(s) → ${values.out}\n`);
      } else process.stdout.write(csv);
      return;
    }
    case 'report': {
      const id = values.agreement ?? agreement;
      const usage = 'usage: slm compliance report --agreement A --period YYYY-MM|YYYY-MM-DD --format pdf|csv [--review-period daily|weekly|monthly|quarterly] [--out FILE]';
      if (!id || !values.period) throw new UsageError(usage);
      const format = values.format ?? 'pdf';
      if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be pdf or csv, got "${format}"`);
      const kind = values['review-period'];
      if (kind !== undefined && !(REVIEW_PERIODS as readonly string[]).includes(kind))
        throw new UsageError(`--review-period must be one of ${REVIEW_PERIODS.join(', ')}, got "${kind}"`);
      const period = values.period;
      const out = await withPorts((p) => asUsage(complianceReport(p, format as ReportFormat, { agreementId: id, period, reviewPeriod: kind as ReviewPeriod | undefined, tenant })));
      // A PDF never goes to a terminal: without --out it is written to AGREEMENT-PERIOD.pdf here.
      const file = values.out ?? (format === 'pdf' && process.stdout.isTTY ? out.fileName : null);
      if (file && file !== '-') {
        fs.writeFileSync(file, out.body);
        process.stdout.write(`${format.toUpperCase()} report of ${id} for ${period}: ${out.body.length} bytes → ${file}\n`);
      } else process.stdout.write(out.body);
      return;
    }
    case 'recompute': {
      if (!agreement || !values.from) throw new UsageError('usage: slm compliance recompute AGREEMENT --from YYYY-MM-DD');
      const from = values.from;
      const r = await withPorts((p) => asUsage(recomputeCompliance(p, agreement, from)));
      process.stdout.write(`compliance records ending after ${r.from} are recounted from the stored measurements (closed ones show any difference as an amendment)\n`);
      return;
    }
    default:
      throw new UsageError('usage: slm compliance show|history|replay|export|report|recompute … (see slm --help)');
  }
}

export async function agreementsList(argv: string[], withPorts: WithPorts): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, tenant: { type: 'string' } }, strict: true });
  const doc = await withPorts((p) => listAgreementsDoc(p, values.tenant ?? null));
  process.stdout.write(values.json ? JSON.stringify(doc) + '\n' : renderAgreements(doc));
}
