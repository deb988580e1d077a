import { createHash } from 'node:crypto';
import { tracesUrl } from '../tracing/tracing';
import { ConfigError, loadConfig } from './load-config';

const base = { PORTAL_BASE_URL: 'http://127.0.0.1:4010', PORTAL_APP_KEY: 'fake-key', PORTAL_APP_SECRET: 'fake-secret' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({
      PORT: 3000,
      HOST: '0.0.0.0',
      PORTAL_TIMEOUT_MS: 5000,
      PORTAL_CONCURRENCY: 8,
      PORTAL_BATCH_SIZE: 1000,
      PORTAL_BATCH_WINDOW_MS: 5,
      PORTAL_PAGE_SIZE: 1000,
      CACHE_TTL_S: 300,
      CACHE_STALE_S: 3600,
      CACHE_NEGATIVE_TTL_S: 30,
      JWT_USER_CLAIM: 'sub',
      JWT_ORG_CLAIM: 'orgId',
      RATE_LIMIT_PER_S: 0,
    });
    expect(c.API_KEYS).toEqual([]);
    expect(c.CORS_ORIGINS).toEqual([]);
  });

  it('parses lists and API keys', () => {
    const sha = createHash('sha256').update('k').digest('hex').toUpperCase();
    const c = loadConfig({
      ...base,
      REDIS_CLUSTER_NODES: '127.0.0.1:7001, 127.0.0.1:7002',
      CORS_ORIGINS: 'http://a.test,https://b.test',
      API_KEYS: JSON.stringify([{ id: 'billing', sha256: sha, orgs: ['o1'], scopes: ['assets:read'] }]),
    });
    expect(c.REDIS_CLUSTER_NODES).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    expect(c.CORS_ORIGINS).toEqual(['http://a.test', 'https://b.test']);
    expect(c.API_KEYS[0].sha256).toBe(sha.toLowerCase());
  });

  it('lists every problem, one line each, naming the variable', () => {
    const p = problems({
      PORT: 'abc',
      PORTAL_BATCH_SIZE: '5000',
      PORTAL_BATCH_WINDOW_MS: '-1',
      API_KEYS: '[{"id":"x","sha256":"nothex","orgs":[],"scopes":["root"]}]',
      REDIS_URL: 'http://nope',
    });
    expect(p).toEqual(
      expect.arrayContaining([
        'PORT: must be an integer',
        expect.stringMatching(/^PORTAL_BASE_URL: /),
        'PORTAL_APP_KEY: PORTAL_APP_KEY is required',
        expect.stringMatching(/^PORTAL_BATCH_SIZE: /),
        expect.stringMatching(/^PORTAL_BATCH_WINDOW_MS: /),
        expect.stringMatching(/^REDIS_URL: /),
        expect.stringMatching(/^API_KEYS\[0\]\[sha256\]: /),
        expect.stringMatching(/^API_KEYS\[0\]\[orgs\]: /),
        expect.stringMatching(/^API_KEYS\[0\]\[scopes\]: /),
      ]),
    );
    expect(p.every((l) => !l.includes('\n'))).toBe(true);
    const names = p.map((l) => l.slice(0, l.indexOf(':')));
    expect(new Set(names).size).toBe(names.length);
  });

  it('says each missing required variable once', () => {
    expect(problems({})).toEqual([
      expect.stringMatching(/^PORTAL_BASE_URL: /),
      'PORTAL_APP_KEY: PORTAL_APP_KEY is required',
      'PORTAL_APP_SECRET: PORTAL_APP_SECRET is required',
    ]);
    expect(problems({ API_KEYS: '[{}]' }).filter((l) => l.startsWith('API_KEYS'))).toEqual([
      expect.stringMatching(/^API_KEYS\[0\]\[id\]: /),
      expect.stringMatching(/^API_KEYS\[0\]\[sha256\]: /),
      expect.stringMatching(/^API_KEYS\[0\]\[orgs\]: /),
      expect.stringMatching(/^API_KEYS\[0\]\[scopes\]: /),
    ]);
  });

  it('never echoes a secret value', () => {
    const p = problems({ ...base, PORTAL_APP_SECRET: '', JWT_SECRET: 'super-secret-value', JWT_JWKS_URL: 'http://x.test/jwks' });
    expect(p.join('\n')).not.toContain('super-secret-value');
    expect(p).toContain('JWT_SECRET, JWT_JWKS_URL: set one of them, not both');
  });

  it('rejects bad JSON in API_KEYS and both cache drivers at once', () => {
    expect(problems({ ...base, API_KEYS: '{' })).toContain('API_KEYS: is not valid JSON');
    expect(problems({ ...base, REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'a:1' })).toContain('REDIS_URL, REDIS_CLUSTER_NODES: set one of them, not both');
  });

  it('reads the OpenTelemetry variables: off by default, the standard defaults, bad values named', () => {
    expect(loadConfig(base)).toMatchObject({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_SERVICE_NAME: 'asset-bff',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      OTEL_SDK_DISABLED: false,
    });
    expect(tracesUrl(loadConfig(base))).toBeUndefined();
    expect(tracesUrl(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/' }))).toBe('http://otel:4318/v1/traces');
    const both = { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t.test/in' };
    expect(tracesUrl(loadConfig(both))).toBe('https://t.test/in');
    expect(tracesUrl(loadConfig({ ...both, OTEL_SDK_DISABLED: 'true' }))).toBeUndefined();
    expect(loadConfig({ ...base, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.05' }).OTEL_TRACES_SAMPLER_ARG).toBe(0.05);
    expect(
      problems({
        ...base,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_TRACES_SAMPLER: 'sometimes',
        OTEL_TRACES_SAMPLER_ARG: '2',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'otel:4318',
      }),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^OTEL_EXPORTER_OTLP_PROTOCOL: /),
        expect.stringMatching(/^OTEL_TRACES_SAMPLER: /),
        expect.stringMatching(/^OTEL_TRACES_SAMPLER_ARG: /),
        expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: /),
      ]),
    );
  });
});
