import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BffHandle, call, startBff } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const ROOT = join(__dirname, '..', '..');
const REDOCLY = join(ROOT, 'node_modules', '.bin', 'redocly');

/** Runs `redocly lint` (recommended rules) on a file; resolves with its exit code and output. */
function lint(file: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      REDOCLY,
      ['lint', '--extends=recommended', '--format=stylish', file],
      { cwd: ROOT, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

/** API.md section 3, "The OpenAPI document": the document the running service serves, linted and read. */
describe('the OpenAPI document', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let doc: any;
  let dir: string;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(7) } });
    doc = (await call(bff.url, 'GET', '/docs-json')).body;
    dir = mkdtempSync(join(tmpdir(), 'asset-bff-openapi-'));
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes Redocly lint with the recommended rules and no error', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const r = await lint(file);
    // The output is part of the comparison so that a failure shows what Redocly found.
    expect({ code: r.code, errors: r.out.split('\n').filter((l) => /\berror\b/.test(l)) }).toEqual({ code: 0, errors: [] });
  }, 120_000);

  it('models the response headers of each answer', () => {
    const headersOf = (path: string, method: string, status: string) => Object.keys(doc.paths[path][method].responses[status]?.headers ?? {}).sort();
    const list = '/v1/orgs/{orgId}/users/{userId}/assets';
    const rate = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];
    expect(headersOf(list, 'get', '200')).toEqual(
      ['Age', 'Cache-Control', 'Content-Encoding', 'ETag', 'Vary', 'X-Cache', 'X-Consistency-Token', 'X-Request-Id', ...rate].sort(),
    );
    // A 304 has no body (no Content-Encoding) and carries the token of the data it confirms.
    expect(headersOf(list, 'get', '304')).toEqual(['Age', 'Cache-Control', 'ETag', 'Vary', 'X-Cache', 'X-Consistency-Token', 'X-Request-Id', ...rate].sort());
    expect(headersOf(list, 'get', '400')).toContain('Content-Encoding');
    expect(headersOf(list, 'get', '429')).toContain('Retry-After');
    expect(headersOf(list, 'get', '503')).toContain('Retry-After');
    expect(headersOf('/v1/orgs/{orgId}/users/{userId}/assets/{assetId}', 'get', '200')).toContain('ETag');
    expect(headersOf('/v1/apps/{accessKey}/asset-tree', 'get', '200')).toContain('ETag');
    expect(headersOf('/v1/apps/{accessKey}/asset-tree', 'get', '304')).toEqual(expect.arrayContaining(['ETag', 'X-Cache', 'Age']));
    for (const p of ['/v1/orgs/{orgId}/user-assets', '/v1/orgs/{orgId}/access-checks']) expect(headersOf(p, 'post', '200')).toContain('X-Consistency-Token');
    for (const p of ['/v1/orgs/{orgId}/users/{userId}/cache', '/v1/orgs/{orgId}/cache']) expect(headersOf(p, 'delete', '204')).toContain('X-Consistency-Token');
    // Public answers carry the rate-limit policy too (uncounted), and nothing of the cache.
    expect(headersOf('/health/live', 'get', '200').sort()).toEqual([
      'Content-Encoding',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'X-Request-Id',
    ]);
    for (const p of ['/v1/orgs/{orgId}/users/{userId}/cache', '/v1/orgs/{orgId}/cache'])
      expect(headersOf(p, 'delete', '204')).not.toContain('Content-Encoding');
    // The NDJSON stream's exact token follows its last line.
    expect(headersOf('/v1/orgs/{orgId}/user-assets', 'post', '200')).toContain('Trailer');
    expect(headersOf('/v1/orgs/{orgId}/access-checks', 'post', '200')).not.toContain('Trailer');
    for (const name of ['ETag', 'X-Cache', 'Age', 'X-Request-Id', 'X-Consistency-Token', 'Retry-After', 'Content-Encoding', 'Trailer', ...rate])
      expect(doc.components.headers[name].schema).toBeDefined();
    // Accept-Encoding is a parameter of every operation.
    for (const [path, item] of Object.entries(doc.paths) as [string, Record<string, { parameters?: { name: string; in: string }[] }>][])
      for (const [method, op] of Object.entries(item))
        expect({ path, method, acceptEncoding: op.parameters?.some((p) => p.name === 'Accept-Encoding' && p.in === 'header') }).toEqual({
          path,
          method,
          acceptEncoding: true,
        });
  });

  it('names the error codes a status carries where a route can give them', () => {
    const list = doc.paths['/v1/orgs/{orgId}/users/{userId}/assets'].get.responses;
    expect(list['409'].description).toContain('CURSOR_STALE');
    expect(list['503'].description).toContain('SHUTTING_DOWN');
  });

  it('states what validation enforces: id patterns and lengths, list and page limits, no unknown fields', () => {
    const list = doc.paths['/v1/orgs/{orgId}/users/{userId}/assets'].get;
    const param = (name: string) => list.parameters.find((p: { name: string }) => p.name === name);
    expect(param('orgId').schema).toEqual({ type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$', minLength: 1, maxLength: 128 });
    expect(param('limit').schema).toEqual({ type: 'integer', minimum: 1, maximum: 10000 });
    expect(param('q').schema).toMatchObject({ minLength: 1, maxLength: 128 });
    expect(param('cursor')).toBeDefined();
    expect(param('If-None-Match').in).toBe('header');
    expect(param('X-Consistency-Token').in).toBe('header');
    const types = doc.paths['/v1/apps/{accessKey}/asset-tree'].get.parameters.find((p: { name: string }) => p.name === 'types');
    expect(types.schema).toMatchObject({ type: 'string', maxLength: 140000, pattern: expect.any(String) });
    expect(types.description).toContain('at most 1000');
    const s = doc.components.schemas;
    expect(s.UserAssetsRequestDto.additionalProperties).toBe(false);
    expect(s.UserAssetsRequestDto.properties.userIds).toMatchObject({
      minItems: 1,
      maxItems: 50000,
      items: { pattern: '^[A-Za-z0-9_.:-]{1,128}$', maxLength: 128 },
    });
    expect(s.UserAssetsRequestDto.properties.resourceTypes).toMatchObject({ maxItems: 1000 });
    expect(s.AccessChecksRequestDto.additionalProperties).toBe(false);
    expect(s.AccessChecksRequestDto.properties.checks).toMatchObject({ minItems: 1, maxItems: 10000 });
    expect(s.CheckDto.additionalProperties).toBe(false);
    expect(s.CheckDto.properties.assetId).toMatchObject({ pattern: '^[A-Za-z0-9_.:-]{1,128}$' });
    expect(Object.keys(s.UserAssetsDto.properties)).toEqual(expect.arrayContaining(['complete', 'nextCursor']));
    expect(Object.keys(doc.paths['/v1/orgs/{orgId}/user-assets'].post.responses['200'].content)).toEqual(
      expect.arrayContaining(['application/json', 'application/x-ndjson']),
    );
    // The stream's lines, and its exact token in a trailer, since its headers leave before the users are read.
    const ok = doc.paths['/v1/orgs/{orgId}/user-assets'].post.responses['200'];
    // The NDJSON form is text lines, not the JSON object; every answer lists the RateLimit headers, public ones too.
    expect(ok.content['application/x-ndjson'].schema).toMatchObject({ type: 'string' });
    expect(Object.keys(doc.paths['/health/ready'].get.responses['200'].headers)).toEqual(expect.arrayContaining(['RateLimit-Limit', 'X-Request-Id']));
    const streamed = ok.description;
    expect(streamed).toContain('{"end": {users, assets, cache}}');
    expect(streamed).toContain('a trailer of the same name');
  });
});
