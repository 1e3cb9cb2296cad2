/**
 * Bearer tokens of the HTTP API (DESIGN §4.9): `SLM_API_TOKEN` (one token, every tenant, admin) or
 * `SLM_API_TOKENS_FILE` (a YAML/JSON list of `{ token, tenant?, role, source?, name? }`); `npm start`
 * without either makes a development token under the data folder. Tokens are kept only as SHA-256
 * digests and compared in constant time; no token reaches history, logs or errors (errors name the
 * entry by its position or name).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config';
import { readStructuredFile } from '../infra/files';

export const ROLES = ['ingest', 'read', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiToken {
  /** How logs and errors name it: its `name`, else its position in the file. */
  name: string;
  role: Role;
  /** Bound to one tenant: ingest and reads are scoped to it. */
  tenant: string | null;
  /** Bound to one ticket source: only its events endpoint. */
  source: string | null;
  digest: Buffer;
  /** A stable key for per-client records (idempotency keys): a digest prefix, never the token. */
  principal: string;
}

const tokenEntry = z
  .object({
    token: z.string().min(16, 'at least 16 characters'),
    role: z.enum(ROLES),
    tenant: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
  })
  .strict();

export class TokenConfigError extends Error {
  override name = 'TokenConfigError';
}

const digestOf = (token: string) => crypto.createHash('sha256').update(token, 'utf8').digest();

function makeToken(token: string, role: Role, name: string, tenant: string | null = null, source: string | null = null): ApiToken {
  const digest = digestOf(token);
  return { name, role, tenant, source, digest, principal: digest.subarray(0, 12).toString('hex') };
}

/** The configured tokens; `dev` when neither variable is set and the caller may make one. */
export function loadTokens(
  config: Pick<Config, 'SLM_API_TOKEN' | 'SLM_API_TOKENS_FILE' | 'SLM_DATA_DIR'>,
  opts: { devToken: boolean },
): { tokens: ApiToken[]; devToken: string | null } {
  const tokens: ApiToken[] = [];
  if (config.SLM_API_TOKEN) tokens.push(makeToken(config.SLM_API_TOKEN, 'admin', 'SLM_API_TOKEN'));
  if (config.SLM_API_TOKENS_FILE) {
    let raw: unknown;
    try {
      raw = readStructuredFile(config.SLM_API_TOKENS_FILE, 'API tokens');
    } catch (err) {
      throw new TokenConfigError(`SLM_API_TOKENS_FILE: ${(err as Error).message.split('\n')[0]}`);
    }
    const list = Array.isArray(raw) ? raw : (raw as { tokens?: unknown } | null)?.tokens;
    if (!Array.isArray(list)) throw new TokenConfigError('SLM_API_TOKENS_FILE: expected a list of { token, role, tenant?, source?, name? }');
    list.forEach((entry, i) => {
      const parsed = tokenEntry.safeParse(entry);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        // The issue's path names the field; its message never quotes the value.
        throw new TokenConfigError(`SLM_API_TOKENS_FILE: entry ${i + 1}: ${issue.path.join('.') || '(entry)'}: ${issue.message}`);
      }
      const e = parsed.data;
      tokens.push(makeToken(e.token, e.role, e.name ?? `entry ${i + 1}`, e.tenant ?? null, e.source ?? null));
    });
  }
  if (tokens.length > 0) return { tokens, devToken: null };
  if (!opts.devToken) throw new TokenConfigError('no API token configured: set SLM_API_TOKEN or SLM_API_TOKENS_FILE');
  // A development token, kept under the data folder so that it survives restarts (readable by the owner only).
  const file = path.join(config.SLM_DATA_DIR, 'api-token');
  let dev: string;
  try {
    dev = fs.readFileSync(file, 'utf8').trim();
  } catch {
    dev = '';
  }
  if (dev.length < 16) {
    dev = `slm-dev-${crypto.randomBytes(24).toString('base64url')}`;
    fs.mkdirSync(config.SLM_DATA_DIR, { recursive: true });
    fs.writeFileSync(file, `${dev}\n`, { mode: 0o600 });
  }
  return { tokens: [makeToken(dev, 'admin', 'development token')], devToken: dev };
}

export type AuthResult = { ok: true; token: ApiToken } | { ok: false; status: 401; error: string };

/**
 * The token an `Authorization` header carries, compared with every configured digest in constant
 * time (the same work whether or not, and wherever, it matches).
 */
export function authenticate(tokens: ApiToken[], header: string | undefined): AuthResult {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return { ok: false, status: 401, error: header ? 'unauthorized: expected "Authorization: Bearer <token>"' : 'unauthorized: no bearer token' };
  const given = digestOf(m[1]!);
  let found: ApiToken | null = null;
  for (const t of tokens) if (crypto.timingSafeEqual(t.digest, given) && found === null) found = t;
  return found ? { ok: true, token: found } : { ok: false, status: 401, error: 'unauthorized: unknown token' };
}

/** Whether `token` may do what `need` names: admin everything, the others their own. */
export function allows(token: ApiToken, need: Role): boolean {
  return token.role === 'admin' || token.role === need;
}
