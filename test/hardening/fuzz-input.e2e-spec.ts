import fc from 'fast-check';
import { BffHandle, call, postLarge, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';
import { dataCalls, PROBLEM_TYPE, rawRequest, RawResponse, SANE_REQUEST_ID } from './support';

/** Control characters other than tab: no header value may carry them. */
// eslint-disable-next-line no-control-regex -- control characters are what it matches
const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Bad input, generated: every route of the contract gets random and adversarial input from fast-check,
 * against ONE service + simulator. Valid credentials (the admin key, a user token for the tree) so that
 * validation, not auth, is what must reject it. Invariants: a 4xx application/problem+json naming the
 * field (413 for size), never a 5xx, never an upstream call, and the service keeps serving.
 */

const key = TEST_KEYS.admin;
/** The contract's id rule (API.md section 3), used here as the oracle for "invalid". */
const ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const isId = (v: unknown): v is string => typeof v === 'string' && ID.test(v);
/** A language tag the service accepts in `lang` (common/i18n.ts); anything else must be a 400 naming `lang`. */
const LANG = /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$/;
const RUNS = { numRuns: 150 };
const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-'.split('');

// ---- generators -------------------------------------------------------------------------------

const validId = fc.stringOf(fc.constantFrom(...ID_CHARS), { minLength: 1, maxLength: 24 }).filter((s) => s !== '.' && s !== '..' && isId(s));

/** A path segment (as written in the URL) whose decoded value is never a valid id, and which routes normally. */
const invalidSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '%00',
    'a%00',
    '%2F',
    'a%2Fb',
    '%2f..%2f',
    '%20',
    'a%20b',
    '%22',
    "'",
    '%27%20OR%201%3D1',
    '%3Cscript%3E',
    '%C3%BC',
    '%F0%9F%98%80',
    '%E2%80%AE',
    'a%0Ab',
    'a%0D%0Ab',
    '%25',
    '%5C',
    'a%3Bb',
    '$',
    '(',
    '*',
    '!',
    '~',
    '@',
    ',',
    '+',
    'a%7Cb',
    '%7B%7D',
    '%5B%5D',
    'x'.repeat(129),
    'o1%00',
    'u0001%20',
    '%EF%BB%BFo1',
  ),
  // Over-long: 129..2000 characters of the allowed alphabet.
  fc.stringOf(fc.constantFrom(...ID_CHARS), { minLength: 129, maxLength: 2000 }),
  // Unicode, control characters, punctuation: anything with at least one character outside the rule.
  fc
    .fullUnicodeString({ minLength: 1, maxLength: 40 })
    .filter((s) => !isId(s) && !/^\.{1,2}$/.test(s))
    .map(encodeURIComponent),
  // An otherwise valid id with one bad character spliced in.
  fc
    .tuple(validId, fc.constantFrom(' ', '/', '\\', '\u0000', '\u202e', 'é', '😀', '#', '?', '%', '&', '=', '"', '<', '\t'), validId)
    .map(([a, c, b]) => encodeURIComponent(a + c + b)),
);

/** Anything JSON can carry that is not an array of 1..50,000 ids. */
const notIdArray = fc
  .oneof(fc.jsonValue(), fc.array(fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object(), fc.string()), { maxLength: 20 }))
  .filter((v) => !(Array.isArray(v) && v.length >= 1 && v.every(isId)));
/** An object with an own `__proto__` key (as JSON.parse makes it), which JSON.stringify writes out. */
const poisonedObject = fc.constant(JSON.parse('{"__proto__":{"isAdmin":true}}') as unknown);
/** One element that is not an id: wrong type, nested junk (also a `__proto__` key), or a bad string. */
const badElement = fc.oneof(
  poisonedObject,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.object({ maxDepth: 3 }),
  fc.array(fc.jsonValue(), { maxLength: 5 }),
  fc.string({ maxLength: 300 }).filter((s) => !isId(s)),
  fc.constant('x'.repeat(129)),
);
const nonObjectBody = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue(), { maxLength: 10 }),
  fc.array(fc.oneof(fc.jsonValue(), poisonedObject), { minLength: 1, maxLength: 5 }),
);
/** A field name the bodies do not know (never one the body parser itself refuses: those have their own test below). */
const unknownKey = (allowed: string[]) =>
  fc.string({ minLength: 1, maxLength: 30 }).filter((k) => !allowed.includes(k) && k !== '__proto__' && k !== 'constructor');

