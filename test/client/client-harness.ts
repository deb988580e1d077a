import { ConsoleLogger, Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { PortalClient, PortalClientModule, PortalClientOptions, PortalError } from '@app/portal-client';
import { PortalEndpointName } from '@app/portal-contracts';
import { SimCallRecord } from '@app/sim-contracts';

/** The pieces of a started simulator the client suites use. */
export interface SimLike {
  url: string;
  appKey: string;
  appSecret: string;
}

/** Options of a client against the simulator: production defaults, overridable per suite. */
export function clientOptions(sim: SimLike, overrides: Partial<PortalClientOptions> = {}): PortalClientOptions {
  return {
    baseUrl: sim.url,
    appKey: sim.appKey,
    appSecret: sim.appSecret,
    timeoutMs: 5_000,
    concurrency: 8,
    batchSize: 1_000,
    pageSize: 1_000,
    retryBaseDelayMs: 20,
    ...overrides,
  };
}

/** A PortalClient built the way the service builds it: Nest DI, forRootAsync, the real HttpService. */
export async function buildClient(options: PortalClientOptions): Promise<{ client: PortalClient; close(): Promise<void> }> {
  const OPTIONS = 'TEST_PORTAL_OPTIONS';
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [
      PortalClientModule.forRootAsync({
        imports: [
          {
            module: class TestConfigModule {},
            providers: [{ provide: OPTIONS, useValue: options }],
            exports: [OPTIONS],
          },
        ],
        inject: [OPTIONS],
        useFactory: (o: PortalClientOptions) => o,
      }),
    ],
  }).compile();
  await moduleRef.init();
  return { client: moduleRef.get(PortalClient), close: () => moduleRef.close() };
}

/** Calls of one endpoint from the simulator's log, oldest first. */
export function callsOf(log: SimCallRecord[], endpoint: PortalEndpointName): SimCallRecord[] {
  return log.filter((c) => c.endpoint === endpoint).sort((a, b) => a.startedAt - b.startedAt);
}

/** Most calls that were in flight at the same instant, from their [startedAt, finishedAt] intervals. */
export function maxInFlight(calls: SimCallRecord[]): number {
  const events = calls.flatMap((c) => [
    { t: c.startedAt, d: 1 },
    { t: c.finishedAt, d: -1 },
  ]);
  // An end and a start at the same instant do not overlap.
  events.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of events) {
    now += e.d;
    max = Math.max(max, now);
  }
  return max;
}

/** Groups calls into waves: a new wave starts when a call starts more than `gapMs` after the previous one. */
export function waves(calls: SimCallRecord[], gapMs: number): SimCallRecord[][] {
  const out: SimCallRecord[][] = [];
  let prev = -Infinity;
  for (const c of calls) {
    if (c.startedAt - prev > gapMs) out.push([]);
    out[out.length - 1].push(c);
    prev = c.startedAt;
  }
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Routes every Nest log line (all levels) into `lines` until `restore()`: its message, and the fields the client logs
 * before it (`{requestId, ...}`, as JSON) as an entry of their own; the trailing context is left out.
 */
export function captureLogs(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const push = (m: unknown, ...rest: unknown[]) => void lines.push(...[m, ...rest.slice(0, -1)].map((x) => (typeof x === 'string' ? x : JSON.stringify(x))));
  Logger.overrideLogger({ log: push, error: push, warn: push, debug: push, verbose: push, fatal: push });
  return { lines, restore: () => Logger.overrideLogger(new ConsoleLogger()) };
}

/** The PortalError a call fails with; fails the test when the call succeeds or throws something else. */
export async function failure(call: Promise<unknown>): Promise<PortalError> {
  const outcome = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof PortalError)) throw new Error(`expected a PortalError, got ${outcome === undefined ? 'success' : String(outcome)}`);
  return outcome;
}
