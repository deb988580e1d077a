import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PageWorkerPool, SharedSlots } from '../../apps/asset-bff/src/assets/page-decoders';
import { digestAssetList, digestUsersAssetList } from '../../apps/asset-bff/src/assets/page-digest';
import { PAGE_WORKER_NICE } from '../../apps/asset-bff/src/assets/page-worker';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

/** The worker as the service runs it: compiled by `npm test`'s build before jest starts. */
const WORKER = join(__dirname, '../../dist/apps/asset-bff/src/assets/page-worker.js');

const names = (i: number) => ({ default: `Asset ${i}`, en_US: `Asset ${i}`, zh_CN: `资产 ${i} 号`, ja_JP: i % 3 ? `アセット ${i}` : '' });
const page = (n: number, from = 0) =>
  Buffer.from(JSON.stringify({ code: 0, msg: 'OK', data: { pagination: { pageNo: 0, pageSize: n, totalElements: n }, assets: Array.from({ length: n }, (_, i) => ({ id: `a${from + i}`, name: names(from + i), extra: 'x' })) } }));

/** A digest with its prepared bytes (and a page's names) as text, to compare what a worker gave with what this thread gives. */
/** The answer's bytes as the pieces an answer may arrive in: `size` bytes each (the last shorter), cut anywhere. */
function inChunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out.length ? out : [bytes];
}

function comparable(envelope: unknown): unknown {
  const e = envelope as { data?: { prepared?: Uint8Array; namesJson?: Uint8Array; hashes?: Int32Array } };
  if (!e || typeof e !== 'object' || !(e.data?.prepared || e.data?.namesJson)) return envelope;
  const text = (b: Uint8Array | undefined) => b && Buffer.from(b).toString('utf8');
  // (a worker's typed arrays come from outside jest's realm: compared as plain arrays)
  return { ...e, data: { ...e.data, prepared: text(e.data.prepared), namesJson: text(e.data.namesJson), hashes: e.data.hashes && Array.from(e.data.hashes) } };
}

/** A users digest with its index lists as plain arrays (a worker's typed arrays come from outside jest's realm). */
function plainLists(envelope: unknown): unknown {
  const e = envelope as { data?: { lists?: Int32Array; offsets?: Int32Array } };
  if (!e || typeof e !== 'object' || !e.data?.lists) return envelope;
  return { ...e, data: { ...e.data, lists: Array.from(e.data.lists), offsets: Array.from(e.data.offsets ?? []) } };
}

