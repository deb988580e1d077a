import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { BffHandle, startBff } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const ROOT = join(__dirname, '..', '..');
const PAGE = join(__dirname, 'page');
/** Debian's Chromium: `.ci/run` installs it when missing. */
const CHROMIUM = '/usr/bin/chromium';
/** Chromium on a closed network: nothing of its own to fetch, no sandbox (root in CI), no GPU. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** The page's origin: the page, the client bundled for browsers, and the simulator's login forwarded under /portal. */
function pageServer(files: Record<string, { type: string; body: string }>, simUrl: string): Promise<Server> {
  const forward = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    const upstream = await fetch(simUrl + req.url!.slice('/portal'.length), { method: req.method, headers, body: Buffer.concat(chunks) });
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(Buffer.from(await upstream.arrayBuffer()));
  };
  const server = createServer((req, res) => {
    if (req.url!.startsWith('/portal/')) return void forward(req, res).catch(() => res.writeHead(502).end());
    const file = files[req.url!.split('?')[0]];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Issue #26, "proven in a real browser": headless Chromium runs a page that uses the built client across origins. */
describe('@asset-bff/client in a browser', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let server: Server;
  let browser: Browser;
  let pageOrigin: string;

  /** How many answers of `status` the service gave on /v1/me/assets (its request histogram). */
  const meAssetsAnswers = async (status: number) => {
    const text = await (await fetch(`${bff.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('abff_http_request_duration_seconds_count{') && l.includes('route="/v1/me/assets"') && l.includes(`status="${status}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  beforeAll(async () => {
    sim = await startSim();
    const bundle = await build({
      entryPoints: [join(ROOT, 'libs', 'asset-bff-client', 'dist', 'index.js')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'AssetBff',
      write: false,
    });
    server = await pageServer(
      {
        '/': { type: 'text/html', body: readFileSync(join(PAGE, 'index.html'), 'utf8') },
        '/app.js': { type: 'text/javascript', body: readFileSync(join(PAGE, 'app.js'), 'utf8') },
        '/asset-bff-client.js': { type: 'text/javascript', body: bundle.outputFiles[0].text },
      },
      sim.url,
    );
    pageOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(12), LOG_LEVEL: 'warn', CORS_ORIGINS: pageOrigin } });
    // playwright gives every launch a fresh profile of its own (a temporary user-data-dir).
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await bff?.stop();
    await sim?.stop();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  it('logs a user in, reads, pages and searches /v1/me/assets through CORS, and revalidates with 304s', async () => {
    await sim.admin.resetCounters();
    const page = await browser.newPage();
    const query = new URLSearchParams({ bff: bff.url, user: 'u0101', password: 'demo-password', org: 'o2', q: 'A0003', traceparent: TRACEPARENT });
    await page.goto(`${pageOrigin}/?${query}`);
    await page.locator('#out', { hasText: '"done":true' }).waitFor();
    const shown = JSON.parse((await page.textContent('#out'))!);
    const listed = await page.$$eval('#assets li', (lis) => lis.map((li) => li.textContent));
    await page.close();

    const ids = ['o2-a0001', 'o2-a0002', 'o2-a0003', 'o2-a0004', 'o2-a0005'];
    expect(shown.failed).toBeUndefined();
    expect(shown.first).toEqual({ total: 5, ids });
    expect(listed).toEqual(['Inverter 0001', 'Wind Turbine 0002', 'Meter 0003', 'Auth Unit 0004', 'Site 0005']);
    expect(shown.pages).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
    expect(shown.search).toEqual({ total: 1, ids: ['o2-a0003'] });
    expect(shown.againSame).toBe(true);
    // The exposed headers are readable across origins, and the browser hands its revalidated copy over as a 200.
    expect(shown.plain).toEqual([
      { status: 200, etag: expect.stringMatching(/^W\/"/), requestId: expect.any(String), total: 5 },
      { status: 200, etag: shown.plain[0].etag, requestId: expect.any(String), total: 5 },
    ]);
    expect(shown.error).toEqual({ isAssetBffError: true, status: 401, code: 'UNAUTHENTICATED', requestId: 'string' });

    // What the service saw: one 304 for the client's own revalidation and one for each plain re-read the
    // browser revalidated; and the portal was asked for the user's assets once, by the first read alone.
    expect(await meAssetsAnswers(304)).toBe(3);
    const counters = await sim.admin.counters();
    expect([counters.endpoints.login.calls, counters.endpoints.sessionSet.calls]).toEqual([1, 1]);
    expect(counters.endpoints.assetList.calls).toBe(1);
  });

  it('lets the page send every header the client may send, and read every header it reads', async () => {
    const sent = ['authorization', 'x-api-key', 'content-type', 'if-none-match', 'cache-control', 'x-consistency-token', 'traceparent', 'tracestate'];
    const preflight = await fetch(`${bff.url}/v1/me/assets`, {
      method: 'OPTIONS',
      headers: { origin: pageOrigin, 'access-control-request-method': 'GET', 'access-control-request-headers': sent.join(',') },
    });
    const allowed = preflight.headers
      .get('access-control-allow-headers')!
      .toLowerCase()
      .split(/\s*,\s*/);
    expect(sent.filter((h) => !allowed.includes(h))).toEqual([]);
    const read = await fetch(`${bff.url}/v1/me/assets`, { headers: { origin: pageOrigin } });
    const exposed = read.headers
      .get('access-control-expose-headers')!
      .toLowerCase()
      .split(/\s*,\s*/);
    const wanted = [
      'etag',
      'x-cache',
      'age',
      'x-request-id',
      'x-consistency-token',
      'retry-after',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
    ];
    expect(wanted.filter((h) => !exposed.includes(h))).toEqual([]);
  });
});
