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
import nodemailer from 'nodemailer';
import { request } from 'undici';
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

export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function createActionActivities({ db, settings }: { db: Db; settings: ActionSettings }) {
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
    let status: number;
    try {
      const res = await request(url, { method: 'POST', body, headers, headersTimeout: settings.timeoutMs, bodyTimeout: settings.timeoutMs });
      status = res.statusCode;
      await res.body.dump();
    } catch (err) {
      throw ApplicationFailure.retryable(`webhook ${hostOf(url)} unreachable: ${(err as Error).message}`, ActionFailure.Unreachable);
    }
    if (status >= 200 && status < 300) return `HTTP ${status}`;
    const message = `webhook ${hostOf(url)} answered HTTP ${status}`;
    if (status === 408 || status === 429 || status >= 500) throw ApplicationFailure.retryable(message, ActionFailure.Unreachable);
    throw ApplicationFailure.nonRetryable(message, ActionFailure.Rejected);
  }

  return {
    async notifyWebhook(req: { key: string; url: string; payload: unknown }): Promise<string> {
      return once(req.key, () => post(req.url, req.key, req.payload));
    },

    async notifyEmail(req: { key: string; to: string[]; subject: string; text: string }): Promise<string> {
      if (!settings.smtpUrl) throw ApplicationFailure.nonRetryable('e-mail notification needs SLM_SMTP_URL', ActionFailure.NotConfigured);
      const smtpUrl = settings.smtpUrl;
      return once(req.key, async () => {
        const transport = nodemailer.createTransport({ url: smtpUrl, connectionTimeout: settings.timeoutMs, greetingTimeout: settings.timeoutMs, socketTimeout: settings.timeoutMs });
        try {
          const info = await transport.sendMail({
            from: settings.smtpFrom,
            to: req.to,
            subject: req.subject,
            text: req.text,
            messageId: `<${req.key.replace(/[^A-Za-z0-9._-]/g, '.')}@temporal-slm>`,
          });
          return `sent to ${req.to.join(', ')} (${info.response.split('\n')[0]})`;
        } catch (err) {
          // nodemailer's messages carry the server's reply, never the URL's credentials.
          throw ApplicationFailure.retryable(`SMTP delivery failed: ${(err as Error).message}`, ActionFailure.Unreachable);
        } finally {
          transport.close();
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
