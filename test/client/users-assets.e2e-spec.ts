import { PortalClient, PortalError, PortalErrorKind } from '@app/portal-client';
import { startSim } from '../support/sim';
import { buildClient, clientOptions } from './client-harness';

type Sim = Awaited<ReturnType<typeof startSim>>;

describe('PortalClient users/assetList (real simulator)', () => {
  let sim: Sim;
  let client: PortalClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    sim = await startSim({ profile: 'test' });
    ({ client, close } = await buildClient(clientOptions(sim)));
  });

  afterAll(async () => {
    await close?.();
    await sim?.stop();
  });

  beforeEach(async () => {
    await sim.admin.clearFaults();
  });

  it('reads 2,500 users in 3 calls, every user once in request order, each asset once', async () => {
    await sim.admin.createOrg({ orgId: 'o-2500', assetCount: 300, userCount: 2_500, assetsPerUser: 4 });
    const detail = await sim.admin.org('o-2500');
    const seeded = detail.userAssetCounts.map((u) => u.userId);
    expect(seeded).toHaveLength(2_500);
    // Reverse the seed order, ask twice for some users and once for a user the OU does not know.
    const requested = [...seeded].reverse();
    const withExtras = [...requested.slice(0, 10), 'nobody-here', ...requested, ...requested.slice(0, 5)];

    await sim.admin.resetCounters();
    const r = await client.getUsersAssets('o-2500', withExtras);
    const counters = await sim.admin.counters();

    expect(counters.endpoints.usersAssetList.calls).toBe(3);
    expect(counters.endpoints.usersAssetList.users).toBe(2_501);
    const expectedOrder = [...requested.slice(0, 10), 'nobody-here', ...requested.slice(10)];
    expect(r.users.map((u) => u.userId)).toEqual(expectedOrder);
    expect(r.users.find((u) => u.userId === 'nobody-here')?.userAssetIds).toEqual([]);
    const counts = new Map(detail.userAssetCounts.map((u) => [u.userId, u.assets]));
    for (const u of r.users) if (u.userId !== 'nobody-here') expect(u.userAssetIds).toHaveLength(counts.get(u.userId)!);

    const assetIds = r.assets.map((a) => a.id);
    expect(new Set(assetIds).size).toBe(assetIds.length);
    const referenced = new Set(r.users.flatMap((u) => u.userAssetIds));
    expect(new Set(assetIds)).toEqual(referenced);
    for (const a of r.assets) expect(typeof a.type).toBe('string');
  });

  it('makes no call for an empty user list and refuses more than 1000 resourceTypes', async () => {
    await sim.admin.resetCounters();
    expect(await client.getUsersAssets('o-2500', [])).toEqual({ orgId: 'o-2500', users: [], assets: [] });
    const types = Array.from({ length: 1_001 }, (_, i) => `t${i}`);
    await expect(client.getUsersAssets('o-2500', ['u'], types)).rejects.toMatchObject({ kind: PortalErrorKind.BadRequest });
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(0);
  });

  it('folds 100 concurrent single-user lookups of one OU into one call, each caller getting only its own assets', async () => {
    await sim.admin.createOrg({ orgId: 'o-mb', assetCount: 400 });
    const users = Array.from({ length: 100 }, (_, i) => `mb-${i}`);
    for (let i = 0; i < users.length; i++) await sim.admin.createUser('o-mb', { userId: users[i], assetCount: 3, assetOffset: i * 3 });

    await sim.admin.resetCounters();
    const results = await Promise.all(users.map((u) => client.getUserAssetsBatched('o-mb', u)));
    const counters = await sim.admin.counters();
    expect(counters.endpoints.usersAssetList.calls).toBe(1);
    expect(counters.endpoints.usersAssetList.users).toBe(100);

    const reference = await client.getUsersAssets('o-mb', users);
    const seen = new Set<string>();
    results.forEach((r, i) => {
      expect(r.userId).toBe(users[i]);
      expect(r.assetIds).toHaveLength(3);
      expect(r.assetIds).toEqual(reference.users[i].userAssetIds);
      expect(r.assets.map((a) => a.id)).toEqual(r.assetIds);
      for (const id of r.assetIds) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    });
  });

  it('keeps different type filters in different batches', async () => {
    await sim.admin.resetCounters();
    const detail = await sim.admin.org('o-mb');
    const type = detail.resourceTypes[0];
    const [all, filtered] = await Promise.all([client.getUserAssetsBatched('o-mb', 'mb-1'), client.getUserAssetsBatched('o-mb', 'mb-2', [type])]);
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(2);
    expect(all.assetIds).toHaveLength(3);
    for (const a of filtered.assets) expect(a.type).toBe(type);
  });

  it('rejects every caller of a batch with NotFound when the OU is unknown (one call)', async () => {
    await sim.admin.resetCounters();
    const settled = await Promise.allSettled(['a', 'b', 'c'].map((u) => client.getUserAssetsBatched('no-such-org', u)));
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(1);
    for (const s of settled) {
      expect(s.status).toBe('rejected');
      const err = (s as PromiseRejectedResult).reason as PortalError;
      expect(err).toBeInstanceOf(PortalError);
      expect(err.kind).toBe(PortalErrorKind.NotFound);
      expect(err.upstreamCode).toBe(31404);
      expect(err.notFound).toBe('org');
    }
  });
});
