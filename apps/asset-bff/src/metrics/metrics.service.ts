import { Injectable } from '@nestjs/common';
import type { AssetCacheObserver, CacheStatus } from '@app/asset-cache';
import type { CircuitStateName, PortalCallOutcome, PortalClientObserver } from '@app/portal-client';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const CIRCUIT_VALUE: Record<CircuitStateName, number> = { closed: 0, 'half-open': 1, open: 2 };

/** The service's Prometheus registry and the observers that feed it from the portal client and the cache. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly requestDuration = new Histogram({
    name: 'abff_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly cacheResults = new Counter({
    name: 'abff_cache_results_total',
    help: 'Cached reads by result',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  /** Children of cacheResults by status, resolved once (a hot read counts its HIT without hashing labels). */
  private readonly cacheResultChildren = {
    HIT: this.cacheResults.labels('hit'),
    MISS: this.cacheResults.labels('miss'),
    STALE: this.cacheResults.labels('stale'),
  };
  readonly coalesced = new Counter({
    name: 'abff_cache_coalesced_total',
    help: 'Cold reads that joined an in-flight load instead of calling the portal',
    registers: [this.registry],
  });
  readonly lockWaits = new Counter({
    name: 'abff_cache_lock_waits_total',
    help: 'Cold reads that waited for another instance holding the Redis lock',
    registers: [this.registry],
  });
  readonly redisErrors = new Counter({
    name: 'abff_redis_errors_total',
    help: 'Redis commands that failed or timed out (the cache was bypassed)',
    labelNames: ['op'] as const,
    registers: [this.registry],
  });
  readonly upstreamCalls = new Counter({
    name: 'abff_upstream_calls_total',
    help: 'Portal HTTP calls by endpoint and outcome',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly upstreamDuration = new Histogram({
    name: 'abff_upstream_call_duration_seconds',
    help: 'Portal HTTP call duration by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly circuit = new Gauge({
    name: 'abff_upstream_circuit_state',
    help: 'Portal circuit breaker: 0 closed, 1 half-open, 2 open',
    registers: [this.registry],
  });
  readonly localCopies = new Gauge({
    name: 'abff_cache_local_copies',
    help: 'In-process copies of cached entries held, sampled every 10 s after the expired ones are dropped',
    registers: [this.registry],
  });
  readonly pageWorkers = new Gauge({
    name: 'abff_page_workers',
    help: 'Page worker threads running (portal answers read off the main thread)',
    registers: [this.registry],
  });
  readonly pageWorkerLosses = new Counter({
    name: 'abff_page_worker_losses_total',
    help: 'Page worker threads that failed or exited; the portal calls whose answers they held were retried',
    registers: [this.registry],
  });
  readonly preparedAnswers = new Counter({
    name: 'abff_prepared_answers_total',
    help: 'Answers of single-user reads made for a new load of a cached set (made), or kept because it holds the same set and details (reused)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly preparedCodings = new Counter({
    name: 'abff_prepared_codings_total',
    help: 'br and gzip bodies made for prepared single-user answers: once per answer and coding, never per read',
    labelNames: ['coding'] as const,
    registers: [this.registry],
  });
  readonly batchedLookups = new Counter({
    name: 'abff_upstream_batched_lookups_total',
    help: 'Single-user lookups combined into micro-batches',
    registers: [this.registry],
  });

  /**
   * requestDuration's children by method, route and status, resolved once each: a request is then observed without
   * prom-client hashing and checking its labels (the combinations are few: the service's routes).
   */
  private readonly requestChildren = new Map<string, Histogram.Internal<'method' | 'route' | 'status'>>();

  /** Records one answered request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let child = this.requestChildren.get(key);
    if (child === undefined) this.requestChildren.set(key, (child = this.requestDuration.labels(method, route, String(status))));
    child.observe(seconds);
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'abff_' });
  }

  /** Observer handed to the portal client. */
  readonly portalObserver: PortalClientObserver = {
    onCall: (endpoint: string, outcome: PortalCallOutcome, durationMs: number) => {
      this.upstreamCalls.inc({ endpoint, outcome });
      this.upstreamDuration.observe({ endpoint }, durationMs / 1000);
    },
    onCircuitState: (state: CircuitStateName) => this.circuit.set(CIRCUIT_VALUE[state]),
    onBatchedLookup: (n: number) => this.batchedLookups.inc(n),
  };

  /** Observer handed to the cache. */
  readonly cacheObserver: AssetCacheObserver = {
    onResult: (status: CacheStatus, count: number) => this.cacheResultChildren[status].inc(count),
    onCoalesced: () => this.coalesced.inc(),
    onLockWait: () => this.lockWaits.inc(),
    onRedisError: (op: string) => this.redisErrors.inc({ op }),
    onLocalCopies: (count: number) => this.localCopies.set(count),
  };
}
