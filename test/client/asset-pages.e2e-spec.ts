import { AnswerKind, PortalClient, PortalErrorKind, readAnswer } from '@app/portal-client';
import { startSim } from '../support/sim';
import { buildClient, callsOf, clientOptions, maxInFlight, sleep, waves } from './client-harness';

type Sim = Awaited<ReturnType<typeof startSim>>;

describe('PortalClient asset/list pagination (real simulator)', () => {
  let sim: Sim;
  let client: PortalClient;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    sim = await startSim({ profile: 'test' });
    await sim.admin.createOrg({ orgId: 'o-pages', assetCount: 10_500 });
    await sim.admin.createUser('o-pages', { userId: 'big', assetCount: 10_500 });
    await sim.admin.createUser('o-pages', { userId: 'twenty', assetCount: 2_000 });
    await sim.admin.createUser('o-pages', { userId: 'none', assetIds: [] });
    const built = await buildClient(clientOptions(sim));
    client = built.client;
    closers.push(built.close);
  });

  afterAll(async () => {
    for (const close of closers) await close();
    await sim?.stop();
  });

  beforeEach(async () => {
    await sim.admin.clearFaults();
    await sim.admin.resetCounters();
  });

  it('merges 10,500 assets from 11 pages of 1000, each once, in upstream order', async () => {
    const r = await client.getUserAssets('o-pages', 'big');
    const counters = await sim.admin.counters();
    expect(counters.endpoints.assetList.calls).toBe(11);
    expect([...counters.endpoints.assetList.pages].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r).toMatchObject({ orgId: 'o-pages', userId: 'big', total: 10_500, complete: true });
    expect(r.assets).toHaveLength(10_500);
    expect(new Set(r.assets.map((a) => a.id)).size).toBe(10_500);

    // Upstream order does not depend on how the list was paged.
    const other = await buildClient(clientOptions(sim, { pageSize: 999 }));
    closers.push(other.close);
    const again = await other.client.getUserAssets('o-pages', 'big');
    expect(again.assets.map((a) => a.id)).toEqual(r.assets.map((a) => a.id));
  });

  it('answers an empty set with one call', async () => {
    const r = await client.getUserAssets('o-pages', 'none');
    expect(r).toEqual({ orgId: 'o-pages', userId: 'none', total: 0, complete: true, assetIds: [], assets: [] });
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(1);
  });

  it('stops at maxAssets and says complete: false', async () => {
    const capped = await buildClient(clientOptions(sim, { maxAssets: 2_500 }));
    closers.push(capped.close);
    const r = await capped.client.getUserAssets('o-pages', 'big');
    expect(r.complete).toBe(false);
    expect(r.total).toBe(10_500);
    expect(r.assets).toHaveLength(2_500);
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(3);
  });

  it('with 200 ms latency reads 20 pages at concurrency 8 in 3 waves after page 0, never more than 8 in flight', async () => {
    const paged = await buildClient(clientOptions(sim, { pageSize: 100, concurrency: 8 }));
    closers.push(paged.close);
    await paged.client.getUserAssets('o-pages', 'twenty'); // token fetched outside the measured run
    await sim.admin.setFault('assetList', { latencyMs: 200 });
    await sim.admin.resetCounters();

    const r = await paged.client.getUserAssets('o-pages', 'twenty');
    expect(r.assets).toHaveLength(2_000);
    expect(r.complete).toBe(true);

    const calls = callsOf((await sim.admin.counters()).log, 'assetList');
    expect(calls).toHaveLength(20);
    expect(maxInFlight(calls)).toBe(8);
    const fanOut = calls.filter((c) => c.pageNo !== 0);
    expect(fanOut).toHaveLength(19);
    // Within a wave calls start a few ms apart; between waves the 200 ms latency separates them.
    const w = waves(fanOut, 100);
    expect(w.map((x) => x.length)).toEqual([8, 8, 3]);
  });

  it('re-reads every page once when the data changes between pages, and settles', async () => {
    await sim.admin.createUser('o-pages', { userId: 'moving', assetCount: 3_000 });
    const paged = await buildClient(clientOptions(sim, { pageSize: 1_000 }));
    closers.push(paged.close);
    await paged.client.getUserAssets('o-pages', 'moving'); // warm the token
    await sim.admin.setFault('assetList', { latencyMs: 300 });
    await sim.admin.resetCounters();

    const first = await paged.client.getUserAssets('o-pages', 'moving');
    const allIds = first.assets.map((a) => a.id);
    const pending = paged.client.getUserAssets('o-pages', 'moving');
    // Once page 0 of this read is answered, pages 1-2 sit in their 300 ms latency: revoke now.
    const until = Date.now() + 5_000;
    while ((await sim.admin.counters()).log.filter((c) => c.endpoint === 'assetList').length < 4) {
      if (Date.now() > until) throw new Error('page 0 of the second read never finished');
      await sleep(10);
    }
    await sim.admin.revoke('o-pages', 'moving', allIds.slice(0, 10));
    const r = await pending;

    expect(r.complete).toBe(true);
    expect(r.total).toBe(2_990);
    expect(r.assets.map((a) => a.id)).toEqual(allIds.slice(10));
    // 3 pages for the first read, 3 for the disturbed one, 3 for the re-read.
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(9);
  });

  it('reads pages through a decoder the same as by itself, each answer decoded once', async () => {
    const plain = await client.getUserAssets('o-pages', 'big');
    await sim.admin.resetCounters();
    const kinds: AnswerKind[] = [];
    // A decoder as the service's answer workers run it (in this thread here): readAnswer of the whole answer's bytes.
    const decode = async (kind: AnswerKind, bytes: Buffer): Promise<unknown> => {
      kinds.push(kind);
      return readAnswer(kind, bytes);
    };
    const r = await client.getUserAssets('o-pages', 'big', { decode });
    expect(kinds).toEqual(Array(11).fill('assetList'));
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(11);
    expect(r).toEqual(plain);
  });

  it('maps a page its decoder found malformed to BadResponse, and an error envelope as ever', async () => {
    const canned =
      (body: unknown) =>
      async (kind: AnswerKind): Promise<unknown> =>
        readAnswer(kind, Buffer.from(JSON.stringify(body)));
    await expect(
      client.getUserAssets('o-pages', 'big', { decode: canned({ code: 0, data: { pagination: { totalElements: 1 }, assets: [{ name: {} }] } }) }),
    ).rejects.toMatchObject({ kind: PortalErrorKind.BadResponse });
    await expect(client.getUserAssets('o-pages', 'big', { decode: canned({ code: 200, data: { pagination: {}, assets: [] } }) })).rejects.toMatchObject({
      kind: PortalErrorKind.BadResponse,
    });
    const decode = async (kind: AnswerKind, bytes: Buffer): Promise<unknown> => readAnswer(kind, bytes);
    await expect(client.getUserAssets('o-pages', 'ghost', { decode })).rejects.toMatchObject({ kind: PortalErrorKind.NotFound, upstreamCode: 31404 });
    // Malformed answers are not retried: one call each for the first two reads, one for the unknown user.
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(3);
  });

  it("accepts the portal's legacy success code 200 on asset/list and users/assetList as it accepts 0", async () => {
    const plain = await client.getUserAssets('o-pages', 'twenty');
    const plainBatch = await client.getUsersAssets('o-pages', ['twenty', 'none']);
    await sim.admin.setQuirks({ legacySuccessCode: true });
    await sim.admin.resetCounters();
    try {
      expect(await client.getUserAssets('o-pages', 'twenty')).toEqual(plain);
      expect(await client.getUsersAssets('o-pages', ['twenty', 'none'])).toEqual(plainBatch);
      const log = (await sim.admin.counters()).log;
      expect(callsOf(log, 'assetList').map((c) => c.outcome)).toEqual([200, 200]);
      expect(callsOf(log, 'usersAssetList').map((c) => c.outcome)).toEqual([200]);
    } finally {
      await sim.admin.setQuirks({ legacySuccessCode: false });
    }
  });

  it('maps an unknown user to NotFound without retrying', async () => {
    await expect(client.getUserAssets('o-pages', 'ghost')).rejects.toMatchObject({ kind: PortalErrorKind.NotFound, upstreamCode: 31404, notFound: 'user' });
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(1);
  });
});
