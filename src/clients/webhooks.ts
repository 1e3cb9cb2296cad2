/** Webhook receivers (milestone notices, the ticket source's write-backs) behind a small interface. */
import { request } from 'undici';

export interface WebhookAnswer {
  status: number;
  retryAfter?: string | string[] | undefined;
}

export interface WebhookClient {
  /** POSTs `body`; resolves with the answer's status, rejects when there is no answer (network, timeout). */
  post(url: string, body: string, headers: Record<string, string>): Promise<WebhookAnswer>;
}

/** Over undici, with the same timeout for the answer's headers and body. */
export function undiciWebhooks(timeoutMs: number): WebhookClient {
  return {
    async post(url, body, headers) {
      const res = await request(url, { method: 'POST', body, headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      await res.body.dump();
      return { status: res.statusCode, retryAfter: res.headers['retry-after'] };
    },
  };
}