interface BadBody {
  /** The raw JSON text sent. */
  text: string;
  /** A field the answer must name (exactly, or with an [index] / .key suffix). */
  field: string;
}

const json = (v: unknown) => JSON.stringify(v);

const badUserAssetsBody: fc.Arbitrary<BadBody> = fc.oneof(
  nonObjectBody.map((b) => ({ text: json(b), field: 'body' })),
  fc.constant({ text: '{}', field: 'userIds' }),
  notIdArray.map((u) => ({ text: json({ userIds: u }), field: 'userIds' })),
  fc.tuple(fc.array(validId, { maxLength: 30 }), badElement, fc.array(validId, { maxLength: 30 })).map(([a, bad, b]) => ({
    text: json({ userIds: [...a, bad, ...b] }),
    field: `userIds[${a.length}]`,
  })),
  fc
    .tuple(
      fc.array(validId, { minLength: 1, maxLength: 5 }),
      notIdArray.filter((v) => !(Array.isArray(v) && v.every(isId))),
    )
    .map(([u, t]) => ({
      text: json({ userIds: u, resourceTypes: t }),
      field: 'resourceTypes',
    })),
  fc.tuple(fc.array(validId, { minLength: 1, maxLength: 5 }), unknownKey(['userIds', 'resourceTypes']), fc.jsonValue()).map(([u, k, v]) => ({
    text: json({ userIds: u, [k]: v }),
    field: k,
  })),
  // Numbers where strings go.
  fc.array(fc.integer(), { minLength: 1, maxLength: 10 }).map((n) => ({ text: json({ userIds: n }), field: 'userIds[0]' })),
  // Duplicate keys: the parser keeps the last one, which must then be validated (never the first, valid one).
  fc.tuple(fc.array(validId, { minLength: 1, maxLength: 3 }), notIdArray).map(([u, junk]) => ({
    text: `{"userIds":${json(u)},"userIds":${json(junk)}}`,
    field: 'userIds',
  })),
);

const validCheck = fc.record({ userId: validId, assetId: validId });
const badCheck: fc.Arbitrary<{ value: unknown; suffix: string }> = fc.oneof(
  badElement.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => ({ value: v, suffix: '' })),
  fc.record({ assetId: validId }).map((v) => ({ value: v, suffix: '.userId' })),
  fc.record({ userId: validId }).map((v) => ({ value: v, suffix: '.assetId' })),
  fc.tuple(badElement, validId).map(([u, a]) => ({ value: { userId: u, assetId: a }, suffix: '.userId' })),
  fc.tuple(validId, badElement).map(([u, a]) => ({ value: { userId: u, assetId: a }, suffix: '.assetId' })),
  fc.tuple(validCheck, unknownKey(['userId', 'assetId']), fc.jsonValue()).map(([c, k, v]) => ({ value: { ...c, [k]: v }, suffix: `.${k}` })),
);

const badChecksBody: fc.Arbitrary<BadBody> = fc.oneof(
  nonObjectBody.map((b) => ({ text: json(b), field: 'body' })),
  fc.constant({ text: '{}', field: 'checks' }),
  fc.constant({ text: '{"checks":[]}', field: 'checks' }),
  fc
    .jsonValue()
    .filter((v) => !Array.isArray(v))
    .map((v) => ({ text: json({ checks: v }), field: 'checks' })),
  fc.tuple(fc.array(validCheck, { maxLength: 20 }), badCheck, fc.array(validCheck, { maxLength: 20 })).map(([a, bad, b]) => ({
    text: json({ checks: [...a, bad.value, ...b] }),
    field: `checks[${a.length}]${bad.suffix}`,
  })),
  fc
    .tuple(fc.array(validCheck, { minLength: 1, maxLength: 3 }), unknownKey(['checks']), fc.jsonValue())
    .map(([c, k, v]) => ({ text: json({ checks: c, [k]: v }), field: k })),
  fc
    .tuple(
      fc.array(validCheck, { minLength: 1, maxLength: 3 }),
      fc.jsonValue().filter((v) => !Array.isArray(v)),
    )
    .map(([c, junk]) => ({
      text: `{"checks":${json(c)},"checks":${json(junk)}}`,
      field: 'checks',
    })),
);

