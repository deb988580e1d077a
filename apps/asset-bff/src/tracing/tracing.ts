import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiagLogLevel, DiagLogger, Tracer, diag, propagation, trace } from '@opentelemetry/api';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import { AppConfig } from '../config/app-config';

/** Name of the tracer of the service's own spans (the instrumentation scope). */
export const TRACER_NAME = 'asset-bff';
/** Path of the traces signal under OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP specification). */
const TRACES_PATH = '/v1/traces';
/** At most one line per this long about spans the SDK could not export (a collector down fails every batch). */
const EXPORT_WARNING_EVERY_MS = 60_000;
/** Longest a stopping service waits for its last spans to leave (an unreachable collector must not hold the exit). */
const SHUTDOWN_FLUSH_MS = 2_000;
/** The SDK's messages are cut to this length: an exporter error may carry a whole answer body. */
const WARNING_MAX_CHARS = 500;

/** The running tracing pipeline; absent when tracing is off. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Where spans go and how they are sampled, for the start-up log (no credentials of the URL). */
  readonly summary: string;
  /** Exports the spans still buffered (waiting SHUTDOWN_FLUSH_MS at most), then stops. */
  shutdown(): Promise<void>;
}

/** Where spans are exported, or undefined when tracing is off (no endpoint set, or OTEL_SDK_DISABLED). */
export function tracesUrl(c: AppConfig): string | undefined {
  if (c.OTEL_SDK_DISABLED) return undefined;
  if (c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (c.OTEL_EXPORTER_OTLP_ENDPOINT) return c.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '') + TRACES_PATH;
  return undefined;
}

/** The service's tracer when tracing is on, for the parts that make spans (portal client); undefined otherwise. */
export const tracerOf = (c: AppConfig): Tracer | undefined => (tracesUrl(c) ? trace.getTracer(TRACER_NAME) : undefined);

/**
 * Starts the OpenTelemetry SDK when an OTLP endpoint is configured: a batching exporter over OTLP/HTTP, the
 * configured sampler, W3C trace context, and the AsyncLocalStorage context manager, all registered globally.
 * With tracing off nothing is loaded or registered: the API's no-op tracer and context manager stay in place.
 */
export async function startTracing(c: AppConfig): Promise<Tracing | undefined> {
  const url = tracesUrl(c);
  if (!url) return undefined;
  // Loaded only when on, so that a service without tracing carries none of the SDK.
  const { NodeTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const exporter =
    c.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json'
      ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url })
      : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: c.OTEL_SERVICE_NAME }),
    sampler: await samplerOf(c),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // Only the trace context crosses to the portal: baggage a caller sent is not forwarded.
  provider.register({ propagator: new W3CTraceContextPropagator() });
  diag.setLogger(throttledWarnings(new Logger('Tracing')), DiagLogLevel.WARN);
  const where = new URL(url);
  return {
    tracer: trace.getTracer(TRACER_NAME),
    summary: `OTLP ${c.OTEL_EXPORTER_OTLP_PROTOCOL} to ${where.origin}${where.pathname}, sampler ${c.OTEL_TRACES_SAMPLER}${c.OTEL_TRACES_SAMPLER_ARG === undefined ? '' : ` ${c.OTEL_TRACES_SAMPLER_ARG}`}`,
    shutdown: async () => {
      await Promise.race([provider.shutdown(), sleep(SHUTDOWN_FLUSH_MS, undefined, { ref: false })]);
      trace.disable();
      propagation.disable();
    },
  };
}

/** The SDK's own warnings and errors (failed exports) as service warnings, at most one per EXPORT_WARNING_EVERY_MS. */
function throttledWarnings(logger: Logger): DiagLogger {
  let last = -Infinity;
  let dropped = 0;
  const warn = (message: string): void => {
    const now = performance.now();
    if (now - last < EXPORT_WARNING_EVERY_MS) {
      dropped += 1;
      return;
    }
    logger.warn(`tracing: ${message.slice(0, WARNING_MAX_CHARS)}${dropped ? ` (and ${dropped} more since the last line)` : ''}`);
    last = now;
    dropped = 0;
  };
  const ignore = (): void => undefined;
  return { error: warn, warn, info: ignore, debug: ignore, verbose: ignore };
}

/** OTEL_TRACES_SAMPLER with its argument (the ratio of the traceidratio samplers, 1 when not given). */
async function samplerOf(c: AppConfig): Promise<Sampler> {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = await import('@opentelemetry/sdk-trace-base');
  const ratio = new TraceIdRatioBasedSampler(c.OTEL_TRACES_SAMPLER_ARG ?? 1);
  switch (c.OTEL_TRACES_SAMPLER) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio });
  }
}
