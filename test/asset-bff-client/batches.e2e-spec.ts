import { AssetBffClient, AssetBffError, MAX_CHECKS_PER_REQUEST, MAX_USERS_PER_REQUEST } from '@asset-bff/client';
import { BffHandle, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const o1User = (k: number) => `u${String(k).padStart(4, '0')}`;
const o1Asset = (i: number) => `o1-a${String(i).padStart(4, '0')}`;
/** The users of o1 in the test profile, then ids unknown to the OU (answered with no assets) up to `count`. */
const userIds = (count: number) => Array.from({ length: count }, (_, i) => (i < 20 ? o1User(i + 1) : `ghost-${i}`));

/** API.md section 5: usersAssets and checkAccess split what one request takes and read the batch route as NDJSON. */
describe('@asset-bff/client batches', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let requests: { url: string; status: number }[];
  const observed: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    requests.push({ url: String(input).replace(bff.url, ''), status: res.status });
    return res;
  };
  const client = (base = bff) => new AssetBffClient({ baseUrl: base.url, apiKey: TEST_KEYS.reader, fetch: observed });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected an AssetBffError');
      },
      (e: unknown) => e as AssetBffError,
    );

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(14), LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });
  beforeEach(async () => {
    requests = [];
    await sim.admin.clearFaults();
  });

  it(`usersAssets of 60,000 users: two NDJSON requests (${MAX_USERS_PER_REQUEST} + 10,000), every user once in order`, async () => {
    const ids = userIds(60_000);
    let lastProgress: number[] = [];
    const r = await client().usersAssets('o1', [...ids, 'u0005', 'ghost-20'], { onProgress: (done, total) => (lastProgress = [done, total]) });
    expect(requests).toEqual([
      { url: '/v1/orgs/o1/user-assets', status: 200 },
      { url: '/v1/orgs/o1/user-assets', status: 200 },
    ]);
    expect(r.users).toHaveLength(60_000);
    expect(r.users.map((u) => u.userId)).toEqual(ids);
    expect(r.users[0].assetIds).toHaveLength(2_500);
    expect(r.users[4]).toEqual({ userId: 'u0005', assetIds: Array.from({ length: 10 }, (_, i) => o1Asset(i + 1)) });
    expect(r.users[59_999]).toEqual({ userId: 'ghost-59999', assetIds: [] });
    expect(r.assets).toHaveLength(2_500);
    expect(new Set(r.assets.map((a) => a.id)).size).toBe(2_500);
    expect(lastProgress).toEqual([60_000, 60_000]);
  });

  it(`checkAccess of 25,000 checks: three requests of at most ${MAX_CHECKS_PER_REQUEST}, results in request order`, async () => {
    const checks = Array.from({ length: 25_000 }, (_, i) => ({ userId: 'u0005', assetId: o1Asset((i % 2_500) + 1) }));
    const r = await client().checkAccess('o1', checks);
    expect(requests.map((q) => q.status)).toEqual([200, 200, 200]);
    expect(r.results).toHaveLength(25_000);
    expect(r.results.map((x) => `${x.userId}/${x.assetId}`)).toEqual(checks.map((c) => `${c.userId}/${c.assetId}`));
    expect(r.results.filter((x) => x.allowed)).toHaveLength(100);
    expect(r.results.slice(2_500, 2_511).map((x) => x.allowed)).toEqual([...Array(10).fill(true), false]);
  });

  it('an error line after the first lines of a stream is an AssetBffError with the problem it carries', async () => {
    const small = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(15), LOG_LEVEL: 'warn', PORTAL_BATCH_SIZE: '5' } });
    try {
      const cached = ['u0011', 'u0012', 'u0013', 'u0014', 'u0015'];
      await client(small).usersAssets('o1', cached);
      await sim.admin.setFault('usersAssetList', { errorCode: 31400 });
      const progress: number[] = [];
      const e = await failure(client(small).usersAssets('o1', [...cached, 'u0016', 'u0017'], { onProgress: (done) => progress.push(done) }));
      expect(progress).toEqual([1, 2, 3, 4, 5]);
      expect([e.status, e.code]).toEqual([502, 'UPSTREAM_REJECTED']);
      expect(e.requestId).toMatch(/\S+/);
    } finally {
      await small.stop();
    }
  });

  it('a stream that stops before its end line is STREAM_INCOMPLETE', async () => {
    const doomed = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(15), LOG_LEVEL: 'warn', PORTAL_BATCH_SIZE: '5', PORTAL_CONCURRENCY: '1' } });
    try {
      const cached = ['u0018', 'u0019', 'u0020', 'u0001', 'u0002'];
      await client(doomed).usersAssets('o1', cached);
      // Every later chunk waits in the portal: the service is killed while its stream is open.
      await sim.admin.setFault('usersAssetList', { latencyMs: 60_000 });
      const e = await failure(
        client(doomed).usersAssets('o1', [...cached, ...userIds(100).slice(5, 100)], {
          onProgress: (done) => done === 5 && doomed.proc.kill('SIGKILL'),
        }),
      );
      expect([e.status, e.code]).toEqual([200, 'STREAM_INCOMPLETE']);
    } finally {
      await doomed.stop('SIGKILL');
      await sim.admin.clearFaults();
    }
  });
});