/** A `lang` value the service must refuse, as it appears in the query string. */
const badLang: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('%00', '', 'e', 'english-language', 'zh_CN_x', 'zh__CN', '12', 'en-', '*', 'en;q=1', '..', 'zh-Hans-CN', 'x'.repeat(17), '%F0%9F%98%80'),
  fc
    .fullUnicodeString({ maxLength: 40 })
    .filter((s) => !LANG.test(s))
    .map(encodeURIComponent),
  // The same name twice: an array, not a tag.
  fc.tuple(fc.constantFrom('en', 'zh_CN'), fc.constantFrom('en', 'ja')).map(([a, b]) => `${a}&lang=${b}`),
);

// ---- assertions -------------------------------------------------------------------------------

/** The answer is a 400 VALIDATION_FAILED problem naming `field` (or one of its sub-fields). */
function expectNamed(r: { status: number; headers: Headers | RawResponse['headers']; body: any }, field: string, what: string): void {
  const ct = r.headers instanceof Headers ? r.headers.get('content-type') : (r.headers['content-type'] as string | undefined);
  const fields: string[] = (r.body?.fields ?? []).map((f: { field: string }) => f.field);
  const named = fields.some((f) => f === field || f.startsWith(`${field}[`) || f.startsWith(`${field}.`));
  if (r.status !== 400 || !PROBLEM_TYPE.test(ct ?? '') || r.body?.code !== 'VALIDATION_FAILED' || !named) {
    throw new Error(`${what}: expected 400 VALIDATION_FAILED naming ${field}, got ${r.status} ${ct} ${JSON.stringify(r.body)?.slice(0, 500)}`);
  }
  expect(typeof r.body.detail).toBe('string');
  expect(r.body.detail).not.toMatch(/\n\s+at /); // no stack trace
}

interface ParamRoute {
  method: string;
  /** Path template; each :name is a path parameter. */
  path: string;
  body?: unknown;
  user?: boolean;
}

const PARAM_ROUTES: ParamRoute[] = [
  { method: 'GET', path: '/v1/orgs/:orgId/users/:userId/assets' },
  { method: 'GET', path: '/v1/orgs/:orgId/users/:userId/assets/:assetId' },
  { method: 'POST', path: '/v1/orgs/:orgId/user-assets', body: { userIds: ['u0003'] } },
  { method: 'POST', path: '/v1/orgs/:orgId/access-checks', body: { checks: [{ userId: 'u0003', assetId: 'o1-a0001' }] } },
  { method: 'DELETE', path: '/v1/orgs/:orgId/users/:userId/cache' },
  { method: 'DELETE', path: '/v1/orgs/:orgId/cache' },
  { method: 'GET', path: '/v1/apps/:accessKey/asset-tree', user: true },
];
const VALID_PARAMS: Record<string, string> = { orgId: 'o1', userId: 'u0003', assetId: 'o1-a0001', accessKey: 'demo-access-key' };
const paramsOf = (r: ParamRoute) => [...r.path.matchAll(/:(\w+)/g)].map((m) => m[1]);

