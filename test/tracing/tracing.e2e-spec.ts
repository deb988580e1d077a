import { randomBytes } from 'node:crypto';
import { SimCallRecord } from '@app/sim-contracts';
import { eventually } from '../cache/support/fake-portal';
import { BffHandle, call, logLines, startBff, TEST_KEYS } from '../support/bff';
import { CollectedSpan, OtlpCollector, SPAN_KIND, startCollector } from '../support/otlp-collector';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.reader;
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
/** A sampled W3C traceparent of a new trace, as an upstream caller sends it. */
const traceparent = (traceId: string, spanId: string): string => `00-${traceId}-${spanId}-01`;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

/** The portal client's log lines about calls to `path`. */
const upstreamLines = (out: string, path: string) => logLines(out).filter((l) => l.context === 'PortalClient' && String(l.msg).includes(path));

/** Walks up from a span to the first ancestor that is `ancestor` (true) or to the root (false). */
function descendsFrom(spans: CollectedSpan[], span: CollectedSpan, ancestor: CollectedSpan): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let cur: CollectedSpan | undefined = span;
  while (cur?.parentSpanId) {
    if (cur.parentSpanId === ancestor.spanId) return true;
    cur = byId.get(cur.parentSpanId);
  }
  return false;
}

const callsOf = async (sim: SimHandle, endpoint: SimCallRecord['endpoint']): Promise<SimCallRecord[]> =>
  (await sim.admin.counters()).log.filter((c) => c.endpoint === endpoint);

