/**
 * The customer report of one agreement and period (DESIGN §3.5): a one-page PDF — agreement, period,
 * percent against target, the per-target table, the chart of the percent over the period, penalties
 * and rewards — and the CSV of the records and the measurements behind them. Drawn with PDFKit's
 * built-in Helvetica (no font files, nothing fetched), so the CLI and the API make it offline.
 */
import PDFDocument from 'pdfkit';
import type { ReviewPeriod } from '../domain/compliance/agreements';
import { statusOf, type ComplianceRecordView } from '../domain/compliance/record';
import { complianceCsv, recordsHolding } from './compliance';
import { seriesOf } from './dashboard';
import type { RecordSeries } from './documents';
import type { AppPorts } from './ports';

export class RecordNotFoundError extends Error {
  override name = 'RecordNotFoundError';
}

export const REPORT_FORMATS = ['pdf', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportRequest {
  agreementId: string;
  /** YYYY-MM, YYYY-MM-DD or an ISO instant: the record whose period holds it. */
  period: string;
  /** Which review period's record (default: monthly for YYYY-MM when the agreement has it, else its first). */
  reviewPeriod?: ReviewPeriod | undefined;
  tenant?: string | null;
}

/** The report in `format`: its bytes, media type and a file name (`AGREEMENT-PERIOD.pdf`). */
export async function complianceReport(
  ports: Pick<AppPorts, 'db'>,
  format: ReportFormat,
  q: ReportRequest,
  now = Date.now(),
): Promise<{ body: Buffer; contentType: string; fileName: string }> {
  const fileName = `${q.agreementId}-${q.period.replace(/[^0-9A-Za-z-]/g, '')}.${format}`;
  if (format === 'csv') {
    const csv = await complianceCsv(ports, { period: q.period, agreementId: q.agreementId, tenant: q.tenant ?? null }, now);
    return { body: Buffer.from(csv, 'utf8'), contentType: 'text/csv; charset=utf-8', fileName };
  }
  return { body: await compliancePdf(ports, q, now), contentType: 'application/pdf', fileName };
}

function pickRecord(records: ComplianceRecordView[], reviewPeriods: readonly string[], q: ReportRequest): ComplianceRecordView {
  const wanted = q.reviewPeriod ?? (/^\d{4}-\d{2}$/.test(q.period) && reviewPeriods.includes('monthly') ? 'monthly' : reviewPeriods[0]);
  const r = records.find((x) => x.reviewPeriod === wanted);
  if (!r) throw new RecordNotFoundError(`no ${wanted} record of agreement "${q.agreementId}" holds ${q.period} (nothing counted in that period)`);
  return r;
}

const pct = (p: number | null | undefined, digits = 3) => (p === null || p === undefined ? 'n/a' : `${p.toFixed(digits)} %`);
const money = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const COLOURS: Record<string, string> = { Compliant: '#1b7f3b', AtRisk: '#a05a00', Breached: '#b3261e' };
const STATUS_TEXT: Record<string, string> = { Compliant: 'Compliant', AtRisk: 'At risk', Breached: 'Breached' };
const day = (iso: string, zone: string) => new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: 'short', day: '2-digit' }).format(new Date(iso));
const duration = (s: number) => {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : m ? `${m} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`;
};

