/**
 * A compliance percent's status against an agreement's levels (DESIGN §4.8): below `target` Breached,
 * below `atRisk` At Risk, else Compliant. Imports nothing, so the dashboard's browser code shares it.
 */
export type ComplianceStatus = 'Compliant' | 'AtRisk' | 'Breached';

export function statusFor(levels: { target: number; atRisk?: number | null | undefined }, percent: number | null): ComplianceStatus | null {
  if (percent === null) return null;
  if (percent < levels.target) return 'Breached';
  if (levels.atRisk !== undefined && levels.atRisk !== null && percent < levels.atRisk) return 'AtRisk';
  return 'Compliant';
}