describe('tracing on (OTLP/HTTP JSON)', () => {
  let sim: SimHandle;
  let collector: OtlpCollector;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    collector = await startCollector();
    bff = await startBff({
      sim,
      env: {
        REDIS_URL: await cleanRedisDb(9),
        LOG_LEVEL: 'debug',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'asset-bff-under-test',
        // Spans leave soon after they end, so the test does not wait for the default 5 s batch.
        OTEL_BSP_SCHEDULE_DELAY: '50',
        // Wide enough that two requests sent together always share one micro-batch.
        PORTAL_BATCH_WINDOW_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await bff?.stop();
    await collector?.stop();
    await sim?.stop();
  });
  beforeEach(() => sim.admin.resetCounters());

  it('a read is a server span under the caller’s traceparent, its upstream calls client spans of that trace, and the portal gets both ids', async () => {
    const traceId = hex(16);
    const callerSpan = hex(8);
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets', {
      key,
      headers: { traceparent: traceparent(traceId, callerSpan), 'x-request-id': 'otel-read-1', 'cache-control': 'no-cache' },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-request-id')).toBe('otel-read-1');

    const ofTrace = () => collector.spans().filter((s) => s.traceId === traceId);
    await eventually(() => ofTrace().some((s) => s.kind === SPAN_KIND.server) && ofTrace().some((s) => s.kind === SPAN_KIND.client), 15_000, 'spans');
    const spans = ofTrace();
    const server = spans.find((s) => s.kind === SPAN_KIND.server)!;
    expect(server).toMatchObject({
      serviceName: 'asset-bff-under-test',
      parentSpanId: callerSpan,
      name: 'GET /v1/orgs/:orgId/users/:userId/assets',
      attributes: expect.objectContaining({
        'http.request.method': 'GET',
        'http.route': '/v1/orgs/:orgId/users/:userId/assets',
        'http.response.status_code': 200,
        'abff.cache': 'MISS',
        'abff.caller.kind': 'service',
        'abff.request_id': 'otel-read-1',
      }),
    });
    expect(server.events.map((e) => e.name)).toContain('cache.read');
    const merge = spans.find((s) => s.name === 'asset/list page merge');
    expect(merge?.parentSpanId).toBe(server.spanId);
    const clients = spans.filter((s) => s.kind === SPAN_KIND.client && s.attributes['abff.portal.endpoint'] === 'assetList');
    expect(clients).toHaveLength(1); // u0005 has 10 assets: one page
    expect(descendsFrom(spans, clients[0], server)).toBe(true);
    expect(clients[0].attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/app-portal-service/v2.2/user/asset/list',
      'http.response.status_code': 200,
      'abff.portal.outcome': 'ok',
    });

    // The portal saw the same trace (the client span as parent) and the caller's request id.
    const [portalCall] = await callsOf(sim, 'assetList');
    expect(portalCall.requestId).toBe('otel-read-1');
    const tp = TRACEPARENT.exec(portalCall.traceparent ?? '');
    expect(tp?.[1]).toBe(traceId);
    expect(tp?.[2]).toBe(clients[0].spanId);

    // Every log line about the upstream call carries the request id.
    const lines = upstreamLines(bff.output(), '/user/asset/list');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.requestId).toBe('otel-read-1');

    expect(bff.output()).toContain(`tracing on: OTLP http/json to ${collector.url}/v1/traces, sampler parentbased_always_on`);

    // Nothing exported names a credential.
    const exported = Buffer.concat(collector.posts.map((p) => p.body)).toString('utf8');
    expect(exported).not.toContain(key);
    expect(exported).not.toContain(sim.appSecret);
    expect(exported).not.toMatch(/apim-accesstoken|apim-signature|authorization|x-api-key|bearer/i);
  });

  it('a users/assetList call shared by two requests belongs to the one that started it and links to the other', async () => {
    const a = { traceId: hex(16), span: hex(8), id: 'otel-batch-a' };
    const b = { traceId: hex(16), span: hex(8), id: 'otel-batch-b' };
    const check = (who: typeof a, userId: string) =>
      call(bff.url, 'POST', '/v1/orgs/o1/access-checks', {
        key,
        body: { checks: [{ userId, assetId: 'o1-a0011' }] },
        headers: { traceparent: traceparent(who.traceId, who.span), 'x-request-id': who.id, 'cache-control': 'no-cache' },
      });
    const [ra, rb] = await Promise.all([check(a, 'u0006'), check(b, 'u0007')]);
    expect(ra.status).toBe(200);
    expect(rb.status).toBe(200);
    expect(ra.body.results[0].allowed).toBe(true);
    expect(rb.body.results[0].allowed).toBe(false);

    const calls = await callsOf(sim, 'usersAssetList');
    expect(calls).toHaveLength(1);
    expect(calls[0].userCount).toBe(2);
    const [starter, other] = calls[0].requestId === a.id ? [a, b] : [b, a];
    expect(calls[0].requestId).toBe(starter.id);
    expect(TRACEPARENT.exec(calls[0].traceparent ?? '')?.[1]).toBe(starter.traceId);

    const serverOf = (t: typeof a) => collector.spans().find((s) => s.traceId === t.traceId && s.kind === SPAN_KIND.server);
    const clientOf = () => collector.spans().find((s) => s.traceId === starter.traceId && s.attributes['abff.portal.endpoint'] === 'usersAssetList');
    await eventually(() => !!serverOf(a) && !!serverOf(b) && !!clientOf(), 15_000, 'batch spans');
    const client = clientOf()!;
    expect(client.kind).toBe(SPAN_KIND.client);
    expect(client.attributes['abff.portal.shared_by']).toBe(2);
    expect(client.links).toEqual([{ traceId: other.traceId, spanId: serverOf(other)!.spanId }]);
    expect(descendsFrom(collector.spans(), client, serverOf(starter)!)).toBe(true);
    expect(serverOf(a)!.parentSpanId).toBe(a.span);
  });

  it('a user caller’s tree read: caller kind user, the portal gets the trace, no token in any span', async () => {
    const traceId = hex(16);
    const token = await sim.admin.userToken('u0101', 'o2');
    const r = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, {
      token,
      headers: { traceparent: traceparent(traceId, hex(8)), 'x-request-id': 'otel-tree-1' },
    });
    expect(r.status).toBe(200);
    const [treeCall] = await callsOf(sim, 'appAssetTree');
    expect(treeCall.requestId).toBe('otel-tree-1');
    expect(TRACEPARENT.exec(treeCall.traceparent ?? '')?.[1]).toBe(traceId);
    const server = () => collector.spans().find((s) => s.traceId === traceId && s.kind === SPAN_KIND.server);
    const client = () => collector.spans().find((s) => s.traceId === traceId && s.attributes['abff.portal.endpoint'] === 'appAssetTree');
    await eventually(() => !!server() && !!client(), 15_000, 'tree spans');
    expect(server()!.attributes).toMatchObject({ 'abff.caller.kind': 'user', 'http.route': '/v1/apps/:accessKey/asset-tree' });
    expect(client()!.parentSpanId).toBe(server()!.spanId);
    const exported = Buffer.concat(collector.posts.map((p) => p.body)).toString('utf8');
    expect(exported).not.toContain(token);
    expect(exported).not.toContain(sim.accessKey);
  });

  it('a request without traceparent starts a trace of its own, and probes of health and metrics make no span', async () => {
    const r = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key, headers: { 'x-request-id': 'otel-root-1' } });
    expect(r.status).toBe(200);
    expect((await call(bff.url, 'GET', '/health/ready')).status).toBe(200);
    expect((await call(bff.url, 'GET', '/metrics')).status).toBe(200);
    const root = () => collector.spans().find((s) => s.attributes['abff.request_id'] === 'otel-root-1');
    await eventually(() => !!root(), 15_000, 'root span');
    expect(root()!.parentSpanId).toBeUndefined();
    expect(collector.spans().filter((s) => ['/health/ready', '/health/live', '/metrics'].includes(String(s.attributes['http.route'])))).toEqual([]);
  });
});

