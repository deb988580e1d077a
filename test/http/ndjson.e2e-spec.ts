import { request } from 'node:http';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { rawCall } from '../support/raw-http';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const NDJSON = 'application/x-ndjson';
const CHUNK = 5;

/** API.md section 3, "Large answers": POST …/user-assets as NDJSON, written chunk by chunk (PORTAL_BATCH_SIZE users). */
describe('user-assets as NDJSON', () => {
  let sim: SimHandle;
  let bff: BffHandle;
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
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(6), PORTAL_BATCH_SIZE: String(CHUNK) } });
  });
  afterAll(async () => {
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
    expect(lines[lines.length - 1]).toEqual({ end: { users: 18, assets: json.body.assets.length, cache: expect.stringMatching(/^(HIT|MISS|STALE)$/) } });
  });

  it('compresses the stream as it goes; it decodes to the identity stream byte for byte', async () => {
    const body = { userIds: o1Users };
    const identity = await post(body);
    for (const coding of ['gzip', 'br']) {
      const r = await post(body, { 'accept-encoding': coding });
      expect(r.headers['content-encoding']).toBe(coding);
      expect(r.decoded.equals(identity.raw)).toBe(true);
    }
  });

  it('sends the first lines before the later chunks are read upstream', async () => {
    await sim.admin.setFault('usersAssetList', { latencyMs: 1500 });
    const userIds = Array.from({ length: 3 * CHUNK }, (_, i) => `u${String(i + 101).padStart(4, '0')}`);
    const firstLines = await new Promise<{ text: string; callsThen: number }>((resolve, reject) => {
      const req = request(
        `${bff.url}/v1/orgs/o2/user-assets`,
        { method: 'POST', headers: { 'x-api-key': key, accept: NDJSON, 'content-type': 'application/json' } },
        (res) => {
          res.once('data', (d: Buffer) => {
            void sim.admin.counters().then((c) => {
              resolve({ text: d.toString(), callsThen: c.endpoints.usersAssetList.calls });
              res.resume();
            }, reject);
          });
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ userIds }));
    });
    expect(firstLines.text.length).toBeGreaterThan(0);
    expect(Object.keys(JSON.parse(firstLines.text.split('\n')[0]))).toEqual([expect.stringMatching(/^(asset|user)$/)]);
    expect(firstLines.callsThen).toBeLessThan(3);
  });

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
