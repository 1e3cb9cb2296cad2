/**
 * The dashboard's only way to data: the HTTP API with the operator's bearer token, kept for the
 * browser tab (sessionStorage) — or, when "keep me signed in" was ticked, in localStorage.
 */
const KEY = 'slm.token';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(KEY) ?? localStorage.getItem(KEY);
}

export function setToken(value: string, keep: boolean): void {
  sessionStorage.setItem(KEY, value);
  if (keep) localStorage.setItem(KEY, value);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token() ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      message = ((await res.json()) as { error?: string }).error ?? message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiFailure(res.status, message);
  }
  return res;
}

export async function get<T>(path: string, query: Record<string, string | number | boolean | undefined> = {}): Promise<T> {
  const q = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return (await call('GET', q ? `${path}?${q}` : path)).json() as Promise<T>;
}

export async function patch<T>(path: string, body: unknown): Promise<T> {
  return (await call('PATCH', path, body)).json() as Promise<T>;
}

/** A file from the API (a report), handed to the browser as a download. */
export async function download(path: string, query: Record<string, string>, fileName: string): Promise<void> {
  const q = new URLSearchParams(query).toString();
  const blob = await (await call('GET', `${path}?${q}`)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
