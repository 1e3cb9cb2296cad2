/**
 * Milestone actions that leave the engine: webhook notifications (JSON POST signed with HMAC-SHA256),
 * e-mail over SMTP (nodemailer) and the write-back of fields to the ticket's source.
 *
 * Each action carries an idempotency key (ticket, target, milestone, occurrence, action). The
 * workflow schedules an action once; an activity retried after a worker crash first looks its key
 * up in the action log and does not act again if it already did. Receivers get the key too
 * (`Idempotency-Key` header, the e-mail's Message-ID) to de-duplicate the one case left: a crash
 * between delivery and the log write.
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { httpFailure, type HttpFailureTypes } from '../clients/httpFailure';
import { smtpMail, type MailClient } from '../clients/mail';
import { undiciWebhooks, type WebhookClient } from '../clients/webhooks';
import type { Db } from '../db/client';
import { findAction, recordAction } from '../db/queries';

export interface ActionSettings {
  webhookSecret: string | null;
  smtpUrl: string | null;
  smtpFrom: string;
  sourceWebhook: string | null;
  timeoutMs: number;
}

export const ActionFailure = {
  Rejected: 'ActionRejected',
  NotConfigured: 'ActionNotConfigured',
  Unreachable: 'ActionUnreachable',
} as const;

/** A receiver's failed answer: busy or broken (retried), or a refusal (final; a conflict too). */
const WEBHOOK_FAILURE_TYPES: HttpFailureTypes = {
  rateLimited: ActionFailure.Unreachable,
  serverError: ActionFailure.Unreachable,
  conflict: ActionFailure.Rejected,
  unauthorized: ActionFailure.Rejected,
  notFound: ActionFailure.Rejected,
  rejected: ActionFailure.Rejected,
};

export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * `webhooks` and `mail` default to the real ones built from `settings` (undici, and nodemailer when
 * SLM_SMTP_URL is set); tests of pure behaviour pass their own.
 */
export function createActionActivities({
  db,
  settings,
  webhooks = undiciWebhooks(settings.timeoutMs),
  mail = settings.smtpUrl ? smtpMail(settings.smtpUrl, settings.timeoutMs) : null,
}: {
  db: Db;
  settings: ActionSettings;
  webhooks?: WebhookClient;
  mail?: MailClient | null;
}) {
  /** Runs `act` unless the log says it ran; records its outcome. Returns a short detail. */
  async function once(key: string, act: () => Promise<string>): Promise<string> {
    const done = await findAction(db, key);
    if (done) return done.detail ?? 'done';
    const detail = await act();
    await recordAction(db, key, 'done', detail);
    return detail;
  }

  async function post(url: string, key: string, payload: unknown): Promise<string> {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': key, 'user-agent': 'temporal-slm' };
    if (settings.webhookSecret) headers['x-slm-signature'] = signatureOf(settings.webhookSecret, body);
    let answer;
    try {
      answer = await webhooks.post(url, body, headers);
    } catch (err) {
      throw ApplicationFailure.retryable(`webhook ${hostOf(url)} unreachable: ${(err as Error).message}`, ActionFailure.Unreachable);
    }
    if (answer.status >= 200 && answer.status < 300) return `HTTP ${answer.status}`;
    throw httpFailure(WEBHOOK_FAILURE_TYPES, `webhook ${hostOf(url)} answered HTTP ${answer.status}`, answer.status, { retryAfter: answer.retryAfter, conflictIsFinal: true });
  }

  return {
    async notifyWebhook(req: { key: string; url: string; payload: unknown }): Promise<string> {
      return once(req.key, () => post(req.url, req.key, req.payload));
    },

    async notifyEmail(req: { key: string; to: string[]; subject: string; text: string }): Promise<string> {
      if (!mail) throw ApplicationFailure.nonRetryable('e-mail notification needs SLM_SMTP_URL', ActionFailure.NotConfigured);
      const smtp = mail;
      return once(req.key, async () => {
        try {
          const reply = await smtp.send({
            from: settings.smtpFrom,
            to: req.to,
            subject: req.subject,
            text: req.text,
            messageId: `<${req.key.replace(/[^A-Za-z0-9._-]/g, '.')}@temporal-slm>`,
          });
          return `sent to ${req.to.join(', ')} (${reply})`;
        } catch (err) {
          // nodemailer's messages carry the server's reply, never the URL's credentials.
          throw ApplicationFailure.retryable(`SMTP delivery failed: ${(err as Error).message}`, ActionFailure.Unreachable);
        }
      });
    },

    /** setField written back to the ticket's source, when it has a webhook. */
    async writeBackFields(req: { key: string; ticketId: string; fields: Record<string, unknown> }): Promise<string> {
      if (!settings.sourceWebhook) return 'no source webhook configured';
      const url = settings.sourceWebhook;
      return once(req.key, () => post(url, req.key, { ticketId: req.ticketId, fields: req.fields }));
    },
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'target';
  }
}