describe('tracing on (OTLP/HTTP protobuf, the default protocol)', () => {
  let sim: SimHandle;
  let collector: OtlpCollector;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    collector = await startCollector();
    bff = await startBff({
      sim,
      env: { REDIS_URL: await cleanRedisDb(9), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/custom/traces`, OTEL_BSP_SCHEDULE_DELAY: '50' },
    });
  });
  afterAll(async () => {
    await bff?.stop();
    await collector?.stop();
    await sim?.stop();
  });

  it('exports protobuf to the traces endpoint as given, with the trace of the request in it', async () => {
    const traceId = hex(16);
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0006/assets', {
      key,
      headers: { traceparent: traceparent(traceId, hex(8)), 'cache-control': 'no-cache' },
    });
    expect(r.status).toBe(200);
    const raw = Buffer.from(traceId, 'hex');
    await eventually(() => collector.posts.some((p) => p.body.includes(raw)), 15_000, 'protobuf export');
    const post = collector.posts.find((p) => p.body.includes(raw))!;
    expect(post.path).toBe('/custom/traces');
    expect(post.contentType).toBe('application/x-protobuf');
    const tp = TRACEPARENT.exec((await callsOf(sim, 'assetList')).at(-1)?.traceparent ?? '');
    expect(tp?.[1]).toBe(traceId);
  });
});

describe('tracing off (no OTEL_* set)', () => {
  let sim: SimHandle;
  let collector: OtlpCollector;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    // The OTLP/HTTP default endpoint (localhost:4318) when it is free: where an SDK left on would send.
    collector = await startCollector(4318).catch(() => startCollector());
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(9), LOG_LEVEL: 'debug', PORTAL_BATCH_WINDOW_MS: '1000' } });
  });
  afterAll(async () => {
    await bff?.stop();
    await collector?.stop();
    await sim?.stop();
  });
  beforeEach(() => sim.admin.resetCounters());

  it('the caller’s X-Request-Id still reaches the portal and the upstream log lines; no traceparent is sent', async () => {
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0007/assets', {
      key,
      headers: { traceparent: traceparent(hex(16), hex(8)), 'x-request-id': 'corr-off-1', 'cache-control': 'no-cache' },
    });
    expect(r.status).toBe(200);
    const [portalCall] = await callsOf(sim, 'assetList');
    expect(portalCall.requestId).toBe('corr-off-1');
    expect(portalCall.traceparent).toBeUndefined();
    const lines = upstreamLines(bff.output(), '/user/asset/list');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.requestId).toBe('corr-off-1');
  });

  it('a request without an id sends the one the service gave it; a shared batch call carries the id of one of its requests', async () => {
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key, headers: { 'cache-control': 'no-cache' } });
    expect(r.status).toBe(200);
    const given = r.headers.get('x-request-id');
    expect(given).toBeTruthy();
    expect((await callsOf(sim, 'assetList')).map((c) => c.requestId)).toEqual([given]);

    const check = (id: string, userId: string) =>
      call(bff.url, 'POST', '/v1/orgs/o1/access-checks', {
        key,
        body: { checks: [{ userId, assetId: 'o1-a0001' }] },
        headers: { 'x-request-id': id, 'cache-control': 'no-cache' },
      });
    const answers = await Promise.all([check('corr-off-a', 'u0009'), check('corr-off-b', 'u0010')]);
    for (const a of answers) expect(a.status).toBe(200);
    const calls = await callsOf(sim, 'usersAssetList');
    expect(calls).toHaveLength(1);
    expect(['corr-off-a', 'corr-off-b']).toContain(calls[0].requestId);
  });

  it('sends nothing to a collector, up to its exit', async () => {
    expect(await bff.stop()).toBe(0);
    expect(collector.posts).toEqual([]);
    expect(bff.output()).not.toContain('tracing on');
  });
});

describe('tracing on, collector unreachable', () => {
  let sim: SimHandle;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    const gone = await startCollector();
    await gone.stop();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(9), OTEL_EXPORTER_OTLP_ENDPOINT: gone.url, OTEL_BSP_SCHEDULE_DELAY: '50' } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  it('answers as usual and says once that spans could not be exported', async () => {
    const r = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0102/assets', { key, headers: { 'x-request-id': 'otel-lost-1' } });
    expect(r.status).toBe(200);
    const warnings = () => logLines(bff.output()).filter((l) => l.context === 'Tracing' && String(l.msg).startsWith('tracing: '));
    await eventually(() => warnings().length > 0, 15_000, 'export warning');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0].level).toBe(40);
    // Spans that cannot leave do not hold the shutdown past its bound.
    expect(await bff.stop()).toBe(0);
  });
});
