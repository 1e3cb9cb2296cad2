/**
 * The web dashboard's files (DESIGN §3.5): one HTML page, one script and one stylesheet, bundled from
 * `src/api/web/` with esbuild the first time they are asked for (about 100 ms) and then served from
 * memory — nothing is fetched from a CDN, so the dashboard works offline. The page itself holds no
 * data and needs no token; everything it shows comes from the API with the bearer token the operator
 * gives (the login form, or the `#token=` fragment of the ready banner's link, which never reaches a
 * server or a log).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const WEB = path.join(__dirname, 'web');

let built: Promise<Map<string, Asset>> | null = null;

/** The bundled script and stylesheet (built once per process). */
export function dashboardAssets(): Promise<Map<string, Asset>> {
  built ??= build().catch((err: unknown) => {
    built = null;
    throw err;
  });
  return built;
}

async function build(): Promise<Map<string, Asset>> {
  // Loaded here, not at module load: a worker process that serves no dashboard never pays for it.
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: { app: path.join(WEB, 'main.ts') },
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    write: false,
    outdir: '/assets',
    loader: { '.css': 'css' },
    legalComments: 'none',
    logLevel: 'silent',
  });
  const assets = new Map<string, Asset>();
  for (const f of out.outputFiles) {
    const name = `/assets/${path.basename(f.path)}`;
    const body = Buffer.from(f.contents);
    assets.set(name, { body, type: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8', etag: etagOf(body) });
  }
  const index = Buffer.from(INDEX_HTML, 'utf8');
  assets.set('/', { body: index, type: 'text/html; charset=utf-8', etag: etagOf(index) });
  return assets;
}

const etagOf = (body: Buffer) => `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>temporal-slm</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="#/">temporal-slm</a>
  <nav aria-label="Pages" id="nav"></nav>
  <div class="who" id="who"></div>
</header>
<main id="main" tabindex="-1"><p class="muted">Loading…</p></main>
<footer class="foot"><span id="live" role="status" aria-live="polite"></span></footer>
<script src="/assets/app.js" defer></script>
</body>
</html>
`;

/** Sends the page and its two files; a conditional request for an unchanged one gets 304. */
export function registerDashboard(app: FastifyInstance): void {
  const serve = (name: string) => async (req: { headers: Record<string, string | string[] | undefined> }, reply: FastifyReply) => {
    const asset = (await dashboardAssets()).get(name);
    if (!asset) return reply.code(404).send({ error: `no ${name}` });
    reply
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', name === '/' ? 'no-cache' : 'public, max-age=0, must-revalidate')
      .header('etag', asset.etag);
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  };
  const hidden = { schema: { hide: true } } as never;
  app.get('/', hidden, serve('/'));
  app.get('/assets/app.js', hidden, serve('/assets/app.js'));
  app.get('/assets/app.css', hidden, serve('/assets/app.css'));
}