describe('bad input, generated (fast-check) over every route', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let userToken: string;
  let requests = 0;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(10), LOG_LEVEL: 'warn' } });
    userToken = await sim.admin.userToken('u0003', 'o1');
    // One valid read, cached, so that the header properties can run against a HIT without calling upstream.
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0003/assets', { key })).status).toBe(200);
    await sim.admin.resetCounters();
  }, 30_000);

  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  const auth = (user?: boolean) => (user ? { token: userToken } : { key });
  const send = async (method: string, path: string, opts: { user?: boolean; rawBody?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    requests++;
    return call(bff.url, method, path, { ...auth(opts.user), rawBody: opts.rawBody, body: opts.body, headers: opts.headers });
  };

  it('invalid path ids on every route: 400 naming the parameter', async () => {
    const cases = fc.tuple(fc.constantFrom(...PARAM_ROUTES), fc.nat(), invalidSegment);
    await fc.assert(
      fc.asyncProperty(cases, async ([route, pick, segment]) => {
        const names = paramsOf(route);
        const bad = names[pick % names.length];
        const path = route.path.replace(/:(\w+)/g, (_, n: string) => (n === bad ? segment : VALID_PARAMS[n]));
        const r = await send(route.method, path, { user: route.user, body: route.body });
        expectNamed(r, bad, `${route.method} ${path.slice(0, 200)}`);
      }),
      { numRuns: 200 },
    );
  }, 60_000);

  it('POST user-assets: wrong types, nested junk, unknown fields, duplicate keys: 400 naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(badUserAssetsBody, async (b) => {
        expectNamed(await send('POST', '/v1/orgs/o1/user-assets', { rawBody: b.text }), b.field, b.text.slice(0, 200));
      }),
      RUNS,
    );
  }, 60_000);

  it('POST access-checks: wrong types, nested junk, unknown fields, duplicate keys: 400 naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(badChecksBody, async (b) => {
        expectNamed(await send('POST', '/v1/orgs/o1/access-checks', { rawBody: b.text }), b.field, b.text.slice(0, 200));
      }),
      RUNS,
    );
  }, 60_000);

  it('the same bad bodies from a user caller (own user, own OU): still 400, never a 403 or an upstream call', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          badUserAssetsBody.map((b) => ['user-assets', b] as const),
          badChecksBody.map((b) => ['access-checks', b] as const),
        ),
        async ([route, b]) => {
          expectNamed(await send('POST', `/v1/orgs/o1/${route}`, { user: true, rawBody: b.text }), b.field, b.text.slice(0, 200));
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);

  it('tree query: bad types, associated, view, lang: 400 naming the parameter', async () => {
    const badQuery: fc.Arbitrary<[string, string]> = fc.oneof(
      fc
        .tuple(
          fc.array(validId, { maxLength: 5 }),
          fc.fullUnicodeString({ minLength: 1, maxLength: 30 }).filter((s) => !isId(String(s)) && !s.includes(',') && !/^\s*$/.test(s)),
        )
        .map(([ok, bad]) => [`types=${encodeURIComponent([...ok, bad].join(','))}`, 'types'] as [string, string]),
      fc.constant(['types=a&types=b', 'types'] as [string, string]),
      fc.constant([`types=${Array.from({ length: 1001 }, (_, i) => `t${i}`).join(',')}`, 'types'] as [string, string]),
      fc
        .string({ maxLength: 20 })
        .filter((s) => !['true', 'false', '1', '0'].includes(s))
        .map((s) => [`associated=${encodeURIComponent(s)}`, 'associated'] as [string, string]),
      fc
        .string({ maxLength: 20 })
        .filter((s) => s !== 'tree' && s !== 'flat')
        .map((s) => [`view=${encodeURIComponent(s)}`, 'view'] as [string, string]),
      fc.constant(['view=tree&view=flat', 'view'] as [string, string]),
      badLang.map((l) => [`lang=${l}`, 'lang'] as [string, string]),
    );
    await fc.assert(
      fc.asyncProperty(badQuery, async ([q, field]) => {
        expectNamed(await send('GET', `/v1/apps/demo-access-key/asset-tree?${q}`, { user: true }), field, q.slice(0, 200));
      }),
      RUNS,
    );
  }, 60_000);

  it('bad lang on every read that localizes: 400 naming lang', async () => {
    const routes: { method: string; path: string; user?: boolean; body?: unknown }[] = [
      { method: 'GET', path: '/v1/orgs/o1/users/u0003/assets' },
      { method: 'GET', path: '/v1/orgs/o1/users/u0003/assets/o1-a0001' },
      { method: 'GET', path: '/v1/me/assets', user: true },
      { method: 'POST', path: '/v1/orgs/o1/user-assets', body: { userIds: ['u0003'] } },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), badLang, async (r, lang) => {
        expectNamed(await send(r.method, `${r.path}?lang=${lang}`, { user: r.user, body: r.body }), 'lang', `${r.path}?lang=${lang}`);
      }),
      RUNS,
    );
  }, 60_000);

  it('over-limit counts: 50,001 users, 10,001 checks, 1,001 types; a bad id at the end of 50,000', async () => {
    const users = Array.from({ length: 50_001 }, (_, i) => `u${i}`);
    expectNamed(await send('POST', '/v1/orgs/o1/user-assets', { body: { userIds: users } }), 'userIds', '50,001 users');
    const lastBad = [...users.slice(0, 49_999), 'bad id'];
    expectNamed(await send('POST', '/v1/orgs/o1/user-assets', { body: { userIds: lastBad } }), 'userIds[49999]', 'bad id at the end');
    const types = Array.from({ length: 1001 }, (_, i) => `t${i}`);
    expectNamed(await send('POST', '/v1/orgs/o1/user-assets', { body: { userIds: ['u0003'], resourceTypes: types } }), 'resourceTypes', '1,001 types');
    const checks = Array.from({ length: 10_001 }, (_, i) => ({ userId: `u${i}`, assetId: `a${i}` }));
    expectNamed(await send('POST', '/v1/orgs/o1/access-checks', { body: { checks } }), 'checks', '10,001 checks');
    // A bad element deep in a long but allowed list: named with its index, and only the first 20 problems listed.
    const manyBad = Array.from({ length: 10_000 }, () => ({ userId: 'u 1', assetId: 'a1' }));
    const r = await send('POST', '/v1/orgs/o1/access-checks', { body: { checks: manyBad } });
    expectNamed(r, 'checks[0].userId', '10,000 bad checks');
    expect(r.body.fields.length).toBeLessThanOrEqual(20);
    expect(r.text.length).toBeLessThan(10_000);
  }, 60_000);

  it('deeply nested junk (100,000 levels) is a 400, not a stack overflow', async () => {
    const depth = 100_000;
    const arrays = `{"userIds":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const r1 = await send('POST', '/v1/orgs/o1/user-assets', { rawBody: arrays });
    expect(r1.status).toBe(400);
    expect(r1.headers.get('content-type')).toMatch(PROBLEM_TYPE);
    const objects = `{"checks":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const r2 = await send('POST', '/v1/orgs/o1/access-checks', { rawBody: objects });
    expect(r2.status).toBe(400);
    expect(r2.headers.get('content-type')).toMatch(PROBLEM_TYPE);
  });

  it('malformed JSON, prototype-poisoning keys and non-JSON content types: 4xx problem+json, never 5xx', async () => {
    const notJson = fc.oneof(
      fc.constantFrom(
        '{"userIds": [',
        '{',
        '[',
        '{"userIds":["u1"]',
        'nul',
        '{"userIds":["u1"],}',
        "{'userIds':['u1']}",
        '\u0000',
        '{"userIds":["u1"]}garbage',
        '{"userIds":["u1"]]',
      ),
      fc.string({ maxLength: 200 }).filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      }),
    );
    // Prototype-poisoning keys (also \u-escaped, nested, in an array element): refused, naming where the key is.
    const poisoned = fc.constantFrom(
      ['{"userIds":["u1"],"__proto__":{"isAdmin":true}}', '__proto__'],
      ['{"__proto__":{"userIds":["u1"]}}', '__proto__'],
      ['{"userIds":["u1"],"constructor":{"prototype":{"x":1}}}', 'constructor.prototype'],
      ['{"userIds":["u1"],"\\u005f_proto__":{"isAdmin":true}}', '__proto__'],
      ['{"checks":[{"userId":"a","assetId":"a"}],"checks":{"__proto__":{}}}', 'checks.__proto__'],
      ['{"checks":[{"userId":"a","assetId":"a","__proto__":{"isAdmin":true}}]}', 'checks[0].__proto__'],
    );
    const texts = fc.oneof(
      notJson.map((t) => [t, 'body']),
      poisoned,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('user-assets', 'access-checks'), texts, async (route, [text, field]) => {
        const r = await send('POST', `/v1/orgs/o1/${route}`, { rawBody: text });
        if (r.status !== 400 || r.body?.code !== 'VALIDATION_FAILED' || !PROBLEM_TYPE.test(r.headers.get('content-type') ?? '')) {
          throw new Error(`${JSON.stringify(text)} -> ${r.status} ${r.text.slice(0, 300)}`);
        }
        expect(r.body.fields.map((f: { field: string }) => f.field)).toEqual([field]);
        expect(r.body.detail).toMatch(
          field === 'body' ? /^body: (is not valid JSON|must not be empty)$/ : /^\S+: a (__proto__|constructor\.prototype) key is not accepted$/,
        );
        expect(r.text).not.toContain('isAdmin');
      }),
      RUNS,
    );
    // JSON everywhere (API.md section 3): a body in another media type is never read as a request, even when it would make sense as one.
    const types: [string, string][] = [
      ['text/plain', '{"userIds":["u0003"]}'],
      ['application/x-www-form-urlencoded', 'userIds=u0003&userIds=u0004'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="userIds"\r\n\r\nu0003\r\n--x--\r\n'],
      ['application/xml', '<userIds><id>u0003</id></userIds>'],
      ['application/octet-stream', '{"userIds":["u0003"]}'],
    ];
    for (const [ct, body] of types) {
      const r = await send('POST', '/v1/orgs/o1/user-assets', { rawBody: body, headers: { 'content-type': ct } });
      // The service parses JSON only (main.ts drops fastify's text/plain parser): 415, never a read.
      expect({ ct, status: r.status, code: r.body.code }).toEqual({ ct, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      expect(r.headers.get('content-type')).toMatch(PROBLEM_TYPE);
    }
  }, 60_000);

  it('URLs the router cannot read (bad percent-encoding, a parameter over 2,048 chars): 4xx, never 5xx, never upstream', async () => {
    const paths = [
      '/v1/orgs/o1/users/%E0%A4%A/assets',
      '/v1/orgs/%/users/u0003/assets',
      '/v1/orgs/o1/users/u0003/assets/%FF',
      '/v1/apps/%C0%AF/asset-tree',
      `/v1/orgs/o1/users/${'a'.repeat(3000)}/assets`,
    ];
    for (const path of paths) {
      const r = await send('GET', path);
      expect({ path: path.slice(0, 60), status: r.status >= 400 && r.status < 500 }).toEqual({ path: path.slice(0, 60), status: true });
      // fastify's own errors (before routing) go through the same problem+json writer, with a request id.
      expect({ path: path.slice(0, 60), type: r.headers.get('content-type') }).toEqual({ path: path.slice(0, 60), type: expect.stringMatching(PROBLEM_TYPE) });
      expect(r.headers.get('x-request-id')).toMatch(SANE_REQUEST_ID);
      expect(r.body.requestId).toBe(r.headers.get('x-request-id'));
    }
  });

  it('oversized bodies: 413 PAYLOAD_TOO_LARGE on both POST routes, before reading them', async () => {
    const big = JSON.stringify({ userIds: new Array(400_000).fill('abcdefghijklmnopqrstuvwxyz') });
    for (const route of ['user-assets', 'access-checks']) {
      const r = await postLarge(bff.url, `/v1/orgs/o1/${route}`, big, { 'x-api-key': key });
      expect({ route, status: r.status }).toEqual({ route, status: 413 });
      expect(r.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
      requests++;
    }
  });

  it('X-Request-Id: a sane id is echoed, anything else (spaces, quotes, 300 chars, unicode, repeated) is replaced', async () => {
    const idChars = fc.constantFrom(...ID_CHARS);
    const candidate = fc.oneof(
      fc.stringOf(idChars, { minLength: 1, maxLength: 128 }).map((v) => ({ v, sane: true })),
      fc.stringOf(idChars, { minLength: 129, maxLength: 300 }).map((v) => ({ v, sane: false })),
      fc
        .constantFrom('a b', '"quoted"', "it's", '<script>alert(1)</script>', '${jndi:ldap://x}', 'id;drop', 'a,b', '%0d%0aSet-Cookie:x=1', '\\', '')
        .map((v) => ({ v, sane: false })),
      // Unicode: sent as its UTF-8 bytes.
      fc
        .fullUnicodeString({ minLength: 1, maxLength: 60 })
        .filter((s) => /[^\x20-\x7e]/.test(s) && !CONTROL_CHARS.test(s))
        .map((v) => ({ v, sane: false })),
    );
    await fc.assert(
      fc.asyncProperty(candidate, fc.boolean(), fc.boolean(), async ({ v, sane }, invalidRequest, twice) => {
        const wire = Buffer.from(v, 'utf8').toString('latin1');
        const headers = ['x-api-key', key, 'x-request-id', wire];
        if (twice) headers.push('x-request-id', wire);
        const path = invalidRequest ? '/v1/orgs/o1/users/bad%20id/assets' : '/v1/orgs/o1/users/u0003/assets';
        requests++;
        const r = await rawRequest(bff.url, 'GET', path, headers);
        expect(r.status).toBe(invalidRequest ? 400 : 200);
        const echoed = r.headers['x-request-id'] as string;
        expect(echoed).toMatch(SANE_REQUEST_ID);
        if (sane && !twice && v.trim() === v) expect(echoed).toBe(v);
        else expect(echoed).not.toBe(wire);
        if (invalidRequest) expect(r.body.requestId).toBe(echoed);
      }),
      RUNS,
    );
  }, 60_000);

  it('any Accept-Language (junk, huge, unicode, q-value tricks) on a cached read: 200 with localized names', async () => {
    const al = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.fullUnicodeString({ maxLength: 60 }).filter((s) => !CONTROL_CHARS.test(s)),
      fc.constantFrom(
        '*',
        'zh;q=abc',
        'zh;q=2',
        'zh;q=-1',
        'en;q=0',
        ',,,,',
        ';;;',
        'zh_CN;q=0.5,ja_JP;q=0.9',
        'x'.repeat(5000),
        'zh-CN,'.repeat(1000),
        '__proto__',
        'constructor',
        'toString',
      ),
    );
    await fc.assert(
      fc.asyncProperty(al, async (value) => {
        requests++;
        const r = await rawRequest(bff.url, 'GET', '/v1/orgs/o1/users/u0003/assets', [
          'x-api-key',
          key,
          'accept-language',
          Buffer.from(value, 'utf8').toString('latin1'),
        ]);
        if (r.status !== 200) throw new Error(`Accept-Language ${JSON.stringify(value.slice(0, 80))} -> ${r.status} ${r.text.slice(0, 300)}`);
        expect(r.headers['x-cache']).toBe('HIT');
        expect(r.body.assets).toHaveLength(1000);
        expect(typeof r.body.assets[0].name).toBe('string');
        expect(r.body.assets[0].name.length).toBeGreaterThan(0);
      }),
      { numRuns: 100 },
    );
  }, 60_000);

  it('paging, search, conditional and consistency inputs on a cached read: 200, 304 or a 400 naming the field', async () => {
    const headerSafe = fc.oneof(fc.string({ maxLength: 80 }), fc.fullUnicodeString({ maxLength: 40 })).filter((s) => !CONTROL_CHARS.test(s));
    const input = fc.oneof(
      fc.record({ field: fc.constant('limit'), value: fc.oneof(fc.string({ maxLength: 20 }), fc.integer({ min: -5, max: 2_000 }).map(String)) }),
      fc.record({ field: fc.constant('cursor'), value: fc.oneof(fc.string({ maxLength: 300 }), fc.base64String({ maxLength: 200 })) }),
      fc.record({ field: fc.constant('q'), value: fc.oneof(fc.fullUnicodeString({ maxLength: 300 }), fc.constantFrom('', 'a0001', 'x'.repeat(5_000))) }),
      fc.record({ field: fc.constant('If-None-Match'), value: fc.oneof(headerSafe, fc.constantFrom('*', 'W/"a,b"', '"x", W/"y"', ',,', 'W/x')) }),
      fc.record({ field: fc.constant('X-Consistency-Token'), value: fc.oneof(headerSafe, fc.constantFrom('abc.def', `${'z'.repeat(12)}.${'A'.repeat(43)}`)) }),
      fc.record({ field: fc.constant('Accept-Encoding'), value: headerSafe }),
    );
    await fc.assert(
      fc.asyncProperty(input, async ({ field, value }) => {
        requests++;
        const inQuery = ['limit', 'cursor', 'q'].includes(field);
        const path = `/v1/orgs/o1/users/u0003/assets${inQuery ? `?${field}=${encodeURIComponent(value)}` : ''}`;
        const headers = ['x-api-key', key, ...(inQuery ? [] : [field.toLowerCase(), Buffer.from(value, 'utf8').toString('latin1')])];
        const r = await rawRequest(bff.url, 'GET', path, headers);
        const what = `${field}=${JSON.stringify(value.slice(0, 80))}`;
        if (r.status === 400 && field !== 'Accept-Encoding') expectNamed(r, field, what);
        else if (![200, 304].includes(r.status)) throw new Error(`${what} -> ${r.status} ${r.text.slice(0, 300)}`);
      }),
      RUNS,
    );
  }, 60_000);

  it('after all of it: no upstream call was made, and a valid read is served', async () => {
    expect(requests).toBeGreaterThan(1000);
    expect(await dataCalls(sim.admin)).toEqual({ assetList: 0, usersAssetList: 0, appAssetTree: 0 });
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key });
    expect(r.status).toBe(200);
    expect(r.body.assets).toHaveLength(10);
    expect((await call(bff.url, 'GET', '/health/ready')).body.status).toBe('ok');
    expect(bff.proc.exitCode).toBeNull();
    expect(bff.output()).not.toMatch(/unhandled error|"level":50/);
  });
});

