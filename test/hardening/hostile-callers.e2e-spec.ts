import { createHash, createPublicKey, createSign, KeyObject } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, JWK, JWTPayload, SignJWT } from 'jose';
import { BffHandle, call, sha256, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';
import { dataCalls, PROBLEM_TYPE, rawRequest } from './support';

/**
 * Hostile callers, beyond the authorization matrix of test/bff/authz.e2e-spec.ts: forged and misused JWTs
 * (alg none, HS256 keyed with the public key, wrong issuer/audience, expired, not yet valid, missing or bad
 * claims, foreign keys via kid/jku/jwk), a user reaching into another OU through every route, near-miss API
 * keys. Every one is refused before any upstream call, and no key, token or secret shows in a log or a body.
 */

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'asset-bff';
const HS_SECRET = 'hostile-suite-hs256-secret-0123456789abcdef';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

interface Route {
  method: string;
  path: string;
  body?: unknown;
}

/** Every route a user caller (u0003 in o1) could name. */
const USER_ROUTES: Route[] = [
  { method: 'GET', path: '/v1/orgs/o1/users/u0003/assets' },
  { method: 'GET', path: '/v1/orgs/o1/users/u0003/assets/o1-a0001' },
  { method: 'GET', path: '/v1/me/assets' },
  { method: 'POST', path: '/v1/orgs/o1/user-assets', body: { userIds: ['u0003'] } },
  { method: 'POST', path: '/v1/orgs/o1/access-checks', body: { checks: [{ userId: 'u0003', assetId: 'o1-a0001' }] } },
  { method: 'GET', path: '/v1/apps/demo-access-key/asset-tree' },
  { method: 'DELETE', path: '/v1/orgs/o1/users/u0003/cache' },
  { method: 'DELETE', path: '/v1/orgs/o1/cache' },
];

/** A tiny JWKS endpoint for keys this suite controls. */
async function jwksServer(keys: () => JWK[]): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: keys() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/jwks.json`, server, hits: () => hits };
}

describe('hostile callers', () => {
  let sim: SimHandle;
  /** Verifies with the simulator's JWKS (the usual test configuration). */
  let simJwks: BffHandle;
  /** Verifies with this suite's JWKS and checks JWT_ISSUER / JWT_AUDIENCE. */
  let ownJwks: BffHandle;
  /** Verifies HS256 with JWT_SECRET. */
  let hs: BffHandle;
  /** The simulator's JWKS, JWT_ISSUER portal-sim and an audience the simulator never sets. */
  let simWithAud: BffHandle;
  /** The simulator's JWKS and an issuer that is not the simulator. */
  let simOtherIss: BffHandle;
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let privateKey: KeyObject;
  let attackerKey: KeyObject;
  let attackerJwk: JWK;
  /** Everything the suite sent as a credential, and every body it got back. */
  const sentSecrets = new Set<string>();
  const bodies: string[] = [];

  const sign = (claims: JWTPayload, header: Record<string, unknown> = {}, key: KeyObject | Uint8Array = privateKey, alg = 'RS256') =>
    new SignJWT(claims).setProtectedHeader({ alg, kid: 'suite-key', typ: 'JWT', ...header }).sign(key);
  /** RS256 by hand, for headers jose refuses to produce. */
  const rawRs256 = (header: object, claims: JWTPayload) => {
    const input = `${b64(header)}.${b64(claims)}`;
    return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKey, 'base64url')}`;
  };
  const now = () => Math.floor(Date.now() / 1000);
  const good = (): JWTPayload => ({ sub: 'u0003', orgId: 'o1', iss: ISSUER, aud: AUDIENCE, iat: now(), exp: now() + 3600 });

  beforeAll(async () => {
    sim = await startSim();
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = KeyObject.from(pair.privateKey);
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'suite-key', alg: 'RS256', use: 'sig' };
    const attacker = await generateKeyPair('RS256', { extractable: true });
    attackerKey = KeyObject.from(attacker.privateKey);
    attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'suite-key', alg: 'RS256' };
    jwks = await jwksServer(() => [publicJwk]);
    const trace = { LOG_LEVEL: 'trace' };
    [simJwks, ownJwks, hs, simWithAud, simOtherIss] = await Promise.all([
      startBff({ sim, env: { ...trace, REDIS_URL: await cleanRedisDb(12) } }),
      startBff({ sim, env: { ...trace, REDIS_URL: await cleanRedisDb(13), JWT_JWKS_URL: jwks.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE } }),
      startBff({ sim, env: { ...trace, REDIS_URL: await cleanRedisDb(14), JWT_JWKS_URL: undefined, JWT_SECRET: HS_SECRET } }),
      startBff({ sim, env: { ...trace, REDIS_URL: await cleanRedisDb(15), JWT_ISSUER: 'portal-sim', JWT_AUDIENCE: AUDIENCE } }),
      startBff({ sim, env: { ...trace, REDIS_URL: await cleanRedisDb(15), JWT_ISSUER: 'https://not-the-simulator.test' } }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([simJwks, ownJwks, hs, simWithAud, simOtherIss].map((b) => b?.stop()));
    await sim?.stop();
    await new Promise((r) => jwks?.server.close(r));
  });

  /** Calls every route with these credentials and expects `status` (401 or 403) with the matching code. */
  async function expectRefusedEverywhere(
    bff: BffHandle,
    name: string,
    auth: { key?: string; token?: string; headers?: Record<string, string> },
    status: 401 | 403,
    routes = USER_ROUTES,
  ) {
    if (auth.key) sentSecrets.add(auth.key);
    if (auth.token) sentSecrets.add(auth.token);
    for (const r of routes) {
      const res = await call(bff.url, r.method, r.path, { ...auth, body: r.body });
      bodies.push(res.text);
      expect({ caller: name, route: `${r.method} ${r.path}`, status: res.status }).toEqual({ caller: name, route: `${r.method} ${r.path}`, status });
      expect(res.headers.get('content-type')).toMatch(PROBLEM_TYPE);
      expect(res.body.code).toBe(status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
    }
  }

  describe('forged and misused JWTs: 401 on every route, nothing upstream', () => {
    it('verifier with JWKS, issuer and audience: alg none, wrong alg, foreign keys, bad claims, bad times', async () => {
      const claims = good();
      const valid = await sign(claims);
      const [h, p, s] = valid.split('.');
      const forged: [string, string][] = [
        ['alg none, no signature', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`],
        ['alg None', `${b64({ alg: 'None', typ: 'JWT' })}.${p}.`],
        ['alg NONE, original signature kept', `${b64({ alg: 'NONE', typ: 'JWT' })}.${p}.${s}`],
        ['alg none, no dot', `${b64({ alg: 'none' })}.${p}`],
        ['header says RS512, RS256 signature', `${b64({ alg: 'RS512', kid: 'suite-key' })}.${p}.${s}`],
        ['claims swapped under a valid signature', `${h}.${b64({ ...claims, sub: 'u0001' })}.${s}`],
        [
          'HS256 keyed with the public key (PEM)',
          await sign(claims, {}, new TextEncoder().encode(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string), 'HS256'),
        ],
        [
          'HS256 keyed with the public JWK text',
          await sign(claims, {}, new TextEncoder().encode(JSON.stringify(createPublicKey(privateKey).export({ format: 'jwk' }))), 'HS256'),
        ],
        ['PS256 by the right key (algorithm not allowed)', await sign(claims, {}, privateKey, 'PS256')],
        ['RS384 by the right key (algorithm not allowed)', await sign(claims, {}, privateKey, 'RS384')],
        ['signed by a foreign key, same kid', await sign(claims, {}, attackerKey)],
        ['foreign key announced in jku', await sign(claims, { jku: `${jwks.url.replace('jwks.json', 'attacker.json')}`, kid: 'attacker' }, attackerKey)],
        ['foreign key embedded as jwk', await sign(claims, { jwk: attackerJwk, kid: undefined }, attackerKey)],
        ['unknown kid', await sign(claims, { kid: 'no-such-kid' })],
        ['unknown crit extension', rawRs256({ alg: 'RS256', kid: 'suite-key', crit: ['x-critical'], 'x-critical': true }, claims)],
        ['wrong issuer', await sign({ ...claims, iss: 'https://evil.test' })],
        ['no issuer', await sign({ ...claims, iss: undefined })],
        ['wrong audience', await sign({ ...claims, aud: 'another-service' })],
        ['audience list without us', await sign({ ...claims, aud: ['a', 'b'] })],
        ['no audience', await sign({ ...claims, aud: undefined })],
        ['expired a minute ago', await sign({ ...claims, exp: now() - 60 })],
        ['not valid for another minute (nbf)', await sign({ ...claims, nbf: now() + 60 })],
        ['exp as a string', await sign({ ...claims, exp: String(now() + 3600) as unknown as number })],
        ['no user claim', await sign({ ...claims, sub: undefined })],
        ['user claim a number', await sign({ ...claims, sub: 3 as unknown as string })],
        ['user claim not an id', await sign({ ...claims, sub: 'u0003 OR 1=1' })],
        ['user claim 129 chars', await sign({ ...claims, sub: 'u'.repeat(129) })],
        ['user claim empty', await sign({ ...claims, sub: '' })],
        ['a fourth segment', `${valid}.${s}`],
        ['over 8 KiB', await sign({ ...claims, pad: 'x'.repeat(9000) })],
      ];
      await sim.admin.resetCounters();
      for (const [name, token] of forged) await expectRefusedEverywhere(ownJwks, name, { token }, 401);
      for (const [name, value] of [
        ['token twice', `Bearer ${valid} ${valid}`],
        ['API key scheme', `ApiKey ${TEST_KEYS.admin}`],
      ]) {
        await expectRefusedEverywhere(ownJwks, name, { headers: { authorization: value } }, 401, USER_ROUTES.slice(0, 2));
      }
      expect(await dataCalls(sim.admin)).toEqual({ assetList: 0, usersAssetList: 0, appAssetTree: 0 });
      // The controls: the same verifier accepts the genuine token; without an OU claim it is a known user without an OU (403, not 401).
      expect((await call(ownJwks.url, 'GET', '/v1/orgs/o1/users/u0003/assets', { token: valid })).status).toBe(200);
      const noOu = await sign({ ...claims, orgId: undefined });
      await expectRefusedEverywhere(
        ownJwks,
        'no OU claim',
        { token: noOu },
        403,
        USER_ROUTES.filter((r) => r.path !== '/v1/apps/demo-access-key/asset-tree'),
      );
      sentSecrets.add(valid);
    }, 60_000);

    it('verifier with the simulator JWKS: the confusion attack with the simulator public key, alg none on its tokens', async () => {
      const res = await fetch(`${sim.url}/.well-known/jwks.json`);
      const simJwk = ((await res.json()) as { keys: JWK[] }).keys[0];
      const pem = createPublicKey({ key: simJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
      const der = createPublicKey({ key: simJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'der' });
      const claims = { sub: 'u0003', orgId: 'o1', iss: 'portal-sim', iat: now(), exp: now() + 3600 };
      const hsWith = (secret: Uint8Array) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: simJwk.kid, typ: 'JWT' }).sign(secret);
      const genuine = await sim.admin.userToken('u0003', 'o1');
      const [, p, s] = genuine.split('.');
      const forged: [string, string][] = [
        ['HS256 keyed with the simulator public key PEM', await hsWith(new TextEncoder().encode(pem))],
        ['HS256 keyed with the PEM without a newline at the end', await hsWith(new TextEncoder().encode(pem.trimEnd()))],
        ['HS256 keyed with the simulator public key DER', await hsWith(new Uint8Array(der))],
        ['HS256 keyed with the JWK text', await hsWith(new TextEncoder().encode(JSON.stringify(simJwk)))],
        ['HS256 keyed with the modulus', await hsWith(new TextEncoder().encode(simJwk.n as string))],
        ['alg none over genuine claims', `${b64({ alg: 'none', typ: 'JWT' })}.${p}.`],
        ['alg none with the genuine signature', `${b64({ alg: 'none', kid: simJwk.kid })}.${p}.${s}`],
        ['HS256 header over the genuine RS256 signature', `${b64({ alg: 'HS256', kid: simJwk.kid })}.${p}.${s}`],
      ];
      await sim.admin.resetCounters();
      for (const [name, token] of forged) await expectRefusedEverywhere(simJwks, name, { token }, 401);
      expect(await dataCalls(sim.admin)).toEqual({ assetList: 0, usersAssetList: 0, appAssetTree: 0 });
      expect((await call(simJwks.url, 'GET', '/v1/me/assets', { token: genuine })).status).toBe(200);
      sentSecrets.add(genuine);
    }, 60_000);

    it('JWT_ISSUER / JWT_AUDIENCE set: simulator tokens (iss portal-sim, no aud) are refused where they do not match', async () => {
      const token = await sim.admin.userToken('u0003', 'o1');
      await sim.admin.resetCounters();
      await expectRefusedEverywhere(simWithAud, 'simulator token without the required audience', { token }, 401);
      await expectRefusedEverywhere(simOtherIss, 'simulator token from the wrong issuer', { token }, 401);
      expect(await dataCalls(sim.admin)).toEqual({ assetList: 0, usersAssetList: 0, appAssetTree: 0 });
      // The same token passes the verifier that does not pin issuer and audience.
      expect((await call(simJwks.url, 'GET', '/v1/orgs/o1/users/u0003/assets', { token })).status).toBe(200);
      sentSecrets.add(token);
    });

    it('HS256 verifier (JWT_SECRET): other HMAC algorithms, wrong secret, alg none, RS256, bad times', async () => {
      const secret = new TextEncoder().encode(HS_SECRET);
      const claims = { sub: 'u0003', orgId: 'o1', iat: now(), exp: now() + 3600 };
      const hsSign = (c: JWTPayload, alg = 'HS256', key: Uint8Array | KeyObject = secret) => new SignJWT(c).setProtectedHeader({ alg, typ: 'JWT' }).sign(key);
      const valid = await hsSign(claims);
      const [, p] = valid.split('.');
      const forged: [string, string][] = [
        ['HS384 with the right secret', await hsSign(claims, 'HS384')],
        ['HS512 with the right secret', await hsSign(claims, 'HS512')],
        ['HS256 with a guessed secret', await hsSign(claims, 'HS256', new TextEncoder().encode('secret'))],
        ['HS256 with the secret plus one char', await hsSign(claims, 'HS256', new TextEncoder().encode(`${HS_SECRET}x`))],
        ['alg none', `${b64({ alg: 'none' })}.${p}.`],
        ['RS256 from the simulator', await sim.admin.userToken('u0003', 'o1')],
        ['expired', await hsSign({ ...claims, exp: now() - 60 })],
        ['not yet valid', await hsSign({ ...claims, nbf: now() + 60 })],
        ['no user claim', await hsSign({ orgId: 'o1', exp: now() + 3600 })],
      ];
      await sim.admin.resetCounters();
      for (const [name, token] of forged) await expectRefusedEverywhere(hs, name, { token }, 401);
      expect(await dataCalls(sim.admin)).toEqual({ assetList: 0, usersAssetList: 0, appAssetTree: 0 });
      expect((await call(hs.url, 'GET', '/v1/orgs/o1/users/u0003/assets', { token: valid })).status).toBe(200);
      sentSecrets.add(valid);
      sentSecrets.add(HS_SECRET);
    }, 30_000);
  });

  it('a user token reaching into another OU it belongs to (u0001: o1 token, o2 routes): 403 on every route, case tricks too', async () => {
    const token = await sim.admin.userToken('u0001', 'o1');
    const intoO2: Route[] = [
      { method: 'GET', path: '/v1/orgs/o2/users/u0001/assets' },
      { method: 'GET', path: '/v1/orgs/o2/users/u0001/assets/o2-a0001' },
      { method: 'POST', path: '/v1/orgs/o2/user-assets', body: { userIds: ['u0001'] } },
      { method: 'POST', path: '/v1/orgs/o2/access-checks', body: { checks: [{ userId: 'u0001', assetId: 'o2-a0001' }] } },
      { method: 'DELETE', path: '/v1/orgs/o2/users/u0001/cache' },
      { method: 'DELETE', path: '/v1/orgs/o2/cache' },
      { method: 'GET', path: '/v1/orgs/O1/users/u0001/assets' },
      { method: 'GET', path: '/v1/orgs/o1/users/U0001/assets' },
      { method: 'GET', path: '/v1/orgs/o2/users/u0001/assets?orgId=o1' },
      { method: 'POST', path: '/v1/orgs/o2/user-assets?orgId=o1', body: { userIds: ['u0001'] } },
      // Own OU in the path, but the body asks about someone else.
      { method: 'POST', path: '/v1/orgs/o1/user-assets', body: { userIds: ['u0001', 'u0003'] } },
      {
        method: 'POST',
        path: '/v1/orgs/o1/access-checks',
        body: {
          checks: [
            { userId: 'u0001', assetId: 'o1-a0001' },
            { userId: 'u0003', assetId: 'o1-a0001' },
          ],
        },
      },
    ];
    await sim.admin.resetCounters();
    await expectRefusedEverywhere(simJwks, 'o1 token on o2 routes', { token }, 403, intoO2);
    expect(await dataCalls(sim.admin)).toEqual({ assetList: 0, usersAssetList: 0, appAssetTree: 0 });
    // The token itself is good: its own OU answers.
    const own = await call(simJwks.url, 'GET', '/v1/orgs/o1/users/u0001/assets', { token });
    expect(own.status).toBe(200);
    expect(own.body.orgId).toBe('o1');
    sentSecrets.add(token);
  }, 30_000);

  it('near-miss API keys: prefix, suffix, the hash itself, case, very long, repeated header, wrong place: 401, nothing upstream', async () => {
    const k = TEST_KEYS.admin;
    const near: [string, string][] = [
      ['prefix', k.slice(0, -1)],
      ['first half', k.slice(0, k.length / 2)],
      ['suffix added', `${k}x`],
      ['first char dropped', k.slice(1)],
      ['upper case', k.toUpperCase()],
      ['the key twice', k + k],
      ['its sha256 hex', sha256(k)],
      ['its sha256 hex, upper case', sha256(k).toUpperCase()],
      ['its sha256 base64', createHash('sha256').update(k).digest('base64')],
      ['sha256 of its sha256', sha256(sha256(k))],
      ['513 chars', k + 'x'.repeat(513 - k.length)],
      ['8,000 chars', 'k'.repeat(8000)],
      ['unicode look-alike', k.replace('a', 'а')],
    ];
    const serviceRoutes = USER_ROUTES.filter((r) => !r.path.startsWith('/v1/me') && !r.path.startsWith('/v1/apps'));
    await sim.admin.resetCounters();
    for (const [name, key] of near) {
      await expectRefusedEverywhere(simJwks, name, { headers: { 'x-api-key': Buffer.from(key, 'utf8').toString('latin1') } }, 401, serviceRoutes);
      sentSecrets.add(key);
    }
    // A valid key in the wrong place, or next to a bad one, never authenticates.
    await expectRefusedEverywhere(simJwks, 'key as a bearer token', { headers: { authorization: `Bearer ${k}` } }, 401, serviceRoutes);
    await expectRefusedEverywhere(
      simJwks,
      'bad key next to a valid user token',
      { key: 'nope', token: await sim.admin.userToken('u0003', 'o1') },
      401,
      serviceRoutes,
    );
    const inQuery = await call(simJwks.url, 'GET', `/v1/orgs/o1/users/u0003/assets?api_key=${k}&x-api-key=${k}`);
    expect(inQuery.status).toBe(401);
    for (const order of [
      [k, 'bad'],
      ['bad', k],
      [k, k],
    ]) {
      const r = await rawRequest(simJwks.url, 'GET', '/v1/orgs/o1/users/u0003/assets', ['x-api-key', order[0], 'x-api-key', order[1]]);
      expect({ order: order.map((x) => (x === k ? 'valid' : x)), status: r.status }).toEqual({ order: order.map((x) => (x === k ? 'valid' : x)), status: 401 });
      bodies.push(r.text);
    }
    // A header too large for the HTTP parser: refused before the app (Node's own 431), never a 5xx.
    const huge = await rawRequest(simJwks.url, 'GET', '/v1/orgs/o1/users/u0003/assets', ['x-api-key', 'k'.repeat(100_000)]);
    expect(huge.status).toBe(431);
    expect(await dataCalls(sim.admin)).toEqual({ assetList: 0, usersAssetList: 0, appAssetTree: 0 });
    // Header names are case-insensitive: the exact key still works.
    expect((await rawRequest(simJwks.url, 'GET', '/v1/orgs/o1/users/u0003/assets', ['X-API-KEY', k])).status).toBe(200);
  }, 30_000);

  it('no key, token, app secret, JWT secret, accessKey or apim header value in any log line or error body', async () => {
    // Upstream traffic with app credentials, including the paths that log: token refresh, portal errors, 5xx.
    const token = await sim.admin.userToken('u0003', 'o1');
    sentSecrets.add(token);
    for (const bff of [simJwks, ownJwks, hs]) {
      await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key: TEST_KEYS.admin, headers: { 'cache-control': 'no-cache' } });
    }
    await sim.admin.expireAppTokens();
    expect((await call(simJwks.url, 'GET', '/v1/orgs/o1/users/u0006/assets', { key: TEST_KEYS.reader })).status).toBe(200);
    await sim.admin.setFault('assetList', { errorCode: 31400, times: 1 });
    bodies.push((await call(simJwks.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key: TEST_KEYS.reader })).text);
    await sim.admin.setFault('usersAssetList', { httpStatus: 503, times: 3 });
    bodies.push((await call(simJwks.url, 'POST', '/v1/orgs/o1/user-assets', { key: TEST_KEYS.reader, body: { userIds: ['u0008'] } })).text);
    await sim.admin.setFault('appAssetTree', { errorCode: 31401, times: 1 });
    bodies.push((await call(simJwks.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { token })).text);
    bodies.push((await call(simJwks.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { token })).text);
    await sim.admin.clearFaults();

    const secrets = [...Object.values(TEST_KEYS), ...Object.values(TEST_KEYS).map(sha256), sim.appSecret, HS_SECRET, ...sentSecrets].filter(
      (s) => s.length >= 12,
    );
    expect(secrets.length).toBeGreaterThan(60);
    const outputs = [simJwks, ownJwks, hs, simWithAud, simOtherIss].map((b) => b.output());
    expect(outputs.join('').split('\n').length).toBeGreaterThan(100); // trace level: there is plenty to look at
    // The tree's accessKey authenticates the app to the portal: the access log shows its first characters only (the
    // tree's answer names it, as API.md says: the caller sent it).
    expect(outputs[0]).toContain(`/v1/apps/${sim.accessKey.slice(0, 4)}…/asset-tree`);
    for (const [i, text] of outputs.entries()) expect({ log: i, accessKey: text.includes(sim.accessKey) }).toEqual({ log: i, accessKey: false });
    for (const [i, text] of [...outputs, ...bodies].entries()) {
      const where = i < outputs.length ? `log of service ${i}` : `body ${i - outputs.length}`;
      for (const s of secrets) {
        if (text.includes(s)) throw new Error(`${where} contains a credential: ${s.slice(0, 12)}...`);
      }
      // Signatures and hashes are 64 hex digits; app tokens travel in apim-accesstoken.
      expect({ where, hex64: /\b[0-9a-fA-F]{64}\b/.test(text) }).toEqual({ where, hex64: false });
      expect({ where, apim: /apim-(signature|accesstoken)["']?\s*[:=]\s*["']?[A-Za-z0-9]/i.test(text) }).toEqual({ where, apim: false });
      expect({ where, stack: /\n\s+at .+\.js:\d+/.test(i < outputs.length ? '' : text) }).toEqual({ where, stack: false });
    }
  }, 30_000);
});