/** The one-page PDF of the record of `q.agreementId` whose period holds `q.period`. */
export async function compliancePdf(ports: Pick<AppPorts, 'db'>, q: ReportRequest, now = Date.now()): Promise<Buffer> {
  const { db, defs, tenant, agreement: a, records } = await recordsHolding(ports, q.agreementId, { period: q.period, tenant: q.tenant ?? null }, now);
  const contract = defs.contracts.find((c) => c.id === a.contract);
  const r = pickRecord(records, a.reviewPeriods, q);
  const [{ points }] = (await seriesOf(db, tenant, [r], now)) as [RecordSeries];

  const doc = new PDFDocument({
    size: 'A4',
    margin: 40,
    info: { Title: `${a.title ?? a.id}: ${r.reviewPeriod} report ${day(r.periodStart, a.timezone)}`, Author: 'temporal-slm', Subject: 'Service level report' },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = 40;
  const width = 515;
  const grey = '#555555';

  doc.fillColor(grey).font('Helvetica').fontSize(9).text('SERVICE LEVEL REPORT', left, 40);
  doc
    .fillColor('#000000')
    .font('Helvetica-Bold')
    .fontSize(20)
    .text(a.title ?? a.id, left, 54, { width });
  doc
    .font('Helvetica')
    .fontSize(10)
    .fillColor(grey)
    .text(
      `${a.type} ${a.id}${contract ? `  |  contract ${contract.id}${contract.customer ? ` (${contract.customer})` : ''}` : ''}  |  ${r.reviewPeriod} review period ${day(r.periodStart, a.timezone)} to ${day(r.periodEnd, a.timezone)} (${a.timezone})`,
      { width },
    );

  // The headline: percent against target.
  const headY = doc.y + 14;
  const percent = r.amendedPercent ?? r.percent;
  // The status of the percent shown: an amendment's, where a late fact amended the closed record.
  const status = statusOf(a, percent);
  const colour = COLOURS[status ?? ''] ?? '#333333';
  doc.roundedRect(left, headY, width, 70, 6).lineWidth(1).strokeColor('#dddddd').stroke();
  doc
    .font('Helvetica-Bold')
    .fontSize(30)
    .fillColor(colour)
    .text(pct(percent), left + 16, headY + 14, { width: 220 });
  doc
    .font('Helvetica-Bold')
    .fontSize(13)
    .fillColor(colour)
    .text(status ? STATUS_TEXT[status]! : 'Nothing counted', left + 250, headY + 14, { width: 250 });
  doc
    .font('Helvetica')
    .fontSize(10)
    .fillColor('#000000')
    .text(`Target ${pct(a.compliance.target, 2)}${a.compliance.atRisk !== undefined ? `, at risk below ${pct(a.compliance.atRisk, 2)}` : ''}`, left + 250, headY + 32, {
      width: 250,
    });
  const state = r.closed
    ? `Closed${r.amendedAt ? `; amended ${r.amendedAt.slice(0, 10)} from ${pct(r.percent)}` : ''}`
    : `Open; forecast at period end ${pct(r.forecast?.percent ?? null)}${r.forecast?.status ? ` (${STATUS_TEXT[r.forecast.status]})` : ''}`;
  doc.fillColor(grey).text(state, left + 250, headY + 47, { width: 260 });

  // Per-target table.
  let y = headY + 88;
  doc.font('Helvetica-Bold').fontSize(11).fillColor('#000000').text('Service targets', left, y);
  y += 18;
  const cols = [
    { title: 'Service target', x: left, w: 150 },
    { title: 'Weight', x: left + 150, w: 45, right: true },
    { title: 'Percent', x: left + 200, w: 65, right: true },
    { title: 'Contribution', x: left + 270, w: 70, right: true },
    { title: 'Measured', x: left + 350, w: 110 },
    { title: 'Impact cost', x: left + 460, w: 55, right: true },
  ];
  const row = (cells: string[], bold = false) => {
    doc
      .font(bold ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(9)
      .fillColor('#000000');
    cols.forEach((c, i) => doc.text(cells[i]!, c.x, y, { width: c.w, align: c.right ? 'right' : 'left', lineBreak: false, ellipsis: true }));
    y += 15;
  };
  row(
    cols.map((c) => c.title),
    true,
  );
  doc
    .moveTo(left, y - 3)
    .lineTo(left + width, y - 3)
    .lineWidth(0.5)
    .strokeColor('#999999')
    .stroke();
  const totalWeight = r.targets.filter((t) => t.percent !== null).reduce((s, t) => s + t.weight, 0);
  for (const t of r.targets) {
    const contribution = t.percent === null || totalWeight === 0 ? null : (t.weight * t.percent) / totalWeight;
    const measured = t.met !== null ? `${t.met} met, ${t.missed} missed` : `up ${duration(t.upSeconds ?? 0)}, down ${duration(t.downSeconds ?? 0)} (${t.downCount ?? 0})`;
    row([t.serviceTargetId, String(t.weight), pct(t.percent), pct(contribution), measured, money(t.impactCost)]);
  }

  // The chart: percent over the period against the target and at-risk lines.
  y += 12;
  doc.font('Helvetica-Bold').fontSize(11).fillColor('#000000').text('Compliance over the period', left, y);
  y += 18;
  drawChart(doc, { x: left, y, w: width, h: 170 }, points, {
    start: Date.parse(r.periodStart),
    end: Date.parse(r.periodEnd),
    target: a.compliance.target,
    atRisk: a.compliance.atRisk ?? null,
    zone: a.timezone,
    colour,
  });
  y += 170 + 28;

  // Penalties and rewards.
  doc.font('Helvetica-Bold').fontSize(11).fillColor('#000000').text('Penalties and rewards', left, y);
  y += 18;
  doc.font('Helvetica').fontSize(9.5);
  const settled = r.closed
    ? `Penalty ${money(r.amendedPenalty ?? r.penalty)}, reward ${money(r.amendedReward ?? r.reward)}${r.amendedAt ? ` (amended; at close-out: penalty ${money(r.penalty)}, reward ${money(r.reward)})` : ''}.`
    : 'Settled when the period closes.';
  doc.text(`${settled} Impact cost of missed requests: ${money(r.impactCost)}.`, left, y, { width });
  y = doc.y + 4;
  const ranges = [...a.penalties.map((p) => ({ kind: 'Penalty', ...p })), ...a.rewards.map((p) => ({ kind: 'Reward', ...p }))];
  for (const p of ranges) {
    const bounds = [p.atLeast !== undefined ? `at least ${pct(p.atLeast, 2)}` : null, p.below !== undefined ? `below ${pct(p.below, 2)}` : null].filter(Boolean).join(' and ');
    doc.fillColor(grey).text(`${p.kind} ${money(p.amount)} when compliance is ${bounds || 'any'}`, left, y, { width });
    y = doc.y + 1;
  }
  if (r.milestones.length) doc.fillColor(grey).text(`Milestones: ${r.milestones.map((m) => `${m.name} ${m.firedAt}`).join('; ')}`, left, y + 4, { width });

  // The footer sits in the bottom margin: lift the margin so that writing there starts no second page.
  doc.page.margins.bottom = 0;
  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor('#777777')
    .text(`Generated by temporal-slm on ${new Date(now).toISOString()} from the stored measurements.`, left, 800, { width, lineBreak: false });
  doc.end();
  return done;
}

function drawChart(
  doc: PDFKit.PDFDocument,
  box: { x: number; y: number; w: number; h: number },
  points: [number, number | null][],
  o: { start: number; end: number; target: number; atRisk: number | null; zone: string; colour: string },
): void {
  const values = points.map((p) => p[1]).filter((v): v is number => v !== null);
  const floor = Math.max(0, Math.floor(Math.min(o.target, o.atRisk ?? o.target, ...values) - 1));
  const lo = floor >= 100 ? 99 : floor;
  const px = (t: number) => box.x + 34 + ((t - o.start) / (o.end - o.start)) * (box.w - 40);
  const py = (v: number) => box.y + box.h - 16 - ((v - lo) / (100 - lo)) * (box.h - 24);
  doc.lineWidth(0.5).strokeColor('#cccccc');
  doc.font('Helvetica').fontSize(7).fillColor('#555555');
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((100 - lo) * i) / 4;
    doc
      .moveTo(box.x + 34, py(v))
      .lineTo(box.x + box.w - 6, py(v))
      .stroke();
    doc.text(`${v.toFixed(1)}`, box.x, py(v) - 3, { width: 30, align: 'right', lineBreak: false });
  }
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: o.zone, month: 'short', day: '2-digit' });
  for (let i = 0; i <= 4; i++) {
    const t = o.start + ((o.end - o.start) * i) / 4;
    doc.text(fmt.format(new Date(t)), px(t) - 20, box.y + box.h - 10, { width: 40, align: 'center', lineBreak: false });
  }
  const line = (v: number, colour: string, label: string) => {
    doc.moveTo(px(o.start), py(v)).lineTo(px(o.end), py(v)).lineWidth(1).dash(4, { space: 3 }).strokeColor(colour).stroke().undash();
    doc.fillColor(colour).text(label, px(o.end) - 90, py(v) - 9, { width: 88, align: 'right', lineBreak: false });
  };
  line(o.target, '#1b7f3b', `target ${o.target} %`);
  if (o.atRisk !== null) line(o.atRisk, '#a05a00', `at risk ${o.atRisk} %`);
  let started = false;
  for (const [t, v] of points) {
    if (v === null) {
      started = false;
      continue;
    }
    if (started) doc.lineTo(px(t), py(v));
    else doc.moveTo(px(t), py(v));
    started = true;
  }
  if (values.length) doc.lineWidth(1.6).strokeColor(o.colour).stroke();
  if (!values.length)
    doc
      .fillColor('#777777')
      .fontSize(9)
      .text('no measurement counted in this period', box.x + 34, box.y + box.h / 2 - 5, { width: box.w - 40, align: 'center' });
}
