/** E-mail (milestone notices) behind a small interface, sent over SMTP with nodemailer. */
import nodemailer from 'nodemailer';

export interface MailMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** The idempotency key as Message-ID, so a receiver can drop a repeat. */
  messageId: string;
}

export interface MailClient {
  /** Sends; resolves with the server's first reply line, rejects with its reason. */
  send(message: MailMessage): Promise<string>;
}

/** SMTP at `url` (`smtp://user:pass@host:587`, `smtps://…`): a connection per message, closed after it. */
export function smtpMail(url: string, timeoutMs: number): MailClient {
  return {
    async send(m) {
      const transport = nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
      try {
        const info = await transport.sendMail(m);
        return info.response.split('\n')[0] ?? '';
      } finally {
        transport.close();
      }
    },
  };
}
