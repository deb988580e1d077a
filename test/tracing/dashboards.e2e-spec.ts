import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const DEPLOY = join(__dirname, '..', '..', 'deploy');
const RULES = join(DEPLOY, 'prometheus', 'asset-bff.rules.yml');
const DASHBOARD = join(DEPLOY, 'grafana', 'asset-bff.dashboard.json');
/** Labels Prometheus adds at scrape time, and the bucket label of histograms. */
const SCRAPE_LABELS = ['instance', 'job', 'le'];
const METRIC = /\babff_[A-Za-z0-9_]+/g;

/** Series names the exposition offers (a histogram's _bucket/_sum/_count, a summary's _sum/_count) and the labels seen on each. */
function exposed(text: string): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    const series = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
    for (const s of series) names.set(name + s, new Set());
  }
  for (const m of text.matchAll(/^([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}/gm)) {
    for (const l of m[2].matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) names.get(m[1])?.add(l[1]);
  }
  return names;
}

/** Label names an expression groups by or selects on. */
function labelsOf(expr: string): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) out.push(...m[1].split(',').map((s) => s.trim()));
  for (const m of expr.matchAll(/\{([^}]*)\}/g)) for (const l of m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) out.push(l[1]);
  return out.filter((l) => l.length > 0);
}

/** Every PromQL expression of the dashboard: panel targets (rows' nested panels too) and template queries. */
function dashboardExprs(d: any): string[] {
  const exprs: string[] = [];
  const walk = (panels: any[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) if (typeof v.definition === 'string' && v.definition) exprs.push(v.definition);
  return exprs;
}

/** The dashboard and the alert rules of deploy/ name only metrics (and labels) the running service exposes. */
describe('deploy/: Grafana dashboard and Prometheus alerts', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let metrics: Map<string, Set<string>>;
  const rules = parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; rules: { alert?: string; expr: string; for?: string }[] }[] };
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const ruleExprs = rules.groups.flatMap((g) => g.rules.map((r) => r.expr));

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(9) } });
    // A cold and a hot read, a miss of the portal: request, cache and upstream series get their labels.
    const key = TEST_KEYS.reader;
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0011/assets', { key, headers: { 'cache-control': 'no-cache' } })).status).toBe(200);
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0011/assets', { key })).status).toBe(200);
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/nobody/assets', { key })).status).toBe(404);
    const r = await call(bff.url, 'GET', '/metrics');
    expect(r.status).toBe(200);
    metrics = exposed(r.text);
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  it('the alert rules cover circuit, Redis, 5xx ratio, upstream latency and event-loop delay, over exposed metrics and labels', () => {
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(
      expect.arrayContaining(['AssetBffUpstreamCircuitOpen', 'AssetBffRedisDown', 'AssetBffHigh5xxRatio', 'AssetBffUpstreamSlow', 'AssetBffEventLoopDelay']),
    );
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      expect(r.expr).toMatch(METRIC);
      expect(r.for).toMatch(/^\d+[smh]$/);
    }
    assertKnown(ruleExprs, metrics);
  });

  it('the dashboard shows requests, errors and latency by route, cache results, upstream calls and latency, circuit, Redis errors, event loop', () => {
    const exprs = dashboardExprs(dashboard);
    const used = new Set(exprs.flatMap((e) => e.match(METRIC) ?? []));
    for (const m of [
      'abff_http_request_duration_seconds_count',
      'abff_http_request_duration_seconds_bucket',
      'abff_cache_results_total',
      'abff_upstream_calls_total',
      'abff_upstream_call_duration_seconds_bucket',
      'abff_upstream_circuit_state',
      'abff_redis_errors_total',
      'abff_nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(used).toContain(m);
    }
    expect(exprs.some((e) => /by \(route\)/.test(e) && /status=~"5\.\."/.test(e))).toBe(true);
    expect(exprs.some((e) => /by \(endpoint, outcome\)/.test(e))).toBe(true);
    assertKnown(exprs, metrics);
    // Unique panel ids, as Grafana requires.
    const ids: number[] = [];
    const walk = (ps: any[] = []) => ps.forEach((p) => (ids.push(p.id), walk(p.panels)));
    walk(dashboard.panels);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('promtool accepts the rules', () => {
    // Required, never skipped: Debian's prometheus package brings it (.ci/run installs it).
    const version = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    expect({ promtool: version.error ? 'not installed (apt-get install prometheus)' : 'installed' }).toEqual({ promtool: 'installed' });
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toMatch(/SUCCESS: \d+ rules found/);
    expect(check.status).toBe(0);
  });
});

/** Every abff_* metric of the expressions is exposed, and every label they use is on it (when the test made it a sample). */
function assertKnown(exprs: string[], metrics: Map<string, Set<string>>): void {
  for (const expr of exprs) {
    const names = [...new Set(expr.match(METRIC) ?? [])];
    for (const n of names) expect({ expr, metric: n, exposed: metrics.has(n) }).toEqual({ expr, metric: n, exposed: true });
    const seen = names.map((n) => metrics.get(n) ?? new Set<string>());
    if (seen.some((s) => s.size === 0)) continue;
    const allowed = new Set([...SCRAPE_LABELS, ...seen.flatMap((s) => [...s])]);
    for (const l of labelsOf(expr)) expect({ expr, label: l, known: allowed.has(l) }).toEqual({ expr, label: l, known: true });
  }
}
