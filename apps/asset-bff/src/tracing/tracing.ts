import { Tracer, propagation, trace } from '@opentelemetry/api';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Sampler } from '@opentelemetry/sdk-trace-base';
import { AppConfig } from '../config/app-config';

/** Name of the tracer of the service's own spans (the instrumentation scope). */
export const TRACER_NAME = 'asset-bff';
/** Path of the traces signal under OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP specification). */
const TRACES_PATH = '/v1/traces';

/** The running tracing pipeline; absent when tracing is off. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Exports the spans still buffered, then stops. */
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
  return {
    tracer: trace.getTracer(TRACER_NAME),
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
    },
  };
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
