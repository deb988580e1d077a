import { request } from 'node:http';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { rawCall } from '../support/raw-http';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const NDJSON = 'application/x-ndjson';
const CHUNK = 5;
const TOKEN = /^[0-9a-z]{1,12}\.[A-Za-z0-9_-]{43}$/;

/** API.md section 3, "Large answers": POST …/user-assets as NDJSON, written chunk by chunk (PORTAL_BATCH_SIZE users). */
describe('user-assets as NDJSON', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  /** A second instance sharing bff's Redis. */
  let other: BffHandle;
  const key = TEST_KEYS.reader;
  const o1Users = Array.from({ length: 16 }, (_, i) => `u${String(i + 5).padStart(4, '0')}`);
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    rawCall(`${bff.url}/v1/orgs/o1/user-assets`, 'POST', { 'x-api-key': key, accept: NDJSON, ...headers }, JSON.stringify(body));
  const linesOf = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l));

  beforeAll(async () => {
    sim = await startSim();
    const env = { REDIS_URL: await cleanRedisDb(6), PORTAL_BATCH_SIZE: String(CHUNK) };
    [bff, other] = await Promise.all([startBff({ sim, env }), startBff({ sim, env })]);
  });
  afterAll(async () => {
    await other?.stop();
    await bff?.stop();
    await sim?.stop();
  });
  beforeEach(() => sim.admin.reset());

  it('writes each asset once before the first user listing it, each user once in request order, and end last', async () => {
    const userIds = ['u0003', ...o1Users, 'ghost', 'u0005', 'u0003'];
    const r = await post({ userIds });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = linesOf(r.decoded.toString());
    const json = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds } });
    const seen = new Set<string>();
    const users: { userId: string; assetIds: string[] }[] = [];
    const assets: unknown[] = [];
    lines.slice(0, -1).forEach((line) => {
      expect(Object.keys(line)).toHaveLength(1);
      if (line.asset) {
        expect(seen.has(line.asset.id)).toBe(false);
        seen.add(line.asset.id);
        assets.push(line.asset);
      } else {
        for (const id of line.user.assetIds) expect(seen.has(id)).toBe(true);
        users.push(line.user);
      }
    });
    expect(users).toEqual(json.body.users);
    expect(new Set(assets.map((a) => JSON.stringify(a)))).toEqual(new Set(json.body.assets.map((a: unknown) => JSON.stringify(a))));
    expect(lines[lines.length - 1]).toEqual({
      end: { users: 18, assets: json.body.assets.length, cache: expect.stringMatching(/^(HIT|MISS|STALE)$/) },
    });
  });

  it('streams only when Accept prefers NDJSON (q-values honoured), and says the answer varies by Accept', async () => {
    const body = { userIds: ['u0005', 'u0006'] };
    const kind = async (accept: string) => {
      const r = await rawCall(`${bff.url}/v1/orgs/o1/user-assets`, 'POST', { 'x-api-key': key, accept }, JSON.stringify(body));
      expect(r.status).toBe(200);
      expect(String(r.headers.vary)).toContain('Accept');
      return String(r.headers['content-type']).split(';')[0];
    };
    expect(await kind(NDJSON)).toBe(NDJSON);
    expect(await kind(`application/json;q=0.5, ${NDJSON}`)).toBe(NDJSON);
    expect(await kind(`${NDJSON};q=0`)).toBe('application/json');
    expect(await kind(`${NDJSON};q=0.4, application/json`)).toBe('application/json');
    expect(await kind(`${NDJSON};q=0.4, */*;q=0.8`)).toBe('application/json');
    expect(await kind('*/*')).toBe('application/json');
  });

  it('compresses the stream as it goes; it decodes to the identity stream byte for byte', async () => {
    const body = { userIds: o1Users };
    const identity = await post(body);
    for (const coding of ['gzip', 'br']) {
      const r = await post(body, { 'accept-encoding': coding });
      expect(r.headers['content-encoding']).toBe(coding);
      expect(r.decoded.equals(identity.raw)).toBe(true);
      // The exact consistency token follows the compressed lines too.
      expect(r.trailers['x-consistency-token']).toBe(identity.trailers['x-consistency-token']);
      expect(r.trailers['x-consistency-token']).toMatch(TOKEN);
    }
  });

  // Compressed, the lines are flushed as they go: the first decodes before the later chunks are read.
  it.each(['identity', 'gzip', 'br'])('sends the first lines before the later chunks are read upstream (%s)', async (coding) => {
    await sim.admin.setFault('usersAssetList', { latencyMs: 1500 });
    const userIds = Array.from({ length: 3 * CHUNK }, (_, i) => `u${String(i + 101).padStart(4, '0')}`);
    const headers = { 'x-api-key': key, accept: NDJSON, 'content-type': 'application/json', 'cache-control': 'no-cache', 'accept-encoding': coding };
    // Resolves once the stream has ended, so that none of its upstream calls falls into the next test's counts.
    const firstLines = await new Promise<{ text: string; callsThen: number }>((resolve, reject) => {
      const req = request(`${bff.url}/v1/orgs/o2/user-assets`, { method: 'POST', headers }, (res) => {
        expect(res.headers['content-encoding']).toBe(coding === 'identity' ? undefined : coding);
        const decoded = coding === 'gzip' ? res.pipe(createGunzip()) : coding === 'br' ? res.pipe(createBrotliDecompress()) : res;
        let first: Promise<{ text: string; callsThen: number }> | undefined;
        decoded.on('data', (d: Buffer) => {
          first ??= sim.admin.counters().then((c) => ({ text: d.toString(), callsThen: c.endpoints.usersAssetList.calls }));
        });
        decoded.on('end', () => (first ?? Promise.reject(new Error('no data'))).then(resolve, reject));
        decoded.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ userIds }));
    });
    expect(firstLines.text.length).toBeGreaterThan(0);
    expect(Object.keys(JSON.parse(firstLines.text.split('\n')[0]))).toEqual([expect.stringMatching(/^(asset|user)$/)]);
    expect(firstLines.callsThen).toBeLessThan(3);
  });

  it('sends a safe consistency token as a header and the exact one as a trailer; another instance honours both, a tampered one is 400', async () => {
    const lastLine = (r: { decoded: Buffer }) => linesOf(r.decoded.toString()).pop();
    expect((await call(bff.url, 'DELETE', '/v1/orgs/o1/cache', { key: TEST_KEYS.admin })).status).toBe(204);
    // The last chunk (u0020 alone) is loaded first, so the newest load of the batch is another chunk's.
    const last = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0020'] } });
    const lastToken = last.headers.get('x-consistency-token');
    const stream = await post({ userIds: o1Users });
    const end = lastLine(stream).end;
    expect(end).toEqual({ users: 16, assets: 160, cache: 'MISS' });
    // The trailer, sent after the last line, names the newest load among the batch's users: the exact token.
    expect(stream.headers.trailer).toMatch(/^x-consistency-token$/i);
    const exact = String(stream.trailers['x-consistency-token']);
    expect(exact).toMatch(TOKEN);
    expect(exact).not.toBe(lastToken);
    // The header leaves before the users are read: it names the stream's start, no later than the exact token.
    const headerToken = String(stream.headers['x-consistency-token']);
    expect(headerToken).toMatch(TOKEN);
    const timeOf = (token: string) => parseInt(token.split('.')[0], 36);
    expect(timeOf(headerToken)).toBeLessThanOrEqual(timeOf(exact));
    expect(timeOf(headerToken)).toBeGreaterThan(timeOf(String(lastToken)));

    // The same unchanged batch as JSON carries the same token, and so does the stream read again.
    const json = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: o1Users } });
    expect(json.headers.get('x-cache')).toBe('HIT');
    expect(json.headers.get('x-consistency-token')).toBe(exact);
    const again = await post({ userIds: o1Users });
    expect(lastLine(again).end).toEqual({ ...end, cache: 'HIT' });
    expect(again.trailers['x-consistency-token']).toBe(exact);

    // On the other instance: u0019 (chunk 3, the newest load) is fresh enough for the token, u0020 (loaded before) is reloaded.
    await sim.admin.resetCounters();
    const withToken = { key, headers: { 'x-consistency-token': exact } };
    const newest = await call(other.url, 'GET', '/v1/orgs/o1/users/u0019/assets', withToken);
    expect(newest.status).toBe(200);
    expect(newest.headers.get('x-cache')).toBe('HIT');
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(0);
    const older = await call(other.url, 'GET', '/v1/orgs/o1/users/u0020/assets', withToken);
    expect(older.status).toBe(200);
    expect(older.headers.get('x-cache')).toBe('MISS');
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(1);
    const streamed = await rawCall(
      `${other.url}/v1/orgs/o1/user-assets`,
      'POST',
      { 'x-api-key': key, accept: NDJSON, 'x-consistency-token': exact },
      JSON.stringify({ userIds: ['u0019'] }),
    );
    expect(streamed.status).toBe(200);
    expect(lastLine(streamed).end).toEqual({ users: 1, assets: 10, cache: 'HIT' });
    expect(streamed.trailers['x-consistency-token']).toBe(exact);
    // The header's token is honoured on the other instance: u0005, loaded during the stream, is fresh enough for it.
    await sim.admin.resetCounters();
    const early = await call(other.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key, headers: { 'x-consistency-token': headerToken } });
    expect({ status: early.status, cache: early.headers.get('x-cache') }).toEqual({ status: 200, cache: 'HIT' });
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(0);

    // A tampered token: 400 naming the header, before any upstream call, as JSON and as a stream.
    await sim.admin.resetCounters();
    const sig = exact.slice(-1) === 'A' ? 'B' : 'A';
    const tampered = { 'x-consistency-token': `${exact.slice(0, -1)}${sig}` };
    const bad = await call(other.url, 'GET', '/v1/orgs/o1/users/u0019/assets', { key, headers: tampered });
    expect({ status: bad.status, fields: bad.body.fields.map((f: { field: string }) => f.field) }).toEqual({ status: 400, fields: ['X-Consistency-Token'] });
    const badStream = await rawCall(
      `${other.url}/v1/orgs/o1/user-assets`,
      'POST',
      { 'x-api-key': key, accept: NDJSON, ...tampered },
      JSON.stringify({ userIds: ['u0019'] }),
    );
    expect(badStream.status).toBe(400);
    expect(badStream.headers['content-type']).toMatch(/^application\/problem\+json/);
    const c = await sim.admin.counters();
    expect(c.endpoints.assetList.calls + c.endpoints.usersAssetList.calls).toBe(0);
  });

  // Last: its failed calls open the service's circuit for a few seconds.
  it('ends with an error line and no end line when a later chunk fails, and answers problem+json when the first does', async () => {
    const cached = o1Users.slice(0, CHUNK);
    await post({ userIds: cached });
    await sim.admin.setFault('usersAssetList', { httpStatus: 503 });
    // Users no request of this suite has read: nothing cached, no STALE copy to fall back on.
    const r = await post({ userIds: [...cached, 'u0001', 'u0004'] });
    expect(r.status).toBe(200);
    const lines = linesOf(r.decoded.toString());
    expect(lines.filter((l) => l.user).map((l) => l.user.userId)).toEqual(cached);
    const last = lines[lines.length - 1];
    expect(last.error).toMatchObject({ status: 503, code: 'UPSTREAM_UNAVAILABLE' });
    expect(lines.some((l) => l.end)).toBe(false);
    const before = await post({ userIds: ['u0002'] });
    expect(before.status).toBe(503);
    expect(before.headers['content-type']).toMatch(/^application\/problem\+json/);
    await sim.admin.clearFaults();
    const invalid = await post({ userIds: ['not valid!'] });
    expect(invalid.status).toBe(400);
    expect(invalid.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
