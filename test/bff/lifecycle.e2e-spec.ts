import { connect } from 'node:net';
import Redis from 'ioredis';
import { rawRequest } from '../hardening/support';
import { call, startBff, TEST_KEYS } from '../support/bff';
import { freePort } from '../support/ports';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

describe('configuration and lifecycle', () => {
  let sim: SimHandle;

  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('invalid configuration stops the service before it listens, one line per problem, no secret echoed', async () => {
    const bff = await startBff({
      expectListen: false,
      env: {
        PORTAL_BASE_URL: 'not a url',
        PORTAL_APP_KEY: 'k',
        PORTAL_APP_SECRET: 'very-secret-value',
        PORTAL_BATCH_SIZE: '5000',
        API_KEYS: '{oops',
        PORT: 'x',
        REDIS_URL: 'http://x',
      },
    });
    expect(bff.proc.exitCode).toBe(1);
    const lines = bff.output().trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'asset-bff: configuration error: PORT: must be an integer',
        'asset-bff: configuration error: API_KEYS: is not valid JSON',
        expect.stringMatching(/^asset-bff: configuration error: PORTAL_BASE_URL: /),
        expect.stringMatching(/^asset-bff: configuration error: PORTAL_BATCH_SIZE: /),
        expect.stringMatching(/^asset-bff: configuration error: REDIS_URL: /),
      ]),
    );
    expect(lines.every((l) => l.startsWith('asset-bff: configuration error: '))).toBe(true);
    expect(bff.output()).not.toContain('very-secret-value');
  });

  it('without Redis settings it uses the in-process cache and says so', async () => {
    const bff = await startBff({ sim, env: { REDIS_URL: undefined } });
    try {
      expect(bff.output()).toMatch(/in-process LRU/);
      const first = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key: TEST_KEYS.reader });
      const second = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key: TEST_KEYS.reader });
      expect([first.headers.get('x-cache'), second.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
      expect((await call(bff.url, 'GET', '/health/ready')).body).toEqual({ status: 'ok', redis: 'none', upstream: 'up' });
    } finally {
      await bff.stop();
    }
  });

  it('SIGTERM: readiness goes 503, the request in flight completes, then the process exits 0', async () => {
    const bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(6), SHUTDOWN_DRAIN_MS: '800' } });
    await sim.admin.setFault('assetList', { latencyMs: 600 });
    const inFlight = call(bff.url, 'GET', '/v1/orgs/o1/users/u0019/assets', { key: TEST_KEYS.reader });
    await new Promise((r) => setTimeout(r, 150));
    const exit = bff.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const ready = await call(bff.url, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('draining');
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body.assets).toHaveLength(10);
    expect(await exit).toBe(0);
    await sim.admin.clearFaults();
  });

  it('SIGTERM: a request arriving on an open connection while the server closes gets 503 SHUTTING_DOWN as problem+json', async () => {
    const bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(6), SHUTDOWN_DRAIN_MS: '100' } });
    await sim.admin.setFault('assetList', { latencyMs: 1500 });
    const { port } = new URL(bff.url);
    const socket = connect(Number(port), '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    const closed = new Promise((r) => socket.on('close', r));
    const get = (path: string, id: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Api-Key: ${TEST_KEYS.reader}\r\nX-Request-Id: ${id}\r\n\r\n`;
    // The first request keeps the connection busy past the drain, so it stays open while the server closes.
    socket.write(get('/v1/orgs/o1/users/u0020/assets', 'first-request'));
    // A second connection, kept busy the same way, asks for liveness while the server closes.
    const probe = connect(Number(port), '127.0.0.1');
    let probeText = '';
    probe.on('data', (d: Buffer) => (probeText += d.toString()));
    probe.write(get('/v1/orgs/o1/users/u0022/assets', 'probe-first'));
    await new Promise((r) => setTimeout(r, 150));
    const exit = bff.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 600));
    socket.write(get('/v1/orgs/o1/users/u0021/assets', 'late-request'));
    probe.write(get('/health/live', 'late-live'));
    await closed;
    await new Promise((r) => (probe.destroyed ? r(undefined) : probe.on('close', r)));
    expect(await exit).toBe(0);
    await sim.admin.clearFaults();
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200 /);
    const late = answers[1];
    expect(late).toMatch(/^HTTP\/1\.1 503 /);
    expect(late).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(late).toMatch(/\r\nx-request-id: late-request\r\n/i);
    expect(late).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(JSON.parse(late.slice(late.indexOf('\r\n\r\n') + 4)).code).toBe('SHUTTING_DOWN');
    // Liveness still answers 200 while the process runs.
    const probed = probeText.split(/(?=HTTP\/1\.1 )/);
    expect(probed).toHaveLength(2);
    expect(probed[1]).toMatch(/^HTTP\/1\.1 200 /);
    expect(probed[1]).toMatch(/\r\nx-request-id: late-live\r\n/i);
  });

  it('rate limits per caller across instances with 429 and Retry-After', async () => {
    const env = { REDIS_URL: await cleanRedisDb(7), RATE_LIMIT_PER_S: '5' };
    const [a, b] = await Promise.all([startBff({ sim, env }), startBff({ sim, env })]);
    try {
      // Align to the start of a one-second window so that all requests fall into it.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      const rs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => call((i % 2 ? a : b).url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key: TEST_KEYS.reader })),
      );
      const statuses = rs.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(3);
      // Counted together per instance and turn, each admitted request still has its own place in the shared count.
      const remaining = rs.filter((r) => r.status === 200).map((r) => Number(r.headers.get('ratelimit-remaining')));
      expect(remaining.sort()).toEqual([0, 1, 2, 3, 4]);
      const limited = rs.find((r) => r.status === 429);
      expect(limited?.body.code).toBe('RATE_LIMITED');
      expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another caller has its own budget.
      expect((await call(a.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key: TEST_KEYS.admin })).status).toBe(200);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('counts the requests that arrive while a count is in flight together, each in its own place', async () => {
    const url = await cleanRedisDb(7);
    const bff = await startBff({ sim, env: { REDIS_URL: url, RATE_LIMIT_PER_S: '1000' } });
    const redis = new Redis(url);
    const read = (): ReturnType<typeof call> => call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key: TEST_KEYS.reader });
    const scriptCalls = async (): Promise<number> => {
      const stats = await redis.info('commandstats');
      return [...stats.matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    try {
      expect((await read()).status).toBe(200); // the user cached and the count script loaded
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      const before = await scriptCalls();
      // Redis holds the first count for a while (below the rate limit's command timeout): the requests sent meanwhile wait for it.
      await redis.call('CLIENT', 'PAUSE', '50', 'WRITE');
      const rs = await Promise.all(Array.from({ length: 30 }, read));
      expect(rs.map((r) => r.status)).toEqual(Array(30).fill(200));
      const remaining = rs.map((r) => Number(r.headers.get('ratelimit-remaining'))).sort((x, y) => x - y);
      expect(remaining).toEqual(Array.from({ length: 30 }, (_, i) => 970 + i));
      // One count for the first turn's requests, one for those that came while it was held (a late one or two may make more).
      const calls = (await scriptCalls()) - before;
      expect(calls).toBeGreaterThanOrEqual(2);
      expect(calls).toBeLessThanOrEqual(4);
    } finally {
      redis.disconnect();
      await bff.stop();
    }
  });

  it('rate limits per instance while Redis does not answer, each request in its own place', async () => {
    // Nothing listens on the port: the cache and the rate limit find Redis down from the start.
    const bff = await startBff({ sim, env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}/0`, RATE_LIMIT_PER_S: '4' } });
    try {
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      const rs = await Promise.all(Array.from({ length: 7 }, () => call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key: TEST_KEYS.reader })));
      expect(rs.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 429, 429, 429]);
      const remaining = rs.filter((r) => r.status === 200).map((r) => Number(r.headers.get('ratelimit-remaining')));
      expect(remaining.sort()).toEqual([0, 1, 2, 3]);
    } finally {
      await bff.stop();
    }
  });

  it('a cached read (HIT) has the headers and bytes of the MISS, and is counted', async () => {
    const bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(9) } });
    const countOf = async (): Promise<number> => {
      const text = await (await fetch(`${bff.url}/metrics`)).text();
      const m = /abff_http_request_duration_seconds_count\{method="GET",route="\/v1\/orgs\/:orgId\/users\/:userId\/assets",status="200"\} (\d+)/.exec(text);
      return m ? Number(m[1]) : 0;
    };
    try {
      const path = '/v1/orgs/o2/users/u0101/assets?lang=zh_CN';
      // A MISS, then HITs from the prepared in-process body.
      const miss = await call(bff.url, 'GET', path, { key: TEST_KEYS.reader });
      expect(miss.headers.get('x-cache')).toBe('MISS');
      const before = await countOf();
      const hit = await call(bff.url, 'GET', path, { key: TEST_KEYS.reader, headers: { 'x-request-id': 'trace-raw-1' } });
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(hit.headers.get('x-request-id')).toBe('trace-raw-1');
      expect(hit.text).toBe(miss.text);
      const names = (h: Headers): string[] => [...h.keys()].filter((k) => !['date', 'keep-alive', 'connection'].includes(k)).sort();
      expect(names(hit.headers)).toEqual(names(miss.headers));
      for (const h of ['content-type', 'content-security-policy', 'x-content-type-options', 'strict-transport-security'])
        expect([h, hit.headers.get(h)]).toEqual([h, miss.headers.get(h)]);
      expect(await countOf()).toBe(before + 1);
      // A bad lang, an unknown key and HEAD on the same route.
      expect((await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets?lang=@@', { key: TEST_KEYS.reader })).body.code).toBe('VALIDATION_FAILED');
      expect((await call(bff.url, 'GET', path, { key: 'not-a-key' })).status).toBe(401);
      expect((await fetch(`${bff.url}${path}`, { method: 'HEAD', headers: { 'x-api-key': TEST_KEYS.reader } })).status).toBe(200);
      // Header names in any case; a key or request id sent twice (node joins the copies) is no valid one.
      const counted = await countOf();
      const upper = await rawRequest(bff.url, 'GET', path, ['X-API-KEY', TEST_KEYS.reader, 'X-Request-Id', 'trace-raw-2']);
      expect([upper.status, upper.headers['x-cache'], upper.headers['x-request-id'], upper.text]).toEqual([200, 'HIT', 'trace-raw-2', miss.text]);
      expect(await countOf()).toBe(counted + 1);
      const twoKeys = await rawRequest(bff.url, 'GET', path, ['x-api-key', TEST_KEYS.reader, 'x-api-key', TEST_KEYS.reader]);
      expect([twoKeys.status, twoKeys.body.code]).toEqual([401, 'UNAUTHENTICATED']);
      const twoIds = await rawRequest(bff.url, 'GET', path, ['x-api-key', TEST_KEYS.reader, 'x-request-id', 'a-1', 'x-request-id', 'b-2']);
      expect([twoIds.status, twoIds.headers['x-cache'], twoIds.text]).toEqual([200, 'HIT', miss.text]);
      expect(twoIds.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const byHeader = await rawRequest(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', ['x-api-key', TEST_KEYS.reader, 'Accept-Language', 'zh-CN']);
      expect([byHeader.status, byHeader.text]).toEqual([200, miss.text]);
      const bypass = await rawRequest(bff.url, 'GET', path, ['x-api-key', TEST_KEYS.reader, 'Cache-Control', 'no-cache']);
      expect([bypass.status, bypass.headers['x-cache'], bypass.text]).toEqual([200, 'MISS', miss.text]);
    } finally {
      await bff.stop();
    }
  });

  it('CORS allows only configured origins; security headers are set', async () => {
    const bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(8), CORS_ORIGINS: 'http://app.example.test' } });
    try {
      const ok = await fetch(`${bff.url}/v1/me/assets`, {
        method: 'OPTIONS',
        headers: { origin: 'http://app.example.test', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://app.example.test');
      const evil = await fetch(`${bff.url}/v1/me/assets`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.test', 'access-control-request-method': 'GET' },
      });
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
      // A browser GET of the hot route (Origin set) takes the full pipeline: CORS headers, same body as the hot path.
      const hot = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key: TEST_KEYS.reader });
      const cors = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key: TEST_KEYS.reader, headers: { origin: 'http://app.example.test' } });
      expect(cors.status).toBe(200);
      expect(cors.headers.get('access-control-allow-origin')).toBe('http://app.example.test');
      expect(cors.headers.get('access-control-expose-headers')).toMatch(/X-Cache/i);
      // An allowed origin is echoed, so every answer of a CORS instance is keyed by Origin too (with or without one).
      expect(cors.headers.get('vary')).toBe('Origin, Accept-Encoding, Accept-Language');
      expect(hot.headers.get('vary')).toBe('Origin, Accept-Encoding, Accept-Language');
      expect(cors.text).toBe(hot.text);
      expect(hot.headers.get('access-control-allow-origin')).toBeNull();
      // Errors from the access stage and the router reach the browser readable: the CORS hook runs before them.
      const origin = { origin: 'http://app.example.test' };
      const denied = [
        await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { headers: origin }),
        await call(bff.url, 'DELETE', '/v1/orgs/o2/users/u0101/cache', { key: TEST_KEYS.reader, headers: origin }),
        await call(bff.url, 'GET', '/v1/no-such-route', { key: TEST_KEYS.reader, headers: origin }),
      ];
      expect(denied.map((r) => [r.status, r.headers.get('access-control-allow-origin')])).toEqual([
        [401, 'http://app.example.test'],
        [403, 'http://app.example.test'],
        [404, 'http://app.example.test'],
      ]);
      for (const h of ['x-content-type-options', 'content-security-policy', 'x-request-id', 'x-cache', 'age']) {
        expect([h, hot.headers.get(h) !== null]).toEqual([h, true]);
        expect([h, cors.headers.get(h) !== null]).toEqual([h, true]);
      }
      const live = await fetch(`${bff.url}/health/live`);
      expect(live.headers.get('x-content-type-options')).toBe('nosniff');
      expect(live.headers.get('x-frame-options')).toBeTruthy();
      // JSON answers carry the REST set; the Swagger UI (HTML) keeps helmet's document set.
      for (const h of [hot.headers, cors.headers, live.headers]) {
        expect(h.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
        expect(h.get('x-frame-options')).toBe('DENY');
        expect(h.get('strict-transport-security')).toMatch(/max-age=\d+/);
        for (const gone of ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-download-options', 'x-xss-protection'])
          expect([gone, h.get(gone)]).toEqual([gone, null]);
      }
      const docs = await fetch(`${bff.url}/docs`);
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/text\/html/);
      expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self' 'unsafe-inline'/);
      expect(docs.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(docs.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect((await fetch(`${bff.url}/docs-json`)).headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await bff.stop();
    }
  });
});
