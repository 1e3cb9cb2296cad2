/** Loopback receivers for milestone actions: an HTTP webhook receiver and an SMTP catcher. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedHook {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: unknown;
  /** When it arrived (ISO). */
  receivedAt: string;
}

export async function startWebhookReceiver(): Promise<{ url: string; hooks: ReceivedHook[]; respondWith: (status: number) => void; close(): Promise<void> }> {
  const hooks: ReceivedHook[] = [];
  let status = 200;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      hooks.push({ path: req.url ?? '', headers: req.headers, raw, body: raw ? JSON.parse(raw) : null, receivedAt: new Date().toISOString() });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hooks,
    respondWith: (s) => (status = s),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface CaughtMail {
  from: string;
  to: string[];
  data: string;
}

export async function startSmtpCatcher(): Promise<{ url: string; mails: CaughtMail[]; close(): Promise<void> }> {
  const mails: CaughtMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let data = '';
      stream.on('data', (d: Buffer) => (data += d.toString()));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data,
        });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise((r) => server.close(() => r())) };
}
