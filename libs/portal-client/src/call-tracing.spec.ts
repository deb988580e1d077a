import { HttpService } from '@nestjs/axios';
import { Span, context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { AxiosRequestConfig } from 'axios';
import { PortalPaths } from '@app/portal-contracts';
import { PortalClient } from './portal-client.service';
import { PortalClientOptions } from './portal-client.types';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');

/** A traced PortalClient over a scripted axios; `sent` keeps the headers of every request. */
function tracedClient(overrides: Partial<PortalClientOptions> = {}) {
  const sent: { path: string; headers: Record<string, string> }[] = [];
  const request = jest.fn(async (config: AxiosRequestConfig) => {
    const path = String(config.url).split('?')[0];
    sent.push({ path, headers: { ...(config.headers as Record<string, string>) } });
    if (path === PortalPaths.tokenGet) return { status: 200, headers: {}, data: { status: 0, data: { accessToken: 'app-token', expire: 7200 } } };
    const body = JSON.parse(String(config.data)) as { userIds: string[] };
    const data = { usersUserAssets: body.userIds.map((userId) => ({ userId, userAssetIds: [] })), userAssets: [] };
    return { status: 200, headers: {}, data: { code: 0, data } };
  });
  const http = { axiosRef: { request, defaults: {} } } as unknown as HttpService;
  const options: PortalClientOptions = {
    baseUrl: 'http://portal:8080',
    appKey: 'k',
    appSecret: 'unit-secret',
    timeoutMs: 1_000,
    concurrency: 4,
    batchSize: 10,
    pageSize: 2,
    batchWindowMs: 20,
    tracer,
    ...overrides,
  };
  return { client: new PortalClient(options, http), sent };
}

/** Runs `fn` as a request would: under its own active root span. */
const asRequest = <T>(name: string, fn: (span: Span) => Promise<T>): Promise<T> => tracer.startActiveSpan(name, (span) => fn(span).finally(() => span.end()));

describe('PortalClient tracing', () => {
  beforeAll(() => provider.register({ propagator: new W3CTraceContextPropagator() }));
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  it('a micro-batch shared by two requests: one call, its span in the first request’s trace, linked to the second', async () => {
    const { client, sent } = tracedClient();
    const spans: Span[] = [];
    await Promise.all([
      asRequest('a', (s) => (spans.push(s), client.getUserAssetsBatched('o', 'u1'))),
      asRequest('b', (s) => (spans.push(s), client.getUserAssetsBatched('o', 'u2'))),
    ]);
    const [a, b] = spans.map((s) => s.spanContext());
    const calls = sent.filter((c) => c.path === PortalPaths.usersAssetList);
    expect(calls).toHaveLength(1);
    const callSpan = exporter.getFinishedSpans().find((s) => s.name === 'POST usersAssetList')!;
    expect(callSpan.spanContext().traceId).toBe(a.traceId);
    expect(callSpan.parentSpanContext?.spanId).toBe(a.spanId);
    expect(callSpan.links.map((l) => l.context.spanId)).toEqual([b.spanId]);
    expect(callSpan.attributes).toMatchObject({
      'abff.portal.shared_by': 2,
      'server.address': 'portal',
      'server.port': 8080,
      'http.response.status_code': 200,
    });
    expect(calls[0].headers.traceparent).toBe(`00-${a.traceId}-${callSpan.spanContext().spanId}-01`);
  });

  it('without a tracer no span is made and no traceparent is sent', async () => {
    const { client, sent } = tracedClient({ tracer: undefined });
    await asRequest('a', () => client.getUsersAssets('o', ['u1']));
    expect(sent.every((c) => c.headers.traceparent === undefined)).toBe(true);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['a']);
  });
});