describe('tricky but valid ids (__proto__, constructor, dot segments) are plain data', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let userToken: string;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(11), LOG_LEVEL: 'warn' } });
    userToken = await sim.admin.userToken('u0003', 'o1');
  }, 30_000);
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  const PROTO = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];

  it('never a 5xx on any route, whichever parameter carries them; unknown users and OUs are 404', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...PARAM_ROUTES), fc.nat(), fc.constantFrom(...PROTO), async (route, pick, name) => {
        const names = paramsOf(route);
        const bad = names[pick % names.length];
        const path = route.path.replace(/:(\w+)/g, (_, n: string) => (n === bad ? name : VALID_PARAMS[n]));
        const r = await call(bff.url, route.method, path, { ...(route.user ? { token: userToken } : { key }), body: route.body });
        if (r.status >= 500) throw new Error(`${route.method} ${path} -> ${r.status} ${r.text.slice(0, 300)}`);
        if (r.status >= 400) expect(r.headers.get('content-type')).toMatch(PROBLEM_TYPE);
        if (route.method === 'GET' && r.status === 404 && !route.user)
          expect(['USER_NOT_FOUND', 'ORG_NOT_FOUND', 'ASSET_NOT_ACCESSIBLE']).toContain(r.body.code);
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('as user ids in a batch: each answered once, in order, with no assets, next to a real user', async () => {
    const r = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: [...PROTO, 'u0005', '__proto__'] } });
    expect(r.status).toBe(200);
    expect(r.body.users.map((u: { userId: string }) => u.userId)).toEqual([...PROTO, 'u0005']);
    for (const u of r.body.users.slice(0, PROTO.length)) expect(u.assetIds).toEqual([]);
    expect(r.body.users[PROTO.length].assetIds).toHaveLength(10);
    const checks = await call(bff.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: PROTO.map((p) => ({ userId: p, assetId: 'o1-a0001' })) } });
    expect(checks.status).toBe(200);
    expect(checks.body.results.every((c: { allowed: boolean }) => c.allowed === false)).toBe(true);
    // Nothing leaked into shared state: a real user still reads exactly its own assets.
    const real = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0006/assets', { key });
    expect(real.body.assets.map((a: { id: string }) => a.id)).toEqual(Array.from({ length: 10 }, (_, i) => `o1-a${String(11 + i).padStart(4, '0')}`));
  });

  it('dot and empty segments (normalized by the client or not): never a 5xx, errors are problem+json', async () => {
    const segments = ['', '.', '..', '%2e', '%2E%2E', '.%2e', '...'];
    for (const route of PARAM_ROUTES) {
      for (const name of paramsOf(route)) {
        for (const seg of segments) {
          const path = route.path.replace(/:(\w+)/g, (_, n: string) => (n === name ? seg : VALID_PARAMS[n]));
          const headers = route.user ? ['authorization', `Bearer ${userToken}`] : ['x-api-key', key];
          const viaFetch = await call(bff.url, route.method, path, { ...(route.user ? { token: userToken } : { key }), body: route.body });
          const raw = await rawRequest(bff.url, route.method, path, headers, route.body === undefined ? undefined : JSON.stringify(route.body));
          for (const r of [viaFetch, { status: raw.status, headers: new Headers(raw.headers as Record<string, string>), body: raw.body }]) {
            expect({ path, status: r.status < 500 }).toEqual({ path, status: true });
            if (r.status >= 400) expect(r.headers.get('content-type')).toMatch(PROBLEM_TYPE);
          }
        }
      }
    }
  }, 60_000);
});