describe('page workers: asset/list answers digested on worker threads', () => {
  const pools: PageWorkerPool[] = [];
  const pool = (size: number) => {
    const p = new PageWorkerPool(size, WORKER);
    pools.push(p);
    return p;
  };
  afterAll(async () => {
    for (const p of pools) await p.close();
  });

  it("the workers run at a lower scheduling priority than the process's other threads (Linux: nice 10)", async () => {
    const niceOf = (tid: string): number => Number(readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const before = readdirSync(`/proc/${process.pid}/task`);
    const p = pool(2);
    p.start();
    // a round trip through each worker: both have run their start-up by then
    const decode = p.decoderFor(['en'])!;
    await Promise.all([decode([page(10)]), decode([page(10, 10)]), decode([page(10, 20)])]);
    const added = readdirSync(`/proc/${process.pid}/task`).filter((t) => !before.includes(t));
    const nice = added.map(niceOf);
    expect(nice.filter((n) => n === PAGE_WORKER_NICE)).toHaveLength(2);
    expect(niceOf(String(process.pid))).toBe(0);
    await p.close();
  });

  it('gives what digesting on this thread gives: pages, error envelopes, text that is not JSON, malformed data', async () => {
    const p = pool(2);
    expect(p.running).toBe(0);
    p.start();
    expect(p.running).toBe(2);
    const inputs: Buffer[] = [
      page(1_000),
      page(0),
      Buffer.from(JSON.stringify({ code: 31404, message: 'The user is not found' })),
      Buffer.from('<html>bad gateway</html>'),
      Buffer.from(JSON.stringify({ code: 0, data: { pagination: { totalElements: 1 }, assets: [{ name: {} }] } })),
      Buffer.from(JSON.stringify({ code: 200, data: { pagination: {}, assets: [] } })),
    ];
    for (const prefs of [['zh_CN'], ['ja_JP', 'en'], [], undefined]) {
      const decode = p.decoderFor(prefs)!;
      // each answer as the chunks it may arrive in: uneven pieces, cut inside multi-byte characters too
      const got = await Promise.all(inputs.map((b, i) => decode(inChunks(b, 7 + 13 * i))));
      expect(got.map(comparable)).toEqual(inputs.map((b) => comparable(digestAssetList(b, prefs).envelope)));
    }
    expect(p.running).toBe(2);
    const digest = (await p.decoderFor(['zh_CN'])!([page(2)])) as { data: { digest: string; ids: string[]; namesJson: Uint8Array; prepared: Uint8Array } };
    expect(digest.data.ids).toEqual(['a0', 'a1']);
    expect(JSON.parse(Buffer.from(digest.data.namesJson).toString('utf8'))).toEqual([names(0), names(1)]);
    expect(JSON.parse(`[${Buffer.from(digest.data.prepared).toString()}]`)).toEqual([
      { id: 'a0', name: '资产 0 号', names: names(0) },
      { id: 'a1', name: '资产 1 号', names: names(1) },
    ]);
    const bad = (await p.decoderFor(undefined)!(inChunks(inputs[4], 5))) as { data: unknown };
    expect(bad.data).toEqual({ digest: 'malformed', reason: 'asset without id' });
  });

  it('gives users/assetList digests as this thread does: answers, repeats, defaults, error envelopes, malformed data', async () => {
    const p = pool(1);
    const env = (data: unknown) => Buffer.from(JSON.stringify({ code: 0, message: 'OK', data }));
    const inputs: Buffer[] = [
      env({
        usersUserAssets: Array.from({ length: 1_000 }, (_, u) => ({ userId: `u${u}`, userAssetIds: Array.from({ length: 50 }, (_, i) => `a${(u * 7 + i) % 400}`) })),
        userAssets: Array.from({ length: 400 }, (_, i) => ({ id: `a${i}`, name: names(i), type: i % 2 ? 'site' : undefined, typeName: i % 2 ? { default: 'Site' } : null })),
      }),
      env({ usersUserAssets: [{ userId: 'u1', userAssetIds: ['a', 'b', 'a'] }, { userId: 'u2' }, { userId: 'u1', userAssetIds: ['c'] }] }),
      env({}),
      Buffer.from(JSON.stringify({ code: 31404, message: 'OU not found' })),
      Buffer.from('<html>bad gateway</html>'),
      env('text'),
      env({ usersUserAssets: {} }),
      env({ usersUserAssets: [{ userAssetIds: [] }] }),
      env({ usersUserAssets: [{ userId: 'u', userAssetIds: ['a', 7] }] }),
      env({ usersUserAssets: [], userAssets: [{ name: {} }] }),
    ];
    const decode = p.usersDecoder()!;
    const got = await Promise.all(inputs.map((b, i) => decode(inChunks(b, 64 * 1024 - i))));
    expect(got.map(plainLists)).toEqual(inputs.map((b) => plainLists(digestUsersAssetList(b).envelope)));
    const first = got[0] as { data: { digest: string; userIds: string[]; ids: string[]; lists: Int32Array; offsets: Int32Array } };
    expect(first.data.userIds).toHaveLength(1_000);
    expect(first.data.ids).toHaveLength(400);
    expect(first.data.offsets[1_000]).toBe(50_000);
    expect(first.data.ids[first.data.lists[first.data.offsets[3] + 2]]).toBe('a23');
    expect(got.slice(5).map((e) => (e as { data: unknown }).data)).toEqual([
      { digest: 'malformed', reason: 'data is not an object' },
      { digest: 'malformed', reason: 'usersUserAssets/userAssets are not lists' },
      { digest: 'malformed', reason: 'user entry without userId' },
      { digest: 'malformed', reason: 'userAssetIds is not a list of ids' },
      { digest: 'malformed', reason: 'asset entry without id' },
    ]);
    expect(pool(0).usersDecoder()).toBeUndefined();
  });

  it('digests on this thread the pages of a worker that died, and starts a new worker for the next page', async () => {
    // A worker file that dies on its first page the first time it runs, and is the real worker afterwards.
    const dir = mkdtempSync(join(tmpdir(), 'abff-pw-'));
    const file = join(dir, 'dying-worker.js');
    writeFileSync(
      file,
      `const fs = require('node:fs');
       if (fs.existsSync(__filename + '.died')) require(${JSON.stringify(WORKER)});
       else { fs.writeFileSync(__filename + '.died', ''); require('node:worker_threads').parentPort.on('message', () => process.exit(3)); }`,
    );
    const seen: string[] = [];
    const p = new PageWorkerPool(1, file, { onChange: (n) => seen.push(`running ${n}`), onLost: () => seen.push('lost') });
    pools.push(p);
    const pages = [page(1_000), page(10, 5_000)];
    const first = await Promise.all(pages.map((b) => p.decoderFor(['en'])!([b])));
    expect(first.map(comparable)).toEqual(pages.map((b) => comparable(digestAssetList(b, ['en']).envelope)));
    expect(p.running).toBe(0);
    expect(comparable(await p.decoderFor(['en'])!([pages[1]]))).toEqual(comparable(digestAssetList(pages[1], ['en']).envelope));
    expect(p.running).toBe(1);
    expect(seen).toEqual(['running 1', 'lost', 'running 0', 'running 1']);
  });

  it('carries the answers over in shared slots it reuses, kept up to 16 MB', async () => {
    const p = pool(1);
    const pages = [page(1_000), page(1_000, 1_000)];
    for (const b of pages) expect(comparable(await p.decoderFor(['en'])!([b]))).toEqual(comparable(digestAssetList(b, ['en']).envelope));
    // one slot (the smallest power of two over a page's bytes), given back after each answer and taken again
    const slot = 2 ** Math.ceil(Math.log2(pages[0].length));
    expect(p.slots.kept).toBe(slot);
    const concurrent = await Promise.all([page(1_000), page(1_000, 2_000), page(1_000, 3_000)].map((b) => p.decoderFor(['en'])!([b])));
    expect(concurrent).toHaveLength(3);
    expect(p.slots.kept).toBe(3 * slot);

    const slots = new SharedSlots();
    const a = slots.take(100);
    expect(a.byteLength).toBe(64 * 1024);
    const b = slots.take(3_000_000);
    expect(b.byteLength).toBe(4 * 1024 * 1024);
    slots.give(a);
    slots.give(b);
    // the smallest free slot that fits, else a new one
    expect(slots.take(70_000)).toBe(b);
    expect(slots.take(10)).toBe(a);
    expect(slots.take(10)).not.toBe(a);
    for (let i = 0; i < 6; i++) slots.give(new SharedArrayBuffer(4 * 1024 * 1024));
    expect(slots.kept).toBe(16 * 1024 * 1024);
  });

  it('gives no decoder with no threads (the portal client then reads the pages itself)', () => {
    expect(pool(0).decoderFor(['en'])).toBeUndefined();
  });

  it('finishes the pages in flight on this thread when closed, and every page after', async () => {
    const p = pool(1);
    const pages = [page(1_000), page(1_000, 1_000), page(5)];
    const pending = pages.map((b) => p.decoderFor(['zh_CN'])!(inChunks(b, 4_096)));
    await p.close();
    expect((await Promise.all(pending)).map(comparable)).toEqual(pages.map((b) => comparable(digestAssetList(b, ['zh_CN']).envelope)));
    expect(p.running).toBe(0);
    expect(comparable(await p.decoderFor(['zh_CN'])!(inChunks(pages[2], 3)))).toEqual(comparable(digestAssetList(pages[2], ['zh_CN']).envelope));
    expect(p.running).toBe(0);
  });
});

describe('page workers in the service: the same answers with and without them', () => {
  let sim: SimHandle;
  let withWorkers: BffHandle;
  let mainThread: BffHandle;
  const key = TEST_KEYS.admin;

  beforeAll(async () => {
    sim = await startSim();
    await sim.admin.createOrg({ orgId: 'o-pw', assetCount: 3_500 });
    await sim.admin.createUser('o-pw', { userId: 'many', assetCount: 3_500 });
    await sim.admin.createUser('o-pw', { userId: 'few', assetCount: 3 });
    await sim.admin.createOrg({ orgId: 'o-pw-b', assetCount: 300, userCount: 250, assetsPerUser: 20 });
    // PAGE_WORKERS left at its default: two threads (the metrics below say so).
    withWorkers = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(6), PORTAL_PAGE_SIZE: '1000', PORTAL_BATCH_SIZE: '100' } });
    mainThread = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(7), PORTAL_PAGE_SIZE: '1000', PORTAL_BATCH_SIZE: '100', PAGE_WORKERS: '0' } });
  });
  afterAll(async () => {
    await withWorkers?.stop();
    await mainThread?.stop();
    await sim?.stop();
  });

  it('answers cold reads byte for byte alike in every language, and the stored entries alike too', async () => {
    for (const lang of ['zh-CN', 'ja', 'en-US', undefined]) {
      for (const user of ['many', 'few', 'ghost']) {
        const path = `/v1/orgs/o-pw/users/${user}/assets${lang ? `?lang=${lang}` : ''}`;
        const headers = { 'cache-control': 'no-cache' };
        const [a, b] = await Promise.all([call(withWorkers.url, 'GET', path, { key, headers }), call(mainThread.url, 'GET', path, { key, headers })]);
        expect(a.status).toBe(b.status);
        // Problem answers differ only in their request id.
        const strip = (t: string) => t.replace(/"requestId":"[^"]*"/, '');
        expect(strip(a.text)).toBe(strip(b.text));
        if (user === 'ghost') expect(a.body.code).toBe('USER_NOT_FOUND');
        if (user === 'many') expect(a.body.assets).toHaveLength(3_500);
      }
    }
    const metrics = (await call(withWorkers.url, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/^abff_page_workers 2$/m);
    expect(metrics).toMatch(/^abff_page_worker_losses_total 0$/m);
    expect((await call(mainThread.url, 'GET', '/metrics')).text).toMatch(/^abff_page_workers 0$/m);
    // One asset read from what the worker path stored (its details, names parsed after the answer).
    const one = await call(withWorkers.url, 'GET', '/v1/orgs/o-pw/users/many/assets', { key });
    const id = one.body.assets[1_234].id as string;
    const [a, b] = await Promise.all([call(withWorkers.url, 'GET', `/v1/orgs/o-pw/users/many/assets/${id}?lang=zh-CN`, { key }), call(mainThread.url, 'GET', `/v1/orgs/o-pw/users/many/assets/${id}?lang=zh-CN`, { key })]);
    expect(a.status).toBe(200);
    expect(a.text).toBe(b.text);
  });

  it('answers cold batches (users/assetList in chunks) byte for byte alike, and the stored entries alike too', async () => {
    const seeded = (await sim.admin.org('o-pw-b')).userAssetCounts.map((u) => u.userId);
    const userIds = [...seeded].reverse().concat(['ghost', seeded[3]]);
    for (const lang of ['zh-CN', 'ja', undefined]) {
      const path = `/v1/orgs/o-pw-b/user-assets${lang ? `?lang=${lang}` : ''}`;
      await sim.admin.resetCounters();
      const cold = await Promise.all([withWorkers, mainThread].map((b) => call(b.url, 'POST', path, { key, body: { userIds }, headers: { 'cache-control': 'no-cache' } })));
      // 251 distinct users in chunks of 100, for each service
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(6);
      expect(cold.map((r) => r.status)).toEqual([200, 200]);
      expect(cold[0].text).toBe(cold[1].text);
      expect(cold[0].body.users).toHaveLength(251);
      expect(cold[0].body.users[250]).toEqual({ userId: 'ghost', assetIds: [] });
      await sim.admin.resetCounters();
      const cached = await Promise.all([withWorkers, mainThread].map((b) => call(b.url, 'POST', path, { key, body: { userIds } })));
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(0);
      expect(cached[0].text).toBe(cold[0].text);
      expect(cached[1].text).toBe(cold[1].text);
      // Cached users between loaded ones: still the same bytes.
      for (const b of [withWorkers, mainThread]) for (const u of [seeded[0], seeded[100], seeded[249]]) expect((await call(b.url, 'DELETE', `/v1/orgs/o-pw-b/users/${u}/cache`, { key })).status).toBe(204);
      await sim.admin.resetCounters();
      const mixed = await Promise.all([withWorkers, mainThread].map((b) => call(b.url, 'POST', path, { key, body: { userIds } })));
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(2);
      expect(mixed[0].text).toBe(cold[0].text);
      expect(mixed[1].text).toBe(cold[1].text);
    }
  });

  it('sends answers of over 1 MB as their parts (pages, chunks), with their length, byte for byte one JSON.stringify', async () => {
    await sim.admin.createOrg({ orgId: 'o-pw-l', assetCount: 8_000 });
    await sim.admin.createUser('o-pw-l', { userId: 'huge', assetCount: 8_000 });
    await sim.admin.createOrg({ orgId: 'o-pw-lb', assetCount: 400, userCount: 2_500, assetsPerUser: 40 });
    const userIds = (await sim.admin.org('o-pw-lb')).userAssetCounts.map((u) => u.userId);
    const reads: [string, string, unknown][] = [
      ['GET', '/v1/orgs/o-pw-l/users/huge/assets?lang=zh-CN', undefined],
      ['POST', '/v1/orgs/o-pw-lb/user-assets', { userIds: [...userIds, 'ghost'] }],
    ];
    for (const [method, path, body] of reads) {
      const texts: string[] = [];
      const cold: Record<string, string> = { 'cache-control': 'no-cache' };
      for (const headers of [cold, {}]) {
        const rs = await Promise.all([withWorkers, mainThread].map((b) => call(b.url, method, path, { key, body, headers })));
        for (const r of rs) {
          expect(r.status).toBe(200);
          // over 1 MB: sent in parts (answerBytes), and still exactly the length announced
          expect(Buffer.byteLength(r.text)).toBeGreaterThan(1024 * 1024);
          expect(r.headers.get('content-length')).toBe(String(Buffer.byteLength(r.text)));
          expect(r.headers.get('transfer-encoding')).toBeNull();
          expect(JSON.stringify(r.body)).toBe(r.text);
          texts.push(r.text);
        }
      }
      // cold and cached (the memo's parts for the user, the cache for the batch), with and without workers: the same bytes
      expect(new Set(texts).size).toBe(1);
      const answer = JSON.parse(texts[0]);
      if (method === 'GET') expect(answer.assets).toHaveLength(8_000);
      else {
        expect(answer.users).toHaveLength(2_501);
        expect(answer.users[2_500]).toEqual({ userId: 'ghost', assetIds: [] });
        expect(answer.users[0].assetIds).toHaveLength(40);
      }
    }
  });

  it('refuses PAGE_WORKERS out of range at boot, naming it', async () => {
    const bad = await startBff({ sim, env: { PAGE_WORKERS: '9' }, expectListen: false });
    expect(bad.proc.exitCode).not.toBe(0);
    expect(bad.output()).toMatch(/PAGE_WORKERS/);
  });
});
