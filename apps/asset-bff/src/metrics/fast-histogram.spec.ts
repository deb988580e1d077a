import { Histogram, Metric, Registry } from 'prom-client';
import { FastHistogram } from './fast-histogram';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The same observations in a prom-client Histogram and a FastHistogram, each in its own registry. */
function pair(): { fast: FastHistogram; prom: Histogram<'method' | 'route' | 'status'>; fastRegistry: Registry; promRegistry: Registry } {
  const promRegistry = new Registry();
  const fastRegistry = new Registry();
  const prom = new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['method', 'route', 'status'] as const, buckets: BUCKETS, registers: [promRegistry] });
  const fast = new FastHistogram('h_seconds', 'a histogram', ['method', 'route', 'status'], BUCKETS);
  fastRegistry.registerMetric(fast as unknown as Metric);
  return { fast, prom, fastRegistry, promRegistry };
}

describe('FastHistogram', () => {
  it('is exposed byte for byte as prom-client exposes a Histogram given the same observations (bounds, +Inf, sum, count, several children)', async () => {
    const { fast, prom, fastRegistry, promRegistry } = pair();
    const values = [0, 0.0005, 0.0004, 0.0007, 0.001, 0.003, 0.2, 0.25, 7, 10, 12.5, 99];
    const labelSets: [string, string, string][] = [
      ['GET', '/v1/orgs/:orgId/users/:userId/assets', '200'],
      ['POST', '/v1/orgs/:orgId/user-assets', '400'],
    ];
    labelSets.forEach(([m, r, s], k) => {
      const f = fast.child(m, r, s);
      const p = prom.labels(m, r, s);
      for (const v of values.slice(k)) {
        f.observe(v);
        p.observe(v);
      }
    });
    expect(await fastRegistry.metrics()).toBe(await promRegistry.metrics());
    expect(await fastRegistry.metrics()).toContain('h_seconds_count{method="GET",route="/v1/orgs/:orgId/users/:userId/assets",status="200"} 12');
  });

  it('one child per label combination, whichever call resolved it; reset zeroes every series', async () => {
    const { fast, fastRegistry } = pair();
    fast.child('GET', '/a', '200').observe(0.002);
    fast.child('GET', '/a', '200').observe(0.003);
    expect(await fastRegistry.metrics()).toContain('h_seconds_count{method="GET",route="/a",status="200"} 2');
    fastRegistry.resetMetrics();
    expect(await fastRegistry.metrics()).toContain('h_seconds_count{method="GET",route="/a",status="200"} 0');
  });
});
