/**
 * SNOW over HTTPS with a private CA, and through an HTTP CONNECT proxy on loopback (the seed's
 * BypassProxy, HTTPS_PROXY and NO_PROXY), with the real TMF client against the emulator behind a TLS
 * front. Certificates are made with openssl for the run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { bypassesProxy, type TmfClient } from '../../src/clients/tmf';
import { toServiceProblem } from '../../src/domain/snow/serviceProblem';
import type { Emulator } from '../../src/emulator/server';
import { tmfClientFromConfig } from '../../src/workers/wiring';
import { env, startTestEmulator, testConfig } from '../support/harness';

let emulator: Emulator;
let front: https.Server;
let proxy: http.Server;
let httpsUrl: string;
let proxyUrl: string;
let caFile: string;
const tunnels: string[] = [];

function makeCertificates(dir: string): { key: string; cert: string; ca: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=temporal-slm test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  return { key: fs.readFileSync(path.join(dir, 'server.key'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'server.pem'), 'utf8'), ca: path.join(dir, 'ca.pem') };
}

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(env('SLM_TEST_DIR'), 'tls-'));
  const certs = makeCertificates(dir);
  caFile = certs.ca;
  emulator = await startTestEmulator();
  const upstream = new URL(emulator.url);
  // A TLS front for the emulator, as a real SNOW would be.
  front = https.createServer({ key: certs.key, cert: certs.cert }, (req, res) => {
    const fwd = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  httpsUrl = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
  // A CONNECT proxy that records every tunnel.
  proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const up = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  front?.closeAllConnections();
  proxy?.closeAllConnections?.();
  await new Promise((r) => front?.close(r));
  await new Promise((r) => proxy?.close(r));
  await emulator?.close();
});

const client = (overrides: Record<string, string>) => tmfClientFromConfig(testConfig(overrides), httpsUrl);

async function create(c: TmfClient, id: string) {
  try {
    return await c.createProblem(toServiceProblem({ id, state: 'New', priority: 2 }));
  } finally {
    await c.close();
  }
}

it('trusts SNOW through SNOW_CA_FILE, and refuses an untrusted certificate with a clear, final error', async () => {
  const ref = await create(client({ SNOW_CA_FILE: caFile }), 'TLS-1');
  expect(emulator.problems.get(ref.id)).toMatchObject({ correlationId: 'ticket:TLS-1' });

  const err = await create(client({}), 'TLS-2').then(
    () => null,
    (e: ApplicationFailure) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect(err).toMatchObject({ type: 'TmfTls', nonRetryable: true });
  expect(err!.message).toMatch(/SNOW's TLS certificate is not trusted \(\w+\); set SNOW_CA_FILE/);

  expect(() => client({ SNOW_CA_FILE: path.join(path.dirname(caFile), 'missing.pem') })).toThrow(/^SNOW_CA_FILE .*missing\.pem cannot be read: ENOENT$/);
});

it('tunnels through an HTTP CONNECT proxy, from SNOW_PROXY or HTTPS_PROXY, unless NO_PROXY or BypassProxy says not to', async () => {
  tunnels.length = 0;
  await create(client({ SNOW_CA_FILE: caFile, SNOW_PROXY: proxyUrl }), 'PROXY-1');
  await create(client({ SNOW_CA_FILE: caFile, HTTPS_PROXY: proxyUrl }), 'PROXY-2');
  const target = new URL(httpsUrl).host;
  expect(tunnels).toEqual([target, target]);

  await create(client({ SNOW_CA_FILE: caFile, HTTPS_PROXY: proxyUrl, NO_PROXY: 'localhost,127.0.0.1' }), 'PROXY-3');
  await create(client({ SNOW_CA_FILE: caFile, SNOW_PROXY: proxyUrl, SNOW_BYPASS_PROXY: 'true' }), 'PROXY-4');
  expect(tunnels).toHaveLength(2);
  expect([...emulator.problems.values()].filter((p) => String(p.correlationId).startsWith('ticket:PROXY-'))).toHaveLength(4);
});

it('matches NO_PROXY entries by host, domain suffix, port and wildcard', () => {
  const u = (s: string) => new URL(s);
  expect(bypassesProxy(u('https://snow.example.com/x'), 'example.com')).toBe(true);
  expect(bypassesProxy(u('https://snow.example.com/x'), '.example.com')).toBe(true);
  expect(bypassesProxy(u('https://example.org/x'), 'example.com')).toBe(false);
  expect(bypassesProxy(u('https://snow.example.com:8443/x'), 'snow.example.com:443')).toBe(false);
  expect(bypassesProxy(u('https://snow.example.com/x'), 'snow.example.com:443')).toBe(true);
  expect(bypassesProxy(u('http://10.1.2.3/x'), 'localhost, *')).toBe(true);
  expect(bypassesProxy(u('http://10.1.2.3/x'), '')).toBe(false);
});
