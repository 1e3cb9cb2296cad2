/**
 * One line for a failure of Temporal, the database or the network, naming the cause and, where there
 * is one, what to do (DESIGN §4.6). gRPC errors carry a numeric `code` and the server's `details`;
 * PostgreSQL errors a five-character SQLSTATE `code`; Node's network errors an errno `code`.
 */
const GRPC = { NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16, DEADLINE_EXCEEDED: 4, INVALID_ARGUMENT: 3 } as const;

interface Causal {
  message?: string;
  code?: unknown;
  details?: unknown;
  cause?: unknown;
  name?: string;
}

/** The errors of the chain, outermost first (at most 10). */
function chain(err: unknown): Causal[] {
  const out: Causal[] = [];
  let e: unknown = err;
  while (e && typeof e === 'object' && out.length < 10) {
    out.push(e);
    e = (e as Causal).cause;
  }
  return out;
}

export function describeFailure(err: unknown, where: { temporalAddress?: string; namespace?: string } = {}): string {
  const errors = chain(err);
  const first = (errors[0]?.message ?? String(err)).split('\n')[0]!;
  const grpc = errors.find((e) => typeof e.code === 'number' && typeof e.details === 'string');
  if (grpc) {
    const details = String(grpc.details);
    const attr = /search attribute[^A-Za-z]*([A-Z][A-Za-z0-9_]+)/i.exec(details) ?? /(Slm[A-Za-z]+)/.exec(details);
    if (attr && /not (defined|found|registered)|unknown|no mapping|invalid/i.test(details)) {
      const ns = where.namespace ? `the namespace ${where.namespace}` : 'the namespace';
      return `${ns} has no search attribute ${attr[1]}: run \`slm setup\` to register the project's search attributes`;
    }
    if (grpc.code === GRPC.NOT_FOUND && /namespace/i.test(details)) {
      return `Temporal at ${where.temporalAddress ?? '?'} has no namespace "${where.namespace ?? '?'}": create it (temporal operator namespace create) or set TEMPORAL_NAMESPACE`;
    }
    if (grpc.code === GRPC.UNAVAILABLE || grpc.code === GRPC.DEADLINE_EXCEEDED) return `cannot reach Temporal at ${where.temporalAddress ?? '?'}: ${details}`;
    if (grpc.code === GRPC.UNAUTHENTICATED || grpc.code === GRPC.PERMISSION_DENIED) return `Temporal refused the request (${details}): check the namespace's credentials`;
    return `Temporal: ${details || first}`;
  }
  // An update the workflow refused: its own reason.
  const app = errors.find((e) => e.name === 'ApplicationFailure');
  if (app?.message) return app.message.split('\n')[0]!;
  const sys = errors.find((e) => typeof e.code === 'string');
  if (sys) {
    const code = sys.code as string;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') return `cannot connect: ${sys.message?.split('\n')[0] ?? code}`;
    if (/^[0-9A-Z]{5}$/.test(code)) return `database: ${sys.message?.split('\n')[0] ?? code} (SQLSTATE ${code})`;
  }
  return first;
}
