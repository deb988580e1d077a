import { AnswerKind, PortalClient, PortalError, PortalErrorKind, readAnswer } from '@app/portal-client';
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

  it('reads answers through a decoder the same as by itself, each answer decoded once, every chunk told', async () => {
    const requested = (await sim.admin.org('o-2500')).userAssetCounts.map((u) => u.userId);
    const asked = ['nobody-here', ...requested];
    const plain = await client.getUsersAssets('o-2500', asked);
    await sim.admin.resetCounters();
    const kinds: AnswerKind[] = [];
    // A decoder as the service's answer workers run it (in this thread here): readAnswer of the whole answer's bytes.
    const decode = async (kind: AnswerKind, bytes: Buffer): Promise<unknown> => {
      kinds.push(kind);
      return readAnswer(kind, bytes);
    };
    const told: string[][] = [];
    const r = await client.getUsersAssets('o-2500', asked, undefined, (chunk) => told.push(chunk.users.map((u) => u.userId)), decode);
    expect(kinds).toEqual(['usersAssetList', 'usersAssetList', 'usersAssetList']);
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(3);
    expect(r).toEqual(plain);
    expect(told.flat().sort()).toEqual([...asked].sort());
  });

  it('reads again an answer cut off in transit or that its decoder failed to read (one call more), and gives up on answers cut every time', async () => {
    const asked = (await sim.admin.org('o-2500')).userAssetCounts.map((u) => u.userId).slice(0, 1_000);
    const plain = await client.getUsersAssets('o-2500', asked);
    const decode = async (kind: AnswerKind, bytes: Buffer): Promise<unknown> => readAnswer(kind, bytes);
    // the head and the first 10,000 bytes of the answer (of over 50,000), then the connection is destroyed
    for (const d of [undefined, decode]) {
      await sim.admin.resetCounters();
      await sim.admin.setFault('usersAssetList', { cutAfterBytes: 10_000, times: 1 });
      expect(await client.getUsersAssets('o-2500', asked, undefined, undefined, d)).toEqual(plain);
      const c = await sim.admin.counters();
      expect(c.endpoints.usersAssetList.calls).toBe(2);
      expect(c.log.filter((l) => l.endpoint === 'usersAssetList').map((l) => l.outcome)).toEqual([-1, 0]);
    }
    // a decoder that fails once (a worker thread lost with the answer): the answer is asked for again
    let failures = 0;
    const failsOnce = async (kind: AnswerKind, bytes: Buffer): Promise<unknown> => {
      if (failures++ === 0) throw new Error('answer worker exited (1)');
      return readAnswer(kind, bytes);
    };
    await sim.admin.resetCounters();
    expect(await client.getUsersAssets('o-2500', asked, undefined, undefined, failsOnce)).toEqual(plain);
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(2);
    // every answer cut: the first attempt and its two retries, then Unavailable (a client of its own: its circuit counts them)
    const own = await buildClient(clientOptions(sim));
    try {
      await sim.admin.setFault('usersAssetList', { cutAfterBytes: 10_000 });
      await sim.admin.resetCounters();
      await expect(own.client.getUsersAssets('o-2500', asked, undefined, undefined, decode)).rejects.toMatchObject({ kind: PortalErrorKind.Unavailable });
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(3);
    } finally {
      await own.close();
    }
  });

  it("tells each chunk's listener its users in request order, a user left out of the answer with an empty list", async () => {
    const requested = (await sim.admin.org('o-2500')).userAssetCounts.map((u) => u.userId);
    // Chunks of 1,000: the first two as asked; the third has a user the OU does not know (left out of the answer).
    const asked = [...requested.slice(0, 2_000), 'nobody-here', ...requested.slice(2_000, 2_100)];
    const told = new Map<string, string[]>();
    await client.getUsersAssets('o-2500', asked, undefined, (chunk) =>
      told.set(
        chunk.users[0].userId,
        chunk.users.map((u) => u.userId),
      ),
    );
    expect([...told.keys()].sort()).toEqual([requested[0], requested[1_000], 'nobody-here'].sort());
    expect(told.get('nobody-here')).toEqual(['nobody-here', ...requested.slice(2_000, 2_100)]);
    // An answer naming a user twice: the listener is told the chunk's users once each, the repeats folded.
    const repeated = async (): Promise<unknown> =>
      readAnswer(
        'usersAssetList',
        Buffer.from(
          JSON.stringify({
            code: 0,
            data: {
              usersUserAssets: [
                { userId: 'u1', userAssetIds: ['a'] },
                { userId: 'u1', userAssetIds: ['b', 'a'] },
              ],
              userAssets: [],
            },
          }),
        ),
      );
    const chunks: unknown[] = [];
    await client.getUsersAssets('o-2500', ['u1', 'u2'], undefined, (chunk) => chunks.push(chunk.users), repeated);
    expect(chunks).toEqual([
      [
        { userId: 'u1', userAssetIds: ['a', 'b'] },
        { userId: 'u2', userAssetIds: [] },
      ],
    ]);
  });

  it("tells each chunk where its users are in the result, and merges a user another chunk's answer names too", async () => {
    const requested = (await sim.admin.org('o-2500')).userAssetCounts.map((u) => u.userId);
    const asked = requested.slice(0, 2_500);
    type Told = { offset: number; users: { userId: string; userAssetIds: string[] }[] };
    type Env = { code: number; data: { usersUserAssets: { userId: string; userAssetIds?: string[] }[]; userAssets: unknown[] } };
    // Usual answers: each chunk's users are the result's, at the chunk's offset, with the very lists the listener was told.
    const told: Told[] = [];
    const r = await client.getUsersAssets('o-2500', asked, undefined, (chunk) => told.push(chunk));
    expect(told.map((c) => c.offset).sort((a, b) => a - b)).toEqual([0, 1_000, 2_000]);
    for (const c of told) c.users.forEach((u, k) => expect(r.users[c.offset + k].userAssetIds).toBe(u.userAssetIds));
    expect(r.users.map((u) => u.userId)).toEqual(asked);

    // The third chunk's answer also names a user of the first chunk, with one asset more: that user's list is both
    // answers' ids, each once; every other user keeps the list its chunk was told, at the same positions.
    const extra = 'o-2500-a-extra';
    const quirky = async (kind: AnswerKind, bytes: Buffer): Promise<unknown> => {
      const env = JSON.parse(bytes.toString('utf8')) as Env;
      const users = env.data.usersUserAssets;
      if (users.some((u) => u.userId === asked[2_000])) users.push({ userId: asked[0], userAssetIds: [...r.users[0].userAssetIds, extra] });
      return readAnswer(kind, Buffer.from(JSON.stringify(env)));
    };
    const toldAgain: Told[] = [];
    const q = await client.getUsersAssets('o-2500', asked, undefined, (chunk) => toldAgain.push(chunk), quirky);
    expect(q.users.map((u) => u.userId)).toEqual(asked);
    expect(q.users[0].userAssetIds).toEqual([...r.users[0].userAssetIds, extra]);
    for (const c of toldAgain) {
      c.users.forEach((u, k) => {
        expect(q.users[c.offset + k].userId).toBe(u.userId);
        if (c.offset + k !== 0) expect(q.users[c.offset + k].userAssetIds).toBe(u.userAssetIds);
      });
    }
    expect(q.users.slice(1)).toEqual(r.users.slice(1));
  });

  it('folds repeats of a decoded answer as it folds its own, and maps a malformed answer to BadResponse without retrying', async () => {
    // An answer naming one user twice, with an id repeated within and across the two entries.
    const data = {
      usersUserAssets: [{ userId: 'u1', userAssetIds: ['a', 'b', 'a'] }, { userId: 'u2' }, { userId: 'u1', userAssetIds: ['c', 'b'] }],
      userAssets: [{ id: 'a' }],
    };
    const cannedWith =
      (d: unknown) =>
      async (kind: AnswerKind): Promise<unknown> =>
        readAnswer(kind, Buffer.from(JSON.stringify({ code: 0, data: d })));
    const r = await client.getUsersAssets('o-2500', ['u1', 'u2', 'u3'], undefined, undefined, cannedWith(data));
    expect(r.users).toEqual([
      { userId: 'u1', userAssetIds: ['a', 'b', 'c'] },
      { userId: 'u2', userAssetIds: [] },
      { userId: 'u3', userAssetIds: [] },
    ]);
    expect(r.assets).toEqual([{ id: 'a', name: {}, type: '', typeName: {} }]);

    await sim.admin.resetCounters();
    await expect(client.getUsersAssets('o-2500', ['u1'], undefined, undefined, cannedWith({ usersUserAssets: [{ userAssetIds: [] }] }))).rejects.toMatchObject({
      kind: PortalErrorKind.BadResponse,
    });
    await expect(client.getUsersAssets('o-2500', ['u1'], undefined, undefined, cannedWith('text'))).rejects.toMatchObject({
      kind: PortalErrorKind.BadResponse,
    });
    const decode = async (kind: AnswerKind, bytes: Buffer): Promise<unknown> => readAnswer(kind, bytes);
    await expect(client.getUsersAssets('o-none', ['u1'], undefined, undefined, decode)).rejects.toMatchObject({
      kind: PortalErrorKind.NotFound,
      upstreamCode: 31404,
    });
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(3);
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
