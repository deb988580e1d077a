import { createServer, IncomingMessage, Server } from 'node:http';

/** One span as the stub collector decoded it from OTLP/JSON (ids in hex, attributes flattened). */
export interface CollectedSpan {
  serviceName: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  events: { name: string; attributes: Record<string, unknown> }[];
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;

/** One POST the collector received. */
export interface CollectedPost {
  path: string;
  contentType: string;
  body: Buffer;
}

export interface OtlpCollector {
  /** Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  port: number;
  /** Every request received, whatever its path or method. */
  posts: CollectedPost[];
  /** The spans of every OTLP/JSON export received so far. */
  spans(): CollectedSpan[];
  stop(): Promise<void>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number; arrayValue?: { values?: AnyValue[] } };
type KeyValue = { key: string; value: AnyValue };

const valueOf = (v: AnyValue): unknown =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue ?? v.arrayValue?.values?.map(valueOf)));
const attrs = (kvs: KeyValue[] | undefined): Record<string, unknown> => Object.fromEntries((kvs ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/** Spans of one OTLP/JSON ExportTraceServiceRequest. */
function decodeJson(body: Buffer): CollectedSpan[] {
  const req = JSON.parse(body.toString('utf8')) as {
    resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: any[] }[] }[];
  };
  const out: CollectedSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const serviceName = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          serviceName,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId || undefined,
          name: s.name,
          kind: s.kind,
          attributes: attrs(s.attributes),
          links: (s.links ?? []).map((l: { traceId: string; spanId: string }) => ({ traceId: l.traceId, spanId: l.spanId })),
          events: (s.events ?? []).map((e: { name: string; attributes?: KeyValue[] }) => ({ name: e.name, attributes: attrs(e.attributes) })),
        });
      }
    }
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A stub OTLP/HTTP collector: records every request, answers 200 `{}` (an empty ExportTraceServiceResponse) and decodes
 * the OTLP/JSON ones. Listens on `port` (0: any free port) on 127.0.0.1.
 */
export async function startCollector(port = 0): Promise<OtlpCollector> {
  const posts: CollectedPost[] = [];
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      posts.push({ path: req.url ?? '', contentType: String(req.headers['content-type'] ?? ''), body });
      const proto = String(req.headers['content-type']).startsWith('application/x-protobuf');
      res.writeHead(200, { 'content-type': proto ? 'application/x-protobuf' : 'application/json' });
      res.end(proto ? Buffer.alloc(0) : '{}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    posts,
    spans: () => posts.filter((p) => p.path === '/v1/traces' && p.contentType.startsWith('application/json')).flatMap((p) => decodeJson(p.body)),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
